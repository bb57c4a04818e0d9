"""The pad page after a limit closed its connection (docs/limits.md): it says why, and it does
not come straight back to be closed again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from playwright.async_api import expect

from ..summit_fixtures import stored_text
from ..support import RunningApp
from .conftest import OpenPage
from .test_pad_in_browser import expect_saved, new_pad_id, wait_ready

StartApp = Callable[..., Awaitable[RunningApp]]


def refusals(caplog: pytest.LogCaptureFixture, code: int) -> int:
    return sum(1 for r in caplog.records if getattr(r, "close_code", None) == code)


async def test_a_tab_past_the_connection_limit_says_so_and_waits(
    start_app: StartApp, open_page: OpenPage, artifacts: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="summitpad")
    app = await start_app(max_connections_per_participant=1)
    pad_id = new_pad_id()
    first = await open_page(f"{app.http_url}/p/{pad_id}", "first tab")
    await wait_ready(first)

    second = await first.context.new_page()  # the same browser: the same participant
    await second.goto(f"{app.http_url}/p/{pad_id}")
    banner = second.locator(".notice-banner")
    await expect(banner.locator(".notice-head")).to_have_text("Too many tabs")
    await expect(banner.locator(".notice-text")).to_contain_text("Close some tabs")
    assert await second.evaluate("() => window.summitpad.provider.shouldConnect") is False
    await asyncio.sleep(2)  # the stock client would have come back several times by now
    assert refusals(caplog, 4429) == 1
    await second.screenshot(path=str(artifacts / "limits-too-many-tabs.png"))

    # The first tab is untouched.
    await expect(first.locator(".notice-banner")).to_have_count(0)
    await first.locator(".ql-editor").click()
    await first.keyboard.type("first tab")
    await expect_saved(first)


async def test_an_edit_past_the_pad_size_is_refused_and_the_page_says_so(
    start_app: StartApp, open_page: OpenPage, artifacts: Path,
    redis_client: aioredis.Redis, key_prefix: str, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="summitpad")
    app = await start_app(max_pad_size=4000)
    pad_id = new_pad_id()
    page = await open_page(f"{app.http_url}/p/{pad_id}", "pad")
    await wait_ready(page)
    await page.locator(".ql-editor").click()
    await page.keyboard.type("kept ")
    await expect_saved(page)

    await page.keyboard.insert_text("<too much>" + "x" * 6000)  # a paste, say
    banner = page.locator(".notice-banner.notice-deleted")
    await expect(banner.locator(".notice-head")).to_have_text("Pad full")
    await expect(banner.locator(".notice-text")).to_contain_text("not saved")
    assert await page.evaluate("() => window.summitpad.provider.shouldConnect") is False
    await asyncio.sleep(2)
    assert refusals(caplog, 4413) == 1
    await page.screenshot(path=str(artifacts / "limits-pad-full.png"))
    text = await stored_text(redis_client, key_prefix, pad_id)
    assert text.startswith("kept") and "<too much>" not in text
