"""Organizer and moderator pages: create and edit a summit, load its schedule, edit a session,
lock and reopen its pad. Every form posts with a CSRF token; scripts use an API token instead
and get JSON when they ask for it."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from aiohttp import web

from .. import urls
from ..app_keys import CLOCK, SETTINGS, SUMMITS
from ..errors import Conflict, InvalidInput, TooLarge
from ..lifecycle import is_read_only
from ..rendering import read_form, render
from ..schedule import (
    DEFAULT_COLOUR,
    DEFAULT_TEMPLATE,
    Lock,
    Room,
    Session,
    Summit,
    Track,
    check_session_id,
    slugify,
)
from ..schedule_import import (
    MAX_BYTES,
    describe_changes,
    merge_import,
    parse_schedule,
    session_id_for,
)
from ..summit_store import SessionChange, SummitData
from ..web_security import require_moderator, require_organizer
from .summits import SLUG, load_summit

SESSION = urls.SESSION
MAX_UPLOAD = MAX_BYTES
# The largest request body the app reads: a schedule file and the rest of its form.
MAX_FORM = MAX_UPLOAD + 64 * 1024


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/new", new_summit_form, name="new_summit")
    router.add_post("/new", create_summit)
    router.add_get(f"/{SLUG}/admin", summit_form, name="summit_admin")
    router.add_post(f"/{SLUG}/admin", save_summit)
    router.add_post(f"/{SLUG}/admin/schedule", upload_schedule, name="schedule_upload")
    router.add_post(f"/{SLUG}/admin/session", add_session, name="session_add")
    router.add_get(f"/{SLUG}/{SESSION}/edit", session_form, name="session_edit")
    router.add_post(f"/{SLUG}/{SESSION}/edit", save_session)
    router.add_post(f"/{SLUG}/{SESSION}/lock", lock_session, name="session_lock")


def wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


# -- summits ------------------------------------------------------------------------------------


def rooms_text(rooms: tuple[Room, ...]) -> str:
    return "\n".join(f"{r.id} | {r.name}" for r in rooms)


def tracks_text(tracks: tuple[Track, ...]) -> str:
    return "\n".join(f"{t.id} | {t.name} | {t.colour}" for t in tracks)


def parse_rooms(text: str) -> tuple[Room, ...]:
    """One room per line: "Name", or "id | Name" to keep an id when renaming."""
    rooms = []
    for number, line in enumerate(text.splitlines(), 1):
        parts = [p.strip() for p in line.split("|")]
        if not any(parts):
            continue
        if len(parts) > 2:
            raise InvalidInput(f"rooms, line {number}: write \"Name\" or \"id | Name\"")
        name = parts[-1]
        rooms.append(Room(parts[0] if len(parts) == 2 else slugify(name), name))
    return tuple(rooms)


def parse_tracks(text: str) -> tuple[Track, ...]:
    """One track per line: "Name", "Name | #colour" or "id | Name | #colour"."""
    tracks = []
    for number, line in enumerate(text.splitlines(), 1):
        parts = [p.strip() for p in line.split("|")]
        if not any(parts):
            continue
        if len(parts) == 1:
            tracks.append(Track(slugify(parts[0]), parts[0], DEFAULT_COLOUR))
        elif len(parts) == 2:
            tracks.append(Track(slugify(parts[0]), parts[0], parts[1]))
        elif len(parts) == 3:
            tracks.append(Track(parts[0], parts[1], parts[2]))
        else:
            raise InvalidInput(f"tracks, line {number}: write \"Name | #colour\"")
    return tuple(tracks)


def summit_from_form(form: Any, slug: str) -> Summit:
    try:
        start = date.fromisoformat(str(form.get("start_date", "")))
        end = date.fromisoformat(str(form.get("end_date", "")))
    except ValueError as exc:
        raise InvalidInput("dates: give them as YYYY-MM-DD") from exc
    return Summit(
        slug=slug,
        name=str(form.get("name", "")).strip(),
        start_date=start,
        end_date=end,
        timezone=str(form.get("timezone", "UTC")).strip(),
        template=str(form.get("template", "")).replace("\r\n", "\n"),
        tracks=parse_tracks(str(form.get("tracks", ""))),
        rooms=parse_rooms(str(form.get("rooms", ""))),
    )


async def new_summit_form(request: web.Request) -> web.Response:
    require_organizer(request)
    return render(request, "summit_form.html", {
        "summit": None, "new": True, "report": None,
        "values": {"template": DEFAULT_TEMPLATE, "timezone": "UTC"},
    })


async def create_summit(request: web.Request) -> web.StreamResponse:
    require_organizer(request)
    form = await read_form(request)
    slug = str(form.get("slug", "")).strip().lower()
    summit = summit_from_form(form, slug)
    await request.app[SUMMITS].create(summit)
    if wants_json(request):
        return web.json_response(summit.to_json(), status=201)
    raise web.HTTPSeeOther(urls.summit_admin(summit.slug))


async def summit_form(request: web.Request) -> web.Response:
    require_organizer(request)
    data = await load_summit(request)
    return render(request, "summit_form.html", _summit_form_context(data))


def _summit_form_context(data: SummitData, **extra: Any) -> dict[str, Any]:
    summit = data.summit
    sessions = sorted(data.sessions.values(), key=lambda s: (s.start is None, s.start, s.id))
    return {
        "summit": summit,
        "new": False,
        "sessions": sessions,
        "values": {
            "name": summit.name, "start_date": summit.start_date.isoformat(),
            "end_date": summit.end_date.isoformat(), "timezone": summit.timezone,
            "template": summit.template, "rooms": rooms_text(summit.rooms),
            "tracks": tracks_text(summit.tracks),
        },
        "report": None,
        **extra,
    }


async def save_summit(request: web.Request) -> web.StreamResponse:
    require_organizer(request)
    data = await load_summit(request)
    summit = summit_from_form(await read_form(request), data.summit.slug)
    await request.app[SUMMITS].save_summit(summit)
    raise web.HTTPSeeOther(urls.summit_admin(summit.slug))


async def upload_schedule(request: web.Request) -> web.StreamResponse:
    """A schedule file from the upload form (multipart field `file`) or as the request body."""
    require_organizer(request)
    data = await load_summit(request)
    filename, content_type, body = await _uploaded_file(request)
    # A large file takes a while to check: off the event loop, so pads keep flowing.
    imported = await asyncio.to_thread(parse_schedule, data.summit, body, filename, content_type)
    report = describe_changes(data, imported)
    now, grace = request.app[CLOCK].now(), timedelta(seconds=request.app[SETTINGS].grace_period)

    def closed(session: Session) -> bool:
        return is_read_only(session, now, grace)

    stored = await request.app[SUMMITS].update(
        data.summit.slug, lambda current: merge_import(current, imported, closed)
    )
    if wants_json(request):
        return web.json_response({"report": report.to_json(), "version": stored.version})
    return render(request, "summit_form.html", _summit_form_context(stored, report=report))


async def _uploaded_file(request: web.Request) -> tuple[str, str, bytes]:
    if request.content_length is not None and request.content_length > MAX_UPLOAD:
        raise TooLarge(f"the file is larger than {MAX_UPLOAD // (1024 * 1024)} MiB")
    if request.content_type == "multipart/form-data":
        form = await read_form(request)
        field = form.get("file")
        if field is None or isinstance(field, str | bytes | bytearray):
            raise InvalidInput("choose a schedule file (CSV, JSON or iCalendar) to upload")
        body = field.file.read(MAX_UPLOAD + 1)
        filename, content_type = field.filename, field.content_type
    else:
        body = await request.read()
        filename, content_type = "", request.content_type
    if len(body) > MAX_UPLOAD:
        raise TooLarge(f"the file is larger than {MAX_UPLOAD // (1024 * 1024)} MiB")
    if not body:
        raise InvalidInput("the schedule file is empty")
    return filename, content_type, body


# -- sessions -----------------------------------------------------------------------------------


async def add_session(request: web.Request) -> web.StreamResponse:
    """One session added by hand: its id from the form, or made from its title."""
    require_organizer(request)
    data = await load_summit(request)
    form = await read_form(request)
    title = str(form.get("title", "")).strip()
    session_id = str(form.get("id", "")).strip() or session_id_for(title)
    session = Session(
        id=session_id,
        title=title,
        moderator=str(form.get("moderator", "")).strip(),
        track=str(form.get("track", "")),
        description=str(form.get("description", "")).strip(),
    ).replace(**placement_from_form(data.summit, form))

    def add(current: SummitData) -> tuple[None, SessionChange]:
        if session.id in current.sessions:
            raise Conflict(f"there is already a session {session.id!r}; give another id")
        return None, ([session], [])

    await request.app[SUMMITS].update(data.summit.slug, add)
    raise web.HTTPSeeOther(urls.session(data.summit.slug, session.id))


async def session_form(request: web.Request) -> web.Response:
    data = await load_summit(request)
    session = data.session(check_session_id(request.match_info["session"]))
    user = require_moderator(request, session)
    return render(request, "session_form.html", {
        "summit": data.summit, "session": session, "full": user.is_organizer,
    })


async def save_session(request: web.Request) -> web.StreamResponse:
    """Moderators edit what their session is about; organizers also where and when."""
    data = await load_summit(request)
    session = data.session(check_session_id(request.match_info["session"]))
    user = require_moderator(request, session)
    form = await read_form(request)
    changes: dict[str, Any] = {
        "title": str(form.get("title", session.title)).strip(),
        "description": str(form.get("description", session.description)).strip(),
    }
    if user.is_organizer:
        changes["moderator"] = str(form.get("moderator", session.moderator)).strip()
        changes["track"] = str(form.get("track", session.track))
        if placement_changed(form):
            changes.update(placement_from_form(data.summit, form))
    await request.app[SUMMITS].change_session(data.summit.slug, session.id, **changes)
    raise web.HTTPSeeOther(urls.session(data.summit.slug, session.id))


PLACEMENT_FIELDS = ("room", "day", "start", "end")


def placement_changed(form: Any) -> bool:
    """Whether the form moves the session: its fields differ from the ones it was shown with
    (`was_<field>`), so saving a title never undoes a move made meanwhile."""
    return "room" in form and any(
        str(form.get(name, "")) != str(form.get(f"was_{name}", "")) for name in PLACEMENT_FIELDS
    )


def placement_from_form(summit: Summit, form: Any) -> dict[str, Any]:
    """Room, start and end from the organizer's session form (local times of the summit's
    zone); no room means unscheduled."""
    room = str(form.get("room", ""))
    if not room:
        return {"room": "", "start": None, "end": None}
    try:
        day = date.fromisoformat(str(form.get("day", "")))
        start = time.fromisoformat(str(form.get("start", "")))
        end = time.fromisoformat(str(form.get("end", "")))
    except ValueError as exc:
        raise InvalidInput("day, start and end: give a day of the summit and times as HH:MM") \
            from exc
    if day not in summit.days():
        raise InvalidInput(f"day: {day} is not a day of the summit")
    return {
        "room": room,
        "start": local_time(summit, day, start),
        "end": local_time(summit, day, end),
    }


def local_time(summit: Summit, day: date, at: time) -> datetime:
    """A wall-clock time of the summit's zone, as a UTC datetime."""
    return datetime.combine(day, at, tzinfo=summit.tz).astimezone(UTC)


async def lock_session(request: web.Request) -> web.StreamResponse:
    """Lock the pad (read-only now), reopen it (writable whatever the time), or let the
    schedule decide again."""
    data = await load_summit(request)
    session = data.session(check_session_id(request.match_info["session"]))
    require_moderator(request, session)
    form = await read_form(request)
    try:
        lock = Lock(str(form.get("lock", "")))
    except ValueError as exc:
        raise InvalidInput("lock must be \"locked\", \"open\" or empty") from exc
    await request.app[SUMMITS].change_session(data.summit.slug, session.id, lock=lock)
    if wants_json(request):
        return web.json_response({"session": session.id, "lock": lock.value})
    raise web.HTTPSeeOther(urls.session(data.summit.slug, session.id))
