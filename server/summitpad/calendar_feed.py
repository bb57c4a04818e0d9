"""summitpad and iCalendar: the schedule feed it serves, and the calendars it imports.

The feed has one VEVENT per scheduled session, its times in UTC, its UID
`<session id>@<summit slug>.summitpad` so calendar apps follow a session that moves, and a link
to its notes pad. The moderator is not written: ORGANIZER needs an address, and calendar apps
take it for the sender of an invitation.

Reading iCalendar files for schedule_import lives here too, next to the writer, so that the
feed reads back as the same sessions: the session id from the UID, the "Notes: <url>" line
dropped from the description.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import icalendar

from .schedule import Session, Summit, is_session_id, slugify
from .schedule_formats import BadValue, Problems, Record, local_to_utc, quote

PRODID = "-//summitpad//schedule feed//EN"


# -- the feed ---------------------------------------------------------------------------------


def event_uid(summit: Summit, session: Session) -> str:
    return f"{session.id}@{summit.slug}.summitpad"


def schedule_ics(
    summit: Summit,
    sessions: Iterable[Session],
    session_url: Callable[[Session], str],
    *,
    generated_at: datetime,
) -> bytes:
    """The feed of `summit`: its scheduled sessions by start time; unscheduled ones are left
    out. `session_url` gives the absolute URL of a session's page."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", summit.name)
    calendar.add("x-wr-timezone", summit.timezone)
    stamp = _utc(generated_at)
    placed = sorted((s for s in sessions if s.scheduled), key=lambda s: (s.start, s.room, s.id))
    for session in placed:
        assert session.start is not None and session.end is not None
        event = icalendar.Event()
        event.add("uid", event_uid(summit, session))
        event.add("dtstamp", stamp)
        event.add("dtstart", _utc(session.start))
        event.add("dtend", _utc(session.end))
        event.add("summary", session.title)
        room = summit.room(session.room)
        event.add("location", room.name if room else session.room)
        track = summit.track(session.track) if session.track else None
        if track is not None:
            event.add("categories", [track.name])
        url = session_url(session)
        notes = f"Notes: {url}"
        event.add("description", f"{session.description}\n\n{notes}" if session.description
                  else notes)
        event.add("url", url)
        calendar.add_component(event)
    return bytes(calendar.to_ical())


def _utc(at: datetime) -> datetime:
    """`at` in UTC; a naive datetime is taken to be UTC already."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


# -- reading iCalendar files -----------------------------------------------------------------

_ICS_NAMES = {"id": "UID", "title": "SUMMARY", "track": "CATEGORIES", "room": "LOCATION",
              "start": "DTSTART", "end": "DTEND", "moderator": "ORGANIZER",
              "description": "DESCRIPTION"}


def session_id_for_uid(uid: str) -> str:
    """The id of a session from an iCalendar UID: the UID itself or the part before its "@"
    (summitpad's own feed writes `<id>@<slug>.summitpad`) if that is a session id, else a
    readable stem and a hash of the whole UID."""
    local = uid.partition("@")[0]
    for candidate in (uid, local):
        if is_session_id(candidate):
            return candidate
    digest = hashlib.sha1(uid.encode()).hexdigest()[:10]
    stem = slugify(local, limit=40)
    return f"s-{stem}-{digest}" if stem else f"s-{digest}"


def read_ics(data: bytes, tz: tzinfo, problems: Problems) -> list[Record]:
    """The VEVENTs of an iCalendar file. Times with a TZID, in UTC, or floating (read in `tz`);
    all-day and repeating events cannot be sessions; cancelled events are left out."""
    try:
        # Bytes, never str: icalendar reads a one-line str as a path and opens that file.
        calendar = icalendar.Calendar.from_ical(data)
    except Exception as exc:  # icalendar raises many kinds on broken input: all are the file's
        problems.add(f"not an iCalendar file: {str(exc)[:200]}")
        return []
    if calendar.name != "VCALENDAR":
        problems.add(f"not an iCalendar file: it holds a {calendar.name[:20]}, not a VCALENDAR")
        return []
    records = []
    for number, event in enumerate(calendar.walk("VEVENT"), start=1):
        uid = event.get("UID")
        where = f"event {number}" + (f" (UID {quote(str(uid))})" if isinstance(uid, str) else "")
        problems.at = number
        record = Record(where, number, dict(_ICS_NAMES), scheduled=True)
        before = problems.count
        try:
            if _ics_event(event, record, tz, problems):
                records.append(record)
        except Exception as exc:  # a property icalendar parsed but cannot decode
            problems.add(f"{where}: cannot be read: {str(exc)[:200]}")
        record.faults = problems.count - before
    return records


def _one(event: icalendar.cal.Component, name: str, record: Record, problems: Problems) -> Any:
    value = event.get(name)
    if name in record.bad:
        return None
    if isinstance(value, list):
        problems.add(f"{record.where}, field {name}: given {len(value)} times")
        record.bad.add(name)
        return None
    return value


def _ics_event(event: icalendar.cal.Component, record: Record, tz: tzinfo,
               problems: Problems) -> bool:
    for name, message in event.errors:
        problems.add(f"{record.where}, field {name}: {str(message)[:200]}")
        record.bad.add(str(name))
    if str(_one(event, "STATUS", record, problems) or "").upper() == "CANCELLED":
        return False
    if event.get("RRULE") is not None or event.get("RDATE") is not None:
        problems.add(f"{record.where}, field RRULE: a repeating event cannot be a session; "
                     "list each session as its own event")
    uid = _one(event, "UID", record, problems)
    if uid:
        record.id_text, record.id_source = str(uid), "uid"
        record.id = session_id_for_uid(str(uid))
    record.title = str(_one(event, "SUMMARY", record, problems) or "").strip()
    record.room = str(_one(event, "LOCATION", record, problems) or "").strip()
    categories = event.get("CATEGORIES")
    first = categories[0] if isinstance(categories, list) and categories else categories
    cats = getattr(first, "cats", None) if "CATEGORIES" not in record.bad else None
    if cats:
        record.track = str(cats[0]).strip()
    organizer = _one(event, "ORGANIZER", record, problems)
    if organizer is not None:
        record.moderator = str(organizer.params.get("CN", "")).strip()
    description = str(_one(event, "DESCRIPTION", record, problems) or "")
    url = _one(event, "URL", record, problems)
    if url:  # the "Notes: <url>" our own feed adds
        description = description.removesuffix(f"Notes: {url}").rstrip()
    record.description = description.strip()
    record.start, record.start_text = _ics_time(event, "DTSTART", record, tz, problems)
    end = _one(event, "DTEND", record, problems)
    duration = _one(event, "DURATION", record, problems)
    if end is not None and duration is not None:
        problems.add(f"{record.where}, field DURATION: give DTEND or DURATION, not both")
        record.bad.add("end")
    elif duration is not None:
        record.names["end"], record.end_text = "DURATION", duration.to_ical().decode()
        if not isinstance(duration.dt, timedelta) or duration.dt <= timedelta(0):
            problems.add(f"{record.field('end')}: {quote(record.end_text)} is not a length "
                         "of time after the start")
            record.bad.add("end")
        elif record.start is not None:
            record.end = record.start + duration.dt
        else:  # the start's own problem is reported
            record.bad.add("end")
    else:
        record.end, record.end_text = _ics_time(event, "DTEND", record, tz, problems)
    return True


def _ics_time(event: icalendar.cal.Component, name: str, record: Record, tz: tzinfo,
              problems: Problems) -> tuple[datetime | None, str]:
    field = "start" if name == "DTSTART" else "end"
    if name in record.bad:
        record.bad.add(field)
        return None, ""
    prop = event.get(name)
    if prop is None:
        return None, ""
    text = prop.to_ical().decode()
    value = prop.dt
    try:
        if not isinstance(value, datetime):
            raise BadValue("is a whole day: all-day events cannot be sessions")
        if value.tzinfo is not None:
            return value.astimezone(UTC), text
        if "TZID" in prop.params:
            raise BadValue(f"has an unknown time zone {quote(str(prop.params['TZID']))}")
        return local_to_utc(value, tz), text
    except BadValue as exc:
        problems.add(f"{record.where}, field {name}: {quote(text)} {exc}")
    except OverflowError:
        problems.add(f"{record.where}, field {name}: {quote(text)} is out of range")
    record.bad.add(field)
    return None, text
