"""An XSS sweep in Chromium: every field people fill holds script-injection payloads, and every
page, export and archive page that shows them is opened with no Content-Security-Policy in the
way (Chromium's own switch ignores it, and each page proves that an inline script runs there).
The sweep fails if any payload's marker is called or a dialog opens, if a page holds an event
handler attribute, a javascript: link, a frame or a script of its own making, or if a page does
not show, as text, the payloads it should show (so a page that drops them does not pass).

What goes where is xss_seed's and xss_seed_pads'; the payloads and the browser side are in
tests/xss_payloads.py. The non-HTML exports must also say what they are (text/plain,
text/markdown, application/json, each with nosniff), so that no browser takes them for a page.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from markdown_it import MarkdownIt
from playwright.async_api import Browser, BrowserContext, Page
from summitpad.app_keys import CLOCK
from summitpad.clock import SetClock

from ..summit_fixtures import Browser as FormClient
from ..support import RunningApp
from ..xss_payloads import Markers, markdown_unescaped
from . import xss_seed
from .xss_guard import Sweep, Visit
from .xss_seed import PAD_SESSION, PLAIN_PAD, SLUG, Seeded, SessionText
from .xss_seed_pads import seed_pads

# The pad page, projector or read-only view has its first sync: the notes are shown.
PAD_READY = "() => Boolean(window.summitpad && window.summitpad.provider?.synced)"
StartApp = Callable[..., Awaitable[RunningApp]]


@pytest.fixture
async def sweep(browser: Browser) -> AsyncIterator[Sweep]:
    watch = Sweep(browser, Markers())
    yield watch
    await watch.close()


@pytest.fixture
async def seeded(start_app: StartApp, sweep: Sweep) -> AsyncIterator[Seeded]:
    app = await start_app(clock=SetClock(xss_seed.NOW), grace_period=7 * 86400.0)
    data = await xss_seed.seed_summit(app, sweep)
    await seed_pads(data, sweep)
    yield data
    await xss_seed.close(data)


def session_texts(one: SessionText, s: Seeded) -> list[str]:
    """What a session's page, projector and archive page show of it."""
    return [one.title, one.moderator, one.description, s.rooms.get(one.room, ""),
            s.tracks.get(one.track, "")]


def scheduled(s: Seeded) -> list[SessionText]:
    return [one for one in s.sessions.values() if one.slot is not None]


@pytest.mark.timeout(300)  # about a minute here; room for a slow, shared machine
async def test_no_payload_runs_on_any_page(
    seeded: Seeded, sweep: Sweep, tmp_path: Path
) -> None:
    s = seeded
    organizer = await sweep.page()
    await xss_seed.log_in(organizer, s.app.http_url, "org0")
    visitor = await sweep.context()
    await sweep.visit_all(_public_pages(s), visitor)
    await sweep.visit_all(_organizer_pages(s), organizer.context)
    await _accounts_and_login(s, sweep)
    await _pad_with_people(s, sweep)
    await _timeslider(s, sweep)
    await _signage_moves_on(s, sweep)
    await _exports(s, sweep, visitor)
    await _archive(s, sweep, organizer, visitor, tmp_path)

    assert sweep.visited, "no page was visited"
    report = sweep.report()
    assert not report, report


def _public_pages(s: Seeded) -> list[Visit]:
    m = s.markers
    board = [s.summit_name, *s.rooms.values(), *s.tracks.values()]
    for one in scheduled(s):
        board += [one.title, one.moderator]
    unscheduled = [one for one in s.sessions.values() if one.slot is None]
    visits = [
        Visit(s.url("/"), (s.summit_name, *s.other_summits.values())),
        Visit(s.url(f"/{SLUG}"), tuple(board)),
        Visit(s.url(f"/{SLUG}?track=t0"), (s.summit_name,)),
        *(Visit(s.url(f"/{slug}"), (name,)) for slug, name in s.other_summits.items()),
        Visit(s.url(f"/{SLUG}/unconference"),
              tuple(t for one in unscheduled for t in (one.title, one.description))),
        *(Visit(s.url(f"/{SLUG}/search?q={quote(query)}"), (query,))
          for query in m.fill("search query", 200)),
        Visit(s.url(f"/{SLUG}/search?q=xss"), (s.sessions[PAD_SESSION].title,)),
    ]
    # Error pages that repeat what was asked for.
    for path in ("/p/", "/ro/", f"/{SLUG}/", f"/{SLUG}/rooms/", "/nosuch/"):
        bad = m.mark("<img src=x onerror=__xss({n})>", f"URL path {path}", "img-onerror")
        visits.append(Visit(s.url(path + quote(bad))))
    for one in s.sessions.values():
        with_notes = one.id in ("json0", "added0")  # the template: the same on every pad
        visits.append(Visit(s.url(f"/{SLUG}/{one.id}"),
                            (*session_texts(one, s), *(s.template if with_notes else ())),
                            ready=PAD_READY if with_notes else None))
    for one in scheduled(s):
        visits.append(Visit(s.url(f"/{SLUG}/{one.id}/projector"),
                            (one.title, one.moderator, s.rooms[one.room],
                             s.tracks.get(one.track, ""))))
    now = {one.room: one for one in scheduled(s) if one.slot == 1}
    for room_id, name in s.rooms.items():
        visits.append(Visit(s.url(f"/{SLUG}/rooms/{room_id}"),
                            (name, *([now[room_id].title] if room_id in now else []))))
    pad = s.sessions[PAD_SESSION]
    visits += [
        Visit(s.url(f"/{SLUG}/{PAD_SESSION}/history"),
              (pad.title, *s.labels, *s.label_names, *s.pad_lines)),
        Visit(s.url(f"/{SLUG}/{PAD_SESSION}/history?rev=1"), (pad.title,)),
        Visit(s.url(f"/p/{PLAIN_PAD}/history"), tuple(s.imported)),
        Visit(s.url(f"/p/{PLAIN_PAD}"), tuple(s.imported), ready=PAD_READY),
        Visit(s.url(f"/p/{PLAIN_PAD}/ro"), tuple(s.imported), ready=PAD_READY),
    ]
    return visits


def _organizer_pages(s: Seeded) -> list[Visit]:
    pad = s.sessions[PAD_SESSION]
    visits = [
        Visit(s.url(f"/{SLUG}/admin"),
              (s.summit_name, *s.rooms.values(), *s.tracks.values(), *s.template,
               *(t for one in s.sessions.values() for t in (one.title, one.moderator)))),
        Visit(s.url(f"/{SLUG}/unconference")),  # room names in the options of a <select>
        Visit(s.url("/admin"), (pad.title,)),
        Visit(s.url(f"/admin/pads/{s.pad_id}/delete")),
        *(Visit(s.url(f"/admin?q={quote(query)}"), (query,))
          for query in s.markers.fill("pad search query", 200)),
    ]
    for one in s.sessions.values():
        visits.append(Visit(s.url(f"/{SLUG}/{one.id}/edit"),
                            (one.title, one.description, one.moderator)))
    return visits


async def _accounts_and_login(s: Seeded, sweep: Sweep) -> None:
    """Each organizer's name in the top bar; the login page with what a refused login typed
    and a `next` that goes into the form."""
    m = s.markers
    page = await sweep.page()
    for login, name in s.accounts.items():
        await xss_seed.log_in(page, s.app.http_url, login)
        await sweep.visit(page, s.url("/admin?q=none"), [name])
    await page.close()
    login_value = m.mark("<script>__xss({n})</script>", "login (refused)", "script")
    page = await sweep.page()
    await sweep.visit(page, s.url("/login?next=" + quote(
        m.mark('/"><svg onload=__xss({n})>', "login next", "svg-attr-break"))))
    await xss_seed.submit(page, "form[action='/login']",
                          {"login": login_value, "password": "wrong password"})
    await sweep.check(page, [login_value])
    await page.close()


async def _pad_with_people(s: Seeded, sweep: Sweep) -> None:
    """The pad page with everybody on it: names, chat, authors, and notices from organizers
    arriving on the pad page, the projector and the read-only view."""
    m = s.markers
    pad = s.sessions[PAD_SESSION]
    pages = {}
    for path in ("", "/projector", "/ro"):
        page = await sweep.page()
        await sweep.visit(page, s.url(f"/{SLUG}/{PAD_SESSION}{path}"),
                          [pad.title, *s.pad_lines], ready=PAD_READY)
        pages[path] = page
    page = pages[""]
    await s.announce()
    await page.locator("#people > summary").click()
    await sweep.check(page, [*s.names, *s.chat, *s.chat_names])
    await page.locator("#authors > summary").click()
    await sweep.check(page, s.authors)
    notices = m.fill("organizer notice", 500)
    for number, text in enumerate(notices):
        sender = FormClient(s.app.http_url)
        try:
            await sender.log_in(f"org{number}")
            answer = await sender.post("/admin/notices", {"summit": SLUG, "text": text})
            assert answer.status == 303, answer.text[:300]
        finally:
            await sender.close()
    for opened in pages.values():
        await sweep.check(opened, notices)
        await opened.close()
    for opened in s.pages:  # the participants' own pages saw it all come in
        await sweep.check(opened)


async def _timeslider(s: Seeded, sweep: Sweep) -> None:
    """The history page moving through the revisions: each one's text comes from history.json
    and goes into the page as HTML the server built."""
    page = await sweep.page()
    await sweep.visit(page, s.url(f"/{SLUG}/{PAD_SESSION}/history"), [*s.authors, *s.labels],
                      ready="() => window.summitpad && window.summitpad.count() > 0")
    count = await page.evaluate("() => window.summitpad.count()")
    for rev in sorted({1, count // 3, 2 * count // 3, count - 1}):
        await page.evaluate("rev => window.summitpad.seek(rev)", rev)
        await page.wait_for_function(
            "rev => document.getElementById('rev-number').textContent === String(rev)", arg=rev)
        await sweep.check(page)
    await page.close()


async def _signage_moves_on(s: Seeded, sweep: Sweep) -> None:
    """A room's signage after its session ends: the next session, then that one running,
    each put on the page by its script from now.json, not by the server's template."""
    room = s.sessions[PAD_SESSION].room
    later = next(one for one in scheduled(s) if one.room == room and one.slot == 2)
    assert later.start is not None
    page = await sweep.page()
    await page.clock.install(time=xss_seed.NOW)
    await page.clock.set_fixed_time(xss_seed.NOW)
    await sweep.visit(page, s.url(f"/{SLUG}/rooms/{room}"), [s.rooms[room]])
    for at, showing in ((later.start - timedelta(minutes=10), "next"),
                        (later.start + timedelta(seconds=1), "session")):
        s.app.app[CLOCK].set(at)
        await page.clock.set_fixed_time(at)
        await page.wait_for_function(
            "showing => document.getElementById('projector').dataset.showing === showing",
            arg=showing)
        texts = [later.title] if showing == "next" else [later.title, later.moderator,
                                                         s.tracks.get(later.track, "")]
        await sweep.check(page, texts)
    s.app.app[CLOCK].set(xss_seed.NOW)
    await page.close()


EXPORT_TYPES = {"txt": "text/plain", "md": "text/markdown", "json": "application/json",
                "html": "text/html", "yjs": "application/octet-stream"}


async def _exports(s: Seeded, sweep: Sweep, visitor: BrowserContext) -> None:
    """Every export of both pads opened in the browser (as if it were not a download), their
    types, and the Markdown as a renderer that lets raw HTML through would show it."""
    pad = s.sessions[PAD_SESSION]
    visits = []
    for base, lines, extra in (
        (f"/{SLUG}/{PAD_SESSION}", s.pad_lines, (*session_texts(pad, s), *s.chat)),
        (f"/p/{PLAIN_PAD}", s.imported, ()),
    ):
        visits += [
            Visit(s.url(f"{base}/export.txt"), tuple(lines)),
            Visit(s.url(f"{base}/export.md"), tuple(lines), transform=markdown_unescaped),
            Visit(s.url(f"{base}/export.html"), (*lines, *extra)),
            Visit(s.url(f"{base}/export.json")),
            Visit(s.url(f"{base}/export.html?rev=1")),
        ]
    await sweep.visit_all(visits, visitor)
    page = await sweep.page(visitor)
    async with aiohttp.ClientSession() as http:
        for base, lines in ((f"/{SLUG}/{PAD_SESSION}", s.pad_lines),
                            (f"/p/{PLAIN_PAD}", s.imported)):
            for fmt, kind in EXPORT_TYPES.items():
                async with http.get(s.url(f"{base}/export.{fmt}")) as response:
                    _check_type(sweep, f"{base}/export.{fmt}", response.headers, kind)
                    if fmt == "md":
                        markdown = await response.text()
            await page.set_content(MarkdownIt("commonmark", {"html": True}).render(markdown))
            await sweep.check(page, lines)
        for path, kind in ((f"/api/v1/pads/{s.pad_id}/text?format=html", "application/json"),
                           (f"/p/{s.pad_id}/authors.json", "application/json"),
                           (f"/{SLUG}/schedule.ics", "text/calendar")):
            async with http.get(s.url(path)) as response:
                _check_type(sweep, path, response.headers, kind, nosniff=False)
    await page.close()
    for url, headers in sweep.export_headers.items():
        if "export.html" in url and "sandbox" not in headers.get("content-security-policy", ""):
            sweep.findings.append(f"{url}: an HTML export without a sandboxing CSP")


def _check_type(sweep: Sweep, path: str, headers: Any, kind: str, *,
                nosniff: bool = True) -> None:
    got = headers.get("Content-Type", "")
    if got.split(";")[0].strip() != kind:
        sweep.findings.append(f"{path}: Content-Type {got!r}, not {kind}")
    if nosniff and headers.get("X-Content-Type-Options", "").lower() != "nosniff":
        sweep.findings.append(f"{path}: no X-Content-Type-Options: nosniff")


async def _archive(s: Seeded, sweep: Sweep, organizer: Page, visitor: BrowserContext,
                   tmp_path: Path) -> None:
    """The archive as an organizer downloads it, unzipped and opened from file:// (where the
    <meta> CSP of its pages is ignored, as every CSP is here); its notes files too, which the
    browser shows as text (or downloads), and never runs."""
    answer = await organizer.context.request.get(s.url(f"/{SLUG}/archive.zip"))
    assert answer.ok, answer.status
    with zipfile.ZipFile(io.BytesIO(await answer.body())) as archive:
        archive.extractall(tmp_path)
    root = tmp_path / SLUG
    index = [s.summit_name]
    for one in scheduled(s):
        index += [one.title, one.moderator, s.rooms[one.room], s.tracks.get(one.track, "")]
    visits = [Visit((root / "index.html").as_uri(), tuple(index)),
              Visit((root / "actions.html").as_uri(), tuple(s.actions))]
    pad = s.sessions[PAD_SESSION]
    for one in s.sessions.values():
        expected = session_texts(one, s)
        if one is pad:
            expected += [*s.pad_lines, *s.chat, *s.chat_names, *s.labels, *s.label_names]
        visits.append(Visit((root / "sessions" / f"{one.id}.html").as_uri(), tuple(expected)))
    for suffix in (".txt", ".md", ".json"):
        visits.append(Visit((root / "sessions" / f"{PAD_SESSION}{suffix}").as_uri()))
    await sweep.visit_all(visits, visitor)
