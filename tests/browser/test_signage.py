"""Room signage in a real browser: the projector of a room shows the session running there now.

The server runs on a SetClock and the page on Playwright's clock; the test moves both past each
slot boundary and the page switches by itself, without a reload: the next session before the
first one, session a, session b (a new pad on a new connection), and "No more sessions today".
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from playwright.async_api import Page, expect

from .conftest import Y_TEXT, Connect, OpenPage, SummitOnClock, summit_time
from .test_projector import FITS, FULL_HD, open_at

# the QR code is a real SVG drawing (not an unknown element named "svg") of a useful size
DRAWN_QR = """() => {
  const svg = document.querySelector('#join-qr svg')
  const box = svg && svg.getBoundingClientRect()
  return !!svg && svg.namespaceURI === 'http://www.w3.org/2000/svg' && svg.getBBox().width > 0 &&
    box.width >= 100 && box.height >= 100
}"""


async def move_both_clocks(s: SummitOnClock, page: Page, at: datetime) -> None:
    s.clock.set(at)
    await page.clock.set_fixed_time(at)


async def expect_notes(page: Page, text: str) -> None:
    await page.wait_for_function(
        f"text => window.summitpad.doc !== null && ({Y_TEXT})().includes(text)",
        arg=text,
    )
    await expect(page.locator(".ql-editor")).to_contain_text(text)


async def test_signage_switches_sessions_at_the_slot_boundaries_without_a_reload(
    summit_on_clock: SummitOnClock, open_page: OpenPage, connect: Connect, artifacts: Path
) -> None:
    s = summit_on_clock
    for session, notes in ((s.a, "Notes of session a"), (s.b, "Notes of session b")):
        client = await connect(s.app.ws_url, s.pad_id(session))
        await client.edit(lambda text, notes=notes: text.insert(0, notes + "\n"))

    start = summit_time(9, 55)
    s.clock.set(start)
    page = await open_at(
        open_page, s.url(f"/{s.slug}/rooms/r101"), "signage", start, viewport=FULL_HD
    )
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    await page.evaluate("() => { window.__loadedOnce = true }")
    root = page.locator("#projector")
    countdown = page.locator("#countdown")

    # before the first session: the next one, and when it starts (12:00 in Paris)
    await expect(root).to_have_attribute("data-showing", "next")
    await expect(root).to_have_attribute("data-session-id", "")
    await expect(page.locator("#projector-title")).to_have_text("Room 101")
    await expect(page.locator("#next-title")).to_have_text(s.a.title)
    await expect(page.locator("#next-start")).to_have_text("12:00")
    await expect(page.locator("#next-none")).to_be_hidden()
    await expect(page.locator("#notes")).to_be_hidden()
    await expect(page.locator("#join")).to_be_hidden()
    await expect(countdown).to_have_text("starts in 5:00")
    await page.screenshot(path=artifacts / "signage-next.png")

    # session a starts
    await move_both_clocks(s, page, summit_time(10, 0, 1))
    await expect(root).to_have_attribute("data-session-id", s.a.id)
    await expect(root).to_have_attribute("data-showing", "session")
    await expect(page.locator("#projector-title")).to_have_text(s.a.title)
    await expect(page.locator("#projector-start")).to_have_text("12:00")
    await expect(page.locator("#projector-end")).to_have_text("12:40")
    await expect(page.locator("#projector-moderator")).to_have_text("Ada")
    await expect(page.locator("#join-qr svg")).to_have_count(1)
    await expect(page.locator("#join-label")).to_contain_text(f"/{s.slug}/{s.a.id}")
    await expect(page.locator("#next")).to_be_hidden()
    await expect(countdown).to_have_text("39:59 left")
    await expect_notes(page, "Notes of session a")
    await expect(page.locator(".ql-editor")).to_have_attribute("contenteditable", "true")
    qr_of_a = await page.locator("#join-qr").inner_html()
    assert await page.evaluate(DRAWN_QR)
    await page.wait_for_function(FITS)
    await page.screenshot(path=artifacts / "signage-session-a.png")

    # session b follows right after: a new pad, a new QR code, the same page
    await move_both_clocks(s, page, summit_time(10, 40, 1))
    await expect(root).to_have_attribute("data-session-id", s.b.id)
    await expect(page.locator("#projector-title")).to_have_text(s.b.title)
    await expect(page.locator("#projector-start")).to_have_text("12:40")
    await expect(page.locator("#projector-moderator")).to_have_text("Grace")
    await expect(page.locator("#join-label")).to_contain_text(f"/{s.slug}/{s.b.id}")
    await expect(root).to_have_attribute("data-pad-id", s.pad_id(s.b))
    await expect_notes(page, "Notes of session b")
    assert "Notes of session a" not in await page.evaluate(Y_TEXT)
    assert await page.locator("#join-qr").inner_html() != qr_of_a
    assert await page.evaluate(DRAWN_QR)
    await expect(page).to_have_title(f"{s.b.title} · {s.summit.name}")
    await expect(page.locator(".ql-editor")).to_have_attribute("contenteditable", "true")
    # what is typed on the signage goes to session b's pad
    await page.locator(".ql-editor").click()
    await page.keyboard.press("Control+End")
    await page.keyboard.type("typed during b", delay=10)
    await expect(page.locator("#status")).to_have_attribute("data-state", "saved")
    check = await connect(s.app.ws_url, s.pad_id(s.b))
    assert "typed during b" in str(check.text)
    await page.wait_for_function(FITS)
    await page.screenshot(path=artifacts / "signage-session-b.png")

    # after the last session
    await move_both_clocks(s, page, summit_time(11, 20, 1))
    await expect(root).to_have_attribute("data-showing", "next")
    await expect(root).to_have_attribute("data-session-id", "")
    await expect(page.locator("#next-none")).to_have_text("No more sessions today")
    await expect(page.locator("#next-session")).to_be_hidden()
    await expect(page.locator("#notes")).to_be_hidden()
    await expect(countdown).to_be_hidden()
    await page.screenshot(path=artifacts / "signage-no-more.png")

    # all of it on the page loaded at the start
    assert navigations == []
    assert await page.evaluate("() => window.__loadedOnce") is True


async def test_signage_between_sessions_shows_the_next_one_server_side(
    summit_on_clock: SummitOnClock, open_page: OpenPage
) -> None:
    """The page as served (before any JavaScript runs) already says what is next."""
    s = summit_on_clock
    s.clock.set(summit_time(9, 30))
    page = await open_page(s.url(f"/{s.slug}/rooms/r101"), "signage")
    html = await page.content()
    assert s.a.title in html
    await expect(page.locator("#projector")).to_have_attribute("data-showing", "next")
    await expect(page.locator("#next-title")).to_have_text(s.a.title)

    s.clock.set(summit_time(10, 50))
    await page.goto(s.url(f"/{s.slug}/rooms/r101"))
    await expect(page.locator("#projector")).to_have_attribute("data-session-id", s.b.id)
    await expect(page.locator("#projector-title")).to_have_text(s.b.title)
