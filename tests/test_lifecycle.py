"""Session lifecycle, now/next and the board grid, with a set clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from summitpad.board import board_day, pick_day
from summitpad.clock import SetClock
from summitpad.lifecycle import NowNext, Phase, by_room, is_read_only, now_and_next, phase
from summitpad.schedule import Lock, Room, Session, Summit, Track

GRACE = timedelta(minutes=15)
T0 = datetime(2026, 5, 4, 7, 0, tzinfo=UTC)  # 09:00 in Berlin (summer time)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def session(sid: str, room: str, start: int, end: int, **kw: object) -> Session:
    return Session(sid, f"Session {sid}", room=room, start=at(start), end=at(end), **kw)  # type: ignore[arg-type]


SUMMIT = Summit(
    "osd", "Open Summit", date(2026, 5, 4), date(2026, 5, 6), "Europe/Berlin",
    tracks=(Track("storage", "Storage", "#0ea5e9"),),
    rooms=(Room("a", "Room A"), Room("b", "Room B")),
)


@pytest.mark.parametrize(
    ("minute", "expected"),
    [(-1, Phase.SCHEDULED), (0, Phase.LIVE), (39, Phase.LIVE), (40, Phase.ENDED),
     (54, Phase.ENDED), (55, Phase.READ_ONLY), (600, Phase.READ_ONLY)],
)
def test_phase_follows_the_slot_and_the_grace_period(minute: int, expected: Phase) -> None:
    s = session("s1", "a", 0, 40)
    assert phase(s, at(minute), GRACE) is expected
    assert is_read_only(s, at(minute), GRACE) is (expected is Phase.READ_ONLY)


def test_a_lock_overrides_the_schedule() -> None:
    s = session("s1", "a", 0, 40)
    assert is_read_only(s.replace(lock=Lock.LOCKED), at(10), GRACE)
    assert not is_read_only(s.replace(lock=Lock.OPEN), at(600), GRACE)


def test_unscheduled_sessions_stay_writable() -> None:
    idea = Session("u-1", "An idea")
    assert phase(idea, at(0), GRACE) is Phase.UNSCHEDULED
    assert not is_read_only(idea, at(10_000), GRACE)
    assert is_read_only(idea.replace(lock=Lock.LOCKED), at(0), GRACE)


def test_now_and_next_in_a_room() -> None:
    room = [session("s1", "a", 0, 40), session("s2", "a", 50, 90), session("s3", "a", 100, 140)]
    assert now_and_next(room, at(-5)) == NowNext(None, room[0])
    assert now_and_next(room, at(10)) == NowNext(room[0], room[1])
    assert now_and_next(room, at(45)) == NowNext(None, room[1])  # between sessions
    assert now_and_next(room, at(50)) == NowNext(room[1], room[2])  # at the boundary
    assert now_and_next(room, at(200)) == NowNext(None, None)


def test_the_set_clock_moves_only_when_told() -> None:
    clock = SetClock(T0)
    assert clock.now() == T0
    clock.advance(timedelta(minutes=5))
    assert clock.now() == at(5)
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(datetime(2026, 5, 4, 9, 0))


def test_board_grid_spans_long_sessions_and_marks_now_and_next() -> None:
    sessions = [
        session("a1", "a", 0, 40), session("a2", "a", 50, 90),
        session("b1", "b", 0, 90, track="storage"),  # spans both slots
    ]
    grid = board_day(SUMMIT, sessions, date(2026, 5, 4), at(10))
    assert [r.start for r in grid.rows] == [at(0), at(50)]
    first, second = grid.rows
    assert first.now and not second.now
    a1, b1 = first.cells
    assert a1 is not None and a1.session is not None and a1.session.id == "a1"
    assert a1.state == "now"
    assert b1 is not None and b1.rowspan == 2 and b1.state == "now"
    a2, covered = second.cells
    assert a2 is not None and a2.state == "next"
    assert covered is None  # under b1


def test_board_day_uses_the_summit_time_zone() -> None:
    # 23:30 UTC on the 4th is 01:30 on the 5th in Berlin.
    late = Session("late", "Late", room="a", start=datetime(2026, 5, 4, 23, 30, tzinfo=UTC),
                   end=datetime(2026, 5, 5, 0, 10, tzinfo=UTC))
    assert not board_day(SUMMIT, [late], date(2026, 5, 4), T0).rows
    assert board_day(SUMMIT, [late], date(2026, 5, 5), T0).rows


def test_pick_day_clamps_to_the_summit() -> None:
    assert pick_day(SUMMIT, T0, None) == date(2026, 5, 4)
    assert pick_day(SUMMIT, T0, "2026-05-06") == date(2026, 5, 6)
    assert pick_day(SUMMIT, T0, "2026-06-01") == date(2026, 5, 4)  # not a summit day
    assert pick_day(SUMMIT, T0, "garbage") == date(2026, 5, 4)
    assert pick_day(SUMMIT, T0 + timedelta(days=30), None) == date(2026, 5, 6)


def test_by_room_orders_each_room() -> None:
    rooms = by_room([session("a2", "a", 50, 90), session("a1", "a", 0, 40), Session("u", "U")])
    assert [s.id for s in rooms["a"]] == ["a1", "a2"]
    assert set(rooms) == {"a"}
