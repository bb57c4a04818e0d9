"""The summit board and the session page in a real browser: the grid with now/next marks and
track colours (with JavaScript off, as the board needs none), the track filter, a search into
a session, and the session page's header above a working pad."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import expect
from summitpad.app_keys import CLOCK, SUMMITS
from summitpad.clock import SetClock
from summitpad.schedule import Room, Session, Summit, Track

from ..support import RunningApp, eventually
from .conftest import LAPTOP, OpenPage

DAY = date(2030, 6, 11)
XSS = "<img src=x onerror=window.__xss=1>"


def utc(hour: int, minute: int) -> datetime:
    return datetime(2030, 6, 11, hour, minute, tzinfo=UTC)


def sessions() -> list[Session]:
    """Three rooms, two slots (10:00 and 10:50 UTC = 12:00 and 12:50 in Paris)."""
    return [
        Session("ceph-roadmap", "Ceph roadmap", track="storage", room="r1",
                start=utc(10, 0), end=utc(10, 40), moderator="Ada"),
        Session("nova-ha", "Nova HA " + XSS, track="ha", room="r2",
                start=utc(10, 0), end=utc(11, 30), moderator=XSS, description=XSS),
        Session("swift-ops", "Swift operations", track="storage", room="r1",
                start=utc(10, 50), end=utc(11, 30), moderator="Grace"),
        Session("docs", "Docs sprint", room="r3", start=utc(10, 50), end=utc(11, 30)),
    ]


@pytest.fixture
async def board_app(start_app: Callable[..., Awaitable[RunningApp]]) -> RunningApp:
    app = await start_app(clock=SetClock(utc(10, 20)))
    summit = Summit(
        "dsum", "Design Summit", DAY, DAY, "Europe/Paris",
        tracks=(Track("storage", "Storage", "#0f766e"), Track("ha", "High availability",
                                                              "#c2410c")),
        rooms=(Room("r1", "Room 101"), Room("r2", "Ballroom"), Room("r3", "Room 3")),
    )
    store = app.app[SUMMITS]
    await store.create(summit)
    await store.update("dsum", lambda _: (None, (sessions(), [])))
    return app


async def test_the_board_works_without_javascript(
    browser: Any, board_app: RunningApp, artifacts: Path
) -> None:
    context = await browser.new_context(java_script_enabled=False, viewport=LAPTOP)
    try:
        page = await context.new_page()
        await page.goto(board_app.http_url + "/dsum")
        grid = page.locator("table.grid")
        await expect(grid.locator("th[scope=row]")).to_have_text(["12:00", "12:50"])
        now = grid.locator("td.now")
        await expect(now).to_have_count(2)  # Ceph roadmap and Nova HA run at 12:20
        await expect(now.first).to_contain_text("Ceph roadmap")
        await expect(grid.locator("td.next")).to_have_count(2)  # Swift ops and Docs sprint
        nova = grid.locator("td[data-session=nova-ha]")
        await expect(nova).to_have_attribute("rowspan", "2")  # 12:00-13:30 spans both slots
        await expect(nova).to_contain_text("Nova HA " + XSS)  # the markup shows as text
        colour = await nova.evaluate("td => getComputedStyle(td).borderLeftColor")
        assert colour == "rgb(194, 65, 12)"  # the track's colour
        await page.screenshot(path=str(artifacts / "board.png"), full_page=True)

        await page.get_by_role("link", name="Storage").click()
        await expect(grid.locator("td.session")).to_have_count(2)
        await expect(grid.locator("td.session")).to_contain_text(["Ceph roadmap",
                                                                  "Swift operations"])
    finally:
        await context.close()


async def test_search_leads_into_a_session_page_with_a_working_pad(
    open_page: OpenPage, board_app: RunningApp, artifacts: Path
) -> None:
    store = board_app.app[SUMMITS]
    await store.save_text("dsum", "swift-ops", "Ring rebalancing takes too long on big clusters.")
    page = await open_page(board_app.http_url + "/dsum", "board")
    await page.get_by_role("searchbox").fill("rebalancing")
    await page.get_by_role("button", name="Search").click()
    hits = page.locator("ol.hits li")
    await expect(hits).to_have_count(1)
    await expect(hits.locator("mark")).to_have_text("rebalancing")
    await page.screenshot(path=str(artifacts / "search.png"))
    await hits.get_by_role("link", name="Swift operations").click()

    await expect(page.locator("h1.session-title")).to_have_text("Swift operations")
    meta = page.locator(".session-meta")
    await expect(meta).to_contain_text("12:50")
    await expect(meta).to_contain_text("13:30")
    await expect(meta).to_contain_text("Room 101")
    await expect(meta).to_contain_text("Storage")
    await expect(meta).to_contain_text("Grace")
    editor = page.locator(".ql-editor")
    await expect(editor).to_have_attribute("contenteditable", "true")
    await expect(editor).to_contain_text("Agenda")  # the summit's template
    await editor.click()
    await page.keyboard.press("Control+End")
    await page.keyboard.type("Rebalance in smaller steps")
    await expect(page.locator("#status")).to_have_attribute("data-state", "saved")
    await page.screenshot(path=str(artifacts / "session.png"))


async def test_user_text_stays_text_on_the_session_page(
    open_page: OpenPage, board_app: RunningApp
) -> None:
    page = await open_page(board_app.http_url + "/dsum/nova-ha", "session")
    await expect(page.locator("h1.session-title")).to_have_text("Nova HA " + XSS)
    await expect(page.locator(".session-description")).to_have_text(XSS)
    await expect(page.locator(".ql-editor")).to_have_attribute("contenteditable", "true")
    assert await page.evaluate("() => window.__xss") is None


async def test_the_open_board_keeps_now_next_and_who_is_here_current(
    open_page: OpenPage, board_app: RunningApp, connect: Any
) -> None:
    page = await open_page(board_app.http_url + "/dsum", "board")
    await page.clock.install()
    await page.reload()  # the board's timer now runs on the page's fake clock
    ceph = page.locator("td[data-session=ceph-roadmap]")
    swift = page.locator("td[data-session=swift-ops]")
    await expect(ceph.locator(".badge")).to_have_text("Now")
    await expect(swift.locator(".badge")).to_have_text("Next")

    await connect(board_app.ws_url, "dsum.swift-ops")
    board_app.app[CLOCK].set(utc(10, 55))  # Ceph roadmap is over, Swift operations runs

    async def reported() -> bool:  # each node reports who is here every few seconds
        async with aiohttp.ClientSession() as http, http.get(
            board_app.http_url + "/dsum/activity.json?day=2030-06-11"
        ) as response:
            return bool((await response.json())["here"].get("swift-ops"))

    await eventually(reported, within=15)
    await page.clock.run_for(25_000)  # the board's next refresh, without a reload
    await expect(swift.locator(".badge")).to_have_text("Now")
    await expect(swift).to_have_class(re.compile(r"\bnow\b"))
    await expect(ceph.locator(".badge")).to_have_text("")
    await expect(swift.locator(".here")).to_have_text("1 here")
    await expect(page.locator("#board-now")).to_have_text("12:55")
