"""What /admin does to open pages in a real browser: a notice shows as a banner, markup as text,
on the pad page, the projector and the read-only view; a deleted pad empties and says so."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, expect
from summitpad.accounts import Role
from summitpad.app_keys import REGISTRY
from summitpad.web_security import ACCOUNTS

from ..summit_fixtures import PASSWORD, Browser
from ..support import RunningApp, eventually
from .conftest import OpenPage, SummitOnClock, summit_time
from .test_pad_in_browser import XSS_NAME, expect_saved, new_pad_id, wait_ready

FULL_HD = {"width": 1920, "height": 1080}


async def organizer(app: RunningApp) -> Browser:
    await app.app[ACCOUNTS].add_user("olga", PASSWORD, Role.ORGANIZER, "Olga")
    olga = Browser(app.http_url)
    await olga.log_in("olga")
    return olga


async def markup_ran(page: Page) -> bool:
    return bool(await page.evaluate("() => window.__xss === 1"))


async def test_a_notice_shows_as_a_banner_with_markup_as_text(
    summit_on_clock: SummitOnClock, open_page: OpenPage, artifacts: Path
) -> None:
    s = summit_on_clock
    s.clock.set(summit_time(10, 5))
    pad_id = s.pad_id(s.a)
    pages = {
        "pad": await open_page(s.url(f"/{s.slug}/{s.a.id}"), "pad"),
        "projector": await open_page(s.url(f"/{s.slug}/{s.a.id}/projector"), "projector",
                                     viewport=FULL_HD),
        "read-only": await open_page(s.url(f"/{s.slug}/{s.a.id}/ro"), "read-only"),
    }
    await wait_ready(pages["pad"])
    registry = s.app.app[REGISTRY]
    # Every page has asked for notices on its connection.
    await eventually(lambda: (pad := registry.live(pad_id)) and len(pad.notices.members) == 3)

    olga = await organizer(s.app)
    try:
        text = f"Coffee is ready {XSS_NAME} & <b>now</b>"
        sent = await olga.post("/admin/notices", {"summit": s.slug, "text": text})
        assert sent.status == 303
    finally:
        await olga.close()

    for label, page in pages.items():
        banner = page.locator(".notices .notice-banner")
        await expect(banner).to_have_count(1)
        await expect(banner.locator(".notice-text")).to_have_text(text)
        await expect(banner.locator(".notice-head")).to_contain_text("From the organizers")
        await expect(page.locator(".notices img, .notices b")).to_have_count(0)
        assert not await markup_ran(page), label
    await pages["projector"].screenshot(path=str(artifacts / "notice-projector.png"))
    await pages["pad"].screenshot(path=str(artifacts / "notice-pad.png"))

    pad = pages["pad"]
    await pad.get_by_role("button", name="Dismiss").click()
    await expect(pad.locator(".notice-banner")).to_have_count(0)
    await expect(pages["projector"].locator(".notice-banner")).to_have_count(1)  # its own


async def test_a_deleted_pad_empties_the_page_and_says_so(
    app: RunningApp, open_page: OpenPage, artifacts: Path
) -> None:
    pad_id = new_pad_id()
    page = await open_page(f"{app.http_url}/p/{pad_id}", "pad")
    await wait_ready(page)
    await page.locator(".ql-editor").click()
    await page.keyboard.type("notes that must go")
    await expect_saved(page)

    olga = await organizer(app)
    try:
        deleted = await olga.post(f"/admin/pads/{pad_id}/delete", {"confirm": pad_id})
        assert deleted.status == 303
    finally:
        await olga.close()

    banner = page.locator(".notice-banner.notice-deleted")
    await expect(banner).to_be_visible()
    await expect(banner.locator(".notice-text")).to_contain_text("deleted")
    await expect(page.locator(".ql-editor")).to_have_text("")
    await expect(page.locator(".ql-editor")).to_have_attribute("contenteditable", "false")
    await page.screenshot(path=str(artifacts / "pad-deleted.png"))
    # It stays away: reconnecting would bring the old notes back.
    assert await page.evaluate("() => window.summitpad.provider.shouldConnect") is False
    assert app.app[REGISTRY].live(pad_id) is None
