"""Import into a pad in a real browser: a Markdown file through the dialog lands at the cursor,
formatted, for everybody; hostile HTML runs no script; the server's refusal shows in the
dialog; a read-only pad offers no import."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect
from summitpad.app_keys import SUMMITS
from summitpad.schedule import Lock

from ..support import RunningApp, eventually
from .conftest import Y_TEXT, Connect, OpenPage, SummitOnClock, summit_time

NOTES_MD = b"""# Imported notes

Some **bold** and *italic* text with a [link](https://example.org).

- first point
- second point
"""

HOSTILE_HTML = (
    '<p>safe <img src=x onerror="window.__pwned = 1"> text</p>'
    "<script>window.__pwned = 2</script>"
    '<p><a href="javascript:window.__pwned = 3">click</a></p>'
    "<style>.ql-editor { display: none }</style>"
    '<iframe src="javascript:parent.__pwned = 4"></iframe>'
)


async def ready(page: Page) -> None:
    """Typing is enabled, and the name form of a first visit is out of the way."""
    await expect(page.locator(".ql-editor")).to_have_attribute("contenteditable", "true")
    if await page.locator("#me").evaluate("details => details.open"):
        await page.locator("#me-form button[type=submit]").click()


async def open_dialog(page: Page) -> None:
    await page.locator("#import-open").click()
    await expect(page.locator("#import-dialog")).to_be_visible()


async def test_a_markdown_file_lands_at_the_cursor_formatted(
    app: RunningApp, connect: Connect, open_page: OpenPage, artifacts: Path
) -> None:
    pad_id = "import-" + secrets.token_hex(4)
    other = await connect(app.ws_url, pad_id)
    await other.edit(lambda t: t.insert(0, "Before\nAfter"))
    await eventually(lambda: other.saved)

    page = await open_page(f"{app.http_url}/p/{pad_id}", "importer")
    await ready(page)
    # The cursor at the end of "Before": the notes go in as lines of their own below it.
    await page.locator(".ql-editor p").first.click()
    await page.keyboard.press("End")
    await open_dialog(page)
    await page.locator("#import-file").set_input_files(
        {"name": "notes.md", "mimeType": "text/markdown", "buffer": NOTES_MD}
    )
    await page.screenshot(path=artifacts / "import-dialog.png")
    await page.locator("#import-submit").click()
    await expect(page.locator("#import-dialog")).to_be_hidden()

    editor = page.locator(".ql-editor")
    await expect(editor.locator("h1")).to_have_text("Imported notes")
    await expect(editor.locator("strong")).to_have_text("bold")
    await expect(editor.locator("em")).to_have_text("italic")
    await expect(editor.locator('a[href="https://example.org"]')).to_have_text("link")
    await expect(editor.locator('li[data-list="bullet"]')).to_have_text(
        ["first point", "second point"]
    )
    await expect(editor.locator("p").first).to_have_text("Before")
    await expect(editor.locator("p").last).to_have_text("After")
    expected = ("Before\nImported notes\nSome bold and italic text with a link.\n"
                "first point\nsecond point\nAfter")
    assert await page.evaluate(Y_TEXT) == expected
    await eventually(lambda: str(other.text) == expected)
    await page.screenshot(path=artifacts / "import-done.png")


async def test_hostile_html_runs_no_script(
    app: RunningApp, open_page: OpenPage
) -> None:
    page = await open_page(f"{app.http_url}/p/import-{secrets.token_hex(4)}", "hostile")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await ready(page)
    await open_dialog(page)
    await page.locator("#import-text").fill(HOSTILE_HTML)
    await page.locator("#import-format").select_option("html")
    await page.locator("#import-submit").click()
    await expect(page.locator("#import-dialog")).to_be_hidden()

    editor = page.locator(".ql-editor")
    await expect(editor).to_contain_text("safe text")
    await expect(editor).to_contain_text("click")
    await page.wait_for_timeout(300)  # time for an onerror to fire, if there were an image
    assert await page.evaluate("() => window.__pwned") is None
    assert await editor.locator("img, script, iframe, style").count() == 0
    assert await editor.locator("a").count() == 0
    assert await editor.is_visible()
    assert dialogs == []


async def test_a_refused_import_says_why_in_the_dialog(
    app: RunningApp, open_page: OpenPage
) -> None:
    page = await open_page(f"{app.http_url}/p/import-{secrets.token_hex(4)}", "refused",
                           console_ok=[r"status of 400"])
    await ready(page)
    await open_dialog(page)
    await page.locator("#import-file").set_input_files(
        {"name": "notes.docx", "mimeType": "application/octet-stream", "buffer": b"PK\x03\x04"}
    )
    await page.locator("#import-submit").click()
    error = page.locator("#import-error")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("cannot import a file .docx")
    await expect(page.locator("#import-dialog")).to_be_visible()


async def test_replace_asks_first(app: RunningApp, connect: Connect, open_page: OpenPage) -> None:
    pad_id = "import-" + secrets.token_hex(4)
    other = await connect(app.ws_url, pad_id)
    await other.edit(lambda t: t.insert(0, "old text"))
    page = await open_page(f"{app.http_url}/p/{pad_id}", "replacer")
    await ready(page)
    await open_dialog(page)
    await page.locator("#import-text").fill("new text")
    await page.locator('input[name="mode"][value="replace"]').check()
    asked: list[str] = []

    async def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        await (dialog.dismiss() if len(asked) == 1 else dialog.accept())

    page.on("dialog", answer)
    await page.locator("#import-submit").click()  # "no": nothing happens
    await eventually(lambda: asked)
    assert str(other.text) == "old text"
    await page.locator("#import-submit").click()  # "yes"
    await eventually(lambda: str(other.text) == "new text")
    assert "Replace the whole text" in asked[0]


async def test_a_read_only_pad_offers_no_import(
    summit_on_clock: SummitOnClock, open_page: OpenPage
) -> None:
    site = summit_on_clock
    page = await open_page(site.url(f"/{site.slug}/{site.a.id}"), "moderator")
    await ready(page)
    await expect(page.locator("#import-open")).to_be_visible()
    await site.app.app[SUMMITS].change_session(site.slug, site.a.id, lock=Lock.LOCKED)
    await expect(page.locator("#pad")).to_have_attribute("data-read-only", "true",
                                                         timeout=20_000)
    await expect(page.locator("#import-open")).to_be_hidden()

    site.clock.set(summit_time(10, 50))  # b is on: its pad takes edits
    viewer = await open_page(site.url(f"/{site.slug}/{site.b.id}/ro"), "viewer")
    await expect(viewer.locator(".ql-editor")).to_have_attribute("contenteditable", "false")
    assert await viewer.locator("#import-open, #import-dialog, #import-form").count() == 0
