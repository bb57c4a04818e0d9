"""The schedule as an iCalendar feed, and reading the feed back as a schedule file."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import icalendar
from hypothesis import given, settings
from hypothesis import strategies as st
from summitpad.calendar_feed import schedule_ics
from summitpad.schedule import Origin, Room, Session, Summit, Track
from summitpad.schedule_import import merge_import, parse_schedule
from summitpad.summit_store import SummitData

SUMMIT = Summit(
    "osd-2026", "Open Storage Days, Paris", date(2026, 3, 28), date(2026, 3, 30),
    "Europe/Paris",
    tracks=(Track("storage", "Storage; Block, File"), Track("ha", "High Availability")),
    rooms=(Room("hall-a", "Hall A"), Room("r101", "Room 101, level 1")),
)
GENERATED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SESSIONS = [
    Session("ceph", "Ceph: what's next?", track="storage", room="r101",
            start=datetime(2026, 3, 29, 7, 30, tzinfo=UTC),
            end=datetime(2026, 3, 29, 8, 10, tzinfo=UTC),
            moderator="Ana", description="Line one\nLine two; with, punctuation"),
    Session("keynote", "Keynote", room="hall-a",
            start=datetime(2026, 3, 28, 8, 0, tzinfo=UTC),
            end=datetime(2026, 3, 28, 8, 40, tzinfo=UTC)),
    Session("unplaced", "Not yet placed", track="ha"),
    Session("idea", "An unconference idea", origin=Origin.PROPOSAL, proposed_by="bo"),
]


def url(session: Session) -> str:
    return f"https://pads.example.org/osd-2026/{session.id}"


def feed(sessions: list[Session] = SESSIONS) -> bytes:
    return schedule_ics(SUMMIT, sessions, url, generated_at=GENERATED)


def test_one_event_per_scheduled_session_in_start_order() -> None:
    calendar = icalendar.Calendar.from_ical(feed())
    assert str(calendar["X-WR-CALNAME"]) == "Open Storage Days, Paris"
    assert str(calendar["X-WR-TIMEZONE"]) == "Europe/Paris"
    assert str(calendar["VERSION"]) == "2.0"
    events = calendar.walk("VEVENT")
    assert [str(e["UID"]) for e in events] == ["keynote@osd-2026.summitpad",
                                               "ceph@osd-2026.summitpad"]
    ceph = events[1]
    assert str(ceph["SUMMARY"]) == "Ceph: what's next?"
    assert ceph.decoded("DTSTART") == datetime(2026, 3, 29, 7, 30, tzinfo=UTC)
    assert ceph.decoded("DTEND") == datetime(2026, 3, 29, 8, 10, tzinfo=UTC)
    assert ceph.decoded("DTSTAMP") == GENERATED
    assert str(ceph["LOCATION"]) == "Room 101, level 1"
    assert ceph.decoded("CATEGORIES") == ["Storage; Block, File"]
    assert str(ceph["URL"]) == "https://pads.example.org/osd-2026/ceph"
    assert str(ceph["DESCRIPTION"]) == (
        "Line one\nLine two; with, punctuation\n\nNotes: https://pads.example.org/osd-2026/ceph"
    )
    keynote = events[0]
    assert "CATEGORIES" not in keynote
    assert str(keynote["DESCRIPTION"]) == "Notes: https://pads.example.org/osd-2026/keynote"


def test_times_are_written_in_utc() -> None:
    text = feed().decode()
    assert "DTSTART:20260328T080000Z\r\n" in text
    assert "DTEND:20260329T081000Z\r\n" in text
    assert "DTSTAMP:20260301T120000Z\r\n" in text
    assert "TZID" not in text


def test_an_empty_schedule_is_a_valid_calendar() -> None:
    calendar = icalendar.Calendar.from_ical(feed([]))
    assert calendar.walk("VEVENT") == []


def test_the_feed_reads_back_as_the_same_sessions() -> None:
    imported = parse_schedule(SUMMIT, feed(), "schedule.ics")
    expected = sorted((s for s in SESSIONS if s.scheduled), key=lambda s: s.start or GENERATED)
    assert [(s.id, s.title, s.room, s.track, s.start, s.end, s.description)
            for s in imported.sessions] == [
        (s.id, s.title, s.room, s.track, s.start, s.end, s.description) for s in expected
    ]


def test_importing_the_feed_into_its_summit_only_forgets_moderators() -> None:
    current = SummitData(SUMMIT, {s.id: s for s in SESSIONS}, 1)
    imported = parse_schedule(SUMMIT, feed(), "schedule.ics")
    summit, (written, deleted) = merge_import(current, imported)
    assert (summit, deleted) == (None, [])
    # The moderator is not in the feed; "unplaced" was never scheduled; proposals stay.
    assert written == [SESSIONS[0].replace(moderator="")]


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=80)


@st.composite
def schedules(draw: st.DrawFn) -> list[Session]:
    count = draw(st.integers(0, 8))
    sessions = []
    for index in range(count):
        title = draw(_TEXT.filter(lambda t: t.strip() == t and bool(t)))
        description = draw(_TEXT.map(str.strip))
        start = datetime(2026, 3, 28, 6, tzinfo=UTC) + timedelta(minutes=50 * index)
        minutes = draw(st.integers(1, 50))
        sessions.append(Session(
            f"s{index}", title, track=draw(st.sampled_from(["", "storage", "ha"])),
            room=draw(st.sampled_from(["hall-a", "r101"])), start=start,
            end=start + timedelta(minutes=minutes), description=description,
        ))
    return sessions


@settings(max_examples=100, deadline=None)
@given(sessions=schedules())
def test_any_schedule_round_trips_through_the_feed(sessions: list[Session]) -> None:
    imported = parse_schedule(SUMMIT, feed(sessions), "feed.ics")
    assert imported.sessions == sessions
