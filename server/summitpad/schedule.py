"""The summit model: a summit with its tracks and rooms, and its sessions.

Plain frozen dataclasses with their JSON form, so the importer, the store, the pages and the
tests share one definition. Times are timezone-aware datetimes in UTC; the summit's time zone is
for showing them and for reading times written without an offset.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import InvalidInput, NotFound

SUMMIT_SLUG_PATTERN = r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?"
SESSION_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"
ROOM_ID_PATTERN = r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?"
_SLUG = re.compile(SUMMIT_SLUG_PATTERN)
_SESSION_ID = re.compile(SESSION_ID_PATTERN)
_ROOM_ID = re.compile(ROOM_ID_PATTERN)
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")

# First path segments the site itself uses: no summit may take them.
RESERVED_SLUGS = frozenset(
    {"p", "ro", "ws", "static", "login", "logout", "api", "admin", "new", "healthz", "readyz",
     "metrics", "summits", "account", "favicon.ico", "robots.txt"}
)
# Second path segments of a summit's own pages: no session may take them.
RESERVED_SESSION_IDS = frozenset(
    {"rooms", "unconference", "admin", "search", "schedule", "edit", "propose", "board",
     "tracks", "sessions", "upload", "now"}
)

TITLE_MAX = 200
NAME_MAX = 100
DESCRIPTION_MAX = 5000
TEMPLATE_MAX = 10_000
MAX_DAYS = 31
FIRST_YEAR, LAST_YEAR = 2000, 2100
DEFAULT_TEMPLATE = "# Agenda\n\n# Notes\n\n# Action items\n"
DEFAULT_COLOUR = "#64748b"


class Lock(StrEnum):
    """What an organizer or the moderator decided about a pad, over the schedule's lifecycle."""

    FOLLOW = ""  # writable until the grace period after the session's end
    LOCKED = "locked"  # read-only now
    OPEN = "open"  # writable, whatever the time


class Origin(StrEnum):
    SCHEDULE = "schedule"  # from an imported schedule or added by an organizer
    PROPOSAL = "proposal"  # proposed on the unconference board


def check_slug(slug: str) -> str:
    if not _SLUG.fullmatch(slug) or slug in RESERVED_SLUGS:
        raise NotFound(f"{slug[:60]!r} is not a summit (slugs: 1-32 of a-z 0-9 -)")
    return slug


def check_session_id(session_id: str) -> str:
    if not _SESSION_ID.fullmatch(session_id) or session_id in RESERVED_SESSION_IDS:
        raise NotFound(f"{session_id[:80]!r} is not a session id")
    return session_id


def is_session_id(value: str) -> bool:
    return bool(_SESSION_ID.fullmatch(value)) and value not in RESERVED_SESSION_IDS


def is_slug(value: str) -> bool:
    return bool(_SLUG.fullmatch(value)) and value not in RESERVED_SLUGS


def slugify(name: str, *, limit: int = 40) -> str:
    """A URL-safe id from a name: "Room 101 (Ballroom)" -> "room-101-ballroom"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:limit].strip("-")


def session_pad_id(slug: str, session_id: str) -> str:
    """The pad of a session: `<summit slug>.<session id>`; neither part holds a dot."""
    return f"{slug}.{session_id}"


def parse_session_pad_id(pad_id: str) -> tuple[str, str] | None:
    """(summit slug, session id) if `pad_id` is a session's pad, else None."""
    slug, dot, session_id = pad_id.partition(".")
    if dot and is_slug(slug) and is_session_id(session_id):
        return slug, session_id
    return None


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown time zone {name[:60]!r} (use an IANA name: Europe/Paris)") \
            from exc


@dataclass(frozen=True, slots=True)
class Track:
    id: str
    name: str
    colour: str = DEFAULT_COLOUR

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "colour": self.colour}


@dataclass(frozen=True, slots=True)
class Room:
    id: str
    name: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name}


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    title: str
    track: str = ""  # a track id of the summit, or "" for none
    room: str = ""  # a room id of the summit, or "" while unscheduled
    start: datetime | None = None
    end: datetime | None = None
    moderator: str = ""
    description: str = ""
    origin: Origin = Origin.SCHEDULE
    proposed_by: str = ""
    lock: Lock = Lock.FOLLOW

    @property
    def scheduled(self) -> bool:
        return self.start is not None and self.end is not None and bool(self.room)

    def replace(self, **changes: Any) -> Session:
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "track": self.track,
            "room": self.room,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "moderator": self.moderator,
            "description": self.description,
            "origin": self.origin.value,
            "proposed_by": self.proposed_by,
            "lock": self.lock.value,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Session:
        return cls(
            id=data["id"],
            title=data["title"],
            track=data.get("track", ""),
            room=data.get("room", ""),
            start=_time(data.get("start")),
            end=_time(data.get("end")),
            moderator=data.get("moderator", ""),
            description=data.get("description", ""),
            origin=Origin(data.get("origin", Origin.SCHEDULE)),
            proposed_by=data.get("proposed_by", ""),
            lock=Lock(data.get("lock", "")),
        )


@dataclass(frozen=True, slots=True)
class Summit:
    slug: str
    name: str
    start_date: date
    end_date: date
    timezone: str = "UTC"
    template: str = DEFAULT_TEMPLATE
    tracks: tuple[Track, ...] = ()
    rooms: tuple[Room, ...] = ()
    _tz: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        problems = []
        if not is_slug(self.slug):
            problems.append(f"slug {self.slug[:40]!r}: 1-32 of a-z 0-9 - and not a reserved word")
        if not self.name.strip() or len(self.name) > NAME_MAX:
            problems.append(f"name: 1-{NAME_MAX} characters")
        if self.end_date < self.start_date:
            problems.append("end date: before the start date")
        elif (self.end_date - self.start_date).days >= MAX_DAYS:
            problems.append(f"dates: a summit lasts at most {MAX_DAYS} days")
        if not FIRST_YEAR <= self.start_date.year <= LAST_YEAR:
            problems.append(f"start date: the year must be {FIRST_YEAR}-{LAST_YEAR}")
        if len(self.template) > TEMPLATE_MAX:
            problems.append(f"template: at most {TEMPLATE_MAX} characters")
        try:
            object.__setattr__(self, "_tz", zone(self.timezone))
        except InvalidInput as exc:
            problems.append(f"time zone: {exc}")
        for kind, items in (("track", self.tracks), ("room", self.rooms)):
            seen: set[str] = set()
            for item in items:
                if not _ROOM_ID.fullmatch(item.id):
                    problems.append(f"{kind} {item.name[:40]!r}: its id {item.id[:40]!r} is not "
                                    "1-40 of a-z 0-9 -")
                if item.id in seen:
                    problems.append(f"{kind} {item.name[:40]!r}: listed twice")
                seen.add(item.id)
                if not item.name.strip() or len(item.name) > NAME_MAX:
                    problems.append(f"{kind} {item.id!r}: name must be 1-{NAME_MAX} characters")
        for track in self.tracks:
            if not _COLOUR.fullmatch(track.colour):
                problems.append(f"track {track.name[:40]!r}: colour {track.colour[:20]!r} is not "
                                "#rrggbb")
        if problems:
            raise InvalidInput(f"summit {self.slug[:40]!r} is not valid", problems)

    @property
    def tz(self) -> ZoneInfo:
        return self._tz

    def days(self) -> list[date]:
        count = (self.end_date - self.start_date).days + 1
        return [date.fromordinal(self.start_date.toordinal() + i) for i in range(count)]

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self._tz)

    def hm(self, at: datetime | None) -> str:
        """A time as the summit's clocks show it: 09:30 ("" for none)."""
        return self.local(at).strftime("%H:%M") if at else ""

    def track(self, track_id: str) -> Track | None:
        return next((t for t in self.tracks if t.id == track_id), None)

    def room(self, room_id: str) -> Room | None:
        return next((r for r in self.rooms if r.id == room_id), None)

    def find_room(self, ref: str) -> Room | None:
        """The room with this id or name (names compared without case)."""
        wanted = ref.strip().casefold()
        return next(
            (r for r in self.rooms if r.id == wanted or r.name.casefold() == wanted), None
        )

    def find_track(self, ref: str) -> Track | None:
        wanted = ref.strip().casefold()
        return next(
            (t for t in self.tracks if t.id == wanted or t.name.casefold() == wanted), None
        )

    def pad_id(self, session_id: str) -> str:
        return session_pad_id(self.slug, session_id)

    def replace(self, **changes: Any) -> Summit:
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "name": self.name,
            "start_date": self.start_date.isoformat(),
            "end_date": self.end_date.isoformat(),
            "timezone": self.timezone,
            "template": self.template,
            "tracks": [t.to_json() for t in self.tracks],
            "rooms": [r.to_json() for r in self.rooms],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Summit:
        return cls(
            slug=data["slug"],
            name=data["name"],
            start_date=date.fromisoformat(data["start_date"]),
            end_date=date.fromisoformat(data["end_date"]),
            timezone=data.get("timezone", "UTC"),
            template=data.get("template", DEFAULT_TEMPLATE),
            tracks=tuple(
                Track(t["id"], t["name"], t.get("colour", DEFAULT_COLOUR))
                for t in data.get("tracks", ())
            ),
            rooms=tuple(Room(r["id"], r["name"]) for r in data.get("rooms", ())),
        )


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value).astimezone(UTC)


def check_session(summit: Summit, session: Session) -> list[str]:
    """What is wrong with `session` in `summit`, as "field: problem" lines (empty if nothing)."""
    problems = []
    if not is_session_id(session.id):
        problems.append(f"id: {session.id[:70]!r} is not 1-64 of A-Z a-z 0-9 _ - "
                        "(and not a reserved word)")
    if not session.title.strip():
        problems.append("title: empty")
    elif len(session.title) > TITLE_MAX:
        problems.append(f"title: longer than {TITLE_MAX} characters")
    if len(session.description) > DESCRIPTION_MAX:
        problems.append(f"description: longer than {DESCRIPTION_MAX} characters")
    if len(session.moderator) > NAME_MAX:
        problems.append(f"moderator: longer than {NAME_MAX} characters")
    if session.track and summit.track(session.track) is None:
        problems.append(f"track: {session.track!r} is not a track of this summit")
    if session.room and summit.room(session.room) is None:
        problems.append(f"room: {session.room!r} is not a room of this summit")
    if (session.start is None) != (session.end is None):
        problems.append("start/end: give both or neither")
    if session.start and session.end and session.end <= session.start:
        problems.append("end: not after the start")
    if session.start and not session.room:
        problems.append("room: a session with a time needs a room")
    return problems


def overlaps(sessions: list[Session]) -> list[tuple[Session, Session]]:
    """Pairs of scheduled sessions that share a room at the same time."""
    by_room: dict[str, list[Session]] = {}
    for session in sessions:
        if session.scheduled:
            by_room.setdefault(session.room, []).append(session)
    found = []
    for in_room in by_room.values():
        in_room.sort(key=lambda s: s.start or datetime.min.replace(tzinfo=UTC))
        for before, after in itertools.pairwise(in_room):
            assert before.end is not None and after.start is not None
            if after.start < before.end:
                found.append((before, after))
    return found
