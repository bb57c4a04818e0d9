"""What the pad page shows while Valkey is away: the server holds the edits back without
echoing them and tells every page of the pad that it cannot store them, so the status line
says *not saved* at once, for the person typing and for everyone else in the pad; once Valkey
is back the held edits are written, echoed, and it says *all changes saved*. Nobody sees what
was typed meanwhile until it is stored."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from playwright.async_api import expect

from ..support import RunningApp, ValkeyProcess, eventually
from .conftest import Y_TEXT, Connect, OpenPage
from .test_pad_in_browser import expect_saved, wait_ready

NOT_SAVED = "not saved — the server cannot store changes right now"


async def test_the_status_line_says_not_saved_while_valkey_is_away(
    own_valkey: ValkeyProcess,
    start_app: Callable[..., Awaitable[RunningApp]],
    connect: Connect,
    open_page: OpenPage,
) -> None:
    app = await start_app(redis_url=own_valkey.url)
    page = await open_page(f"{app.http_url}/p/outage", "typist")
    await wait_ready(page)
    reader = await open_page(f"{app.http_url}/p/outage", "reader")  # who does not type
    await wait_ready(reader)
    other = await connect(app.ws_url, "outage")
    await page.locator(".ql-editor").click()
    await page.keyboard.type("stored.", delay=10)
    await expect_saved(page)

    own_valkey.kill()
    typed = time.monotonic()
    await page.keyboard.type(" held back.", delay=10)
    status = page.locator("#status")
    await expect(status).to_have_attribute("data-state", "not-saved")
    shown_after = time.monotonic() - typed
    await expect(status).to_have_text(NOT_SAVED)
    await expect(reader.locator("#status")).to_have_text(NOT_SAVED)
    print(f"\nthe page said not saved {shown_after:.1f} s after the first unechoed keystroke")
    # The server's word, not the page's own fallback (an edit unechoed for 3 s).
    assert shown_after < 2.5, shown_after
    await asyncio.sleep(1.0)
    assert str(other.text) == "stored."  # nothing shown to anyone before it is stored
    assert await reader.evaluate(Y_TEXT) == "stored."

    await asyncio.to_thread(own_valkey.start)
    await expect_saved(page, within_ms=15_000)
    await expect_saved(reader)
    assert await page.evaluate(Y_TEXT) == "stored. held back."
    await eventually(lambda: str(other.text) == "stored. held back.")
