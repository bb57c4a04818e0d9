"""A summit whose every field people can fill holds the XSS payloads, made the way people make
it: through the organizer's forms in the browser (the summit, its rooms, tracks and template,
schedule files in every format, sessions added and one edited, accounts' display names) and the
unconference form. Its pads are xss_seed_pads'. Pages that answer a form are checked by the
sweep as they come.

The summit is one day in UTC: three slots (09:00, 10:00, 11:00) and the clock at 10:10, so the
10:00 sessions are on now and the 11:00 ones next. The session `ics1` (10:00, first room) has
the pad with people, chat and history; `/p/xss-imports` has the imports.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import icalendar
from playwright.async_api import Page
from summitpad.accounts import Role
from summitpad.app_keys import SUMMITS
from summitpad.client import PadClient
from summitpad.schedule import DESCRIPTION_MAX, NAME_MAX, TEMPLATE_MAX, TITLE_MAX, Origin
from summitpad.web_security import ACCOUNTS

from ..summit_fixtures import PASSWORD, csrf_of
from ..support import RunningApp
from ..xss_payloads import Markers
from .xss_guard import Sweep

DAY = date(2030, 6, 12)
NOW = datetime(2030, 6, 12, 10, 10, tzinfo=UTC)
SLOTS = (9, 10, 11)
SLUG = "xss"
FORMATS = ("ics", "json", "csv")
PAD_SESSION = "ics1"
PLAIN_PAD = "xss-imports"
TEAL = "#0f766e"


@dataclass
class SessionText:
    id: str
    title: str
    moderator: str = ""
    description: str = ""
    room: str = ""
    track: str = ""
    slot: int | None = None  # index into SLOTS

    @property
    def start(self) -> datetime | None:
        if self.slot is None:
            return None
        return datetime(DAY.year, DAY.month, DAY.day, SLOTS[self.slot], tzinfo=UTC)


@dataclass
class Seeded:
    app: RunningApp
    markers: Markers
    summit_name: str = ""
    other_summits: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)  # login -> display name
    rooms: dict[str, str] = field(default_factory=dict)
    tracks: dict[str, str] = field(default_factory=dict)
    template: list[str] = field(default_factory=list)
    sessions: dict[str, SessionText] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)  # participants on the pad, now
    authors: list[str] = field(default_factory=list)  # those of them who wrote in it
    pad_lines: list[str] = field(default_factory=list)  # typed or written on the pad
    chat: list[str] = field(default_factory=list)
    chat_names: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    label_names: list[str] = field(default_factory=list)
    imported: list[str] = field(default_factory=list)  # lines /p/xss-imports shows
    actions: list[str] = field(default_factory=list)  # lines marked ACTION: on the pad
    clients: list[PadClient] = field(default_factory=list)
    sessions_http: list[aiohttp.ClientSession] = field(default_factory=list)
    awareness: list[tuple[PadClient, dict[str, Any]]] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)  # the participants' open pad pages
    _moderators: list[str] = field(default_factory=list)
    _given: int = 0

    def url(self, path: str) -> str:
        return self.app.http_url + path

    async def announce(self) -> None:
        """(Again) the raw clients' names and colours: browsers forget a participant whose
        awareness has not been renewed for 30 s, as the stock client renews its own."""
        for client, state in self.awareness:
            await client.set_awareness(state)

    def moderator(self) -> str:
        """The next of the moderator names, round the list (every session has one)."""
        if not self._moderators:
            self._moderators = self.markers.fill("moderator", NAME_MAX)
        self._given += 1
        return self._moderators[(self._given - 1) % len(self._moderators)]

    @property
    def pad_id(self) -> str:
        return f"{SLUG}.{PAD_SESSION}"


# Sets form fields by name, whatever their maxlength or pattern says (a person can send any
# value; the server must cope), and turns the browser's own form checks off.
SET_FIELDS = """
(form, values) => {
  form.noValidate = true
  for (const [name, value] of Object.entries(values)) form.elements.namedItem(name).value = value
}
"""


async def submit(page: Page, form: str, values: dict[str, str]) -> None:
    """Fill the form `form` (a selector) and send it with its submit button, as a person
    would; returns once the answer is shown."""
    located = page.locator(form).first
    await located.evaluate(SET_FIELDS, values)
    async with page.expect_navigation():
        await located.locator("button[type=submit]").first.click()


async def log_in(page: Page, base: str, login: str) -> None:
    """Log the page's browser context in through the login form."""
    token = csrf_of(await (await page.context.request.get(f"{base}/login")).text())
    answer = await page.context.request.post(f"{base}/login", max_redirects=0, form={
        "login": login, "password": PASSWORD, "csrf": token, "next": "/"})
    assert answer.status == 303, answer.status


async def seed_summit(app: RunningApp, sweep: Sweep) -> Seeded:
    """The summit, its sessions and its organizers' accounts (the pads: xss_seed_pads)."""
    s = Seeded(app, sweep.markers)
    m = s.markers
    for number, name in enumerate(m.fill("account display name", NAME_MAX)):
        await app.app[ACCOUNTS].add_user(f"org{number}", PASSWORD, Role.ORGANIZER, name)
        s.accounts[f"org{number}"] = name
    organizer = await sweep.page()
    await log_in(organizer, app.http_url, "org0")
    for step in (_summits, _schedules, _sessions_by_hand, _proposals):
        await step(s, sweep, organizer)
    await organizer.close()
    return s


# -- the organizer's pages --------------------------------------------------------------------


async def _summits(s: Seeded, sweep: Sweep, page: Page) -> None:
    m = s.markers
    names = m.fill("summit name", NAME_MAX)
    s.summit_name = names[0]
    s.rooms = {f"r{i}": name for i, name in enumerate(m.fill("room name", NAME_MAX))}
    s.tracks = {f"t{i}": name for i, name in enumerate(m.fill("track name", NAME_MAX))}
    s.template = m.payloads("pad template")
    assert len("\n".join(s.template)) <= TEMPLATE_MAX
    form = {
        "slug": SLUG, "name": s.summit_name, "start_date": DAY.isoformat(),
        "end_date": DAY.isoformat(), "timezone": "UTC",
        "rooms": "\n".join(f"{rid} | {name}" for rid, name in s.rooms.items()),
        "tracks": "\n".join(f"{tid} | {name} | {TEAL}" for tid, name in s.tracks.items()),
        "template": "\n".join(s.template),
    }
    await page.goto(s.url("/new"))
    await submit(page, "form[action='/new']", form)
    await sweep.check(page, [s.summit_name, *s.rooms.values(), *s.tracks.values(), *s.template])
    for number, name in enumerate(names[1:], 1):
        await page.goto(s.url("/new"))
        await submit(page, "form[action='/new']", {**form, "slug": f"{SLUG}-{number}",
                                                  "name": name, "rooms": "", "tracks": ""})
        s.other_summits[f"{SLUG}-{number}"] = name
    # Refused: the form comes back with what was sent, or the error page says what is wrong.
    refused = [m.mark("<script>__xss({n})</script>", "summit slug (refused)", "script"),
               m.mark('"><svg onload=__xss({n})>', "track colour (refused)", "svg-attr-break")]
    await page.goto(s.url("/new"))
    await submit(page, "form[action='/new']", {**form, "slug": refused[0],
                                              "tracks": f"Bad | {refused[1]}"})
    await sweep.check(page, [refused[0][:40]])


def _schedule_sessions(s: Seeded) -> list[SessionText]:
    m = s.markers
    rooms, tracks = list(s.rooms), list(s.tracks)
    sessions: list[SessionText] = []
    for fmt in FORMATS:
        description = " ".join(m.payloads(f"session description ({fmt} file)", DESCRIPTION_MAX))
        for k, title in enumerate(m.fill(f"session title ({fmt} file)", TITLE_MAX)):
            g = len(sessions)
            sessions.append(SessionText(
                f"{fmt}{k}", title, s.moderator(), description,
                rooms[g // len(SLOTS) % len(rooms)], tracks[g % len(tracks)], g % len(SLOTS)))
    return sessions


def _ics(sessions: list[SessionText]) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//summitpad tests//EN")
    calendar.add("version", "2.0")
    for one in sessions:
        assert one.start is not None
        event = icalendar.Event()
        event.add("uid", f"{one.id}@xss.example")
        event.add("dtstamp", NOW)
        event.add("summary", one.title)
        event.add("description", one.description)
        event.add("location", one.room)
        event.add("categories", [one.track])
        event.add("dtstart", one.start)
        event.add("dtend", one.start + timedelta(minutes=40))
        organizer = icalendar.vCalAddress("mailto:moderator@xss.example")
        organizer.params["cn"] = icalendar.vText(one.moderator)
        event["organizer"] = organizer
        calendar.add_component(event)
    return bytes(calendar.to_ical())


def _rows(sessions: list[SessionText]) -> list[dict[str, str]]:
    return [{"id": one.id, "title": one.title, "track": one.track, "room": one.room,
             "start": one.start.isoformat() if one.start else "",
             "end": (one.start + timedelta(minutes=40)).isoformat() if one.start else "",
             "moderator": one.moderator, "description": one.description}
            for one in sessions]


def _csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


async def _upload(page: Page, s: Seeded, name: str, body: bytes) -> None:
    await page.goto(s.url(f"/{SLUG}/admin"))
    await page.locator("#file").set_input_files(
        {"name": name, "mimeType": "application/octet-stream", "buffer": body})
    async with page.expect_navigation():
        await page.locator(f"form[action='/{SLUG}/admin/schedule'] button").click()


async def _schedules(s: Seeded, sweep: Sweep, page: Page) -> None:
    """ICS, then JSON, then CSV: each file holds the sessions of the ones before it too (a
    session left out would be taken off the schedule), and the JSON file adds a room and a
    track of its own."""
    m = s.markers
    sessions = _schedule_sessions(s)
    by_format = {fmt: [one for one in sessions if one.id.startswith(fmt)] for fmt in FORMATS}
    await _upload(page, s, "schedule.ics", _ics(by_format["ics"]))
    await sweep.check(page, ["Schedule loaded"])
    s.rooms["rj"] = m.fill("room name (JSON file)", NAME_MAX)[0]
    s.tracks["tj"] = m.fill("track name (JSON file)", NAME_MAX)[0]
    by_format["json"][0].room, by_format["json"][0].track = "rj", "tj"
    earlier = by_format["ics"] + by_format["json"]
    document = {
        "rooms": [{"id": rid, "name": name} for rid, name in s.rooms.items()],
        "tracks": [{"id": tid, "name": name, "colour": TEAL} for tid, name in s.tracks.items()],
        "sessions": _rows(earlier),
    }
    await _upload(page, s, "schedule.json", json.dumps(document).encode())
    await sweep.check(page, ["Schedule loaded"])
    await _upload(page, s, "schedule.csv", _csv(_rows(sessions)))
    await sweep.check(page, ["Schedule loaded", *(one.title for one in sessions)])
    s.sessions.update((one.id, one) for one in sessions)

    # Refused files: the error page names the record and the field, with the value.
    script = "<script>__xss({n})</script>"
    bad_room = m.mark(script, "room of a CSV row (refused)", "script")
    name = m.mark("<img src=x onerror=__xss({n})>.csv", "schedule file name (refused)", "img")
    await _upload(page, s, name, _csv([{**_rows(sessions)[0], "room": bad_room}]))
    await sweep.check(page, [bad_room, name])
    bad_key = m.mark(script, "field name of a JSON session (refused)", "script")
    await _upload(page, s, "bad.json", json.dumps([{"title": "x", bad_key: "y"}]).encode())
    await sweep.check(page, [bad_key])
    bad_uid = m.mark(script, "UID of an iCalendar event (refused)", "script")
    one = by_format["ics"][0]
    ics = _ics([SessionText(bad_uid, one.title, room="nowhere", track=one.track, slot=0)])
    await _upload(page, s, "bad.ics", ics)
    await sweep.check(page, [bad_uid])


async def post_form(page: Page, form_page: str, action: str, values: dict[str, str]) -> int:
    """Send a form the way `submit` does, but without showing the answer (a session page
    each time would cost a pad's load): the form's own CSRF token, the page's cookies."""
    request = page.context.request
    token = csrf_of(await (await request.get(form_page)).text())
    answer = await request.post(action, form={**values, "csrf": token}, max_redirects=0)
    return answer.status


async def _sessions_by_hand(s: Seeded, sweep: Sweep, page: Page) -> None:
    """Sessions added with the form (unscheduled), and one edited with the session form."""
    m = s.markers
    for k, title in enumerate(m.fill("session title (add form)", TITLE_MAX)):
        one = SessionText(f"added{k}", title, s.moderator())
        values = {"title": one.title, "id": one.id, "moderator": one.moderator}
        if k == 0:
            await page.goto(s.url(f"/{SLUG}/admin"))
            await submit(page, f"form[action='/{SLUG}/admin/session']", values)
        else:
            status = await post_form(page, s.url(f"/{SLUG}/admin"),
                                     s.url(f"/{SLUG}/admin/session"), values)
            assert status == 303, status
        s.sessions[one.id] = one
    await page.goto(s.url(f"/{SLUG}/admin"))
    await sweep.check(page, [one.title for one in s.sessions.values()])

    edited = s.sessions["csv0"]
    edited.title = m.fill("session title (edit form)", TITLE_MAX)[0]
    edited.description = " ".join(m.payloads("session description (edit form)"))
    edited.moderator = s.moderator()
    await page.goto(s.url(f"/{SLUG}/csv0/edit"))
    await submit(page, f"form[action='/{SLUG}/csv0/edit']", {
        "title": edited.title, "description": edited.description, "moderator": edited.moderator})
    await sweep.check(page, [edited.title, edited.description])


async def _proposals(s: Seeded, sweep: Sweep, organizer: Page) -> None:
    """Proposals from participants (ten a day each), and one placed by an organizer."""
    m = s.markers
    titles = m.fill("proposal title", TITLE_MAX)
    names = m.fill("proposer name", NAME_MAX)
    description = " ".join(m.payloads("proposal description"))
    board = s.url(f"/{SLUG}/unconference")
    page = await sweep.page()
    for k in range(max(len(titles), len(names))):
        one = SessionText("", titles[k % len(titles)], names[k % len(names)], description)
        values = {"title": one.title, "description": description, "name": one.moderator}
        if k == 0:
            await page.goto(board)
            await submit(page, "form.propose", values)
            await sweep.check(page, [one.title, one.moderator, description])
        else:
            if k % 10 == 0:
                await page.close()
                page = await sweep.page()
            assert await post_form(page, board, board, values) == 303
        stored = (await s.app.app[SUMMITS].load(SLUG)).sessions
        one.id = next(sid for sid, x in stored.items()
                      if x.origin is Origin.PROPOSAL and sid not in s.sessions)
        s.sessions[one.id] = one
    await page.close()
    await organizer.goto(board)
    first = organizer.locator("form.place").first
    placed = (await first.get_attribute("action") or "").split("/")[-2]
    async with organizer.expect_navigation():
        await first.locator("button").click()
    stored_one = (await s.app.app[SUMMITS].load(SLUG)).sessions[placed]
    assert stored_one.start is not None
    s.sessions[placed].room = stored_one.room
    s.sessions[placed].slot = SLOTS.index(stored_one.start.hour)


async def close(s: Seeded) -> None:
    for client in s.clients:
        await client.close()
    for http in s.sessions_http:
        await http.close()
    s.clients.clear()
    s.sessions_http.clear()
