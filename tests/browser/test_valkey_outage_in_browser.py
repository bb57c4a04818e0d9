"""What the pad page shows while Valkey is away: the server holds the edits back without
echoing them, and three seconds after the first unechoed keystroke the status line says
*not saved*; once Valkey is back the held edits are written, echoed, and it says *all changes
saved*. The other person sees nothing typed meanwhile until it is stored."""

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
    other = await connect(app.ws_url, "outage")
    await page.locator(".ql-editor").click()
    await page.keyboard.type("stored.", delay=10)
    await expect_saved(page)

    own_valkey.kill()
    typed = time.monotonic()
    await page.keyboard.type(" held back.", delay=10)
    status = page.locator("#status")
    await expect(status).to_have_attribute("data-state", "saving")
    await expect(status).to_have_attribute("data-state", "not-saved")
    shown_after = time.monotonic() - typed
    await expect(status).to_have_text(NOT_SAVED)
    print(f"\nthe page said not saved {shown_after:.1f} s after the first unechoed keystroke")
    assert 2.5 < shown_after < 8, shown_after
    await asyncio.sleep(1.0)
    assert str(other.text) == "stored."  # nothing shown to anyone before it is stored

    await asyncio.to_thread(own_valkey.start)
    await expect_saved(page, within_ms=15_000)
    assert await page.evaluate(Y_TEXT) == "stored. held back."
    await eventually(lambda: str(other.text) == "stored. held back.")
