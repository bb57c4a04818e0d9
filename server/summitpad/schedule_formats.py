"""Reading schedule files into records, one per session: the records, times and CSV here;
JSON in schedule_json, iCalendar in calendar_feed.

A record is what one row, object or event of a file says about a session: its texts, and its
times already turned into UTC. Each record knows where it is in the file ("line 7",
`sessions[3] (id "x")`, `event 4 (UID "...")`) and what the file calls each field, so every
problem names the record and the field. Problems are collected, never raised one at a time;
checking the records against the summit (rooms, tracks, ids, overlaps) is schedule_import's job.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

MAX_PROBLEMS = 50
TIME_FORMS = "write 2026-05-04 09:00, 2026-05-04T09:00 or 2026-05-04T09:00+02:00"
CSV_COLUMNS = ("id", "title", "track", "room", "date", "start", "end", "duration", "moderator",
               "description")
_SCHEDULE_FIELDS = ("date", "start", "end", "duration", "room")

_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:T|\s+)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d{1,9})?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE,
)


class Problems:
    """The problems found so far, reported in file order: those of the file as a whole first,
    then each record's (`at` is the position of the record being read or checked)."""

    def __init__(self) -> None:
        self.found: list[tuple[int, int, str]] = []
        self.at = 0

    @property
    def count(self) -> int:
        return len(self.found)

    def add(self, problem: str) -> None:
        self.found.append((self.at, len(self.found), problem))

    def report(self) -> list[str]:
        """The first MAX_PROBLEMS, and how many more there are."""
        lines = [text for _, _, text in sorted(self.found)[:MAX_PROBLEMS]]
        more = self.count - len(lines)
        return lines + ([f"... and {more} more"] if more else [])


def quote(value: str, limit: int = 60) -> str:
    """A value as a message shows it: in double quotes, shortened, newlines escaped."""
    return json.dumps(value if len(value) <= limit else value[:limit] + "…", ensure_ascii=False)


@dataclass
class Record:
    where: str
    at: int  # the position in the file: line, index or event number
    names: dict[str, str]  # field -> what the file calls it, as a message prints it
    id: str = ""
    id_source: str = "title"  # "given" (an id field), "uid" (from an iCalendar UID), "title"
    id_text: str = ""  # what the file wrote (the UID)
    title: str = ""
    track: str = ""
    room: str = ""
    start: datetime | None = None  # UTC
    end: datetime | None = None
    start_text: str = ""
    end_text: str = ""
    scheduled: bool = False  # has a time or a room, so needs all of start, end and room
    moderator: str = ""
    description: str = ""
    bad: set[str] = field(default_factory=set)  # fields already reported as wrong
    faults: int = 0  # problems reported while reading it

    def field(self, name: str) -> str:
        return f"{self.where}, field {self.names.get(name, json.dumps(name))}"


class BadValue(ValueError):
    """What is wrong with one value; the caller names the record and field."""


# -- times ------------------------------------------------------------------------------------


def local_to_utc(naive: datetime, tz: tzinfo) -> datetime:
    """A wall-clock time in `tz` as UTC. Times in a daylight-saving gap do not exist and are
    refused; a time that happens twice (when the clocks go back) is taken the first time."""
    try:
        aware = naive.replace(tzinfo=tz)
        if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
            raise BadValue(f"does not exist in {tz}: the clocks skip that hour for daylight "
                           "saving time")
        return aware.astimezone(UTC)
    except OverflowError as exc:
        raise BadValue("is too far in the past or future") from exc


def parse_date(text: str) -> date:
    match = _DATE.fullmatch(text.strip())
    if not match:
        raise BadValue("is not a date (write 2026-05-04)")
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError as exc:
        raise BadValue(f"is not a date: {exc}") from exc


def parse_time(text: str, day: date | None, tz: tzinfo) -> datetime:
    """A time as a schedule file writes it, in UTC. Without an offset it is in `tz`; a bare
    "09:00" is on `day`."""
    parts: list[str | int | None]
    if match := _DATE_TIME.fullmatch(text.strip()):
        *parts, offset = match.groups()
    elif match := _TIME.fullmatch(text.strip()):
        if day is None:
            raise BadValue(f"has no date: add a date column or {TIME_FORMS}")
        parts, offset = [day.year, day.month, day.day, *match.groups()], None
    else:
        raise BadValue(f"is not a time ({TIME_FORMS})")
    try:
        year, month, mday, hour, minute, second = (int(p) if p else 0 for p in parts)
        naive = datetime(year, month, mday, hour, minute, second)
        if offset:
            return naive.replace(tzinfo=_offset(offset)).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise BadValue(f"is not a time: {exc}") from exc
    return local_to_utc(naive, tz)


def _offset(text: str) -> tzinfo:
    if text.upper() == "Z":
        return UTC
    digits = text[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    return timezone(-delta if text[0] == "-" else delta)


def parse_minutes(text: str) -> timedelta:
    text = text.strip()
    if not re.fullmatch(r"\d{1,5}", text):
        raise BadValue("is not a whole number of minutes")
    if not 1 <= int(text) <= 24 * 60:
        raise BadValue("must be 1 to 1440 minutes")
    return timedelta(minutes=int(text))


def fill_times(record: Record, values: dict[str, str], tz: tzinfo, problems: Problems) -> None:
    """Set a CSV or JSON record's start and end from its date, start, end and duration texts."""
    record.scheduled = any(values.get(name) for name in _SCHEDULE_FIELDS)
    record.room = values.get("room", "")
    day = None
    if values.get("date"):
        try:
            day = parse_date(values["date"])
        except BadValue as exc:
            problems.add(f"{record.field('date')}: {quote(values['date'])} {exc}")
            record.bad.update(("start", "end"))
            return
    start_text, end_text = values.get("start", ""), values.get("end", "")
    duration = values.get("duration", "")
    if start_text:
        record.start_text = start_text
        try:
            record.start = parse_time(start_text, day, tz)
        except BadValue as exc:
            problems.add(f"{record.field('start')}: {quote(start_text)} {exc}")
            record.bad.add("start")
    if end_text and duration:
        problems.add(f"{record.field('duration')}: give an end or a duration, not both")
        record.bad.add("end")
    elif end_text:
        record.end_text = end_text
        if day is None and record.start is not None:
            day = record.start.astimezone(tz).date()  # "10:40" ends on the day it starts
        try:
            record.end = parse_time(end_text, day, tz)
        except BadValue as exc:
            problems.add(f"{record.field('end')}: {quote(end_text)} {exc}")
            record.bad.add("end")
    elif duration:
        record.names["end"] = record.names.get("duration", '"duration"')
        record.end_text = duration
        try:
            minutes = parse_minutes(duration)
            if record.start is not None:
                record.end = record.start + minutes
            else:  # the start's own problem is reported
                record.bad.add("end")
        except BadValue as exc:
            problems.add(f"{record.field('duration')}: {quote(duration)} {exc}")
            record.bad.add("end")
        except OverflowError:
            problems.add(f"{record.field('duration')}: {quote(duration)} ends out of range")
            record.bad.add("end")


def set_texts(record: Record, values: dict[str, str]) -> None:
    record.title = values.get("title", "")
    record.track = values.get("track", "")
    record.moderator = values.get("moderator", "")
    record.description = values.get("description", "")
    if values.get("id"):
        record.id, record.id_source = values["id"], "given"


# -- CSV --------------------------------------------------------------------------------------


def read_csv(text: str, tz: tzinfo, problems: Problems) -> list[Record]:
    """Rows of a CSV file with a header; comma or semicolon separated. Line numbers are those a
    text editor shows (the header is line 1; a quoted value may span lines)."""
    first_line = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    # A field may be as long as the file: the length checks then name the field and line.
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[Record] = []
    try:
        header = next(reader, None)
        if not header or not any(cell.strip() for cell in header):
            problems.add(f"line 1: the header row is missing (columns: {', '.join(CSV_COLUMNS)})")
            return []
        columns = _csv_header(header, problems)
        if columns is None:
            return []
        line = reader.line_num + 1
        for row in reader:
            at, line = line, reader.line_num + 1
            if any(cell.strip() for cell in row):
                problems.at, before = at, problems.count
                records.append(_csv_record(at, row, columns, tz, problems))
                records[-1].faults = problems.count - before
    except csv.Error as exc:
        problems.add(f"line {reader.line_num}: {exc}")
    return records


def _csv_header(header: list[str], problems: Problems) -> list[str | None] | None:
    columns: list[str | None] = []
    before = problems.count
    for cell in header:
        name = cell.strip().casefold()
        if not name:
            columns.append(None)
            continue
        if name not in CSV_COLUMNS:
            problems.add(f"line 1, column {quote(cell.strip())}: not a known column (known: "
                         f"{', '.join(CSV_COLUMNS)})")
        elif name in columns:
            problems.add(f"line 1, column {quote(name)}: given twice")
        columns.append(name)
    present = set(columns)
    required = ["title"]
    if present & set(_SCHEDULE_FIELDS):
        required += ["start", "room"]
        if not present & {"end", "duration"}:
            problems.add('line 1: column "end" (or "duration") is missing')
    for name in required:
        if name not in present:
            problems.add(f"line 1: column {quote(name)} is missing")
    return None if problems.count > before else columns


def _csv_record(at: int, row: list[str], columns: list[str | None], tz: tzinfo,
                problems: Problems) -> Record:
    where = f"line {at}"
    values: dict[str, str] = {}
    for index, cell in enumerate(row):
        name = columns[index] if index < len(columns) else None
        if name is not None:
            values[name] = cell.strip()
        elif cell.strip():
            problems.add(f"{where}, column {index + 1}: a value in a column the header does "
                         "not name (a stray delimiter or quote?)")
    names = {name: json.dumps(name) for name in CSV_COLUMNS}
    if "end" not in columns and "duration" in columns:
        names["end"] = '"duration"'
    record = Record(where, at, names)
    set_texts(record, values)
    fill_times(record, values, tz, problems)
    return record
