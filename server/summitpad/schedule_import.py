"""Importing a schedule file (CSV, JSON or iCalendar) into an existing summit.

`parse_schedule` reads and checks a whole file against the summit and either returns every
session in it or raises one InvalidInput listing every problem (up to 50), each naming the line,
object or event and the field: nothing is half-imported. `merge_import` turns a parsed file into
a change for `SummitStore.update`, and `describe_changes` says what that change would do.

Sessions are matched by id. Give an id column (JSON: an "id" field; iCalendar: the UID) and a
session can be renamed or moved by a later import and keep its pad. Without one, the id comes
from the title, so a changed title makes a new session: its old pad stays with the old id, which
the next import takes off the schedule.

CSV columns (a header row, any order and case, comma or semicolon separated): id, title, track,
room, start, end (or duration, in minutes), moderator, description, and optionally date (then
start and end may be "09:00"). Rooms and tracks are named by id or by name. Times without an
offset are in the summit's time zone; those skipped when the clocks go forward are refused.
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from .calendar_feed import read_ics
from .errors import InvalidInput
from .schedule import (
    DESCRIPTION_MAX,
    NAME_MAX,
    TITLE_MAX,
    Lock,
    Origin,
    Session,
    Summit,
    check_session,
    is_session_id,
    slugify,
)
from .schedule_formats import Problems, Record, quote, read_csv
from .schedule_json import read_json
from .summit_store import SessionChange, SummitData

MAX_BYTES = 5 * 1024 * 1024
FORMATS = ("csv", "json", "ics")
_CONTENT_TYPES = {"text/csv": "csv", "application/csv": "csv", "application/json": "json",
                  "text/json": "json", "text/calendar": "ics", "application/ics": "ics"}
_ID_HINTS = {"csv": "add an id column to tell them apart",
             "json": 'add an "id" to each session to tell them apart',
             "ics": 'make their UIDs differ before the "@"'}


@dataclass(frozen=True)
class ImportedSchedule:
    sessions: list[Session]  # in file order
    summit: Summit | None  # the summit as the file changes it (JSON only); None if it does not
    format: str  # "csv" | "json" | "ics"


@dataclass(frozen=True)
class ImportReport:
    """What an import changes, as session ids."""

    added: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    unscheduled: tuple[str, ...]  # stored schedule sessions not in the file, taken off it now
    summit_changed: bool

    @property
    def changes_anything(self) -> bool:
        return bool(self.added or self.updated or self.unscheduled or self.summit_changed)

    def to_json(self) -> dict[str, Any]:
        return {"added": list(self.added), "updated": list(self.updated),
                "unchanged": list(self.unchanged), "unscheduled": list(self.unscheduled),
                "summit_changed": self.summit_changed, "summary": self.summary()}

    def summary(self) -> str:
        text = (f"{len(self.added)} added, {len(self.updated)} updated, "
                f"{len(self.unchanged)} unchanged, {len(self.unscheduled)} unscheduled")
        return text + ("; summit details changed" if self.summit_changed else "")


def detect_format(data: bytes, filename: str = "", content_type: str = "") -> str:
    """By file extension, else by content type, else by the first characters."""
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    if extension in ("ical", "ifb", "icalendar"):
        extension = "ics"
    if extension in FORMATS:
        return extension
    kind = content_type.partition(";")[0].strip().lower()
    if kind in _CONTENT_TYPES:
        return _CONTENT_TYPES[kind]
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:15].upper() == b"BEGIN:VCALENDAR":
        return "ics"
    if head[:1] in (b"{", b"["):
        return "json"
    return "csv"


def parse_schedule(summit: Summit, data: bytes, filename: str = "",
                   content_type: str = "") -> ImportedSchedule:
    """Every session of a schedule file for `summit`, checked; InvalidInput lists every
    problem otherwise."""
    problems = Problems()
    file_format = detect_format(data, filename, content_type)
    text = _decode(data, problems)
    records: list[Record] = []
    new_summit = None
    if text is not None:
        if file_format == "csv":
            records = read_csv(text, summit.tz, problems)
        elif file_format == "json":
            new_summit, records = read_json(text, summit, problems)
        else:
            records = read_ics(text.encode(), summit.tz, problems)
    sessions = _check_records(new_summit or summit, records, problems, _ID_HINTS[file_format])
    if problems.count:
        shown = "".join(c if c.isprintable() else "?" for c in filename[-80:])
        name = f"schedule file {shown}" if shown else "schedule file"
        count = f"{problems.count} problem" + ("s" if problems.count > 1 else "")
        raise InvalidInput(f"{name}: {count}; nothing was changed", problems.report())
    return ImportedSchedule(sessions, new_summit, file_format)


def _decode(data: bytes, problems: Problems) -> str | None:
    if len(data) > MAX_BYTES:
        problems.add(f"the file is {len(data) / 2**20:.1f} MiB; the limit is "
                     f"{MAX_BYTES // 2**20} MiB")
        return None
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.add(f"byte {bom + exc.start}: not UTF-8 text (save the file as UTF-8)")
        return None


def session_id_for(title: str) -> str:
    """The id of a session given without one: from its title, the same every time."""
    slug = slugify(title, limit=64)
    if is_session_id(slug):
        return slug
    if slug:  # a reserved word such as "schedule"
        return f"s-{slug[:62]}".rstrip("-")
    return "s-" + hashlib.sha1(title.encode()).hexdigest()[:10]


def _check_records(summit: Summit, records: list[Record], problems: Problems,
                   id_hint: str) -> list[Session]:
    sessions = []
    by_id: dict[str, Record] = {}
    placed: list[tuple[Session, Record]] = []
    for record in records:
        problems.at, before = record.at, problems.count
        session = _check_record(summit, record, problems)
        if not session.id:
            continue
        other = by_id.setdefault(session.id, record)
        if other is not record:
            problems.add(_duplicate(record, other, session.id, id_hint))
        if not record.faults and problems.count == before:
            sessions.append(session)
            if session.scheduled:
                placed.append((session, record))
    _check_overlaps(summit, placed, problems)
    return sessions


def _check_record(summit: Summit, record: Record, problems: Problems) -> Session:
    before = problems.count
    if record.id_source == "given" and not is_session_id(record.id):
        problems.add(f"{record.field('id')}: {quote(record.id)} is not a session id (1-64 of "
                     "A-Z a-z 0-9 _ -, starting with a letter or digit, not a reserved word)")
    title = record.title
    if not title and "title" not in record.bad:
        problems.add(f"{record.field('title')}: missing")
    elif len(title) > TITLE_MAX:
        problems.add(f"{record.field('title')}: longer than {TITLE_MAX} characters")
    if record.id_source == "title" and title:
        record.id = session_id_for(title)
    for name, value, limit in (("moderator", record.moderator, NAME_MAX),
                               ("description", record.description, DESCRIPTION_MAX)):
        if len(value) > limit:
            problems.add(f"{record.field(name)}: longer than {limit} characters")
    track_id = _place(summit, record, "track", problems)
    room_id = _place(summit, record, "room", problems)
    if record.scheduled:
        _check_times(summit, record, problems)
    session = Session(record.id if is_session_id(record.id) else "", title, track=track_id,
                      room=room_id, start=record.start, end=record.end,
                      moderator=record.moderator, description=record.description)
    if not record.faults and problems.count == before:  # the model's own check, as a guard
        for problem in check_session(summit, session):
            problems.add(f"{record.where}: {problem}")
    return session


def _place(summit: Summit, record: Record, kind: str, problems: Problems) -> str:
    ref = record.track if kind == "track" else record.room
    if not ref or kind in record.bad:
        return ""
    found = summit.find_track(ref) if kind == "track" else summit.find_room(ref)
    if found is not None:
        return found.id
    known = summit.tracks if kind == "track" else summit.rooms
    listed = ", ".join(quote(p.name, 30) for p in known[:20]) or "none"
    problems.add(f"{record.field(kind)}: {quote(ref)} is not a {kind} of this summit "
                 f"({kind}s: {listed})")
    record.bad.add(kind)
    return ""


def _check_times(summit: Summit, record: Record, problems: Problems) -> None:
    for name, value in (("start", record.start), ("end", record.end), ("room", record.room)):
        if not value and name not in record.bad:
            needs = "a session with a time needs a room" if name == "room" else (
                "a session with a room or time needs a start and an end")
            problems.add(f"{record.field(name)}: missing ({needs})")
    start, end = record.start, record.end
    if start is None or end is None:
        return
    if end <= start:
        problems.add(f"{record.field('end')}: {quote(record.end_text)} is "
                     f"{'before' if end < start else 'the same as'} the start")
        return
    first = datetime.combine(summit.start_date, time(), summit.tz)
    after = datetime.combine(summit.end_date + timedelta(days=1), time(), summit.tz)
    dates = f"{summit.start_date.isoformat()} to {summit.end_date.isoformat()}"
    if not first <= start < after:
        problems.add(f"{record.field('start')}: {quote(record.start_text)} is not during the "
                     f"summit ({dates})")
    elif end > after:
        problems.add(f"{record.field('end')}: {quote(record.end_text)} is after the summit's "
                     f"last day ({dates})")


def _duplicate(record: Record, other: Record, session_id: str, id_hint: str) -> str:
    if record.id_source == "given":
        return f"{record.field('id')}: {quote(session_id)} is also the id of {other.where}"
    if record.id_source == "uid":
        return (f"{record.field('id')}: {quote(record.id_text)} gives the session id "
                f"{quote(session_id)}, as does {other.where}; {id_hint}")
    return (f"{record.field('title')}: {quote(record.title)} gives the id {quote(session_id)}, "
            f"as does {other.where}; {id_hint}")


def _check_overlaps(summit: Summit, placed: list[tuple[Session, Record]],
                    problems: Problems) -> None:
    """Sessions of the file that share a room at the same time; each named with the one it
    collides with."""
    by_room: dict[str, list[tuple[datetime, datetime, Session, Record]]] = {}
    for session, record in placed:
        assert session.start is not None and session.end is not None
        by_room.setdefault(session.room, []).append((session.start, session.end, session, record))
    for room_id, in_room in by_room.items():
        in_room.sort(key=lambda item: (item[0], item[1]))
        room = summit.room(room_id)
        running: tuple[datetime, Session, Record] | None = None  # the one that ends last so far
        for start, end, session, record in in_room:
            if running is not None and start < running[0]:
                problems.at = record.at
                until = summit.hm(running[0])
                problems.add(f"{record.field('start')}: {quote(record.start_text)}: room "
                             f"{quote(room.name if room else room_id)} is taken then by "
                             f"{running[2].where} ({quote(running[1].title, 40)}, until "
                             f"{until})")
            if running is None or end > running[0]:
                running = (end, session, record)


# -- merging ----------------------------------------------------------------------------------


def never(_: Session) -> bool:
    return False


def merge_import(
    current: SummitData, imported: ImportedSchedule, closed: Callable[[Session], bool] = never
) -> tuple[Summit | None, SessionChange]:
    """The change that applies an imported schedule to the summit as stored, for
    `SummitStore.update`. Nothing is deleted: a schedule session missing from the file is taken
    off the schedule and keeps its pad; proposals missing from it are left alone. A session
    taken off the schedule whose pad was `closed` (read-only) is locked, so that it stays so."""
    summit, written, _ = _plan(current, imported)
    kept = []
    for session in written:
        before = current.sessions.get(session.id)
        if before is not None and before.scheduled and not session.scheduled and closed(before):
            session = session.replace(lock=Lock.LOCKED)
        kept.append(session)
    return summit, (kept, [])



def describe_changes(current: SummitData, imported: ImportedSchedule) -> ImportReport:
    return _plan(current, imported)[2]


def _plan(current: SummitData, imported: ImportedSchedule) -> tuple[
        Summit | None, list[Session], ImportReport]:
    written: list[Session] = []
    added, updated, unchanged, unscheduled = [], [], [], []
    in_file = set()
    for new in imported.sessions:
        in_file.add(new.id)
        old = current.sessions.get(new.id)
        if old is None:
            written.append(new.replace(origin=Origin.SCHEDULE))
            added.append(new.id)
            continue
        merged = old.replace(title=new.title, track=new.track, room=new.room, start=new.start,
                             end=new.end, moderator=new.moderator, description=new.description)
        if merged == old:
            unchanged.append(new.id)
        else:
            written.append(merged)
            updated.append(new.id)
    for old in sorted(current.sessions.values(), key=lambda s: s.id):
        if old.id in in_file or old.origin != Origin.SCHEDULE:
            continue
        if old.room or old.start is not None or old.end is not None:
            written.append(old.replace(room="", start=None, end=None))
            unscheduled.append(old.id)
    summit = _merged_summit(current, imported, written)
    report = ImportReport(tuple(added), tuple(updated), tuple(unchanged), tuple(unscheduled),
                          summit is not None)
    return summit, written, report


def _merged_summit(current: SummitData, imported: ImportedSchedule,
                   written: Iterable[Session]) -> Summit | None:
    """The file's summit, keeping any stored track or room a session still uses that the file
    no longer lists (a placed proposal, a track of an unscheduled session)."""
    if imported.summit is None:
        return None
    sessions = dict(current.sessions)
    sessions.update((s.id, s) for s in written)
    used_rooms = {s.room for s in sessions.values()}
    used_tracks = {s.track for s in sessions.values()}
    summit = imported.summit
    rooms = summit.rooms + tuple(
        r for r in current.summit.rooms
        if r.id in used_rooms and summit.room(r.id) is None
    )
    tracks = summit.tracks + tuple(
        t for t in current.summit.tracks
        if t.id in used_tracks and summit.track(t.id) is None
    )
    summit = summit.replace(rooms=rooms, tracks=tracks)
    return None if summit == current.summit else summit
