"""The XSS sweep's watch over its browser pages: what ran, what showed, what must not be there.

`Sweep.context()` opens a browser context that ignores every Content-Security-Policy (header,
`<meta>` and `sandbox` alike, through Chromium's own switch), so a page is safe only if it
escapes people's text; each page visited is also probed with an inline script of the test's
own, and a page where that does not run is reported: there, a CSP would hide an injection. A
call of the payloads' marker (`__xss`) in any page or frame, and any dialog, is recorded with
the page it came from. Exports are downloads (Content-Disposition: attachment): the context
drops that header so the browser renders them as it would any response of that type.

Nothing fails at once: every finding is collected, and `Sweep.report()` lists them all, so one
run tells every field and page that went wrong.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, Route, ViewportSize

from ..xss_payloads import (
    DOM_FINDINGS,
    GUARD,
    INLINE_SCRIPT_RUNS,
    VISIBLE_TEXT,
    Markers,
    shown,
)
from .conftest import LAPTOP

EXPORT_URL = re.compile(r"/export\.[A-Za-z0-9]+(\?.*)?$")
SETTLE_S = 0.2  # after a page is shown: time for an image's onerror or a late script to run


@dataclass(frozen=True)
class Visit:
    """A page to open and what it must show; `ready`: a JavaScript condition to wait for
    first (the pad synced, say); `transform`: applied to the page's text before looking."""

    url: str
    expected: tuple[str, ...] = ()
    ready: str | None = None
    transform: Callable[[str], str] | None = None


@dataclass
class Sweep:
    browser: Browser
    markers: Markers
    ran: list[str] = field(default_factory=list)  # marker calls and dialogs
    missing: list[str] = field(default_factory=list)  # payloads a page did not show
    findings: list[str] = field(default_factory=list)  # what the DOM must never hold
    errors: list[str] = field(default_factory=list)  # uncaught errors of the pages
    csp_in_force: list[str] = field(default_factory=list)  # pages where inline scripts cannot run
    visited: list[str] = field(default_factory=list)
    export_headers: dict[str, dict[str, str]] = field(default_factory=dict)
    _contexts: list[BrowserContext] = field(default_factory=list)

    async def context(self) -> BrowserContext:
        viewport = ViewportSize(width=LAPTOP["width"], height=LAPTOP["height"])
        context = await self.browser.new_context(viewport=viewport, bypass_csp=True)
        self._contexts.append(context)
        await context.expose_binding("__xssReport", self._reported)
        await context.add_init_script(GUARD)
        await context.route(EXPORT_URL, self._inline_export)
        return context

    async def page(self, context: BrowserContext | None = None) -> Page:
        page = await (context or await self.context()).new_page()
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))
        return page

    async def close(self) -> None:
        for context in self._contexts:
            await context.close()

    # -- what the pages report ---------------------------------------------------------------

    def _reported(self, source: Any, kind: str, value: str, url: str) -> None:
        self.ran.append(f"{self.markers.describe(value)} ran on {url}")

    async def _dialog(self, dialog: Any) -> None:
        self.ran.append(
            f"a {dialog.type} dialog ({self.markers.describe(dialog.message)}) on "
            f"{dialog.page.url if dialog.page else '?'}"
        )
        await dialog.dismiss()

    async def _inline_export(self, route: Route) -> None:
        response = await route.fetch()
        headers = dict(response.headers)
        self.export_headers[route.request.url] = dict(headers)
        headers.pop("content-disposition", None)
        await route.fulfill(response=response, headers=headers)

    async def visit_all(self, visits: Iterable[Visit], context: BrowserContext,
                        width: int = 4) -> None:
        """Open every page of `visits`, `width` at a time, in `context`."""
        queue = list(visits)

        async def worker() -> None:
            page = await self.page(context)
            try:
                while queue:
                    one = queue.pop(0)
                    await self.visit(page, one.url, one.expected, ready=one.ready,
                                     transform=one.transform)
            finally:
                await page.close()

        await asyncio.gather(*(worker() for _ in range(min(width, len(queue)))))

    # -- looking at a page -------------------------------------------------------------------

    async def visit(self, page: Page, url: str, expected: Iterable[str] = (), *,
                    ready: str | None = None, transform: Callable[[str], str] | None = None,
                    within: float = 6.0) -> None:
        """Go to `url`, then `check` it. `ready`: a JavaScript condition to wait for first
        (the pad synced, say)."""
        response = await page.goto(url)
        if response is None or response.status >= 500:
            self.missing.append(f"{url}: answered {response.status if response else 'nothing'}")
        if ready:
            try:
                await page.wait_for_function(ready, timeout=within * 1000)
            except Exception as exc:
                self.missing.append(f"{url}: never ready ({ready}): {str(exc)[:120]}")
        await self.check(page, expected, transform=transform, within=within)

    async def check(self, page: Page, expected: Iterable[str] = (), *,
                    transform: Callable[[str], str] | None = None, within: float = 6.0) -> None:
        """The page as it is now: it can run inline scripts (no CSP in the way), shows every
        expected text (waiting up to `within` seconds), holds no handler, javascript: link,
        frame or foreign script, and, after a moment, has called no marker."""
        label = page.url
        self.visited.append(label)
        if not await page.evaluate(INLINE_SCRIPT_RUNS):
            self.csp_in_force.append(label)
        wanted = [shown(text) for text in expected if shown(text)]
        deadline = time.monotonic() + within
        while True:
            text = await page.evaluate(VISIBLE_TEXT)
            text = shown(transform(text) if transform else text)
            absent = [value for value in wanted if value not in text]
            if not absent or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        self.missing.extend(f"{label} does not show {value!r} ({self.markers.where(value)})"
                            for value in absent)
        await asyncio.sleep(SETTLE_S)
        for finding in await page.evaluate(DOM_FINDINGS):
            self.findings.append(f"{label}: {finding}")

    def report(self) -> str:
        parts = []
        for title, items in (
            ("SCRIPT RAN", self.ran),
            ("NOT SHOWN", self.missing),
            ("FORBIDDEN IN THE DOM", self.findings),
            ("PAGE ERRORS", self.errors),
            ("A CSP STILL IN FORCE (the sweep would prove nothing there)", self.csp_in_force),
        ):
            if items:
                parts.append(f"{title} ({len(items)}):\n  " + "\n  ".join(items[:80]))
        return "\n".join(parts)
