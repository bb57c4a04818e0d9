"""Schedule files (CSV, JSON, iCalendar) read into sessions, and merged into a stored summit."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from summitpad.calendar_feed import session_id_for_uid
from summitpad.errors import InvalidInput
from summitpad.schedule import Lock, Origin, Room, Session, Summit, Track
from summitpad.schedule_import import (
    ImportedSchedule,
    describe_changes,
    detect_format,
    merge_import,
    parse_schedule,
    session_id_for,
)
from summitpad.summit_store import SummitData, check_schedule

# Europe/Paris moves its clocks forward at 02:00 on Sunday 2026-03-29: the summit spans it.
SUMMIT = Summit(
    "osd-2026", "Open Storage Days", date(2026, 3, 28), date(2026, 3, 30), "Europe/Paris",
    tracks=(Track("storage", "Storage", "#336699"), Track("ha", "High Availability")),
    rooms=(Room("hall-a", "Hall A"), Room("r101", "Room 101")),
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def parse(text: str | bytes, filename: str = "schedule.csv", **kwargs: str) -> ImportedSchedule:
    data = text.encode() if isinstance(text, str) else text
    return parse_schedule(SUMMIT, data, filename, **kwargs)


def problems(text: str | bytes, filename: str = "schedule.csv") -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        parse(text, filename)
    assert str(caught.value).startswith(f"schedule file {filename}: ")
    assert "nothing was changed" in str(caught.value)
    return caught.value.problems


CSV_HEADER = "id,title,track,room,start,end,moderator,description\n"


# -- CSV --------------------------------------------------------------------------------------


def test_csv_rows_become_sessions_in_file_order() -> None:
    imported = parse(
        CSV_HEADER
        + "keynote,Keynote,Storage,Hall A,2026-03-28 09:00,2026-03-28 09:40,Ana,Welcome\n"
        + ",Ceph futures,ha,r101,2026-03-28T10:00,2026-03-28T10:40:00,,\n"
        + ",Hallway track,storage,,,,,\n"
    )
    assert imported.format == "csv"
    assert imported.summit is None
    keynote, ceph, hallway = imported.sessions
    assert keynote == Session("keynote", "Keynote", track="storage", room="hall-a",
                              start=utc(2026, 3, 28, 8), end=utc(2026, 3, 28, 8, 40),
                              moderator="Ana", description="Welcome")
    assert (ceph.id, ceph.track, ceph.room) == ("ceph-futures", "ha", "r101")
    assert (ceph.start, ceph.end) == (utc(2026, 3, 28, 9), utc(2026, 3, 28, 9, 40))
    assert hallway == Session("hallway-track", "Hallway track", track="storage")
    assert not hallway.scheduled
    assert all(s.origin is Origin.SCHEDULE for s in imported.sessions)


def test_csv_header_is_case_and_space_insensitive_and_columns_any_order() -> None:
    imported = parse(" END , Start,ROOM ,Title\n2026-03-28 10:00,2026-03-28 09:00,hall-a,A\n")
    assert imported.sessions[0].start == utc(2026, 3, 28, 8)


def test_csv_with_semicolons_and_a_byte_order_mark() -> None:
    text = ("\ufefftitle;room;start;end;description\n"
            "A;Hall A;2026-03-28 09:00;2026-03-28 09:40;x, y\n")
    session = parse(text.encode("utf-8")).sessions[0]
    assert (session.id, session.room, session.description) == ("a", "hall-a", "x, y")


def test_csv_windows_line_endings() -> None:
    text = "title,room,start,end\r\nA,Hall A,2026-03-28 09:00,2026-03-28 09:40\r\n"
    assert parse(text).sessions[0].end == utc(2026, 3, 28, 8, 40)


def test_csv_date_column_with_bare_times_and_a_duration_column() -> None:
    imported = parse("title,room,date,start,duration\n"
                     "A,Hall A,2026-03-28,9:00,40\n"
                     "B,Hall A,2026-03-30,09:00:00,90\n")
    a, b = imported.sessions
    assert (a.start, a.end) == (utc(2026, 3, 28, 8), utc(2026, 3, 28, 8, 40))
    assert (b.start, b.end) == (utc(2026, 3, 30, 7), utc(2026, 3, 30, 8, 30))  # summer time


def test_csv_bare_end_time_is_on_the_day_of_the_start() -> None:
    session = parse("title,room,start,end\nA,Hall A,2026-03-28 09:00,10:30\n").sessions[0]
    assert session.end == utc(2026, 3, 28, 9, 30)


def test_csv_times_with_offsets_are_taken_as_written() -> None:
    imported = parse("title,room,start,end\n"
                     "A,Hall A,2026-03-28T09:00Z,2026-03-28T09:30:00Z\n"
                     "B,Hall A,2026-03-28T12:00+02:00,2026-03-28 13:00 +0200\n")
    a, b = imported.sessions
    assert (a.start, a.end) == (utc(2026, 3, 28, 9), utc(2026, 3, 28, 9, 30))
    assert (b.start, b.end) == (utc(2026, 3, 28, 10), utc(2026, 3, 28, 11))


def test_csv_local_times_follow_daylight_saving_time() -> None:
    imported = parse("title,room,start,end\n"
                     "Saturday,Hall A,2026-03-28 23:30,2026-03-29 01:30\n"
                     "Sunday,Hall A,2026-03-29 01:30,2026-03-29 03:30\n")
    saturday, sunday = imported.sessions
    assert saturday.start == utc(2026, 3, 28, 22, 30)  # UTC+1
    assert sunday.start == utc(2026, 3, 29, 0, 30)
    assert sunday.end == utc(2026, 3, 29, 1, 30)  # UTC+2: 02:00-03:00 never happened
    assert saturday.end == utc(2026, 3, 29, 0, 30)


def test_csv_time_in_the_daylight_saving_gap_is_refused() -> None:
    found = problems("title,room,start,end\nA,Hall A,2026-03-29 02:30,2026-03-29 03:30\n")
    assert found == [
        'line 2, field "start": "2026-03-29 02:30" does not exist in Europe/Paris: the clocks '
        "skip that hour for daylight saving time"
    ]


def test_csv_line_numbers_count_lines_inside_quoted_values() -> None:
    found = problems('title,room,start,end,description\n'
                     'A,Hall A,2026-03-28 09:00,2026-03-28 10:00,"one\ntwo\nthree"\n'
                     "\n"
                     "B,Hall A,2026-03-28 10:00,2026-03-28 09:00,\n")
    assert found == ['line 6, field "end": "2026-03-28 09:00" is before the start']


def test_csv_header_problems_are_named() -> None:
    assert problems("title,room,start,end,speaker\n") == [
        'line 1, column "speaker": not a known column (known: id, title, track, room, date, '
        "start, end, duration, moderator, description)"
    ]
    assert problems("title,start,end\n") == ['line 1: column "room" is missing']
    assert problems("title,room,start\n") == ['line 1: column "end" (or "duration") is missing']
    assert problems("id,track\n") == ['line 1: column "title" is missing']
    assert problems("title,Title\n") == ['line 1, column "title": given twice']
    assert problems("") == [
        "line 1: the header row is missing (columns: id, title, track, room, date, start, end, "
        "duration, moderator, description)"
    ]


def test_csv_without_schedule_columns_lists_unscheduled_sessions() -> None:
    imported = parse("title,track\nA,Storage\nB,\n")
    assert [(s.id, s.track, s.scheduled) for s in imported.sessions] == [
        ("a", "storage", False), ("b", "", False)
    ]


def test_csv_row_problems_name_the_line_and_the_field() -> None:
    found = problems(
        CSV_HEADER
        + "a,A,,Hall A,2026-03-28 09:00,2026-03-28 08:00,,\n"  # 2
        + "b,B,,Hall A,2026-03-28 10:00,2026-03-28 10:00,,\n"  # 3
        + "c,C,Databases,Hall A,2026-03-28 11:00,2026-03-28 12:00,,\n"  # 4
        + "d,D,,Hall Z,2026-03-28 11:00,2026-03-28 12:00,,\n"  # 5
        + "e,E,,Hall A,2026-03-28 9h,2026-03-28 12:00,,\n"  # 6
        + "f,F,,Hall A,2026-02-30 09:00,2026-03-28 12:00,,\n"  # 7
        + "g,G,,Hall A,2026-04-02 09:00,2026-04-02 10:00,,\n"  # 8
        + "h,H,,Hall A,2026-03-30 23:00,2026-03-31 00:30,,\n"  # 9
        + "i,I,,Hall A,09:00,10:00,,\n"  # 10
        + "j,J,,,2026-03-28 13:00,2026-03-28 14:00,,\n"  # 11
        + "k,K,,Room 101,,2026-03-28 14:00,,\n"  # 12
        + "a b,L,,,,,,\n"  # 13
        + "schedule,M,,,,,,\n"  # 14
        + f"n,{'x' * 201},,,,,,\n"  # 15
        + "o,,,,,,,\n"  # 16
    )
    assert found == [
        'line 2, field "end": "2026-03-28 08:00" is before the start',
        'line 3, field "end": "2026-03-28 10:00" is the same as the start',
        'line 4, field "track": "Databases" is not a track of this summit (tracks: "Storage", '
        '"High Availability")',
        'line 5, field "room": "Hall Z" is not a room of this summit (rooms: "Hall A", '
        '"Room 101")',
        'line 6, field "start": "2026-03-28 9h" is not a time (write 2026-05-04 09:00, '
        "2026-05-04T09:00 or 2026-05-04T09:00+02:00)",
        'line 7, field "start": "2026-02-30 09:00" is not a time: day is out of range for month',
        'line 8, field "start": "2026-04-02 09:00" is not during the summit (2026-03-28 to '
        "2026-03-30)",
        "line 9, field \"end\": \"2026-03-31 00:30\" is after the summit's last day (2026-03-28 "
        "to 2026-03-30)",
        'line 10, field "start": "09:00" has no date: add a date column or write 2026-05-04 '
        "09:00, 2026-05-04T09:00 or 2026-05-04T09:00+02:00",
        'line 10, field "end": "10:00" has no date: add a date column or write 2026-05-04 '
        "09:00, 2026-05-04T09:00 or 2026-05-04T09:00+02:00",
        'line 11, field "room": missing (a session with a time needs a room)',
        'line 12, field "start": missing (a session with a room or time needs a start and an '
        "end)",
        'line 13, field "id": "a b" is not a session id (1-64 of A-Z a-z 0-9 _ -, starting with '
        "a letter or digit, not a reserved word)",
        'line 14, field "id": "schedule" is not a session id (1-64 of A-Z a-z 0-9 _ -, starting '
        "with a letter or digit, not a reserved word)",
        'line 15, field "title": longer than 200 characters',
        'line 16, field "title": missing',
    ]


def test_csv_overlaps_in_a_room_name_both_lines() -> None:
    found = problems("title,room,start,end\n"
                     "Long,Hall A,2026-03-28 09:00,2026-03-28 11:00\n"
                     "Other room,Room 101,2026-03-28 09:30,2026-03-28 10:00\n"
                     "Short,Hall A,2026-03-28 10:00,2026-03-28 10:30\n"
                     "Back to back,Hall A,2026-03-28 11:00,2026-03-28 11:30\n"
                     "Late,hall-a,2026-03-28 10:40,2026-03-28 11:20\n")
    assert found == [
        'line 4, field "start": "2026-03-28 10:00": room "Hall A" is taken then by line 2 '
        '("Long", until 11:00)',
        'line 5, field "start": "2026-03-28 11:00": room "Hall A" is taken then by line 6 '
        '("Late", until 11:20)',
        'line 6, field "start": "2026-03-28 10:40": room "Hall A" is taken then by line 2 '
        '("Long", until 11:00)',
    ]


def test_csv_duplicate_ids_and_titles() -> None:
    found = problems("id,title\nx,One\nx,Two\n,Keynote\n,keynote!\n")
    assert found == [
        'line 3, field "id": "x" is also the id of line 2',
        'line 5, field "title": "keynote!" gives the id "keynote", as does line 4; add an id '
        "column to tell them apart",
    ]


def test_csv_duration_problems() -> None:
    found = problems("title,room,start,end,duration\n"
                     "A,Hall A,2026-03-28 09:00,,0\n"
                     "B,Hall A,2026-03-28 10:00,,forty\n"
                     "C,Hall A,2026-03-28 11:00,2026-03-28 11:40,40\n")
    assert found == [
        'line 2, field "duration": "0" must be 1 to 1440 minutes',
        'line 3, field "duration": "forty" is not a whole number of minutes',
        'line 4, field "duration": give an end or a duration, not both',
    ]


def test_csv_bad_date_column() -> None:
    assert problems("title,room,date,start,end\nA,Hall A,28/03/2026,09:00,10:00\n") == [
        'line 2, field "date": "28/03/2026" is not a date (write 2026-05-04)'
    ]


def test_csv_stray_cells_and_broken_quotes() -> None:
    assert problems("title,room,start,end\nA,Hall A,2026-03-28 09:00,2026-03-28 10:00,oops\n") \
        == ["line 2, column 5: a value in a column the header does not name (a stray delimiter "
            "or quote?)"]
    assert problems('title\n"A"B\n') == ["line 2: ',' expected after '\"'"]


def test_problems_are_capped_at_fifty_but_all_counted() -> None:
    rows = "".join(f"s{i},,\n" for i in range(60))
    with pytest.raises(InvalidInput) as caught:
        parse("id,title,track\n" + rows)
    assert str(caught.value).startswith("schedule file schedule.csv: 60 problems; nothing was")
    assert len(caught.value.problems) == 51
    assert caught.value.problems[0] == 'line 2, field "title": missing'
    assert caught.value.problems[-1] == "... and 10 more"


def test_one_problem_is_singular_and_the_file_name_is_optional() -> None:
    with pytest.raises(InvalidInput, match=r"^schedule file: 1 problem; nothing was changed"):
        parse_schedule(SUMMIT, b"title\n,\n\xff", "")


def test_text_that_is_not_utf8_names_the_byte() -> None:
    data = "title,room\nCaf\u00e9,\n".encode("latin-1")
    assert problems(data) == ["byte 14: not UTF-8 text (save the file as UTF-8)"]
    assert problems(b"\xef\xbb\xbf" + data) == ["byte 17: not UTF-8 text (save the file as UTF-8)"]


def test_files_over_five_mebibytes_are_refused() -> None:
    data = b"title\n" + b"x" * (5 * 1024 * 1024)
    assert problems(data) == ["the file is 5.0 MiB; the limit is 5 MiB"]


def test_derived_ids_are_stable_and_valid() -> None:
    assert session_id_for("Ceph: what's next?") == "ceph-what-s-next"
    assert session_id_for("Schedule") == "s-schedule"
    assert session_id_for("日本語のセッション") == session_id_for("日本語のセッション")
    assert session_id_for("日本語のセッション").startswith("s-")
    assert len(session_id_for("word " * 40)) <= 64


# -- JSON -------------------------------------------------------------------------------------


def test_json_list_of_sessions() -> None:
    data = json.dumps([
        {"id": "k", "title": "Keynote", "room": "Hall A", "start": "2026-03-28T09:00",
         "end": "2026-03-28T09:40", "track": "storage", "moderator": "Ana"},
        {"title": "Later", "room": "r101", "date": "2026-03-28", "start": "10:00",
         "duration": 40},
        {"title": "Unplaced", "start": None, "room": None},
    ])
    imported = parse(data, "s.json")
    assert imported.format == "json" and imported.summit is None
    keynote, later, unplaced = imported.sessions
    assert (keynote.id, keynote.start, keynote.moderator) == ("k", utc(2026, 3, 28, 8), "Ana")
    assert (later.id, later.end) == ("later", utc(2026, 3, 28, 9, 40))
    assert not unplaced.scheduled


def test_json_object_sets_the_summit_its_tracks_and_rooms() -> None:
    data = json.dumps({
        "summit": {"name": "OSD 2026", "start_date": "2026-03-29", "end_date": "2026-03-31",
                   "timezone": "America/New_York", "template": "# Notes\n"},
        "tracks": [{"name": "Block Storage", "colour": "#aa0000"}, {"id": "ha", "name": "HA"}],
        "rooms": [{"name": "Main Hall"}, {"id": "b", "name": "Breakout"}],
        "sessions": [{"title": "A", "room": "main hall", "track": "block-storage",
                      "start": "2026-03-29 09:00", "end": "2026-03-29 10:00"}],
    })
    imported = parse(data, "s.json")
    assert imported.summit is not None
    assert imported.summit.slug == SUMMIT.slug
    assert (imported.summit.name, imported.summit.timezone) == ("OSD 2026", "America/New_York")
    assert imported.summit.tracks == (Track("block-storage", "Block Storage", "#aa0000"),
                                      Track("ha", "HA"))
    assert imported.summit.rooms == (Room("main-hall", "Main Hall"), Room("b", "Breakout"))
    session = imported.sessions[0]
    assert (session.room, session.track) == ("main-hall", "block-storage")
    assert session.start == utc(2026, 3, 29, 13)  # New York is UTC-4 by then


def test_json_file_rooms_replace_the_summits_for_lookups() -> None:
    data = {"rooms": [{"name": "Main Hall"}],
            "sessions": [{"title": "A", "room": "Hall A", "start": "2026-03-28 09:00",
                          "end": "2026-03-28 10:00"}]}
    assert problems(json.dumps(data), "s.json") == [
        'sessions[0], field "room": "Hall A" is not a room of this summit (rooms: "Main Hall")'
    ]


def test_json_wrong_types_name_the_record_and_field() -> None:
    data = {
        "summit": {"name": 5, "start_date": "March", "city": "Paris"},
        "tracks": {"name": "x"},
        "rooms": [{"name": "Hall A", "seats": 40}, "Hall B", {"name": ""}],
        "sessions": [
            {"id": "x", "title": 7, "room": "Hall A", "start": "2026-03-28 09:00",
             "end": "2026-03-28 10:00"},
            {"id": "y", "title": "Y", "duration": "40", "start": "2026-03-28 11:00",
             "room": ["Hall A"]},
            {"title": "Z", "speaker": "Bo", "duration": 1.5},
            "just a title",
        ],
        "extra": 1,
    }
    assert problems(json.dumps(data), "s.json") == [
        'field "extra": not a known field (known: summit, tracks, rooms, sessions)',
        'summit, field "city": not a known field (known: name, start_date, end_date, timezone, '
        "template)",
        'summit, field "name": must be a string, not a number',
        'summit, field "start_date": "March" is not a date (write 2026-05-04)',
        'field "tracks": must be a list, not an object',
        'rooms[0], field "seats": not a known field (known: id, name)',
        "rooms[1]: must be an object, not a string",
        'rooms[2], field "name": missing',
        'sessions[0] (id "x"), field "title": must be a string, not a number',
        'sessions[1] (id "y"), field "room": must be a string, not a list',
        'sessions[2], field "speaker": not a known field (known: id, title, track, room, date, '
        "start, end, duration, moderator, description)",
        'sessions[2], field "duration": must be a whole number of minutes',
        "sessions[3]: must be an object, not a string",
    ]


def test_json_bad_summit_values_are_named() -> None:
    data = {"summit": {"timezone": "Mars/Olympus", "end_date": "2026-01-01"}, "sessions": []}
    assert problems(json.dumps(data), "s.json") == [
        "summit: end date: before the start date",
        "summit: time zone: unknown time zone 'Mars/Olympus' (use an IANA name: Europe/Paris)",
    ]


def test_json_that_does_not_parse_names_line_and_column() -> None:
    assert problems('[\n  {"title": "A",}\n]', "s.json") == [
        "line 2, column 17: not JSON: Expecting property name enclosed in double quotes"
    ]
    assert problems("42", "s.json") == [
        'the file must hold a list of sessions or an object with "summit", "tracks", "rooms", '
        '"sessions"'
    ]
    assert problems("[" * 100_000, "s.json") == [
        "line 1: not JSON this program can read: nested too deeply"
    ]


def test_json_problems_use_the_same_checks_as_csv() -> None:
    data = [{"id": "x", "title": "A", "room": "Hall A", "start": "2026-03-28 09:00",
             "end": "2026-03-28 08:00"},
            {"id": "x", "title": "B"}]
    assert problems(json.dumps(data), "s.json") == [
        'sessions[0] (id "x"), field "end": "2026-03-28 08:00" is before the start',
        'sessions[1] (id "x"), field "id": "x" is also the id of sessions[0] (id "x")',
    ]


def test_json_reads_the_sessions_summitpad_writes() -> None:
    stored = Session("k", "Keynote", track="ha", room="r101", start=utc(2026, 3, 28, 8),
                     end=utc(2026, 3, 28, 9), moderator="Ana", description="Hi",
                     origin=Origin.PROPOSAL, proposed_by="bo", lock=Lock.LOCKED)
    imported = parse(json.dumps({"sessions": [stored.to_json()]}), "export.json")
    assert imported.sessions == [stored.replace(origin=Origin.SCHEDULE, proposed_by="",
                                                lock=Lock.FOLLOW)]
    assert imported.summit is None


# -- iCalendar --------------------------------------------------------------------------------


def ics(*events: str) -> str:
    body = "".join(f"BEGIN:VEVENT\n{e.strip()}\nEND:VEVENT\n" for e in events)
    return f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n{body}END:VCALENDAR\n"


def test_ics_events_become_sessions() -> None:
    imported = parse(ics(
        """UID:keynote
SUMMARY:Keynote\\, and more
LOCATION:Hall A
CATEGORIES:Storage,High Availability
ORGANIZER;CN="Ana Lopez":mailto:ana@example.org
DESCRIPTION:First line\\nsecond line
DTSTART;TZID=Europe/Paris:20260328T090000
DTEND;TZID=Europe/Paris:20260328T094000""",
        """UID:0f3a9c@calendar.example.org
SUMMARY:In UTC
LOCATION:r101
DTSTART:20260328T090000Z
DURATION:PT1H""",
        """UID:Floating session with spaces@example.org
SUMMARY:Floating
LOCATION:Room 101
DTSTART:20260330T090000
DTEND:20260330T100000""",
    ), "feed.ics")
    assert imported.format == "ics"
    keynote, in_utc, floating = imported.sessions
    assert keynote == Session("keynote", "Keynote, and more", track="storage", room="hall-a",
                              start=utc(2026, 3, 28, 8), end=utc(2026, 3, 28, 8, 40),
                              moderator="Ana Lopez", description="First line\nsecond line")
    assert (in_utc.id, in_utc.start, in_utc.end) == ("0f3a9c", utc(2026, 3, 28, 9),
                                                     utc(2026, 3, 28, 10))
    assert floating.id == session_id_for_uid("Floating session with spaces@example.org")
    assert floating.id.startswith("s-floating-session-with-spaces-")
    assert (floating.start, floating.room) == (utc(2026, 3, 30, 7), "r101")


def test_ics_uids_give_stable_session_ids() -> None:
    assert session_id_for_uid("abc-123") == "abc-123"
    assert session_id_for_uid("k@osd-2026.summitpad") == "k"
    long_uid = "040000008200E00074C5B7101A82E00800000000" * 2
    assert session_id_for_uid(long_uid) == session_id_for_uid(long_uid)
    assert session_id_for_uid(long_uid) != session_id_for_uid(long_uid + "x")
    assert session_id_for_uid("@").startswith("s-")
    assert session_id_for_uid("schedule@x").startswith("s-schedule-")


def test_ics_problems_name_the_event_and_the_property() -> None:
    found = problems(ics(
        "UID:a\nSUMMARY:All day\nLOCATION:Hall A\nDTSTART;VALUE=DATE:20260328\n"
        "DTEND;VALUE=DATE:20260329",
        "UID:b\nSUMMARY:Weekly\nLOCATION:Hall A\nDTSTART:20260328T090000Z\n"
        "DTEND:20260328T100000Z\nRRULE:FREQ=WEEKLY",
        "UID:c\nSUMMARY:No end\nLOCATION:Hall A\nDTSTART:20260328T110000Z",
        "UID:d\nSUMMARY:Odd zone\nLOCATION:Hall A\nDTSTART;TZID=Mars/Olympus:20260328T120000\n"
        "DTEND:20260328T130000Z",
        "UID:e\nSUMMARY:Backwards\nLOCATION:Hall A\nDTSTART:20260328T150000Z\n"
        "DTEND:20260328T140000Z",
        "UID:f\nSUMMARY:Nowhere\nDTSTART:20260328T150000Z\nDURATION:PT30M",
        "UID:g\nSUMMARY:Elsewhere\nLOCATION:Hall Z\nCATEGORIES:Cooking\n"
        "DTSTART:20260328T150000Z\nDURATION:PT30M",
        "UID:h\nSUMMARY:Gap\nLOCATION:Hall A\nDTSTART:20260329T023000\nDURATION:PT30M",
        "UID:i@one\nSUMMARY:One\nLOCATION:r101\nDTSTART:20260328T150000Z\nDURATION:PT30M",
        "UID:i@two\nSUMMARY:Two\nLOCATION:r101\nDTSTART:20260328T160000Z\nDURATION:PT30M",
        "UID:j\nSUMMARY:Both\nLOCATION:r101\nDTSTART:20260328T170000Z\nDURATION:PT30M\n"
        "DTEND:20260328T173000Z",
        "SUMMARY:Broken\nLOCATION:r101\nDTSTART:yesterday\nDURATION:PT30M",
    ), "feed.ics")
    assert found == [
        'event 1 (UID "a"), field DTSTART: "20260328" is a whole day: all-day events cannot be '
        "sessions",
        'event 1 (UID "a"), field DTEND: "20260329" is a whole day: all-day events cannot be '
        "sessions",
        'event 2 (UID "b"), field RRULE: a repeating event cannot be a session; list each '
        "session as its own event",
        'event 3 (UID "c"), field DTEND: missing (a session with a room or time needs a start '
        "and an end)",
        'event 4 (UID "d"), field DTSTART: "20260328T120000" has an unknown time zone '
        '"Mars/Olympus"',
        'event 5 (UID "e"), field DTEND: "20260328T140000Z" is before the start',
        'event 6 (UID "f"), field LOCATION: missing (a session with a time needs a room)',
        'event 7 (UID "g"), field CATEGORIES: "Cooking" is not a track of this summit (tracks: '
        '"Storage", "High Availability")',
        'event 7 (UID "g"), field LOCATION: "Hall Z" is not a room of this summit (rooms: '
        '"Hall A", "Room 101")',
        'event 8 (UID "h"), field DTSTART: "20260329T023000" does not exist in Europe/Paris: '
        "the clocks skip that hour for daylight saving time",
        'event 10 (UID "i@two"), field UID: "i@two" gives the session id "i", as does event 9 '
        '(UID "i@one"); make their UIDs differ before the "@"',
        'event 11 (UID "j"), field DURATION: give DTEND or DURATION, not both',
        "event 12, field DTSTART: Expected datetime, date, or time. Got: 'yesterday'",
    ]


def test_ics_cancelled_events_are_left_out() -> None:
    imported = parse(ics(
        "UID:a\nSUMMARY:A\nSTATUS:CANCELLED\nDTSTART;VALUE=DATE:20260328",
        "UID:b\nSUMMARY:B\nLOCATION:Hall A\nDTSTART:20260328T090000Z\nDURATION:PT40M",
    ), "feed.ics")
    assert [s.id for s in imported.sessions] == ["b"]


def test_ics_that_is_not_a_calendar() -> None:
    assert problems("BEGIN:VEVENT\nEND:VEVENT\n", "x.ics") == [
        "not an iCalendar file: it holds a VEVENT, not a VCALENDAR"
    ]
    found = problems("garbage", "x.ics")
    assert len(found) == 1 and found[0].startswith("not an iCalendar file: ")


def test_ics_parsing_never_reads_a_file_named_by_the_data() -> None:
    # icalendar opens a one-line str as a path; the importer hands it bytes.
    found = problems("/etc/hostname", "x.ics")
    assert found[0].startswith("not an iCalendar file")


# -- format -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "filename", "content_type", "expected"), [
    (b"title\n", "s.CSV", "application/json", "csv"),
    (b"[]", "s.json", "", "json"),
    (b"", "s.ics", "", "ics"),
    (b"", "s.ical", "", "ics"),
    (b"", "", "text/calendar; charset=utf-8", "ics"),
    (b"", "upload.txt", "application/json", "json"),
    (b"", "", "text/csv", "csv"),
    (b"\xef\xbb\xbf  begin:vcalendar\r\n", "", "", "ics"),
    (b"\n {\"sessions\": []}", "", "application/octet-stream", "json"),
    (b"[1]", "", "", "json"),
    (b"title;room\n", "", "", "csv"),
])
def test_format_by_extension_then_content_type_then_content(
    data: bytes, filename: str, content_type: str, expected: str
) -> None:
    assert detect_format(data, filename, content_type) == expected


def test_sniffed_formats_parse() -> None:
    assert parse_schedule(SUMMIT, b'[{"title": "A"}]').format == "json"
    assert parse_schedule(SUMMIT, b"title\nA\n").format == "csv"


# -- merging ----------------------------------------------------------------------------------


def stored(*sessions: Session, summit: Summit = SUMMIT) -> SummitData:
    return SummitData(summit, {s.id: s for s in sessions}, 1)


def apply(current: SummitData, imported: ImportedSchedule) -> SummitData:
    """What SummitStore.update does with the change, checks included."""
    summit, (written, deleted) = merge_import(current, imported)
    assert deleted == []
    sessions = dict(current.sessions)
    sessions.update((s.id, s) for s in written)
    result = SummitData(summit or current.summit, sessions, current.version + 1)
    assert check_schedule(result.summit, result.sessions) == []
    return result


FIRST = (CSV_HEADER
         + "k,Keynote,storage,Hall A,2026-03-28 09:00,2026-03-28 09:40,Ana,\n"
         + "c,Ceph,ha,Room 101,2026-03-28 10:00,2026-03-28 10:40,,\n"
         + "old,Old talk,,Room 101,2026-03-28 11:00,2026-03-28 11:40,,\n")


def test_first_import_adds_every_session() -> None:
    imported = parse(FIRST)
    report = describe_changes(stored(), imported)
    assert (report.added, report.updated, report.unchanged, report.unscheduled) == (
        ("k", "c", "old"), (), (), ())
    assert report.summary() == "3 added, 0 updated, 0 unchanged, 0 unscheduled"
    after = apply(stored(), imported)
    assert set(after.sessions) == {"k", "c", "old"}
    assert all(s.origin is Origin.SCHEDULE for s in after.sessions.values())


def test_importing_the_same_file_twice_changes_nothing() -> None:
    once = apply(stored(), parse(FIRST))
    again = parse(FIRST)
    report = describe_changes(once, again)
    assert (report.added, report.updated, report.unscheduled) == ((), (), ())
    assert report.unchanged == ("k", "c", "old")
    assert not report.changes_anything
    assert merge_import(once, again) == (None, ([], []))


def test_a_changed_file_updates_sessions_in_place_and_keeps_their_lock() -> None:
    once = apply(stored(), parse(FIRST))
    locked = SummitData(SUMMIT, {**once.sessions, "k": once.sessions["k"].replace(
        lock=Lock.LOCKED)}, 2)
    changed = parse(CSV_HEADER
                    + "k,Keynote (moved),storage,Room 101,2026-03-28 14:00,2026-03-28 14:40,Bo,\n"
                    + "c,Ceph,ha,Room 101,2026-03-28 10:00,2026-03-28 10:40,,\n"
                    + "new,New talk,,Hall A,2026-03-28 09:00,2026-03-28 09:40,,\n")
    report = describe_changes(locked, changed)
    assert (report.added, report.updated, report.unchanged, report.unscheduled) == (
        ("new",), ("k",), ("c",), ("old",))
    after = apply(locked, changed)
    keynote = after.sessions["k"]
    assert (keynote.title, keynote.room, keynote.moderator) == ("Keynote (moved)", "r101", "Bo")
    assert keynote.start == utc(2026, 3, 28, 13)
    assert keynote.lock is Lock.LOCKED
    # A session the file no longer lists keeps its id (and so its pad), off the schedule.
    old = after.sessions["old"]
    assert (old.title, old.room, old.start, old.end) == ("Old talk", "", None, None)
    # ... and importing the changed file again changes nothing, not even "old".
    assert merge_import(after, changed) == (None, ([], []))


def test_proposals_keep_origin_and_proposer_and_are_left_alone_when_absent() -> None:
    placed = Session("p1", "Unconf idea", room="hall-a", start=utc(2026, 3, 28, 15),
                     end=utc(2026, 3, 28, 15, 40), origin=Origin.PROPOSAL, proposed_by="bo")
    matched = Session("p2", "Adopted idea", origin=Origin.PROPOSAL, proposed_by="cy",
                      lock=Lock.OPEN)
    current = stored(placed, matched)
    imported = parse("id,title,room,start,end\np2,Adopted idea,Hall A,2026-03-28 09:00,"
                     "2026-03-28 09:40\n")
    report = describe_changes(current, imported)
    assert (report.added, report.updated, report.unscheduled) == ((), ("p2",), ())
    after = apply(current, imported)
    assert after.sessions["p1"] == placed
    p2 = after.sessions["p2"]
    assert (p2.origin, p2.proposed_by, p2.lock, p2.room) == (Origin.PROPOSAL, "cy", Lock.OPEN,
                                                           "hall-a")


def test_json_summit_changes_keep_rooms_and_tracks_still_in_use() -> None:
    placed = Session("p1", "Unconf idea", track="ha", room="hall-a",
                     start=utc(2026, 3, 28, 15), end=utc(2026, 3, 28, 15, 40),
                     origin=Origin.PROPOSAL)
    gone = Session("gone", "Dropped", track="storage", room="r101",
                   start=utc(2026, 3, 28, 9), end=utc(2026, 3, 28, 10))
    current = stored(placed, gone)
    imported = parse(json.dumps({
        "summit": {"name": "OSD"}, "rooms": [{"name": "Main"}], "tracks": [],
        "sessions": [{"title": "A", "room": "Main", "start": "2026-03-28 09:00",
                      "end": "2026-03-28 10:00"}],
    }), "s.json")
    report = describe_changes(current, imported)
    assert report.summit_changed and report.unscheduled == ("gone",)
    after = apply(current, imported)
    assert after.summit.name == "OSD"
    assert [r.id for r in after.summit.rooms] == ["main", "hall-a"]  # r101 is free: dropped
    assert [t.id for t in after.summit.tracks] == ["storage", "ha"]
    assert after.sessions["gone"].track == "storage"
    assert merge_import(after, imported) == (None, ([], []))


def test_report_as_json() -> None:
    report = describe_changes(stored(), parse(FIRST))
    assert report.to_json() == {
        "added": ["k", "c", "old"], "updated": [], "unchanged": [], "unscheduled": [],
        "summit_changed": False, "summary": "3 added, 0 updated, 0 unchanged, 0 unscheduled",
    }


# -- garbage ----------------------------------------------------------------------------------

_NAMES = st.sampled_from(["", "x.csv", "x.json", "x.ics"])
_CSV_TEXT = st.lists(
    st.lists(st.sampled_from(["title", "room", "start", "end", "date", "duration", "id", "Hall A",
                              "2026-03-28 09:00", "10:00", "40", '"', "", "x", "schedule",
                              "2026-03-29 02:30", "9999-12-31 23:59", "0001-01-01 00:00",
                              "2026-03-28T09:00+23:59", "\n"]),
             max_size=8).map(lambda cells: ",".join(cells)),
    max_size=6,
).map("\n".join)
_ICS_LINES = st.lists(st.sampled_from([
    "BEGIN:VEVENT", "END:VEVENT", "UID:a", "UID:b@c", "SUMMARY:x", "LOCATION:Hall A",
    "DTSTART:20260328T090000Z", "DTSTART;VALUE=DATE:20260328", "DTEND:20260328T080000",
    "DTSTART;TZID=Europe/Paris:20260329T023000", "DURATION:PT40M", "DURATION:-PT1H",
    "DURATION:P1W", "CATEGORIES:", "ORGANIZER:x", "RRULE:FREQ=DAILY", "BEGIN:VTIMEZONE",
    "END:VTIMEZONE", "DTEND:99991231T235959", "STATUS:CANCELLED", "URL:x", "DTSTART:garbage",
    "X-Y;Z=\"", "BEGIN:VALARM", "END:VALARM",
]), max_size=14).map(lambda lines: "BEGIN:VCALENDAR\n" + "\n".join(lines) + "\nEND:VCALENDAR\n")
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
    | st.sampled_from(["2026-03-28 09:00", "Hall A", "title", "Mars/X", "2026-03-28"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["summit", "rooms", "tracks", "sessions", "id", "title", "room",
                         "start", "end", "duration", "name", "timezone", "start_date",
                         "end_date", "colour", "date", "track"]), children, max_size=5),
    max_leaves=20,
).map(lambda value: json.dumps(value))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=300) | _CSV_TEXT.map(str.encode) | _ICS_LINES.map(str.encode)
       | _JSON.map(str.encode), filename=_NAMES)
def test_garbage_never_raises_anything_but_invalid_input(data: bytes, filename: str) -> None:
    try:
        imported = parse_schedule(SUMMIT, data, filename)
    except InvalidInput as exc:
        assert exc.problems
        return
    for session in imported.sessions:
        assert check_schedule(imported.summit or SUMMIT, {session.id: session}) == []
