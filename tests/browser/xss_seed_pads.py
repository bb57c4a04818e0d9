"""The pads of the XSS sweep's summit, filled by people and by raw clients.

On the pad of session ics1: two people in the browser (each a name typed into the name form;
one types every payload as notes, a link with the editor's link button and action items, chats
and saves a revision), then raw y-websocket clients for what the page would clean before
sending it (names and colours in awareness, chat names and colours, `link` attributes with
javascript:, vbscript: and data: targets), and saved revisions with labels and names from the
form. On the plain pad xss-imports: text, Markdown and HTML pasted into the import dialog.
"""

from __future__ import annotations

import asyncio
from html import escape

import aiohttp
from playwright.async_api import expect
from summitpad.client import PadClient
from summitpad.pad_export import md_escape
from summitpad.protocol import encode_chat

from ..summit_fixtures import Browser
from ..support import eventually
from ..xss_payloads import COLOURS, LINK_TARGETS
from .xss_guard import Sweep
from .xss_seed import PAD_SESSION, PLAIN_PAD, SLUG, Seeded

PAD_NAME_MAX = 40  # participant and chat names
CHAT_MAX = 1000
LABEL_MAX = 100
TO_THE_END = "() => { const q = window.summitpad.quill; q.setSelection(q.getLength(), 0) }"


async def seed_pads(s: Seeded, sweep: Sweep) -> None:
    await _pad(s, sweep)
    await _imports(s, sweep)


async def _pad(s: Seeded, sweep: Sweep) -> None:
    """Two people in the browser, and raw clients, on the pad of session ics1."""
    m = s.markers
    url = s.url(f"/{SLUG}/{PAD_SESSION}")
    typed_names = m.payloads("participant name (name form)", PAD_NAME_MAX)[:2]
    for name in typed_names:
        page = await sweep.page()
        await page.goto(url)
        await expect(page.locator(".ql-editor")).to_have_attribute("contenteditable", "true")
        if not await page.locator("#me").evaluate("details => details.open"):
            await page.locator("#me > summary").click()
        await page.locator("#me-name").fill(name)
        await page.locator("#me-form button[type=submit]").click()
        s.pages.append(page)
        s.names.append(name)
    page = s.pages[0]
    await page.locator(".ql-editor").click()
    await page.keyboard.press("Control+End")
    typed = m.payloads("pad text (typed)")
    for line in typed:
        await page.keyboard.press("Enter")
        await page.keyboard.insert_text(line)
    # A link made with the editor's own link button.
    link_text = m.mark("link{n} typed", "pad link (typed)", "link text")
    await page.keyboard.press("Enter")
    await page.keyboard.insert_text(link_text)
    await page.keyboard.press("Shift+Home")
    await page.locator(".ql-toolbar .ql-link").click()
    tooltip = page.locator(".ql-tooltip input[type=text]")
    await tooltip.fill(m.mark("javascript:__xss({n})", "pad link (typed)", "javascript-url"))
    await tooltip.press("Enter")
    await page.evaluate(TO_THE_END)  # the link's text is still selected: typing would replace it
    s.actions = m.fill("action item (typed)", 300)
    for line in s.actions:
        await page.keyboard.press("Enter")
        await page.keyboard.insert_text("ACTION: " + line)
    s.pad_lines += [*typed, link_text, *s.actions]
    s.authors.append(s.names[0])
    for text in m.fill("chat message (typed)", CHAT_MAX):
        await page.locator("#chat-input").fill(text)
        await page.locator("#chat-input").press("Enter")
        await expect(page.locator("#chat-input")).to_have_value("")
        s.chat.append(text)
    await page.locator("#save-revision > summary").click()
    label = m.fill("revision label (typed)", LABEL_MAX)[0]
    await page.locator("#save-revision-label").fill(label)
    await page.locator("#save-revision-form button[type=submit]").click()
    await expect(page.locator("#save-revision-note")).to_contain_text("Saved as revision")
    s.labels.append(label)
    await _raw_clients(s)


async def _raw_clients(s: Seeded) -> None:
    m = s.markers
    names = m.fill("participant name (awareness)", PAD_NAME_MAX)
    chat_names = m.fill("chat name (raw client)", PAD_NAME_MAX)
    chat_texts = m.fill("chat message (raw client)", CHAT_MAX)
    lines = m.payloads("pad text (raw client)")
    for k in range(max(len(names), len(chat_names))):
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        s.sessions_http.append(http)
        async with http.get(s.url(f"/{SLUG}/{PAD_SESSION}")) as response:
            assert response.status == 200
        client = PadClient(http, s.app.ws_url, s.pad_id)
        await client.connect()
        await asyncio.wait_for(client.synced.wait(), 10)
        s.clients.append(client)
        name = names[k % len(names)]
        colour = m.mark(COLOURS[k % len(COLOURS)], "participant colour (awareness)", "colour")
        s.awareness.append((client, {"user": {"name": name, "color": colour}}))
        s.names.append(name)
        mine = lines[k::max(len(names), len(chat_names))]
        if mine:
            await client.edit(lambda t, mine=mine: t.insert(len(t), "\n".join(mine) + "\n"))
            s.pad_lines += mine
            s.authors.append(name)
        chat_name = chat_names[k % len(chat_names)]
        text = chat_texts[k] if k < len(chat_texts) else f"hello from client {k}"
        chat_colour = m.mark(COLOURS[(k + 1) % len(COLOURS)], "chat colour (raw client)",
                             "colour")
        await client.send(encode_chat({"kind": "send", "text": text, "name": chat_name,
                                       "color": chat_colour}))
        s.chat.append(text)
        s.chat_names.append(chat_name)
    await s.announce()
    first = s.clients[0]
    for kind, target in LINK_TARGETS:
        text = m.mark("link{n} raw", "link attribute (raw client)", kind)
        href = m.mark(target, "link attribute (raw client)", kind)
        await first.edit(lambda t, text=text, href=href: (
            t.insert(len(t), text, {"link": href}), t.insert(len(t), "\n")))
        s.pad_lines.append(text)
    await eventually(lambda: all(c.saved for c in s.clients))
    await _labels(s)


async def _labels(s: Seeded) -> None:
    """Saved revisions, each of its own revision, with labels and names from the form."""
    m = s.markers
    labels = m.fill("revision label (form)", LABEL_MAX)
    names = m.fill("revision saver name (form)", PAD_NAME_MAX)
    saver = Browser(s.app.http_url)
    try:
        for k in range(max(len(labels), len(names))):
            client = s.clients[k % len(s.clients)]
            await client.edit(lambda t, k=k: t.insert(len(t), f"revision {k}\n"))
            await eventually(lambda: client.saved)  # noqa: B023 (awaited here, in the loop)
            label, name = labels[k % len(labels)], names[k % len(names)]
            answer = await saver.post(f"/{SLUG}/{PAD_SESSION}/revisions",
                                      {"label": label, "name": name})
            assert answer.status == 303, answer.text[:300]
            s.labels.append(label)
            s.label_names.append(name)
    finally:
        await saver.close()


async def _imports(s: Seeded, sweep: Sweep) -> None:
    """Text, Markdown and HTML pasted into the import dialog of a plain pad."""
    m = s.markers
    page = await sweep.page()
    await page.goto(s.url(f"/p/{PLAIN_PAD}"))
    await expect(page.locator(".ql-editor")).to_have_attribute("contenteditable", "true")
    txt = m.payloads("import (text)")
    md_plain = m.payloads("import (Markdown, escaped)")
    md = [md_escape(line, line_start=True) for line in md_plain]
    md += m.payloads("import (Markdown, as written)")
    md += [f"[md{n}]({m.mark(target, 'Markdown import link', kind)})"
           for n, (kind, target) in enumerate(LINK_TARGETS)]
    html_plain = m.payloads("import (HTML, escaped)")
    html = [f"<p>{escape(line)}</p>" for line in html_plain]
    html.append("<div>" + "".join(m.payloads("import (HTML, as written)")) + "</div>")
    html += [f'<p><a href="{escape(m.mark(target, "HTML import link", kind))}">h{n}</a></p>'
             for n, (kind, target) in enumerate(LINK_TARGETS)]
    for fmt, body in (("txt", "\n".join(txt)), ("md", "\n\n".join(md)), ("html", "".join(html))):
        await page.locator("#import-open").click()
        await page.locator("#import-text").fill(body)
        await page.locator("#import-format").select_option(fmt)
        await page.locator("#import-submit").click()
        await expect(page.locator("#import-dialog")).to_be_hidden()
    s.imported = [*txt, *md_plain, *html_plain]
    await sweep.check(page, s.imported)
    await page.close()
