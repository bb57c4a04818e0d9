"""The projector view of a session and read-only pads, in a real browser against the real app.

The server runs on a SetClock and the page on Playwright's clock, both set to the same instant:
the countdown counts on the server's time (the page's `data-now`), so moving the page's clock
moves it. What a room sees: the title, the QR code and the join URL; a countdown that turns amber
and then red; notes that anyone can type into from the projector; the latest remote edit kept in
view unless someone scrolled away; a locked pad that no one can type into until it is reopened.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import Page, expect
from summitpad.schedule import Lock

from .conftest import Y_TEXT, Connect, OpenPage, SummitOnClock, summit_time

READ_ONLY_TEXT = "read-only"
FULL_HD = {"width": 1920, "height": 1080}
# the notes fit their box: no scrolling
FITS = """() => {
  const e = document.querySelector('.ql-editor')
  return e.scrollHeight <= e.clientHeight + 1
}"""


async def open_at(open_page: OpenPage, url: str, label: str, at: datetime, **kwargs: Any) -> Page:
    """A page whose clock stands at `at` from before its scripts run (the server's clock stands at
    the same time: the page's offset to it is 0). Timers keep running; the test moves the time."""
    page = await open_page("about:blank", label, **kwargs)
    await page.clock.install(time=at)
    await page.clock.set_fixed_time(at)
    await page.goto(url)
    return page


async def wait_editable(page: Page) -> None:
    await expect(page.locator(".ql-editor")).to_have_attribute("contenteditable", "true")
    await expect(page.locator("#status")).to_have_attribute("data-state", "saved")


async def y_text(page: Page) -> str:
    return str(await page.evaluate(Y_TEXT))


async def wait_y_text(page: Page, predicate_js: str, arg: Any = None) -> None:
    """Wait until `predicate_js(text, arg)` holds for the page's shared text."""
    await page.wait_for_function(
        f"arg => {{ const text = ({Y_TEXT})(); return ({predicate_js})(text, arg) }}", arg=arg
    )


# ---- what the room sees --------------------------------------------------------------------------


async def test_projector_shows_the_session_and_counts_down_to_its_end(
    summit_on_clock: SummitOnClock, open_page: OpenPage, artifacts: Path
) -> None:
    s = summit_on_clock
    start = summit_time(10, 30)  # 10 minutes left of session a
    s.clock.set(start)
    url = s.url(f"/{s.slug}/{s.a.id}/projector")
    page = await open_at(open_page, url, "projector", start, viewport=FULL_HD)
    root = page.locator("#projector")

    await expect(root).to_have_attribute("data-session-id", s.a.id)
    await expect(page.locator("#projector-title")).to_have_text(s.a.title)
    await expect(page.locator("#projector-room")).to_have_text("Room 101")
    await expect(page.locator("#projector-track")).to_have_text("Storage")
    # times in the summit's zone (Europe/Paris, UTC+2 in June)
    await expect(page.locator("#projector-start")).to_have_text("12:00")
    await expect(page.locator("#projector-end")).to_have_text("12:40")
    await expect(page.locator("#join-qr svg")).to_have_count(1)
    join_url = f"{s.app.http_url}/{s.slug}/{s.a.id}"  # no public URL set: the one we came to
    await expect(page.locator("#join")).to_have_attribute("href", join_url)
    await expect(page.locator("#join-label")).to_have_text(join_url.split("://", 1)[1])
    await wait_editable(page)

    countdown = page.locator("#countdown")
    await expect(countdown).to_have_attribute("data-state", "normal")
    await expect(countdown).to_have_text("10:00 left")
    await page.wait_for_function(FITS)  # the text size has settled
    await page.screenshot(path=artifacts / "projector-dark.png")

    # 4 minutes left: amber
    await page.clock.set_fixed_time(summit_time(10, 36))
    await expect(countdown).to_have_attribute("data-state", "amber")
    await expect(countdown).to_have_text("4:00 left")
    # 5 minutes left is amber already, 5:01 is not
    await page.clock.set_fixed_time(summit_time(10, 35))
    await expect(countdown).to_have_text("5:00 left")
    await expect(countdown).to_have_attribute("data-state", "amber")
    await page.clock.set_fixed_time(summit_time(10, 34, 59))
    await expect(countdown).to_have_attribute("data-state", "normal")
    # past the end: red, counting up
    await page.clock.set_fixed_time(summit_time(10, 41, 5))
    await expect(countdown).to_have_attribute("data-state", "over")
    await expect(countdown).to_have_text("+1:05 over")
    await page.screenshot(path=artifacts / "projector-over-dark.png")

    # the light theme, remembered by this browser
    await expect(root).to_have_attribute("data-theme", "dark")
    await page.locator("#theme").click()
    await expect(root).to_have_attribute("data-theme", "light")
    await page.screenshot(path=artifacts / "projector-light.png")
    await page.reload()
    await expect(root).to_have_attribute("data-theme", "light")
    await page.keyboard.press("t")
    await expect(root).to_have_attribute("data-theme", "dark")


async def test_text_size_fits_the_screen_and_the_controls_override_it(
    summit_on_clock: SummitOnClock, open_page: OpenPage, connect: Connect
) -> None:
    s = summit_on_clock
    at = summit_time(10, 5)
    s.clock.set(at)
    page = await open_at(
        open_page, s.url(f"/{s.slug}/{s.a.id}/projector"), "projector", at, viewport=FULL_HD
    )
    root = page.locator("#projector")
    await wait_editable(page)
    await expect(root).to_have_attribute("data-font-mode", "auto")

    async def size() -> int:
        return int(await root.get_attribute("data-font-size") or 0)

    # a short text: large type (the biggest size, 5% of the screen width)
    writer = await connect(s.app.ws_url, s.pad_id(s.a))
    await writer.edit(lambda text: (text.clear(), text.insert(0, "Short notes\n")))
    big = round(1920 * 0.05)
    await expect(root).to_have_attribute("data-font-size", str(big))

    # a longer text: smaller type, and all of it on the screen
    await writer.edit(lambda text: text.insert(0, "a line of notes\n" * 6))
    await page.wait_for_function(
        "big => +document.querySelector('#projector').dataset.fontSize < big", arg=big
    )
    await page.wait_for_timeout(300)  # edits come in bursts: the size settles after them
    smaller = await size()
    assert round(1920 * 0.022) < smaller < big
    assert await page.evaluate(FITS)
    # a long text: the smallest size (2.2% of the screen width), and it scrolls
    await writer.edit(lambda text: text.insert(0, "more notes\n" * 40))
    await expect(root).to_have_attribute("data-font-size", str(round(1920 * 0.022)))
    assert not await page.evaluate(FITS)
    smaller = await size()

    # + makes it larger and stays so after a reload; Auto goes back to fitting
    await page.locator("#font-larger").click()
    await expect(root).to_have_attribute("data-font-mode", "manual")
    larger = await size()
    assert larger > smaller
    await page.keyboard.press("+")
    even_larger = await size()
    assert even_larger > larger
    await page.reload()
    await expect(root).to_have_attribute("data-font-size", str(even_larger))
    await expect(root).to_have_attribute("data-font-mode", "manual")
    await page.keyboard.press("-")
    await expect(root).to_have_attribute("data-font-size", str(round(even_larger / 1.125)))
    await page.locator("#font-auto").click()
    await expect(root).to_have_attribute("data-font-mode", "auto")
    await expect(root).to_have_attribute("data-font-size", str(smaller))


# ---- anyone can type on the projector ------------------------------------------------------------


async def test_typing_on_the_projector_reaches_the_session_page_and_back(
    summit_on_clock: SummitOnClock, open_page: OpenPage
) -> None:
    s = summit_on_clock
    at = summit_time(10, 5)
    s.clock.set(at)
    projector, laptop = await asyncio.gather(
        open_at(open_page, s.url(f"/{s.slug}/{s.a.id}/projector"), "projector", at),
        open_page(s.url(f"/{s.slug}/{s.a.id}"), "laptop"),
    )
    await asyncio.gather(wait_editable(projector), wait_editable(laptop))
    # the laptop is here; the projector counts as a participant only once someone types on it
    await expect(projector.locator("#people-count")).to_have_text("1")
    await expect(laptop.locator("#people-count")).to_have_text("1")

    await projector.locator(".ql-editor").click()
    await projector.keyboard.press("Control+End")
    await projector.keyboard.type("Decided on the projector", delay=10)
    await wait_y_text(laptop, "(text, typed) => text.includes(typed)", "Decided on the projector")
    await expect(laptop.locator(".ql-editor")).to_contain_text("Decided on the projector")
    await expect(laptop.locator("#people-count")).to_have_text("2")
    await expect(laptop.locator("#people-list .name")).to_contain_text(["Projector"])
    await expect(projector.locator("#people-count")).to_have_text("2")
    # typing on the projector is not a change of text size
    await projector.keyboard.type("+-", delay=10)
    await wait_y_text(laptop, "(text, typed) => text.includes(typed)", "Decided on the projector+-")
    await expect(projector.locator("#projector")).to_have_attribute("data-font-mode", "auto")

    await laptop.locator(".ql-editor").click()
    await laptop.keyboard.press("Control+Home")
    await laptop.keyboard.type("Typed on a laptop. ", delay=10)
    await wait_y_text(projector, "(text, typed) => text.startsWith(typed)", "Typed on a laptop. ")
    await expect(projector.locator(".ql-editor")).to_contain_text("Typed on a laptop.")
    await expect(projector.locator("#status")).to_have_attribute("data-state", "saved")


# ---- follow mode ---------------------------------------------------------------------------------

# where the line holding `marker` is, relative to the visible part of the notes
WHERE = """marker => {
  const box = document.querySelector('.ql-editor')
  const line = [...box.children].find(el => el.textContent.includes(marker))
  if (!line) return 'missing'
  const b = line.getBoundingClientRect(), v = box.getBoundingClientRect()
  return b.bottom <= v.top ? 'above' : b.top >= v.bottom ? 'below' : 'visible'
}"""


async def test_follow_mode_keeps_the_latest_remote_edit_in_view(
    summit_on_clock: SummitOnClock, open_page: OpenPage, connect: Connect
) -> None:
    s = summit_on_clock
    at = summit_time(10, 5)
    s.clock.set(at)
    writer = await connect(s.app.ws_url, s.pad_id(s.a))
    await writer.edit(lambda text: text.insert(0, "".join(f"line {i}\n" for i in range(150))))
    page = await open_at(
        open_page, s.url(f"/{s.slug}/{s.a.id}/projector"), "projector", at, viewport=FULL_HD
    )
    root = page.locator("#projector")
    await wait_editable(page)
    await expect(root).to_have_attribute("data-following", "true")
    await expect(page.locator("#follow")).to_be_hidden()

    async def where(marker: str) -> str:
        return str(await page.evaluate(WHERE, marker))

    async def remote_edit_at_line(line: int, marker: str) -> None:
        def change(text: Any) -> None:
            index = str(text).index(f"line {line}\n") + len(f"line {line}")
            text.insert(index, f" {marker}")

        await writer.edit(change)
        await wait_y_text(page, "(text, marker) => text.includes(marker)", marker)

    # an edit far down comes into view; then one near the top
    await remote_edit_at_line(140, "EDIT-140")
    await page.wait_for_function(f"() => ({WHERE})('EDIT-140') === 'visible'")
    await remote_edit_at_line(3, "EDIT-3")
    await page.wait_for_function(f"() => ({WHERE})('EDIT-3') === 'visible'")
    assert await where("EDIT-140") == "below"

    # someone scrolls by hand: the projector stays where they put it
    await page.locator(".ql-editor").hover()
    await page.mouse.wheel(0, 1500)
    await expect(root).to_have_attribute("data-following", "false")
    await expect(page.locator("#follow")).to_be_visible()
    await remote_edit_at_line(145, "EDIT-145")
    await page.wait_for_timeout(700)
    assert await where("EDIT-145") == "below"
    # "Follow" brings the latest edit back at once
    await page.locator("#follow").click()
    await expect(root).to_have_attribute("data-following", "true")
    await page.wait_for_function(f"() => ({WHERE})('EDIT-145') === 'visible'")
    await expect(page.locator("#follow")).to_be_hidden()

    # scrolled away again: following resumes by itself after 20 idle seconds
    await page.locator(".ql-editor").hover()
    await page.mouse.wheel(0, -100_000)
    await expect(root).to_have_attribute("data-following", "false")
    await remote_edit_at_line(130, "EDIT-130")
    await page.wait_for_timeout(700)
    assert await where("EDIT-130") == "below"
    await page.clock.set_fixed_time(at + timedelta(seconds=21))
    await expect(root).to_have_attribute("data-following", "true")
    await page.wait_for_function(f"() => ({WHERE})('EDIT-130') === 'visible'")

    # someone typing on the projector is not pulled away from their line
    await page.locator(".ql-editor p").first.click()
    await page.keyboard.type("typed here ", delay=10)
    await expect(root).to_have_attribute("data-following", "false")
    await remote_edit_at_line(149, "EDIT-149")
    await page.wait_for_timeout(700)
    assert await where("EDIT-149") == "below"
    # a few seconds after the last keystroke, the next remote edit is followed again
    await page.clock.set_fixed_time(at + timedelta(seconds=30))
    await expect(root).to_have_attribute("data-following", "true")
    await remote_edit_at_line(148, "EDIT-148")
    await page.wait_for_function(f"() => ({WHERE})('EDIT-148') === 'visible'")


# ---- read-only pads ------------------------------------------------------------------------------


async def test_a_locked_pad_is_read_only_until_it_is_reopened(
    summit_on_clock: SummitOnClock, open_page: OpenPage, connect: Connect, artifacts: Path
) -> None:
    s = summit_on_clock
    s.clock.set(summit_time(10, 5))
    laptop, projector = await asyncio.gather(
        open_page(s.url(f"/{s.slug}/{s.a.id}"), "laptop"),
        open_at(open_page, s.url(f"/{s.slug}/{s.a.id}/projector"), "projector", summit_time(10, 5)),
    )
    await asyncio.gather(wait_editable(laptop), wait_editable(projector))
    await expect(laptop.locator("#pad")).to_have_attribute("data-read-only", "false")
    status = laptop.locator("#status")

    # locked: the server re-checks pads every second and tells every client
    await s.save(s.a.replace(lock=Lock.LOCKED))
    for page in (laptop, projector):
        await expect(page.locator(".ql-editor")).to_have_attribute("contenteditable", "false")
        await expect(page.locator("#status")).to_have_attribute("data-state", "read-only")
        await expect(page.locator("#status")).to_have_text(READ_ONLY_TEXT)
    await expect(laptop.locator("#pad")).to_have_attribute("data-read-only", "true")
    await expect(laptop.locator("#session-phase")).to_have_text("read-only")
    await expect(projector.locator("#projector")).to_have_attribute("data-read-only", "true")
    before = await y_text(laptop)
    await laptop.locator(".ql-editor").click(force=True)
    await laptop.keyboard.type("not taken", delay=10)
    assert await y_text(laptop) == before
    await laptop.screenshot(path=artifacts / "session-read-only.png")

    # a page opened while the pad is locked starts read-only
    late = await open_page(s.url(f"/{s.slug}/{s.a.id}"), "late")
    await expect(late.locator("#pad")).to_have_attribute("data-read-only", "true")
    await expect(late.locator("#status")).to_have_attribute("data-state", "read-only")
    await expect(late.locator(".ql-editor")).to_have_attribute("contenteditable", "false")

    # reopened: editing comes back, and what is typed reaches the server
    await s.save(s.a.replace(lock=Lock.OPEN))
    for page in (laptop, projector, late):
        await wait_editable(page)
    await expect(laptop.locator("#pad")).to_have_attribute("data-read-only", "false")
    await expect(laptop.locator("#session-phase")).to_have_text("live")
    await expect(late.locator("#session-phase")).to_have_text("open")
    await laptop.locator(".ql-editor").click()
    await laptop.keyboard.press("Control+End")
    await laptop.keyboard.type("after reopening", delay=10)
    await expect(status).to_have_attribute("data-state", "saved")
    check = await connect(s.app.ws_url, s.pad_id(s.a))
    assert "after reopening" in str(check.text)
    assert "not taken" not in str(check.text)
    await wait_y_text(projector, "(text, typed) => text.includes(typed)", "after reopening")


async def test_projector_page_works_without_javascript(
    summit_on_clock: SummitOnClock, browser: Any, http: aiohttp.ClientSession, artifacts: Path
) -> None:
    s = summit_on_clock
    s.clock.set(summit_time(10, 5))
    url = s.url(f"/{s.slug}/{s.a.id}/projector")
    async with http.get(url) as response:
        assert response.status == 200
        html = await response.text()
    # no inline script or style: a Content-Security-Policy may forbid them
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert " style=" not in html and "<style" not in html
    assert ' onclick=' not in html

    context = await browser.new_context(java_script_enabled=False, viewport=FULL_HD)
    try:
        page = await context.new_page()
        await page.goto(url)
        await expect(page.locator("#projector-title")).to_have_text(s.a.title)
        await expect(page.locator("#projector-start")).to_have_text("12:00")
        await expect(page.locator("#projector-room")).to_have_text("Room 101")
        await expect(page.locator("#join-qr svg")).to_be_visible()
        await expect(page.locator("#join-label")).to_contain_text(f"/{s.slug}/{s.a.id}")
        await expect(page.locator("#countdown")).to_have_text("until 12:40")
        await expect(page.locator("#projector-controls")).to_be_hidden()
        await page.screenshot(path=artifacts / "projector-no-javascript.png")
    finally:
        await context.close()
