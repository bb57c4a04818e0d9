"""Organizer and moderator work through the real app: creating a summit, loading its schedule
(and refusing bad files whole), editing sessions, locking and reopening pads, the unconference;
and everyone else kept out of it (401, 403, CSRF)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from pycrdt import Doc
from summitpad.app_keys import SUMMITS
from summitpad.client import PadClient
from summitpad.clock import SetClock
from summitpad.schedule import Lock, Origin
from summitpad.web_security import ACCOUNTS

from .summit_fixtures import (
    ESCAPED_XSS,
    XSS,
    Browser,
    OpenBrowser,
    add_people,
    berlin,
    browsers,
    csrf_of,
    listen,
    round_trip,
    seed_summit,
    stored_text,
    summit_state,
    tags,
)
from .support import RunningApp, eventually

TEMPLATE_TEXT = "Agenda\n\nNotes\n"

StartApp = Callable[..., Awaitable[RunningApp]]
Connect = Callable[..., Awaitable[PadClient]]
@pytest.fixture
def clock() -> SetClock:
    return SetClock(berlin(4, 9, 10))


@pytest.fixture
async def site(start_app: StartApp, clock: SetClock) -> RunningApp:
    running = await start_app(clock=clock, grace_period=60.0)
    await seed_summit(running.app[SUMMITS])
    await add_people(running.app[ACCOUNTS])
    return running


@pytest.fixture
async def browser(site: RunningApp) -> AsyncIterator[OpenBrowser]:
    async with browsers(site) as open_browser:
        yield open_browser


@pytest.fixture
def state(site: RunningApp, redis_client: Any, key_prefix: str) -> Callable[[], Awaitable[Any]]:
    """Everything stored about summit osd."""
    return lambda: summit_state(redis_client, key_prefix, "osd")


async def session(site: RunningApp, session_id: str, slug: str = "osd") -> Any:
    return (await site.app[SUMMITS].load(slug)).sessions[session_id]


NEW_SUMMIT = {
    "slug": "Fos-2026", "name": "Free Storage Summit", "start_date": "2026-05-04",
    "end_date": "2026-05-05", "timezone": "Europe/Berlin",
    "rooms": "Hall\nroom-1 | Room 1\r\nRoom 2\n\n",
    "tracks": "Storage | #1d4ed8\nha | High Availability | #b91c1c",
    "template": "# Plan\r\n- first\r\n",
}

CSV = """id,title,track,room,start,end,moderator,description
k1,Keynote,,Hall,2026-05-04 09:00,2026-05-04 09:40,Olga,Welcome
st1,Storage roadmap,Storage,Room 1,2026-05-04 10:00,2026-05-04 10:40,Bob Builder,
ha1,HA failover,high availability,room-2,2026-05-04 10:00,10:40,,
"""


# -- summits ----------------------------------------------------------------------------------


async def test_an_organizer_creates_a_summit_and_loads_its_schedule(
    site: RunningApp, browser: OpenBrowser
) -> None:
    olga = await browser("olga")
    form = await olga.get("/new")
    assert form.status == 200 and tags(form.text, "form", action="/new")
    created = await olga.post("/new", NEW_SUMMIT)
    assert created.status == 303 and created.location == "/fos-2026/admin"

    summit = (await site.app[SUMMITS].load("fos-2026")).summit
    assert summit.name == "Free Storage Summit" and summit.timezone == "Europe/Berlin"
    assert [(r.id, r.name) for r in summit.rooms] == [
        ("hall", "Hall"), ("room-1", "Room 1"), ("room-2", "Room 2")]
    assert [(t.id, t.name, t.colour) for t in summit.tracks] == [
        ("storage", "Storage", "#1d4ed8"), ("ha", "High Availability", "#b91c1c")]
    assert summit.template == "# Plan\n- first\n"
    assert tags((await olga.get("/")).text, "a", href="/fos-2026")

    page = await olga.upload("fos-2026", "schedule.csv", CSV)
    assert page.status == 200, page.plain
    assert "Schedule loaded" in page.text
    assert "3 added, 0 updated, 0 unchanged, 0 unscheduled" in page.text
    sessions = (await site.app[SUMMITS].load("fos-2026")).sessions
    assert sorted(sessions) == ["ha1", "k1", "st1"]
    assert sessions["ha1"].track == "ha" and sessions["ha1"].room == "room-2"
    assert sessions["ha1"].end == datetime(2026, 5, 4, 8, 40, tzinfo=UTC)
    assert sessions["st1"].moderator == "Bob Builder"

    page = await olga.upload("fos-2026", "schedule.csv", CSV)  # again: nothing new
    assert "0 added, 0 updated, 3 unchanged, 0 unscheduled" in page.text

    moved = CSV.replace("HA failover,high availability,room-2", "HA failover,ha,Hall") \
        .replace("2026-05-04 10:00,10:40", "2026-05-04 11:00,11:40")
    page = await olga.upload("fos-2026", "schedule.csv", moved)
    assert "0 added, 1 updated, 2 unchanged, 0 unscheduled" in page.text
    board = await olga.get("/fos-2026")
    assert tags(board.text, "td", data_session="ha1")


async def test_json_and_icalendar_schedules_load_too(
    site: RunningApp, browser: OpenBrowser
) -> None:
    olga = await browser("olga")
    json_file = """{"summit": {"name": "Open Storage Days 2026"},
        "sessions": [{"id": "j1", "title": "From JSON", "room": "Room B",
                      "start": "2026-05-05T11:00", "end": "2026-05-05T11:40"}]}"""
    page = await olga.upload("osd", "schedule.json", json_file)
    assert page.status == 200, page.plain
    assert "1 added" in page.text and "summit details changed" in page.text
    data = await site.app[SUMMITS].load("osd")
    assert data.summit.name == "Open Storage Days 2026"
    assert data.sessions["j1"].start == datetime(2026, 5, 5, 9, 0, tzinfo=UTC)
    assert not data.sessions["s1"].scheduled  # not in the file: off the schedule, pad kept
    assert data.sessions["idea"].title == "An idea without a slot"

    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        "UID:ical-1@example.org\r\nDTSTAMP:20260401T000000Z\r\nSUMMARY:From iCalendar\r\n"
        "LOCATION:Room A\r\nDTSTART:20260506T070000Z\r\nDTEND:20260506T074000Z\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    page = await olga.upload("osd", "talks.ics", ics)
    assert page.status == 200, page.plain
    sessions = (await site.app[SUMMITS].load("osd")).sessions
    placed = [s for s in sessions.values() if s.scheduled]
    assert [(s.title, s.room) for s in placed] == [("From iCalendar", "room-a")]


@pytest.mark.parametrize(("form", "problem"), [
    ({"slug": "new"}, "reserved word"),
    ({"slug": "osd"}, "there is already a summit &#39;osd&#39;"),
    ({"slug": "bad slug!"}, "slug &#39;bad slug!&#39;"),
    ({"start_date": "2026-02-30"}, "dates: give them as YYYY-MM-DD"),
    ({"end_date": "2026-05-01"}, "end date: before the start date"),
    ({"timezone": "Mars/Olympus"}, "unknown time zone"),
    ({"name": ""}, "name: 1-100 characters"),
    ({"tracks": "Storage | red"}, "colour &#39;red&#39; is not #rrggbb"),
    ({"rooms": "a | b | c"}, "rooms, line 1"),
    ({"rooms": "Hall\nhall | Hall again"}, "listed twice"),
])
async def test_a_bad_new_summit_is_refused_and_nothing_is_created(
    site: RunningApp, browser: OpenBrowser, state: Any, form: dict[str, str], problem: str
) -> None:
    olga = await browser("olga")
    before = await state()
    page = await olga.post("/new", {**NEW_SUMMIT, **form})
    assert page.status in (400, 409), page.text
    assert problem in page.text
    after = await state()
    assert (after[0], after[1], after[3]) == (before[0], before[1], before[3])
    if form.get("slug") != "osd":  # see the next test
        assert after == before
    assert await site.app[SUMMITS].slugs() == ["osd"]


async def test_creating_a_summit_that_exists_leaves_its_version_alone(
    browser: OpenBrowser, state: Any
) -> None:
    olga = await browser("olga")
    before = await state()
    assert (await olga.post("/new", {**NEW_SUMMIT, "slug": "osd"})).status == 409
    assert await state() == before


async def test_an_organizer_edits_the_summit(site: RunningApp, browser: OpenBrowser,
                                             state: Any) -> None:
    olga = await browser("olga")
    page = await olga.get("/osd/admin")
    assert page.status == 200
    assert "room-a | Room A\nroom-b | Room B" in page.text
    assert "storage | Storage | #1d4ed8" in page.text
    assert tags(page.text, "form", action="/osd/admin/schedule", enctype="multipart/form-data")
    assert tags(page.text, "a", href="/osd/s1/edit")
    values = {
        "name": "OSD renamed", "start_date": "2026-05-04", "end_date": "2026-05-06",
        "timezone": "Europe/Berlin", "template": "# Notes",
        "rooms": "room-a | Hall A\nroom-b | Room B\nRoom C",
        "tracks": "storage | Storage | #000000\nha | HA | #b91c1c",
    }
    saved = await olga.post("/osd/admin", values)
    assert saved.status == 303 and saved.location == "/osd/admin"
    summit = (await site.app[SUMMITS].load("osd")).summit
    assert summit.name == "OSD renamed"
    assert [r.name for r in summit.rooms] == ["Hall A", "Room B", "Room C"]

    # Taking away a room that sessions use is refused whole.
    before = await state()
    page = await olga.post("/osd/admin", {**values, "name": "Lost", "rooms": "Room C"})
    assert page.status == 400
    assert "room: &#39;room-a&#39; is not a room of this summit" in page.text
    assert await state() == before


# -- bad schedule files -----------------------------------------------------------------------

ICS_BACKWARDS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x1@y\r\nSUMMARY:T\r\n"
    "LOCATION:Room A\r\nDTSTART:20260504T090000Z\r\nDTEND:20260504T080000Z\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)


@pytest.mark.parametrize(("filename", "content", "problems"), [
    ("wrong-columns.csv", "titel,room,start,end\nA,Room A,2026-05-04 09:00,2026-05-04 09:40\n",
     ['line 1, column "titel": not a known column', 'line 1: column "title" is missing']),
    ("bad-date.csv", "title,room,start,end\nA,Room A,2026-05-32 09:00,2026-05-04 09:40\n",
     ['line 2, field "start": "2026-05-32 09:00" is not a time']),
    ("bad-time.csv", "title,room,start,end\nA,Room A,soon,2026-05-04 09:40\n",
     ['line 2, field "start": "soon" is not a time']),
    ("backwards.csv", "title,room,start,end\nA,Room A,2026-05-04 09:40,2026-05-04 09:00\n",
     ['line 2, field "end": "2026-05-04 09:00" is before the start']),
    ("room.csv", "title,room,start,end\nA,Room Z,2026-05-04 09:00,2026-05-04 09:40\n",
     ['line 2, field "room": "Room Z" is not a room of this summit']),
    ("track.csv",
     "title,track,room,start,end\nA,Networking,Room A,2026-05-04 09:00,2026-05-04 09:40\n",
     ['line 2, field "track": "Networking" is not a track of this summit']),
    ("overlap.csv", "title,room,start,end\nA,Room A,2026-05-04 09:00,2026-05-04 09:40\n"
     "B,room-a,2026-05-04 09:20,2026-05-04 10:00\n",
     ['line 3, field "start": "2026-05-04 09:20": room "Room A" is taken then by line 2']),
    ("outside.csv", "title,room,start,end\nA,Room A,2026-06-04 09:00,2026-06-04 09:40\n",
     ['line 2, field "start": "2026-06-04 09:00" is not during the summit']),
    ("dst-gap.csv", "title,room,start,end\nA,Room A,2026-05-04 09:00,2026-05-04 09:40\n"
     "B,Room A,2026-05-04 10:00,2026-05-04 10:40\nC,Room B,2026-05-04,2026-05-04 10:40\n",
     ['line 4, field "start": "2026-05-04" is not a time']),
    ("types.json", '[{"title": 5, "room": "Room A"}]',
     ['sessions[0], field "title": must be a string, not a number']),
    ("broken.json", '[{"title": "A",}]', ["line 1, column 16: not JSON"]),
    ("backwards.ics", ICS_BACKWARDS,
     ['event 1 (UID "x1@y"), field DTEND: "20260504T080000Z" is before the start']),
    ("latin1.csv", "title\nCaf\xe9\n".encode("latin-1"), ["byte 9: not UTF-8 text"]),
    ("empty.csv", "", ["the schedule file is empty"]),
])
async def test_a_bad_schedule_file_is_refused_whole_naming_line_and_field(
    browser: OpenBrowser, state: Any, filename: str, content: str | bytes, problems: list[str]
) -> None:
    olga = await browser("olga")
    before = await state()
    page = await olga.upload("osd", filename, content)
    assert page.status == 400, page.plain
    assert "400 · Invalid input" in page.text
    for problem in problems:
        assert problem in page.plain, page.plain
    assert await state() == before


async def test_a_file_that_collides_with_a_placed_proposal_changes_nothing(
    site: RunningApp, browser: OpenBrowser, state: Any
) -> None:
    olga = await browser("olga")
    placed = (await session(site, "idea")).replace(
        origin=Origin.PROPOSAL, room="room-b", start=berlin(4, 12), end=berlin(4, 12, 40))
    await site.app[SUMMITS].save_session("osd", placed)
    before = await state()
    page = await olga.upload(
        "osd", "s.csv", "id,title,room,start,end\nx,Clash,Room B,2026-05-04 12:10,12:50\n")
    assert page.status == 400
    assert "nothing was changed" in page.plain
    assert "session 'x': room 'Room B' is taken by session 'idea' until 12:40" in page.plain
    assert await state() == before


async def test_a_script_uploads_with_an_api_token_and_gets_json(
    site: RunningApp, browser: OpenBrowser, state: Any
) -> None:
    accounts = site.app[ACCOUNTS]
    organizer = await accounts.create_api_token("olga")
    moderator = await accounts.create_api_token("bob")
    http = (await browser()).http
    url = site.http_url + "/osd/admin/schedule"
    body = "id,title,room,start,end\ns1,Storage roadmap v2,Room A,2026-05-04 09:00,09:40\n"

    async def upload(token: str, data: str = body) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv",
                   "Accept": "application/json"}
        async with http.post(url, data=data.encode(), headers=headers) as response:
            return response.status, await response.json()

    before = await state()
    assert (await upload(moderator))[0] == 403
    assert (await upload("spt_" + "x" * 43))[0] == 401
    status, reply = await upload(organizer, "title,room\nA,Nowhere\n")
    assert status == 400
    assert 'line 1: column "start" is missing' in reply["error"]["problems"]
    assert await state() == before

    status, reply = await upload(organizer)
    assert status == 200, reply
    assert reply["report"]["updated"] == ["s1"]
    assert reply["report"]["unscheduled"] == ["s2", "s3", "s4"]
    assert (await session(site, "s1")).title == "Storage roadmap v2"

    headers = {"Authorization": f"Bearer {organizer}", "Accept": "application/json"}
    async with http.post(site.http_url + "/new", data=NEW_SUMMIT, headers=headers) as response:
        assert response.status == 201
        assert (await response.json())["slug"] == "fos-2026"


async def test_a_schedule_file_up_to_five_mebibytes_is_read(browser: OpenBrowser) -> None:
    olga = await browser("olga")
    big = "title,description\nA," + "x" * (3 * 1024 * 1024) + "\n"
    page = await olga.upload("osd", "big.csv", big)
    assert page.status == 400
    assert 'line 2, field "description": longer than 5000 characters' in page.plain


# -- who may do what --------------------------------------------------------------------------

ORGANIZER_ACTIONS = [
    ("GET", "/new", None),
    ("POST", "/new", {**NEW_SUMMIT}),
    ("GET", "/osd/admin", None),
    ("POST", "/osd/admin", {"name": "Taken over", "start_date": "2026-05-04",
                            "end_date": "2026-05-06", "timezone": "UTC"}),
    ("UPLOAD", "/osd/admin/schedule", None),
    ("POST", "/osd/unconference/idea/place",
     {"slot": f"room-b|{berlin(4, 10).isoformat()}|{berlin(4, 10, 40).isoformat()}"}),
]
MODERATOR_ACTIONS = [
    ("GET", "/osd/s1/edit", None),
    ("POST", "/osd/s1/edit", {"title": "Hijacked", "moderator": "Mallory"}),
    ("POST", "/osd/s1/lock", {"lock": "locked"}),
]


async def _attempt(who: Browser, method: str, path: str, data: dict[str, str] | None,
                   *, csrf: bool = True) -> Any:
    if method == "GET":
        return await who.get(path)
    if method == "UPLOAD":
        return await who.upload("osd", "s.csv", "title\nNew session\n", csrf=csrf)
    return await who.post(path, data, csrf=csrf)


@pytest.mark.parametrize(("method", "path", "data"), ORGANIZER_ACTIONS + MODERATOR_ACTIONS)
async def test_anonymous_users_are_asked_to_log_in_and_change_nothing(
    browser: OpenBrowser, state: Any, method: str, path: str, data: dict[str, str] | None
) -> None:
    before = await state()
    page = await _attempt(await browser(), method, path, data)
    assert page.status == 401, page.text
    assert "401 · Log in first" in page.text
    assert tags(page.text, "a", **{"class": "button"})[0]["href"].startswith("/login?next=")
    assert await state() == before


@pytest.mark.parametrize(("method", "path", "data"), ORGANIZER_ACTIONS + MODERATOR_ACTIONS)
async def test_a_moderator_of_another_session_is_forbidden(
    browser: OpenBrowser, state: Any, method: str, path: str, data: dict[str, str] | None
) -> None:
    before = await state()
    page = await _attempt(await browser("mallory"), method, path, data)
    assert page.status == 403, page.text
    assert "403 · Forbidden" in page.text
    assert await state() == before


@pytest.mark.parametrize(("method", "path", "data"), ORGANIZER_ACTIONS)
async def test_a_moderator_may_not_organize(
    browser: OpenBrowser, state: Any, method: str, path: str, data: dict[str, str] | None
) -> None:
    before = await state()
    page = await _attempt(await browser("bob"), method, path, data)
    assert page.status == 403, page.text
    assert "only organizers may do this" in page.text
    assert await state() == before


@pytest.mark.parametrize(("method", "path", "data"), [
    *[a for a in ORGANIZER_ACTIONS + MODERATOR_ACTIONS if a[0] != "GET"],
    ("POST", "/osd/unconference", {"title": "Sneaky", "name": "Eve"}),
    ("POST", "/logout", {}),
])
async def test_forms_without_the_csrf_token_are_refused(
    site: RunningApp, browser: OpenBrowser, state: Any, method: str, path: str,
    data: dict[str, str] | None,
) -> None:
    olga = await browser("olga")
    before = await state()
    page = await _attempt(olga, method, path, data, csrf=False)
    assert page.status == 403, page.text
    assert "missing or wrong CSRF token" in page.text
    if method != "UPLOAD":  # another browser's token is no better
        other = await browser("olga")
        page = await olga.post(path, {**(data or {}), "csrf": await other.csrf()}, csrf=False)
        assert page.status == 403, page.text
    assert await state() == before
    assert (await olga.get("/osd/admin")).status == 200  # still logged in


# -- sessions ---------------------------------------------------------------------------------


async def test_an_organizer_adds_a_session_by_hand(
    site: RunningApp, browser: OpenBrowser, state: Any
) -> None:
    olga = await browser("olga")
    new = {"title": "Ceph on ARM", "moderator": "Ann", "room": "room-a", "day": "2026-05-06",
           "start": "11:00", "end": "11:40"}
    page = await olga.post("/osd/admin/session", new)
    assert page.status == 303 and page.location == "/osd/ceph-on-arm"
    added = await session(site, "ceph-on-arm")
    assert (added.room, added.start, added.moderator) == ("room-a", berlin(6, 11), "Ann")

    before = await state()
    assert (await olga.post("/osd/admin/session", new)).status == 409  # that id is taken
    overlap = {**new, "id": "other", "start": "11:20", "end": "12:00"}
    assert (await olga.post("/osd/admin/session", overlap)).status == 400  # room taken
    anonymous = await browser()
    assert (await anonymous.post("/osd/admin/session", {**new, "id": "x"})).status == 401
    assert await state() == before


async def test_an_organizer_moves_a_session_and_a_moderator_cannot(
    site: RunningApp, browser: OpenBrowser, state: Any
) -> None:
    olga = await browser("olga")
    form = await olga.get("/osd/s2/edit")
    assert tags(form.text, "input", name="start", value="09:00")
    move = {"title": "HA failover", "room": "room-b", "day": "2026-05-06", "start": "14:00",
            "end": "14:40"}
    assert (await olga.post("/osd/s2/edit", move)).status == 303
    s2 = await session(site, "s2")
    assert (s2.room, s2.start, s2.end) == ("room-b", berlin(6, 14), berlin(6, 14, 40))

    before = await state()
    for bad in ({"room": "room-a", "day": "2026-05-04", "start": "09:20", "end": "10:00"},
                {"day": "2026-07-01"}, {"start": "25:00"}, {"end": "13:00"}):
        page = await olga.post("/osd/s2/edit", {**move, **bad})
        assert page.status == 400, bad  # taken by s1, not a summit day, no such time, backwards
    assert await state() == before
    unscheduled = await olga.post("/osd/s2/edit", {"title": "HA failover", "room": "",
                                                    "was_room": "room-b"})
    assert unscheduled.status == 303 and not (await session(site, "s2")).scheduled

    # A form shown before someone else moved the session saves its title, not its old place.
    shown = await olga.get("/osd/s3/edit")
    fields = {f"was_{name}": tags(shown.text, "input", name=f"was_{name}")[0]["value"]
              for name in ("room", "day", "start", "end")}
    await site.app[SUMMITS].change_session("osd", "s3", start=berlin(6, 15), end=berlin(6, 16))
    page = await olga.post("/osd/s3/edit", {
        "title": "Quotas", "room": fields["was_room"], "day": fields["was_day"],
        "start": fields["was_start"], "end": fields["was_end"], **fields})
    assert page.status == 303
    s3 = await session(site, "s3")
    assert (s3.title, s3.start) == ("Quotas", berlin(6, 15))

    bob = await browser("bob")  # moderates s1: what, not where
    assert (await bob.post("/osd/s1/edit", {"title": "Storage roadmap", **move})).status == 303
    assert (await session(site, "s1")).start == berlin(4, 9)



async def test_a_moderator_edits_what_the_session_is_about(
    site: RunningApp, browser: OpenBrowser
) -> None:
    bob = await browser("bob")
    form = await bob.get("/osd/s1/edit")
    assert form.status == 200
    assert tags(form.text, "input", name="title", value="Storage roadmap")
    assert not tags(form.text, "input", name="moderator")  # where and who: organizers only
    page = await bob.post("/osd/s1/edit", {
        "title": "  Storage roadmap 2027 ", "description": "New\r\ndescription",
        "moderator": "Mallory", "track": "ha",
    })
    assert page.status == 303 and page.location == "/osd/s1"
    s1 = await session(site, "s1")
    assert (s1.title, s1.description) == ("Storage roadmap 2027", "New\r\ndescription")
    assert (s1.moderator, s1.track, s1.room) == ("Bob Builder", "storage", "room-a")


async def test_an_organizer_also_sets_the_moderator_and_track(
    site: RunningApp, browser: OpenBrowser, state: Any
) -> None:
    olga = await browser("olga")
    form = await olga.get("/osd/s2/edit")
    assert tags(form.text, "input", name="moderator", value="Carol")
    assert tags(form.text, "option", value="ha", selected="")
    page = await olga.post("/osd/s2/edit", {"title": "HA failover", "moderator": "bob",
                                            "track": "storage"})
    assert page.status == 303
    s2 = await session(site, "s2")
    assert (s2.moderator, s2.track) == ("bob", "storage")
    bob = await browser("bob")
    assert (await bob.get("/osd/s2/edit")).status == 200  # bob moderates it now

    before = await state()
    for bad in ({"track": "no-such-track"}, {"title": "  "}, {"title": "x" * 201}):
        page = await olga.post("/osd/s2/edit", {"title": "HA failover", **bad})
        assert page.status == 400, bad
    assert await state() == before


async def test_the_moderator_locks_and_reopens_the_pad(
    site: RunningApp, browser: OpenBrowser, state: Any
) -> None:
    bob = await browser("bob")
    page = await bob.post("/osd/s1/lock", {"lock": "locked"})
    assert page.status == 303 and page.location == "/osd/s1"
    assert (await session(site, "s1")).lock is Lock.LOCKED
    page = await bob.get("/osd/s1")
    assert tags(page.text, "main", id="pad")[0]["data-read-only"] == "true"
    assert tags(page.text, "button", name="lock", value="open")

    assert (await bob.post("/osd/s1/lock", {"lock": "open"})).status == 303
    assert (await session(site, "s1")).lock is Lock.OPEN
    assert (await bob.post("/osd/s1/lock", {"lock": ""})).status == 303
    assert (await session(site, "s1")).lock is Lock.FOLLOW

    page = await bob.post("/osd/s1/lock", {"lock": "locked"},
                          headers={"Accept": "application/json"})
    assert page.status == 200 and '"lock": "locked"' in page.text

    before = await state()
    page = await bob.post("/osd/s1/lock", {"lock": "forever"})
    assert page.status == 400 and "lock must be" in page.plain
    assert (await bob.post("/osd/s2/lock", {"lock": "open"})).status == 403
    assert (await bob.post("/osd/nosuch/lock", {"lock": "open"})).status == 404
    assert await state() == before


async def test_a_locked_pad_drops_updates_and_says_so_until_reopened(
    site: RunningApp, browser: OpenBrowser, connect: Connect, http: aiohttp.ClientSession,
    redis_client: Any, key_prefix: str,
) -> None:
    writer = await connect(site.ws_url, "osd.s1")
    heard = listen(writer)
    await writer.edit(lambda t: t.insert(len(t), "before"))
    await eventually(lambda: writer.saved)
    expected = TEMPLATE_TEXT + "before"

    bob = await browser("bob")
    assert (await bob.post("/osd/s1/lock", {"lock": "locked"})).status == 303
    await eventually(lambda: heard.last_auth == (0, "read-only"), within=5)

    await writer.edit(lambda t: t.insert(len(t), " while locked"))
    await round_trip(writer, heard)
    assert await stored_text(redis_client, key_prefix, "osd.s1") == expected

    # A tab joining now is told at once; what it brings from offline is dropped too.
    late = PadClient(http, site.ws_url, "osd.s1", doc=_copy(writer))
    late_heard = listen(late)
    await late.connect()
    try:
        await eventually(lambda: late.synced.is_set() and late_heard.auth == [(0, "read-only")])
        await round_trip(late, late_heard)
    finally:
        await late.close()
    assert await stored_text(redis_client, key_prefix, "osd.s1") == expected
    watcher = await connect(site.ws_url, "osd.s1")
    assert str(watcher.text) == expected

    assert (await bob.post("/osd/s1/lock", {"lock": "open"})).status == 303
    await eventually(lambda: heard.last_auth == (1, "read-write"), within=5)
    # (The writer still holds what it typed while locked: a client that ignores the read-only
    # message keeps its own dropped edits.) Edits made now land.
    await watcher.edit(lambda t: t.insert(len(t), " after"))
    await eventually(lambda: watcher.saved and " after" in str(writer.text))
    assert await stored_text(redis_client, key_prefix, "osd.s1") == expected + " after"


def _copy(client: PadClient) -> Doc[Any]:
    """A second tab's copy of what `client` holds, edits the server dropped included."""
    doc: Doc[Any] = Doc()
    doc.apply_update(client.doc.get_update())
    return doc


# -- the unconference -------------------------------------------------------------------------


async def test_anyone_proposes_and_an_organizer_places_the_proposal(
    site: RunningApp, browser: OpenBrowser, state: Any
) -> None:
    visitor = await browser()
    page = await visitor.get("/osd/unconference")
    assert page.status == 200 and csrf_of(page.text)
    assert not tags(page.text, "select", name="slot")  # placing is for organizers
    page = await visitor.post("/osd/unconference", {
        "title": " Tape is back ", "description": "Why not?", "name": "Zoe"})
    assert page.status == 303
    proposal_id = page.location.split("#")[1]
    assert page.location == f"/osd/unconference#{proposal_id}"
    proposal = await session(site, proposal_id)
    assert (proposal.title, proposal.proposed_by, proposal.origin) == \
        ("Tape is back", "Zoe", Origin.PROPOSAL)
    assert not proposal.scheduled
    assert (await visitor.get(f"/osd/{proposal_id}")).status == 200  # it has its pad already

    olga = await browser("olga")
    page = await olga.get("/osd/unconference")
    assert "proposed by Zoe" in page.text
    slots = [o["value"] for o in tags(page.text, "option")]
    free = f"room-b|{berlin(4, 10).isoformat()}|{berlin(4, 10, 40).isoformat()}"
    taken = f"room-a|{berlin(4, 10).isoformat()}|{berlin(4, 10, 40).isoformat()}"
    assert free.replace("+02:00", "+00:00") not in slots  # listed in UTC
    utc_free = "room-b|2026-05-04T08:00:00+00:00|2026-05-04T08:40:00+00:00"
    assert utc_free in slots
    assert "room-a|2026-05-04T08:00:00+00:00|2026-05-04T08:40:00+00:00" not in slots
    assert not any("2026-05-04T07:00" in s for s in slots)  # both rooms are busy at 09:00

    before = await state()
    for slot in (taken, "room-z|2026-05-04T08:00:00+00:00|2026-05-04T08:40:00+00:00",
                 "room-b|tomorrow|later", "room-b|2026-05-04T08:00:00|2026-05-04T08:40:00"):
        page = await olga.post(f"/osd/unconference/{proposal_id}/place", {"slot": slot})
        assert page.status == 400, slot
    assert await state() == before

    page = await olga.post(f"/osd/unconference/{proposal_id}/place", {"slot": utc_free})
    assert page.status == 303
    placed = await session(site, proposal_id)
    assert (placed.room, placed.start) == ("room-b", berlin(4, 10))
    page = await visitor.get("/osd/unconference")
    assert "Placed" in page.text and "Mon 04 May 10:00 · Room B" in page.text
    assert tags((await visitor.get("/osd")).text, "td", data_session=proposal_id)


async def test_a_proposal_needs_a_title_and_short_fields(
    browser: OpenBrowser, state: Any
) -> None:
    visitor = await browser()
    before = await state()
    for form in ({"title": "  "}, {"title": "x" * 201}, {"title": "T", "name": "n" * 101},
                 {"title": "T", "description": "d" * 5001}):
        page = await visitor.post("/osd/unconference", form)
        assert page.status == 400, form
    assert (await visitor.post("/nosuch/unconference", {"title": "T"})).status == 404
    assert await state() == before


async def test_organizer_pages_escape_what_people_typed(
    site: RunningApp, browser: OpenBrowser
) -> None:
    visitor = await browser()
    page = await visitor.post("/osd/unconference", {
        "title": XSS, "description": XSS, "name": XSS})
    assert page.status == 303
    olga = await browser("olga")
    assert (await olga.post("/osd/s1/edit", {"title": XSS, "description": XSS,
                                             "moderator": XSS})).status == 303
    for path in ("/osd/unconference", "/osd/admin", "/osd/s1/edit", "/osd/s1", "/osd",
                 "/osd/search?q=alert", "/osd/rooms/room-a"):
        page = await olga.get(path)
        assert XSS not in page.text, path
        assert ESCAPED_XSS in page.text, path


async def test_one_browser_makes_a_few_proposals_a_day_not_hundreds(
    site: RunningApp, browser: OpenBrowser
) -> None:
    visitor = await browser()
    for _ in range(3):  # refused proposals do not count
        assert (await visitor.post("/osd/unconference", {"title": ""})).status == 400
    for i in range(10):
        page = await visitor.post("/osd/unconference", {"title": f"Idea {i}"})
        assert page.status == 303, i
    page = await visitor.post("/osd/unconference", {"title": "One too many"})
    assert page.status == 429 and "10 proposals a day" in page.text
    assert "Too many proposals" in page.text
    other = await browser()  # another participant is not held back
    assert (await other.post("/osd/unconference", {"title": "Mine"})).status == 303
    olga = await browser("olga")  # nor are organizers
    for i in range(11):
        assert (await olga.post("/osd/unconference", {"title": f"Slot {i}"})).status == 303


async def test_a_closed_pad_that_a_new_file_drops_stays_read_only(
    site: RunningApp, browser: OpenBrowser, clock: SetClock
) -> None:
    clock.set(berlin(4, 9, 50))  # s1 and s2 ended at 9:40; the grace period is a minute
    olga = await browser("olga")
    keep = "id,title,room,start,end\ns3,Storage quotas,Room A,2026-05-04 10:00,2026-05-04 10:40\n"
    page = await olga.upload("osd", "later.csv", keep)
    assert page.status == 200, page.plain
    s1, s4 = await session(site, "s1"), await session(site, "s4")
    assert not s1.scheduled and s1.lock is Lock.LOCKED  # it was read-only: it stays so
    assert not s4.scheduled and s4.lock is Lock.FOLLOW  # still to come: an open idea now
