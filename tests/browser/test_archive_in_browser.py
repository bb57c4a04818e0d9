"""The archive opened from file:// in a real browser: its links work, the authorship colours
turn off and on with no script, it fetches nothing, and nothing anybody wrote runs."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from playwright.async_api import expect
from summitpad.archive import write_archive

from ..archive_fixtures import ATTR_XSS, NOW, SUMMIT, seed_archive_summit
from ..summit_fixtures import XSS
from .conftest import OpenPage

ANN_HIGHLIGHT = "rgba(29, 78, 216, 0.25)"  # #1d4ed8 at alpha 0x40
NONE = "rgba(0, 0, 0, 0)"


async def background(page: Any, selector: str) -> str:
    return str(await page.locator(selector).first.evaluate(
        "element => getComputedStyle(element).backgroundColor"
    ))


async def test_the_archive_opens_from_files_and_runs_nothing(
    redis_client: aioredis.Redis, key_prefix: str, open_page: OpenPage, tmp_path: Path
) -> None:
    await seed_archive_summit(redis_client, key_prefix)
    buffer = io.BytesIO()
    await write_archive(redis_client, key_prefix, SUMMIT.slug, buffer, now=NOW)
    with zipfile.ZipFile(buffer) as archive:
        archive.extractall(tmp_path)
    index = (tmp_path / SUMMIT.slug / "index.html").resolve()

    requests: list[str] = []
    dialogs: list[str] = []
    page = await open_page("about:blank", "archive")
    page.on("request", lambda request: requests.append(request.url))

    async def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    await page.goto(index.as_uri())
    await expect(page.locator("h1")).to_have_text(SUMMIT.name)
    await expect(page.locator("td", has_text=f"Room {ATTR_XSS}").first).to_be_visible()

    # To the session's page, by its link.
    await page.locator('a[href="sessions/s1.html"]').click()
    await page.wait_for_url("**/sessions/s1.html")
    await expect(page.locator("h1")).to_have_text(f"Storage {XSS}")
    await expect(page.locator("#L3")).to_have_text(XSS)
    ann = ".pad .a0"
    assert await background(page, ann) == ANN_HIGHLIGHT
    await page.locator("label[for=colours]").click()
    await expect(page.locator("#colours")).not_to_be_checked()
    assert await background(page, ann) == NONE
    await page.locator("#colours").check()
    assert await background(page, ann) == ANN_HIGHLIGHT

    # An action item leads to its line.
    await page.locator('a[href="../actions.html"]').first.click()
    await page.wait_for_url("**/actions.html")
    await page.locator('a[href="sessions/s1.html#L9"]').click()
    await page.wait_for_url("**/sessions/s1.html#L9")
    assert await page.evaluate("() => document.querySelector(':target').id") == "L9"

    assert await page.evaluate("() => typeof window.__xss") == "undefined"
    assert dialogs == []
    assert requests and all(url.startswith("file://") for url in requests), requests
