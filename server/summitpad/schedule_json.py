"""Reading a JSON schedule: a list of sessions, or a summit with its tracks, rooms and
sessions. Records and problems as in schedule_formats; the field names are the CSV columns'."""

from __future__ import annotations

import json
from datetime import tzinfo
from typing import Any

from .errors import InvalidInput
from .schedule import DEFAULT_COLOUR, Room, Summit, Track, slugify
from .schedule_formats import (
    CSV_COLUMNS,
    BadValue,
    Problems,
    Record,
    fill_times,
    parse_date,
    quote,
    set_texts,
)

# Fields of our own session JSON (the archive's) that an import accepts and ignores: the lock,
# origin and proposer of a stored session are kept.
_IGNORED_JSON_FIELDS = frozenset({"origin", "proposed_by", "lock"})

_JSON_TOP = ("summit", "tracks", "rooms", "sessions")
_JSON_SUMMIT = ("name", "start_date", "end_date", "timezone", "template")


def read_json(text: str, summit: Summit, problems: Problems) -> tuple[Summit | None, list[Record]]:
    """A list of sessions, or {"summit": {...}, "tracks": [...], "rooms": [...],
    "sessions": [...]}. Returns the summit as the file changes it (None if it does not)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.add(f"line {exc.lineno}, column {exc.colno}: not JSON: {exc.msg}")
        return None, []
    except RecursionError:
        problems.add("line 1: not JSON this program can read: nested too deeply")
        return None, []
    if isinstance(data, list):
        return None, _json_sessions(data, summit.tz, problems)
    if not isinstance(data, dict):
        problems.add("the file must hold a list of sessions or an object with "
                     f"{', '.join(map(json.dumps, _JSON_TOP))}")
        return None, []
    for key in data:
        if key not in _JSON_TOP:
            problems.add(f"field {quote(key)}: not a known field (known: {', '.join(_JSON_TOP)})")
    new_summit = _json_summit(data, summit, problems)
    sessions = data.get("sessions", [])
    if not isinstance(sessions, list):
        problems.add(f'field "sessions": must be a list, not {_kind(sessions)}')
        return new_summit, []
    return new_summit, _json_sessions(sessions, (new_summit or summit).tz, problems)


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _json_str(obj: dict[str, Any], key: str, where: str, problems: Problems) -> str | None:
    value = obj.get(key)
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    problems.add(f'{where}, field "{key}": must be a string, not {_kind(value)}')
    return None


def _json_summit(data: dict[str, Any], summit: Summit, problems: Problems) -> Summit | None:
    if not {"summit", "tracks", "rooms"} & data.keys():
        return None
    changes: dict[str, Any] = {}
    part = data.get("summit") or {}
    if not isinstance(part, dict):
        problems.add(f'field "summit": must be an object, not {_kind(part)}')
        part = {}
    for key in part:
        if key not in _JSON_SUMMIT and key != "slug":  # the slug is the summit's own
            problems.add(f'summit, field {quote(key)}: not a known field (known: '
                         f"{', '.join(_JSON_SUMMIT)})")
    for key in _JSON_SUMMIT:
        if part.get(key) is None:
            continue
        value = _json_str(part, key, "summit", problems)
        if value is None:
            continue
        if key.endswith("_date"):
            try:
                changes[key] = parse_date(value)
            except BadValue as exc:
                problems.add(f'summit, field "{key}": {quote(value)} {exc}')
        else:
            changes[key] = value
    for kind in ("tracks", "rooms"):
        if kind in data:
            changes[kind] = _json_places(kind, data[kind], problems)
    try:
        return summit.replace(**changes)
    except InvalidInput as exc:
        for problem in exc.problems:
            problems.add(f"summit: {problem}")
        return None


def _json_places(kind: str, items: Any, problems: Problems) -> tuple[Track | Room, ...]:
    if not isinstance(items, list):
        problems.add(f"field {quote(kind)}: must be a list, not {_kind(items)}")
        return ()
    found: list[Track | Room] = []
    for index, item in enumerate(items):
        where = f"{kind}[{index}]"
        if not isinstance(item, dict):
            problems.add(f"{where}: must be an object, not {_kind(item)}")
            continue
        known = ("id", "name", "colour") if kind == "tracks" else ("id", "name")
        for key in item:
            if key not in known:
                problems.add(f"{where}, field {quote(key)}: not a known field "
                             f"(known: {', '.join(known)})")
        name, given_id = (_json_str(item, key, where, problems) for key in ("name", "id"))
        if name is None or given_id is None:
            continue
        if not name:
            problems.add(f'{where}, field "name": missing')
            continue
        place_id = given_id or slugify(name)
        if not place_id:
            problems.add(f'{where}, field "name": {quote(name)} gives no id; add an "id"')
        elif kind == "rooms":
            found.append(Room(place_id, name))
        else:
            colour = _json_str(item, "colour", where, problems)
            found.append(Track(place_id, name, colour or DEFAULT_COLOUR))
    return tuple(found)


def _json_sessions(items: list[Any], tz: tzinfo, problems: Problems) -> list[Record]:
    records = []
    names = {name: json.dumps(name) for name in CSV_COLUMNS}
    for index, item in enumerate(items):
        where, problems.at = f"sessions[{index}]", index + 1
        if not isinstance(item, dict):
            problems.add(f"{where}: must be an object, not {_kind(item)}")
            continue
        if isinstance(item.get("id"), str) and item["id"]:
            where += f" (id {quote(item['id'])})"
        record, before = Record(where, index + 1, dict(names)), problems.count
        values: dict[str, str] = {}
        for key, value in item.items():
            if key in _IGNORED_JSON_FIELDS:
                continue
            if key not in CSV_COLUMNS:
                problems.add(f"{where}, field {quote(key)}: not a known field (known: "
                             f"{', '.join(CSV_COLUMNS)})")
            elif key == "duration" and not isinstance(value, str | None):
                if isinstance(value, int | float) and not isinstance(value, bool) \
                        and float(value).is_integer() and abs(value) < 1e9:
                    values[key] = str(int(value))
                else:
                    problems.add(f'{where}, field "duration": must be a whole number of '
                                 "minutes")
                    record.bad.add("end")
            else:
                text = _json_str(item, key, where, problems)
                if text is None:
                    record.bad.add("end" if key == "duration" else key)
                else:
                    values[key] = text
        set_texts(record, values)
        fill_times(record, values, tz, problems)
        record.faults = problems.count - before
        records.append(record)
    return records
