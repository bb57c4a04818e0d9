"""The Content-Security-Policy in a real browser: every main page runs under it without one
violation (logged in as an organizer, so the admin pages are seen too), the pad still syncs
under it, and framing by another origin is refused unless the setting names that origin.

A violation is caught twice: a `securitypolicyviolation` listener that an init script adds to
every document before its own scripts run, and Chromium's "Refused to ..." console messages.
"""

from __future__ import annotations

import html
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, expect
from summitpad.accounts import Role
from summitpad.web_security import ACCOUNTS

from ..summit_fixtures import PASSWORD
from ..support import RunningApp, free_port
from .conftest import Connect, OpenPage, SummitOnClock, summit_time
from .test_pad_in_browser import wait_ready

WATCH_VIOLATIONS = """
window.__cspViolations = []
document.addEventListener('securitypolicyviolation', event => {
  window.__cspViolations.push(
    `${event.violatedDirective} blocked ${event.blockedURI || '(inline)'} ` +
    `at ${event.sourceFile}:${event.lineNumber} on ${document.location.pathname}`)
}, true)
"""
# The violation events are queued tasks: let them run before reading the list.
VIOLATIONS = """() => new Promise(resolve => setTimeout(
  () => resolve(window.__cspViolations === undefined ? ['no listener'] : window.__cspViolations),
  50))"""

StartApp = Callable[..., Awaitable[RunningApp]]


class Watched:
    """A page whose every document reports its CSP violations."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.refused: list[str] = []
        page.on("console", self._on_console)

    def _on_console(self, message: Any) -> None:
        if "Content Security Policy" in message.text or message.text.startswith("Refused to"):
            self.refused.append(f"{message.text} @ {message.location.get('url', '')}")

    @classmethod
    async def open(cls, open_page: OpenPage, label: str, **kwargs: Any) -> Watched:
        page = await open_page("about:blank", label, **kwargs)
        await page.context.add_init_script(WATCH_VIOLATIONS)
        return cls(page)

    async def expect_no_violations(self, where: str) -> None:
        violations = await self.page.evaluate(VIOLATIONS)
        assert violations == [], f"{where}: {violations}"
        assert self.refused == [], f"{where}: {self.refused}"


@pytest.fixture
async def organizer_page(summit_on_clock: SummitOnClock, open_page: OpenPage) -> Watched:
    """An organizer's page, logged in through the login form (a form post and its redirect)."""
    s = summit_on_clock
    await s.app.app[ACCOUNTS].add_user("olga", PASSWORD, Role.ORGANIZER, "Olga")
    watched = await Watched.open(open_page, "organizer")
    page = watched.page
    await page.goto(s.url("/login?next=/admin"))
    await page.locator("#login-name").fill("olga")
    await page.locator("#login-password").fill(PASSWORD)
    await page.locator("form.login button[type=submit]").click()
    await page.wait_for_url(s.url("/admin"))
    await watched.expect_no_violations("login")
    return watched


async def test_the_main_pages_run_without_a_violation_and_the_pad_syncs(
    summit_on_clock: SummitOnClock, organizer_page: Watched, open_page: OpenPage,
    connect: Connect,
) -> None:
    s = summit_on_clock
    s.clock.set(summit_time(10, 5))  # session a is on
    session = f"/{s.slug}/{s.a.id}"
    # Someone else's text and name first: the pad draws authors' colours and cursors.
    other = await connect(s.app.ws_url, s.pad_id(s.a))
    await other.set_awareness({"user": {"name": "Ada", "color": "#0f766e"}})
    await other.edit(lambda text: text.insert(0, "Ada's line\n"))

    watched = organizer_page
    page = watched.page
    projector = await Watched.open(open_page, "projector")
    await projector.page.goto(s.url(f"{session}/projector"))
    await expect(projector.page.locator(".ql-editor")).to_contain_text("Ada's line")

    # The session page: type, and the projector and the other client see it.
    await page.goto(s.url(session))
    await wait_ready(page)
    await expect(page.locator(".ql-editor")).to_contain_text("Ada's line")
    await page.locator(".ql-editor").click()
    await page.keyboard.press("Control+End")
    await page.keyboard.type("typed under the policy")
    await expect(projector.page.locator(".ql-editor")).to_contain_text("typed under the policy")
    await expect(page.locator("#status")).to_have_attribute("data-state", "saved")
    assert "typed under the policy" in str(other.text)
    await page.keyboard.press("Enter")
    await page.keyboard.type("- a bullet")  # a Markdown shortcut: Quill formats the line
    await expect(page.locator('.ql-editor li[data-list="bullet"]')).to_have_text("a bullet")
    await page.keyboard.press("Control+b")
    await page.keyboard.type(" bold")
    await expect(page.locator(".ql-editor strong")).to_have_text(" bold")
    await watched.expect_no_violations("session page")
    await projector.expect_no_violations("projector")

    # The history page: seek, so the timeslider puts a revision's HTML in the page.
    await page.goto(s.url(f"{session}/history"))
    await expect(page.locator("#rev-number")).not_to_have_text("0")
    await page.locator("#slider").fill("0")
    await expect(page.locator("#rev-number")).to_have_text("0")
    await watched.expect_no_violations("history")

    bare = "/p/csp-notes"
    for path, ready in (
        ("/", "main"),
        (f"/{s.slug}", "main"),
        (f"/{s.slug}/search?q=cinder", "main"),
        (f"/{s.slug}/rooms/r101", "#projector"),
        (f"{session}/ro", ".ql-editor"),
        (bare, ".ql-editor[contenteditable=true]"),
        (f"{bare}/history", "#history"),
        (f"/{s.slug}/unconference", "main"),
        ("/admin", "main"),
        (f"/{s.slug}/admin", "main"),
        ("/new", "main"),
        (f"{session}/edit", "main"),
        (f"/admin/pads/{s.pad_id(s.a)}/delete", "main"),
        ("/login", "main"),
    ):
        await page.goto(s.url(path))
        await expect(page.locator(ready).first).to_be_visible()
        await watched.expect_no_violations(path)


@pytest.fixture
async def wiki() -> AsyncIterator[str]:
    """Another origin (another port): `<wiki>/?src=<url>` shows `url` in an iframe."""
    async def outer(request: web.Request) -> web.Response:
        src = html.escape(request.query["src"])
        return web.Response(
            text=f'<!doctype html><title>a wiki</title><link rel="icon" href="data:,">'
                 f'<iframe src="{src}"></iframe>',
            content_type="text/html",
        )

    app = web.Application()
    app.router.add_get("/", outer)
    server = TestServer(app, host="127.0.0.1", port=free_port())
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


async def test_another_site_may_frame_pages_only_when_the_setting_names_it(
    start_app: StartApp, open_page: OpenPage, wiki: str
) -> None:
    closed = await start_app()
    page = await open_page("about:blank", "framed, refused",
                           console_ok=[r"^Framing .* violates .*frame-ancestors 'none'"])
    refused = "violates the following Content Security Policy directive: \"frame-ancestors"
    async with page.expect_console_message(lambda message: refused in message.text):
        await page.goto(f"{wiki}/?src={quote(closed.http_url + '/')}")
    assert await page.frame_locator("iframe").locator("#pad-id").count() == 0

    opened = await start_app(frame_ancestors=f"https://wiki.example.org {wiki}")
    page = await open_page(f"{wiki}/?src={quote(opened.http_url + '/')}", "framed, allowed")
    await expect(page.frame_locator("iframe").locator("#pad-id")).to_be_visible()
