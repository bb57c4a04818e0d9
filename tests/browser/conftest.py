"""Debian's Chromium driven by Playwright (async API, on the test's own event loop).

One browser per test; every page gets a browser context of its own (its own localStorage, so its
own participant). A JavaScript error on any page (a `pageerror` event) fails the test, and so does
a console error that the test did not expect (y-quill reports a cursor it cannot draw that way).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect
from summitpad.app_keys import SUMMITS
from summitpad.client import PadClient
from summitpad.clock import SetClock
from summitpad.schedule import Room, Session, Summit, Track

from ..support import ROOT, RunningApp

CHROMIUM = Path("/usr/bin/chromium")
HAVE_CHROMIUM = CHROMIUM.exists()
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# Console errors every page may log, matched against "<text> @ <url>".
EXPECTED_CONSOLE_ERRORS: tuple[str, ...] = ()

# The shared text as the page's JavaScript sees it.
Y_TEXT = "() => window.summitpad.doc.getText('content').toString()"
Connect = Callable[..., Awaitable[PadClient]]
HERE = Path(__file__).resolve().parent

expect.set_options(timeout=10_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here drives Chromium: marked `browser`, skipped (saying why) without it."""
    missing = pytest.mark.skip(reason=f"{CHROMIUM} is missing: `make chromium` installs it")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)
            if not HAVE_CHROMIUM:
                item.add_marker(missing)

OpenPage = Callable[..., Awaitable[Any]]


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if not HAVE_CHROMIUM:
        pytest.skip(f"{CHROMIUM} is missing: `make chromium` (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
def page_errors() -> list[str]:
    """Uncaught JavaScript errors of every page of the test, as "label: message"."""
    return []


@pytest.fixture
async def open_page(browser: Any, page_errors: list[str]) -> AsyncIterator[OpenPage]:
    """`await open_page(url, label)`: a page in a browser context of its own, at `url`.

    `console_ok`: regular expressions for the console errors this page may log (besides
    EXPECTED_CONSOLE_ERRORS), matched against "<text> @ <url>".
    """
    contexts: list[Any] = []
    console_errors: list[str] = []

    async def open_(
        url: str,
        label: str,
        *,
        viewport: dict[str, int] = LAPTOP,
        console_ok: Iterable[str] = (),
    ) -> Any:
        allowed = [re.compile(p) for p in (*EXPECTED_CONSOLE_ERRORS, *console_ok)]

        def on_console(message: Any) -> None:
            if message.type != "error":
                return
            seen = f"{message.text} @ {message.location.get('url', '')}"
            if not any(pattern.search(seen) for pattern in allowed):
                console_errors.append(f"{label}: {seen}")

        context = await browser.new_context(viewport=viewport)
        contexts.append(context)
        page = await context.new_page()
        page.on("pageerror", lambda exc: page_errors.append(f"{label}: {exc}"))
        page.on("console", on_console)
        await page.goto(url)
        return page

    yield open_
    for context in contexts:
        await context.close()
    assert not page_errors, f"JavaScript errors on the pages: {page_errors}"
    assert not console_errors, f"unexpected console errors on the pages: {console_errors}"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


# ---- a summit on a set clock: the projector and signage tests ------------------------------


@dataclass(frozen=True)
class SummitOnClock:
    """A running app on a SetClock with a summit: one room, one track, and two back-to-back
    sessions `a` (10:00-10:40 UTC) and `b` (10:40-11:20 UTC) in that room."""

    app: RunningApp
    clock: SetClock
    summit: Summit
    a: Session
    b: Session

    @property
    def slug(self) -> str:
        return self.summit.slug

    def url(self, path: str) -> str:
        return self.app.http_url + path

    def pad_id(self, session: Session) -> str:
        return self.summit.pad_id(session.id)

    async def save(self, session: Session) -> None:
        await self.app.app[SUMMITS].save_session(self.slug, session)


SUMMIT_DAY = date(2030, 6, 10)


def summit_time(hour: int, minute: int, second: int = 0) -> datetime:
    """A time on the summit's day, in UTC."""
    return datetime(2030, 6, 10, hour, minute, second, tzinfo=UTC)


@pytest.fixture
async def summit_on_clock(start_app: Callable[..., Awaitable[RunningApp]]) -> SummitOnClock:
    clock = SetClock(summit_time(9, 55))
    app = await start_app(clock=clock)
    summit = Summit(
        slug="dsum",
        name="Design Summit",
        start_date=SUMMIT_DAY,
        end_date=SUMMIT_DAY,
        timezone="Europe/Paris",  # UTC+2 in June: 10:00 UTC shows as 12:00
        tracks=(Track("storage", "Storage", "#0f766e"),),
        rooms=(Room("r101", "Room 101"),),
    )
    a = Session(
        id="cinder-backups", title="Cinder backups: what next", track="storage", room="r101",
        start=summit_time(10, 0), end=summit_time(10, 40), moderator="Ada",
    )
    b = Session(
        id="ha-fencing", title="HA fencing", track="storage", room="r101",
        start=summit_time(10, 40), end=summit_time(11, 20), moderator="Grace",
    )
    store = app.app[SUMMITS]
    await store.create(summit)
    await store.update(summit.slug, lambda _: (None, ([a, b], [])))
    return SummitOnClock(app, clock, summit, a, b)
