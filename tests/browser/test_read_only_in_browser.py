"""A pad's read-only page in a real browser: it follows the writers live and takes no typing."""

from __future__ import annotations

import secrets
from pathlib import Path

from playwright.async_api import expect

from ..support import RunningApp, eventually
from .conftest import Y_TEXT, Connect, OpenPage


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
