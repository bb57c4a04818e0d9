"""The pages everyone sees: the summits, a summit's board, search, a session and its projector,
a room's signage and feed, the calendar; the pad's lifecycle and template as clients see them.
The real app on a real Valkey, its clock set by the test."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import icalendar
import pytest
from summitpad.app_keys import REGISTRY, SUMMITS
from summitpad.client import PadClient
from summitpad.clock import SetClock
from summitpad.schedule import Origin, Room, Session, Track
from summitpad.web_security import ACCOUNTS

from .summit_fixtures import (
    BERLIN,
    ESCAPED_XSS,
    SUMMIT,
    XSS,
    OpenBrowser,
    add_people,
    berlin,
    browsers,
    classes,
    listen,
    round_trip,
    seed_summit,
    stored_text,
    tags,
)
from .support import RunningApp, eventually

PUBLIC_URL = "http://pads.example.org"  # http: its cookies must reach the test over http
GRACE = 60.0
TEMPLATE_TEXT = "Agenda\n\nNotes\n"

StartApp = Callable[..., Awaitable[RunningApp]]
Connect = Callable[..., Awaitable[PadClient]]


@pytest.fixture
def clock() -> SetClock:
    return SetClock(berlin(4, 9, 10))  # Monday 4 May 2026, 09:10 in Berlin, 07:10 UTC


@pytest.fixture
async def site(start_app: StartApp, clock: SetClock) -> RunningApp:
    running = await start_app(clock=clock, grace_period=GRACE, public_url=PUBLIC_URL,
                              pad_unload_delay=0.2)
    await seed_summit(running.app[SUMMITS])
    await add_people(running.app[ACCOUNTS])
    return running


@pytest.fixture
async def browser(site: RunningApp) -> AsyncIterator[OpenBrowser]:
    async with browsers(site) as open_browser:
        yield open_browser


# -- the summits and the board ----------------------------------------------------------------


async def test_the_front_page_lists_the_summits(browser: Any) -> None:
    page = await (await browser()).get("/")
    assert page.status == 200
    assert tags(page.text, "a", href="/osd")
    assert "Open Storage Days" in page.text
    assert "Mon 04 May \u2013 Wed 06 May 2026 · Europe/Berlin" in page.text


async def test_the_board_is_a_grid_of_rooms_and_slots_with_track_colours(browser: Any) -> None:
    page = await (await browser()).get("/osd")
    assert page.status == 200
    headings = re.findall(r'<th scope="col"><a href="([^"]+)"[^>]*>([^<]+)</a></th>', page.text)
    assert headings == [("/osd/rooms/room-a", "Room A"), ("/osd/rooms/room-b", "Room B")]
    rows = re.findall(r'<th scope="row" class="time">([^<]+)</th>', page.text)
    assert rows == ["09:00", "10:00"]  # Berlin wall clock, not UTC
    assert "track-storage" in classes(page.text, "td", data_session="s1")
    assert "track-ha" in classes(page.text, "td", data_session="s2")
    assert "09:00\u201309:40 · Bob Builder" in page.text
    assert tags(page.text, "a", href="/osd/s1")
    assert not tags(page.text, "td", data_session="s4")  # another day
    assert not tags(page.text, "td", data_session="idea")  # not scheduled
    assert "Unconference (1)" in page.text

    css_url = tags(page.text, "link", rel="stylesheet")[-1]["href"]
    assert css_url.startswith("/osd/tracks.css?v=")
    css = await (await browser()).get(css_url)
    assert css.headers["Content-Type"].startswith("text/css")
    assert ".track-storage { --track: #1d4ed8; }" in css.text
    assert ".track-ha { --track: #b91c1c; }" in css.text


async def test_the_board_marks_now_and_next_in_the_summit_time_zone(
    browser: Any, clock: SetClock
) -> None:
    visitor = await browser()

    async def states() -> dict[str, set[str]]:
        page = await visitor.get("/osd")
        found = {}
        for cell in tags(page.text, "td"):
            if "data-session" in cell:
                found[cell["data-session"]] = set(cell["class"].split()) & {"now", "next"}
        return found

    # 09:10 in Berlin (07:10 UTC): s1 and s2 run, s3 is next in room A.
    page = await visitor.get("/osd")
    assert 'now <span id="board-now">09:10</span>' in page.text
    assert re.search(r'<tr class="now-row">\s*<th scope="row" class="time">09:00</th>', page.text)
    assert await states() == {"s1": {"now"}, "s2": {"now"}, "s3": {"next"}}
    assert page.text.count('<span class="badge now">Now</span>') == 2

    clock.set(berlin(4, 9, 50))  # between slots
    assert await states() == {"s1": set(), "s2": set(), "s3": {"next"}}
    assert '<tr class="now-row">' not in (await visitor.get("/osd")).text

    clock.set(berlin(4, 10, 5))
    assert await states() == {"s1": set(), "s2": set(), "s3": {"now"}}

    # 23:30 UTC on Monday is 01:30 on Tuesday in Berlin: the board opens on Tuesday.
    clock.set(datetime(2026, 5, 4, 23, 30, tzinfo=UTC))
    page = await visitor.get("/osd")
    assert tags(page.text, "a", href="/osd?day=2026-05-05")[0].get("aria-current") == "page"
    assert await states() == {"s4": {"next"}}
    assert 'now <span id="board-now">01:30</span>' in page.text


async def test_now_and_next_follow_the_clocks_going_forward(
    site: RunningApp, browser: Any, clock: SetClock
) -> None:
    """Berlin moves to summer time in the night to Sunday 29 March 2026: 09:00 is 08:00 UTC
    on Saturday and 07:00 UTC on Sunday."""
    summit = SUMMIT.replace(slug="spring", start_date=date(2026, 3, 28),
                            end_date=date(2026, 3, 29))
    on = {day: datetime(2026, 3, day, 9, tzinfo=BERLIN) for day in (28, 29)}
    await seed_summit(site.app[SUMMITS], summit, tuple(
        Session(f"d{day}", f"Day {day}", room="room-a", start=start,
                end=start + timedelta(minutes=40))
        for day, start in on.items()
    ))
    clock.set(datetime(2026, 3, 29, 7, 10, tzinfo=UTC))
    page = await (await browser()).get("/spring")
    assert 'now <span id="board-now">09:10</span>' in page.text
    assert "now" in classes(page.text, "td", data_session="d29")
    assert '<th scope="row" class="time">09:00</th>' in page.text
    page = await (await browser()).get("/spring/rooms/room-a")
    assert tags(page.text, "main", id="projector")[0]["data-session-id"] == "d29"


async def test_the_board_filters_by_track_and_by_day(browser: Any) -> None:
    visitor = await browser()
    page = await visitor.get("/osd?track=storage")
    assert tags(page.text, "td", data_session="s1") and tags(page.text, "td", data_session="s3")
    assert not tags(page.text, "td", data_session="s2")
    assert "HA failover" not in page.text
    assert tags(page.text, "a", href="/osd?day=2026-05-04&track=storage")[0]["aria-current"]
    assert tags(page.text, "a", href="/osd?day=2026-05-05&track=storage")  # days keep the track

    page = await visitor.get("/osd?track=no-such-track")  # unknown: every track
    assert tags(page.text, "td", data_session="s2")

    page = await visitor.get("/osd?day=2026-05-05")
    assert tags(page.text, "td", data_session="s4")
    assert not tags(page.text, "td", data_session="s1")

    page = await visitor.get("/osd?day=2026-05-06")
    assert "No session on Wed 06 May." in page.text

    for wrong in ("2026-06-01", "yesterday", "2026-02-30"):  # today instead
        page = await visitor.get(f"/osd?day={wrong}")
        assert page.status == 200 and tags(page.text, "td", data_session="s1")


async def test_the_board_shows_who_is_here_and_the_last_edit(
    site: RunningApp, browser: Any, connect: Connect
) -> None:
    visitor = await browser()
    page = await visitor.get("/osd")
    assert not re.search(r"\d here</span>", page.text) and ">edited " not in page.text
    writer = await connect(site.ws_url, "osd.s1")
    await connect(site.ws_url, "osd.s1")
    await writer.edit(lambda t: t.insert(len(t), "edit"))
    await eventually(lambda: writer.saved)

    async def s1_cell() -> str:
        text = (await visitor.get("/osd")).text
        match = re.search(r'data-session="s1">(.*?)</td>', text, re.S)
        assert match
        return match[1]

    async def counted() -> str | None:
        cell = await s1_cell()
        here = '<span class="here" title="connections to the pad now">2 here</span>'
        return cell if here in cell else None

    # Each node reports its connections every few seconds.
    cell = await eventually(counted, within=12)
    edited = re.search(r'<span class="edited" title="([^"]+)">edited ', cell)
    assert edited, cell
    assert abs(datetime.fromisoformat(edited[1]) - datetime.now(UTC)) < timedelta(minutes=1)
    page = await visitor.get("/osd")
    s2 = re.search(r'data-session="s2">(.*?)</td>', page.text, re.S)
    assert s2 and not re.search(r"\d here</span>", s2[1]) and ">edited " not in s2[1]


# -- search -----------------------------------------------------------------------------------


async def test_search_finds_what_was_typed_into_a_pad(
    site: RunningApp, start_app: StartApp, clock: SetClock, browser: Any, connect: Connect
) -> None:
    other_node = await start_app(clock=clock, grace_period=GRACE, public_url=PUBLIC_URL)
    writer = await connect(site.ws_url, "osd.s3")
    await writer.edit(lambda t: t.insert(
        len(t), "We agreed that the quorum needs three monitors before the upgrade.\n"
    ))
    await eventually(lambda: writer.saved)

    # The node holding the pad searches its live text at once ...
    here = await browser()
    page = await here.get("/osd/search?q=QUORUM monitors")
    assert "1 session match “QUORUM monitors”." in page.text
    hit = tags(page.text, "a", href="/osd/s3")
    assert hit, page.text
    assert re.search(r'<p class="snippet">[^<]*the <mark>quorum</mark> needs three ', page.text)

    # ... and every node finds it once the text is saved for search (every ~5 s).
    there = await browser(app=other_node)

    async def found_there() -> bool:
        page = await there.get("/osd/search?q=quorum")
        return bool(tags(page.text, "a", href="/osd/s3"))

    await eventually(found_there, within=15)
    texts = await site.app[SUMMITS].texts("osd")
    assert "the quorum needs three monitors" in texts["s3"]

    # Titles, descriptions and moderators are searched too; every word must match.
    page = await here.get("/osd/search?q=storage")
    assert [a["href"] for a in tags(page.text, "a") if a.get("href", "").startswith("/osd/s")] \
        == ["/osd/s1", "/osd/s3"]
    page = await here.get("/osd/search?q=quorum+failover")
    assert "0 sessions match" in page.text
    page = await here.get("/osd/search")
    assert page.status == 200 and "match" not in page.text


async def test_text_is_saved_for_search_when_a_pad_unloads(
    site: RunningApp, connect: Connect
) -> None:
    writer = await connect(site.ws_url, "osd.s2")
    await writer.edit(lambda t: t.insert(len(t), "fencing with STONITH"))
    await eventually(lambda: writer.saved)
    await writer.close()
    await eventually(lambda: len(site.app[REGISTRY]) == 0, within=5)

    async def saved() -> bool:
        return "STONITH" in (await site.app[SUMMITS].texts("osd")).get("s2", "")

    await eventually(saved, within=3)


# -- a session, its projector, its room's signage ---------------------------------------------


async def test_the_session_page_shows_the_session_and_its_pad(browser: Any) -> None:
    page = await (await browser()).get("/osd/s1")
    assert page.status == 200
    main = tags(page.text, "main", id="pad")[0]
    assert main["data-pad-id"] == "osd.s1"
    assert main["data-read-only"] == "false"
    assert '<h1 class="session-title">Storage roadmap</h1>' in page.text
    assert '<span class="room">Room A</span>' in page.text
    assert '<span class="track-chip track-storage">Storage</span>' in page.text
    assert "moderated by Bob Builder" in page.text
    assert "Where storage goes" in page.text
    assert re.search(r'<span class="phase phase-live" id="session-phase">live</span>', page.text)
    assert "Mon 04 May 09:00" in page.text
    assert tags(page.text, "a", href="/osd/s1/projector")
    assert not tags(page.text, "form", action="/osd/s1/lock")  # anonymous: no lock

    page = await (await browser("bob")).get("/osd/s1")
    assert tags(page.text, "form", action="/osd/s1/lock")
    assert tags(page.text, "button", name="lock", value="locked")
    assert tags(page.text, "a", href="/osd/s1/edit")
    page = await (await browser("mallory")).get("/osd/s1")
    assert not tags(page.text, "form", action="/osd/s1/lock")

    page = await (await browser()).get("/osd/idea")
    assert '<span class="when">unscheduled</span>' in page.text


async def test_the_session_page_follows_the_lifecycle(browser: Any, clock: SetClock) -> None:
    visitor = await browser()

    async def state(session_id: str) -> tuple[str, str]:
        page = await visitor.get(f"/osd/{session_id}")
        phase = re.search(r'id="session-phase">([^<]+)<', page.text)
        assert phase
        return tags(page.text, "main", id="pad")[0]["data-read-only"], phase[1]

    assert await state("s3") == ("false", "scheduled")
    assert await state("s1") == ("false", "live")
    clock.set(berlin(4, 9, 40, 30))  # ended, within the grace period
    assert await state("s1") == ("false", "ended")
    clock.set(berlin(4, 9, 41, 1))  # end + grace has passed
    assert await state("s1") == ("true", "read-only")
    assert await state("idea") == ("false", "unscheduled")

    page = await (await browser("olga")).get("/osd/s1")
    assert tags(page.text, "button", name="lock", value="open")  # "Reopen the pad"


async def test_a_pad_turns_read_only_after_the_grace_period(
    site: RunningApp, clock: SetClock, connect: Connect, redis_client: Any, key_prefix: str
) -> None:
    writer = await connect(site.ws_url, "osd.s1")
    heard = listen(writer)
    clock.set(berlin(4, 9, 40, 30))  # ended; still writable
    await writer.edit(lambda t: t.insert(len(t), "last words"))
    await eventually(lambda: writer.saved)
    assert heard.auth == []

    clock.set(berlin(4, 9, 41, 1))
    await eventually(lambda: heard.last_auth == (0, "read-only"), within=5)
    await writer.edit(lambda t: t.insert(len(t), " after the end"))
    await round_trip(writer, heard)
    assert await stored_text(redis_client, key_prefix, "osd.s1") == TEMPLATE_TEXT + "last words"

    reader = await connect(site.ws_url, "osd.s1")
    assert str(reader.text) == TEMPLATE_TEXT + "last words"


async def test_the_projector_shows_the_session_with_a_qr_code(browser: Any) -> None:
    page = await (await browser()).get("/osd/s1/projector")
    assert page.status == 200
    main = tags(page.text, "main", id="projector")[0]
    assert main["data-signage"] == "false"
    assert main["data-pad-id"] == "osd.s1"
    assert main["data-timezone"] == "Europe/Berlin"
    assert '<h1 id="projector-title" class="projector-title">Storage roadmap</h1>' in page.text
    assert tags(page.text, "a", id="join", href=f"{PUBLIC_URL}/osd/s1")
    assert "pads.example.org/osd/s1" in page.text
    assert "<svg" in page.text


async def test_the_signage_shows_the_session_on_now_or_the_next_one(
    browser: Any, clock: SetClock
) -> None:
    visitor = await browser()

    async def signage(room: str) -> tuple[dict[str, str], str]:
        page = await visitor.get(f"/osd/rooms/{room}")
        assert page.status == 200
        return tags(page.text, "main", id="projector")[0], page.text

    main, text = await signage("room-a")
    assert (main["data-signage"], main["data-showing"], main["data-session-id"]) == \
        ("true", "session", "s1")
    assert main["data-feed-url"] == "/osd/rooms/room-a/now.json"
    assert "Storage roadmap" in text and "until 09:40" in text

    clock.set(berlin(4, 9, 50))  # between sessions: the next one and when it starts
    main, text = await signage("room-a")
    assert (main["data-showing"], main["data-session-id"]) == ("next", "")
    assert '<h2 id="next-title" class="next-title">Storage quotas</h2>' in text
    assert "starts at 10:00" in text
    assert "hidden" in tags(text, "p", id="next-none")[0]
    assert main["data-next-start"] == berlin(4, 10).astimezone(UTC).isoformat()

    clock.set(berlin(4, 11))  # room B: nothing more today, Tuesday's session next
    main, text = await signage("room-b")
    assert main["data-showing"] == "next"
    assert "hidden" not in tags(text, "p", id="next-none")[0]  # "No more sessions today"
    assert "Deployment day two" in text and "Tue 05 May" in text

    clock.set(berlin(6, 18))  # after the last session of room A
    main, text = await signage("room-a")
    assert main["data-showing"] == "next"
    assert "hidden" in tags(text, "div", id="next-session")[0]


async def test_the_signage_feed_lists_the_rooms_sessions_from_now(
    browser: Any, clock: SetClock
) -> None:
    visitor = await browser()
    async with visitor.http.get(visitor.url + "/osd/rooms/room-a/now.json") as response:
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.headers["Cache-Control"] == "no-store"
        feed = await response.json()
    assert feed["now"] == "2026-05-04T07:10:00Z"
    assert feed["summit"] == {"slug": "osd", "name": "Open Storage Days",
                              "timezone": "Europe/Berlin"}
    assert feed["room"] == {"id": "room-a", "name": "Room A"}
    assert [s["id"] for s in feed["sessions"]] == ["s1", "s3"]
    first = feed["sessions"][0]
    assert (first["start"], first["end"]) == ("2026-05-04T07:00:00Z", "2026-05-04T07:40:00Z")
    assert (first["start_local"], first["end_local"], first["day_local"]) == \
        ("09:00", "09:40", "Mon 04 May")
    assert first["track"] == {"id": "storage", "name": "Storage", "colour": "#1d4ed8"}
    assert first["url"] == "/osd/s1" and first["join_url"] == f"{PUBLIC_URL}/osd/s1"
    assert first["pad_id"] == "osd.s1" and first["read_only"] is False

    clock.set(berlin(4, 10, 41))
    async with visitor.http.get(visitor.url + "/osd/rooms/room-a/now.json") as response:
        feed = await response.json()
    assert feed["sessions"] == []


# -- the calendar -----------------------------------------------------------------------------


async def test_the_calendar_has_one_event_per_scheduled_session(browser: Any) -> None:
    visitor = await browser()
    async with visitor.http.get(visitor.url + "/osd/schedule.ics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/calendar")
        body = await response.read()
    events = icalendar.Calendar.from_ical(body).walk("VEVENT")
    by_id = {str(e["UID"]).split("@")[0]: e for e in events}
    assert sorted(by_id) == ["s1", "s2", "s3", "s4"]  # the unscheduled idea is left out
    for session_id, event in by_id.items():
        assert str(event["URL"]) == f"{PUBLIC_URL}/osd/{session_id}"
    assert str(by_id["s1"]["SUMMARY"]) == "Storage roadmap"
    assert by_id["s1"].decoded("DTSTART") == datetime(2026, 5, 4, 7, 0, tzinfo=UTC)
    assert str(by_id["s1"]["LOCATION"]) == "Room A"
    page = await visitor.get("/osd")
    assert tags(page.text, "link", rel="alternate", href="/osd/schedule.ics")


# -- bad URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/nosuch", "/nosuch/search?q=x", "/nosuch/schedule.ics", "/nosuch/unconference",
    "/nosuch/tracks.css", "/nosuch/s1", "/osd/nosuch", "/osd/nosuch/projector",
    "/osd/rooms/nosuch", "/osd/rooms/nosuch/now.json", "/osd/nosuch/edit", "/osd/a/b/c",
    "/osd/bad%20id", "/osd/rooms/Room_A", "/osd/" + "x" * 65, "/new-summit-" + "x" * 40,
])
async def test_unknown_summits_sessions_and_rooms_get_a_404_page(
    browser: Any, path: str
) -> None:
    page = await (await browser()).get(path)
    assert page.status == 404, page.text[:300]
    assert page.headers["Content-Type"].startswith("text/html")
    assert "<h1>404 · Not" in page.text
    assert 'href="/"' in page.text


async def test_unknown_names_are_named_and_escaped_on_the_404_page(browser: Any) -> None:
    page = await (await browser()).get("/osd/nosuch")
    assert "summit &#39;osd&#39; has no session &#39;nosuch&#39;" in page.text
    page = await (await browser()).get("/nosuch", headers={"Accept": "application/json"})
    assert page.status == 404 and '"status": 404' in page.text


# -- user text on every page ------------------------------------------------------------------


async def test_html_in_user_text_is_shown_as_text_on_every_page(
    site: RunningApp, browser: Any, connect: Connect
) -> None:
    summits = site.app[SUMMITS]
    summit = SUMMIT.replace(
        slug="xss", name=f"{XSS} summit",
        tracks=(Track("tx", XSS, "#123456"),), rooms=(Room("rx", XSS), Room("ry", "Plain")),
        template=f"# {XSS}\n",
    )
    sessions = (
        Session("s1", XSS, track="tx", room="rx", start=berlin(4, 9), end=berlin(4, 9, 40),
                moderator=XSS, description=XSS),
        Session("s2", f"next {XSS}", track="tx", room="rx", start=berlin(4, 10),
                end=berlin(4, 10, 40), moderator=XSS, description=XSS),
        Session("u-1", XSS, description=XSS, proposed_by=XSS, moderator=XSS,
                origin=Origin.PROPOSAL),
    )
    await seed_summit(summits, summit, sessions)
    writer = await connect(site.ws_url, "xss.s1")
    await writer.edit(lambda t: t.insert(len(t), f"the pad says {XSS} loudly"))
    await eventually(lambda: writer.saved)

    anonymous, organizer = await browser(), await browser("olga")
    pages = {
        "/": anonymous, "/xss": anonymous, "/xss?track=tx": anonymous,
        "/xss/search?q=loudly": anonymous, "/xss/search?q=alert": anonymous,
        f"/xss/search?q={XSS}": anonymous, "/xss/s1": anonymous, "/xss/u-1": anonymous,
        "/xss/s1/projector": anonymous, "/xss/rooms/rx": anonymous, "/xss/unconference": anonymous,
        "/xss/admin": organizer, "/xss/s1/edit": organizer, "/xss/unconference#o": organizer,
        "/xss/s1#o": organizer, "/xss?o": organizer,
    }
    for path, who in pages.items():
        page = await who.get(path)
        assert page.status == 200, path
        assert XSS not in page.text, path
        assert ESCAPED_XSS in page.text, path

    page = await anonymous.get("/xss/search?q=loudly")
    snippets = re.findall(r'<p class="snippet">(.*?)</p>', page.text, re.S)
    assert len(snippets) == 1
    assert snippets[0].endswith(f" the pad says {ESCAPED_XSS} <mark>loudly</mark>"), snippets
    anonymous_between = await anonymous.get("/xss/rooms/ry")
    assert XSS not in anonymous_between.text

    # Problems reported about a file quote what it says: escaped as well.
    bad = f"title,room,start,end\nA,{XSS} 2,2026-05-04 12:00,2026-05-04 12:40\n"
    page = await organizer.upload("xss", "bad.csv", bad)
    assert page.status == 400
    assert XSS not in page.text and ESCAPED_XSS in page.text


# -- the template -----------------------------------------------------------------------------


async def test_a_new_pad_gets_the_template_once_however_many_join(
    site: RunningApp, connect: Connect, redis_client: Any, key_prefix: str
) -> None:
    first, second = await asyncio.gather(
        connect(site.ws_url, "osd.s3"), connect(site.ws_url, "osd.s3")
    )
    assert str(first.text) == str(second.text) == TEMPLATE_TEXT
    assert first.text.diff()[1] == ("\n", {"header": 1.0})  # "# Agenda" is a heading

    # A tab that reconnects with its document, and a new tab after the pad was unloaded.
    await first.close()
    await second.close()
    await eventually(lambda: len(site.app[REGISTRY]) == 0, within=5)
    again = await connect(site.ws_url, "osd.s3", doc=first.doc)
    fresh = await connect(site.ws_url, "osd.s3")
    await round_trip(again, listen(again))
    assert str(again.text) == str(fresh.text) == TEMPLATE_TEXT
    assert await stored_text(redis_client, key_prefix, "osd.s3") == TEMPLATE_TEXT

    # Once written, it is never written again: not even into a pad emptied by its users.
    await fresh.edit(lambda t: t.__delitem__(slice(0, len(t))))
    await eventually(lambda: fresh.saved and str(again.text) == "")
    await again.close()
    await fresh.close()
    await eventually(lambda: len(site.app[REGISTRY]) == 0, within=5)
    later = await connect(site.ws_url, "osd.s3")
    assert str(later.text) == ""


async def test_two_nodes_loading_a_new_pad_at_once_write_the_template_once(
    site: RunningApp, start_app: StartApp, clock: SetClock, connect: Connect,
    redis_client: Any, key_prefix: str,
) -> None:
    other_node = await start_app(clock=clock, grace_period=GRACE)
    clients = await asyncio.gather(*(
        connect(node.ws_url, "osd.s2") for node in (site, other_node, site, other_node)
    ))
    await eventually(lambda: all(str(c.text) == TEMPLATE_TEXT for c in clients))
    assert await stored_text(redis_client, key_prefix, "osd.s2") == TEMPLATE_TEXT
    await clients[0].edit(lambda t: t.insert(len(t), "from A"))
    await eventually(lambda: all(str(c.text) == TEMPLATE_TEXT + "from A" for c in clients))


async def test_bare_pads_start_empty_and_no_one_writes_into_a_session_before_it_exists(
    site: RunningApp, connect: Connect
) -> None:
    client = await connect(site.ws_url, "scratch")
    assert str(client.text) == ""
    # The pad of a session that does not exist (yet), of this summit or of a summit that does
    # not exist (yet): refused, so nobody's text is there before its template.
    async with aiohttp.ClientSession() as http:
        for pad_id in ("osd.nosuch", "nosuch.s1"):
            async with http.ws_connect(f"{site.ws_url}/{pad_id}") as ws:
                await ws.receive()
                assert ws.close_code == 4404, pad_id
        async with http.get(f"{site.http_url}/p/osd.nosuch") as page:
            assert page.status == 404
