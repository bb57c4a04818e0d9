"""A pad's history page (the timeslider) in a real browser: seek, step, play, the authors'
colours, a saved revision's mark, and restoring a revision from it."""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path

from playwright.async_api import expect
from summitpad.client import PadClient

from ..summit_fixtures import XSS, browsers
from ..support import RunningApp, eventually
from .conftest import OpenPage

ANN = {"name": "Ann", "color": "#1d4ed8"}
BOB = {"name": f"Bob {XSS}", "color": "#b42318"}
LINES = ("first line\n", "second line\n", "third line\n")


def rgba(hex_color: str, alpha: str = "") -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})" if alpha else f"rgb({r}, {g}, {b})"


async def test_the_timeslider_seeks_steps_plays_and_restores(
    app: RunningApp, open_page: OpenPage, artifacts: Path
) -> None:
    pad_id = "browser-history-" + secrets.token_hex(4)
    clients: list[PadClient] = []
    async with browsers(app) as open_browser:
        try:
            for user in (ANN, BOB):
                browser = await open_browser()
                await browser.get(f"/p/{pad_id}")  # the participant cookie
                client = await PadClient(browser.http, app.ws_url, pad_id).connect()
                clients.append(client)
                await asyncio.wait_for(client.synced.wait(), 10)
                await client.set_awareness({"user": user})
            ann, bob = clients
            typed = ""
            for client, line in zip((ann, bob, ann), LINES, strict=True):
                await eventually(lambda c=client, t=typed: str(c.text) == t)
                await client.edit(lambda t, line=line: t.insert(len(t), line))
                await eventually(lambda c=client: c.saved)
                typed += line

            async def named() -> bool:
                async with browser.http.get(f"{app.http_url}/p/{pad_id}/history.json") as r:
                    return len(json.loads(await r.text())["authors"]) == 2

            await eventually(named)

            # Star the current revision from the pad page.
            pad_page = await open_page(f"{app.http_url}/p/{pad_id}", "pad")
            await expect(pad_page.locator(".ql-editor")).to_contain_text("third line")
            await pad_page.locator("#save-revision > summary").click()
            await pad_page.locator("#save-revision-label").fill("   ")
            await pad_page.locator("#save-revision-form button[type=submit]").click()
            await expect(pad_page.locator("#save-revision-note")).to_have_text(
                "Give the revision a label."
            )
            await pad_page.locator("#save-revision-label").fill("all three")
            await pad_page.locator("#save-revision-form button[type=submit]").click()
            await expect(pad_page.locator("#save-revision-note")).to_have_text(
                "Saved as revision 3: “all three”."
            )
            await pad_page.locator("a.history-link").click()
            await pad_page.wait_for_url(f"{app.http_url}/p/{pad_id}/history")

            page = await open_page(f"{app.http_url}/p/{pad_id}/history", "timeslider")
            text = page.locator("#rev-text")
            number = page.locator("#rev-number")
            await expect(number).to_have_text("3")
            await expect(text).to_contain_text("third line")
            await expect(page.locator(".saved-mark")).to_have_count(1)
            await expect(page.locator("#saved-list")).to_contain_text("★ all three")
            await expect(page.locator("#rev-authors")).to_contain_text(BOB["name"])
            assert await page.evaluate("() => window.__xss") is None

            # Seek with the slider.
            await page.locator("#slider").fill("1")
            await expect(number).to_have_text("1")
            await expect(text).to_have_text("first line")
            await expect(page.locator("#rev-author-name")).to_have_text("Ann")
            chip = page.locator("#rev-author-chip")
            await expect(chip).to_have_css("background-color", rgba(ANN["color"]))
            run = text.locator(".author").first
            await expect(run).to_have_css("background-color", rgba(ANN["color"], "0.2"))
            await expect(page.locator('#rev-exports a[data-fmt="txt"]')).to_have_attribute(
                "href", f"/p/{pad_id}/export.txt?rev=1"
            )
            assert page.url.endswith("?rev=1")

            # Step and use the keyboard.
            await page.locator("#step-forward").click()
            await expect(number).to_have_text("2")
            await expect(text).to_contain_text("second line")
            await expect(page.locator("#rev-author-name")).to_have_text(BOB["name"])
            bob_run = text.locator(".author", has_text="second line")
            await expect(bob_run).to_have_css("background-color", rgba(BOB["color"], "0.2"))
            await page.locator("#step-back").click()
            await expect(number).to_have_text("1")
            await expect(page.locator("#step-back")).to_be_enabled()
            await page.locator("#step-back").click()
            await expect(number).to_have_text("0")
            await expect(text).to_have_text("")
            await expect(page.locator("#step-back")).to_be_disabled()
            await page.locator("h1").click()
            await page.keyboard.press("ArrowRight")
            await expect(number).to_have_text("1")

            # Play to the end, where it stops by itself.
            await page.locator("#play").click()
            await expect(page.locator("#play")).to_have_text("Pause")
            await expect(number).to_have_text("3")
            await expect(page.locator("#play")).to_have_text("Play")
            await expect(text).to_contain_text("third line")
            await expect(page.locator("#step-forward")).to_be_disabled()

            # A saved revision's entry seeks to it.
            await page.locator("#step-back").click()
            await expect(number).to_have_text("2")
            await page.locator("#saved-list a").click()
            await expect(number).to_have_text("3")

            # Restore revision 1: the pad page shows its text, and so does everybody.
            await page.locator("#slider").fill("1")
            await expect(number).to_have_text("1")
            await page.screenshot(path=artifacts / "history-page.png")
            page.once("dialog", lambda dialog: dialog.accept())
            await page.locator("#restore").click()
            await page.wait_for_url(f"{app.http_url}/p/{pad_id}")
            await expect(page.locator(".ql-editor")).to_have_text("first line")
            await eventually(lambda: str(bob.text) == LINES[0])
        finally:
            for client in clients:
                await client.close()
