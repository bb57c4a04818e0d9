"""A pad's read-only page in a real browser: it follows the writers live and takes no typing."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import expect
from summitpad.client import PadClient

from ..support import RunningApp, eventually
from .conftest import CHROMIUM, HAVE_CHROMIUM, OpenPage

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not HAVE_CHROMIUM, reason=f"{CHROMIUM} is missing: `make chromium` installs it"
    ),
]

expect.set_options(timeout=10_000)

Connect = Callable[..., Awaitable[PadClient]]
Y_TEXT = "() => window.summitpad.doc.getText('content').toString()"


async def test_the_read_only_page_follows_the_pad_and_takes_no_typing(
    app: RunningApp, connect: Connect, open_page: OpenPage, artifacts: Path
) -> None:
    pad_id = "browser-ro-" + secrets.token_hex(4)
    writer = await connect(app.ws_url, pad_id)
    await writer.edit(lambda t: t.insert(0, "first line"))
    await eventually(lambda: writer.saved)

    page = await open_page(f"{app.http_url}/p/{pad_id}/ro", "viewer")
    assert "/ro/r" in page.url
    await expect(page.locator(".ql-editor")).to_have_text("first line")
    await expect(page.locator("#pad")).to_have_attribute("data-read-only", "true")
    await expect(page.locator(".ql-editor")).to_have_attribute("contenteditable", "false")
    await expect(page.locator("#status")).to_have_attribute("data-state", "read-only")

    await writer.edit(lambda t: t.insert(len(t), ", then more"))
    await expect(page.locator(".ql-editor")).to_have_text("first line, then more")

    await page.locator(".ql-editor").click()
    await page.keyboard.type("typed by a viewer")
    await page.wait_for_timeout(300)
    assert await page.evaluate(Y_TEXT) == "first line, then more"
    assert str(writer.text) == "first line, then more"
    assert pad_id not in await page.content()
    assert await page.evaluate("() => window.summitpad.provider.wsconnected")
    await page.screenshot(path=artifacts / "read-only-page.png")
