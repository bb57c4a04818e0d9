"""Where a session stands at a given time, and which sessions run now and next in a room.

    scheduled -> live -> ended -> read-only (once the grace period after the end has passed)

A lock decided by an organizer or the moderator overrides the times: LOCKED is read-only at
once, OPEN stays writable. Unscheduled sessions (unconference ideas) are always writable unless
locked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from .schedule import Lock, Session


class Phase(StrEnum):
    UNSCHEDULED = "unscheduled"
    SCHEDULED = "scheduled"  # not started yet
    LIVE = "live"
    ENDED = "ended"  # ended, still writable for the grace period
    READ_ONLY = "read-only"


def phase(session: Session, at: datetime, grace: timedelta) -> Phase:
    if session.start is None or session.end is None:
        return Phase.UNSCHEDULED
    if at < session.start:
        return Phase.SCHEDULED
    if at < session.end:
        return Phase.LIVE
    if at < session.end + grace:
        return Phase.ENDED
    return Phase.READ_ONLY


def is_read_only(session: Session, at: datetime, grace: timedelta) -> bool:
    if session.lock is Lock.LOCKED:
        return True
    if session.lock is Lock.OPEN:
        return False
    return phase(session, at, grace) is Phase.READ_ONLY


def read_only_from(session: Session, grace: timedelta) -> datetime | None:
    """When the pad turns read-only by the schedule alone (None if it never does)."""
    if session.lock is not Lock.FOLLOW or session.end is None:
        return None
    return session.end + grace


@dataclass(frozen=True, slots=True)
class NowNext:
    now: Session | None
    next: Session | None


def now_and_next(sessions: Iterable[Session], at: datetime) -> NowNext:
    """Of the scheduled sessions of one room: the one running at `at`, and the next to start."""
    current = None
    upcoming = None
    for session in sessions:
        if session.start is None or session.end is None:
            continue
        if session.start <= at < session.end:
            if current is None or session.start > current.start:  # type: ignore[operator]
                current = session
        elif session.start > at and (upcoming is None or session.start < upcoming.start):  # type: ignore[operator]
            upcoming = session
    return NowNext(current, upcoming)


def by_room(sessions: Iterable[Session]) -> dict[str, list[Session]]:
    """Scheduled sessions grouped by room id, each room's in order of start."""
    rooms: dict[str, list[Session]] = {}
    for session in sessions:
        if session.scheduled:
            rooms.setdefault(session.room, []).append(session)
    for in_room in rooms.values():
        in_room.sort(key=lambda s: (s.start, s.id))
    return rooms
