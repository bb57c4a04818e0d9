"""The summit board as a grid: rooms across, the day's time slots down, each session in the
cell of its room and start, spanning the slots it lasts. Plain data for the template."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from .lifecycle import by_room, now_and_next
from .schedule import Room, Session, Summit


@dataclass(slots=True)
class Cell:
    session: Session | None  # None: the room is free in this slot
    rowspan: int = 1
    state: str = ""  # "now", "next" or ""


@dataclass(slots=True)
class Row:
    start: datetime
    cells: list[Cell | None] = field(default_factory=list)  # None: covered by a cell above
    now: bool = False  # the row holding the current time


@dataclass(slots=True)
class BoardDay:
    day: date
    rooms: list[Room]
    rows: list[Row]


def pick_day(summit: Summit, at: datetime, wanted: str | None) -> date:
    """The day asked for if it is one of the summit's; else today, clamped to the summit."""
    days = summit.days()
    if wanted:
        try:
            day = date.fromisoformat(wanted)
        except ValueError:
            day = None
        if day in days:
            return day
    today = summit.local(at).date()
    return min(max(today, days[0]), days[-1])


def board_day(
    summit: Summit, sessions: Iterable[Session], day: date, at: datetime
) -> BoardDay:
    sessions = list(sessions)
    todays = [
        s for s in sessions
        if s.start is not None and s.scheduled and summit.local(s.start).date() == day
    ]
    starts = sorted({s.start for s in todays if s.start is not None})
    rows = [Row(start) for start in starts]
    index = {start: i for i, start in enumerate(starts)}
    rooms_sessions = by_room(todays)
    for row_index, row in enumerate(rows):
        following = rows[row_index + 1].start if row_index + 1 < len(rows) else None
        row.now = row.start <= at and (following is None or at < following)
    states: dict[str, str] = {}
    for in_room in by_room(sessions).values():
        current = now_and_next(in_room, at)
        if current.now is not None:
            states[current.now.id] = "now"
        if current.next is not None:
            states[current.next.id] = "next"
    for room in summit.rooms:
        column: list[Cell | None] = [Cell(None) for _ in rows]
        for session in rooms_sessions.get(room.id, []):
            first = index[session.start]  # type: ignore[index]
            last = first
            while last + 1 < len(rows) and rows[last + 1].start < session.end:  # type: ignore[operator]
                last += 1
            column[first] = Cell(session, last - first + 1, states.get(session.id, ""))
            for covered in range(first + 1, last + 1):
                column[covered] = None
        for row, cell in zip(rows, column, strict=True):
            row.cells.append(cell)
    any_now = any(row.now for row in rows) and any(states.get(s.id) == "now" for s in todays)
    if not any_now:
        for row in rows:
            row.now = False
    return BoardDay(day, list(summit.rooms), rows)
