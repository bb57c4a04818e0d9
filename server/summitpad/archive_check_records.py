"""Check the records of a summit archive: data/summit.json and data/pads/<id>.json.

Each record must parse, hold the types docs/archive-format.md gives, name valid ids, and agree
with itself: a pad's revisions are numbered 1..N, their log ids rise, and applying their updates
in order gives the pad's `state` (the same text and formatting, and the same edits). The result
is what archive_restore.py writes, decoded once. Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

from pycrdt import Doc

from .errors import InvalidInput, NotFound
from .history import Revision
from .history_store import SavedRevision
from .keys import check_pad_id
from .pad_export import load_doc, pad_content
from .protocol import decode_state_vector
from .read_only import is_ro_id
from .schedule import Lock, Origin, Session, Summit, is_session_id
from .summit_store import check_schedule

SUMMIT_FORMAT = "summitpad-summit"
PAD_FORMAT = "summitpad-pad-data"
RECORD_VERSION = 1
SUMMIT_RECORD = "data/summit.json"
_PAD_RECORD = re.compile(r"data/pads/(?P<id>[^/]+)\.json")
_STREAM_ID = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")
_MAX_ID_PART = 2**64 - 1

_SUMMIT_FIELDS = {"slug": str, "name": str, "start_date": str, "end_date": str,
                  "timezone": str, "template": str, "tracks": list, "rooms": list}
_SESSION_FIELDS = {"id": str, "title": str, "track": str, "room": str, "start": (str, None),
                   "end": (str, None), "moderator": str, "description": str, "origin": str,
                   "proposed_by": str, "lock": str}


def refuse(where: str, what: str) -> NoReturn:
    raise InvalidInput(f"the archive cannot be restored: {where}: {what}")


@dataclass(frozen=True, slots=True)
class PadRecord:
    """One pad of the archive, decoded and checked."""

    session_id: str
    pad_id: str
    read_only_id: str | None
    state: bytes
    text: str  # its plain text, for search
    revisions: list[Revision]
    saved: list[SavedRevision]
    chat: list[tuple[str, dict[str, Any]]]  # (stream id, stored message)
    authors: dict[str, dict[str, Any]]  # author id -> stored name and colour


@dataclass(frozen=True, slots=True)
class CheckedArchive:
    summit: Summit
    sessions: list[Session]
    pads: list[PadRecord]

    @property
    def revision_count(self) -> int:
        return sum(len(pad.revisions) for pad in self.pads)

    @property
    def chat_count(self) -> int:
        return sum(len(pad.chat) for pad in self.pads)


def check_records(
    top: str, manifest_summit: Mapping[str, Any], data: Mapping[str, bytes]
) -> CheckedArchive:
    """The records under data/ (`data`: path under the top folder -> bytes), checked."""
    where = f"{top}/{SUMMIT_RECORD}"
    if SUMMIT_RECORD not in data:
        refuse(where, "missing")
    summit, sessions = _summit(where, parse_json(where, data[SUMMIT_RECORD], SUMMIT_FORMAT))
    if summit.slug != top:
        refuse(where, f"the summit is {summit.slug!r}, the top folder {top!r}")
    by_id = {s.id: s for s in sessions}
    pads: list[PadRecord] = []
    seen_ro: set[str] = set()
    for path in sorted(data):
        if path == SUMMIT_RECORD:
            continue
        where = f"{top}/{path}"[:200]
        match = _PAD_RECORD.fullmatch(path)
        if match is None:
            refuse(where, "not a file this archive format has")
        session_id = match["id"]
        if session_id not in by_id:
            refuse(where, f"a pad of session {session_id[:80]!r}, which the summit does not have")
        pad = _pad(where, parse_json(where, data[path], PAD_FORMAT), summit.pad_id(session_id))
        if pad.read_only_id is not None:
            if pad.read_only_id in seen_ro:
                refuse(where, "its read-only id is another pad's too")
            seen_ro.add(pad.read_only_id)
        pads.append(pad)
    for name, count in (("sessions", len(sessions)), ("pads", len(pads))):
        if manifest_summit.get(name) not in (None, count):
            refuse(f"{top}/manifest.json", f"says {manifest_summit.get(name)!r} {name}, the "
                                           f"archive holds {count}")
    return CheckedArchive(summit, sessions, pads)


def parse_json(
    where: str, raw: bytes, format_name: str, version_read: int = RECORD_VERSION
) -> dict[str, Any]:
    """A JSON object of format `format_name` and version `version_read`; refused otherwise."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        refuse(where, f"not JSON: {str(exc)[:200]}")
    if not isinstance(body, dict):
        refuse(where, "not a JSON object")
    if body.get("format") != format_name:
        refuse(where, f"format {str(body.get('format'))[:60]!r}, not {format_name!r}")
    version = body.get("version")
    if version != version_read or isinstance(version, bool):
        refuse(where, f"version {str(version)[:20]!r}: this summitpad reads version "
                      f"{version_read}")
    return body


def _typed(where: str, body: Any, fields: Mapping[str, Any], *, required: bool = True) -> None:
    """`body` is an object whose `fields` have their types (None: JSON null)."""
    if not isinstance(body, dict):
        refuse(where, "not a JSON object")
    for name, kinds in fields.items():
        if name not in body:
            if required:
                refuse(where, f"no {name!r}")
            continue
        kinds = kinds if isinstance(kinds, tuple) else (kinds,)
        value = body[name]
        if not any((value is None) if k is None else (type(value) is k) for k in kinds):
            wanted = " or ".join("null" if k is None else k.__name__ for k in kinds)
            refuse(where, f"{name!r} is not {wanted}")


def _summit(where: str, body: dict[str, Any]) -> tuple[Summit, list[Session]]:
    _typed(f"{where}: summit", body.get("summit"), _SUMMIT_FIELDS)
    raw = body["summit"]
    for kind in ("tracks", "rooms"):
        for i, item in enumerate(raw[kind]):
            _typed(f"{where}: summit: {kind}[{i}]", item, {"id": str, "name": str})
            _typed(f"{where}: summit: {kind}[{i}]", item, {"colour": str}, required=False)
    try:
        summit = Summit.from_json(raw)
    except InvalidInput as exc:
        refuse(where, str(exc))
    except ValueError as exc:
        refuse(where, f"summit: {exc}")
    raw_sessions = body.get("sessions")
    if not isinstance(raw_sessions, list):
        refuse(where, "'sessions' is not a list")
    sessions: list[Session] = []
    for i, item in enumerate(raw_sessions):
        at = f"{where}: sessions[{i}]"
        _typed(at, item, _SESSION_FIELDS)
        if not is_session_id(item["id"]):
            refuse(at, f"{item['id'][:80]!r} is not a session id")
        if item["origin"] not in {o.value for o in Origin}:
            refuse(at, f"origin {item['origin'][:40]!r} is not one of summitpad's")
        if item["lock"] not in {lock.value for lock in Lock}:
            refuse(at, f"lock {item['lock'][:40]!r} is not one of summitpad's")
        try:
            for name in ("start", "end"):
                if item[name] is not None and datetime.fromisoformat(item[name]).tzinfo is None:
                    refuse(at, f"{name} {item[name][:40]!r} has no UTC offset")
            sessions.append(Session.from_json(item))
        except ValueError as exc:
            refuse(at, str(exc))
    ids = [s.id for s in sessions]
    if len(set(ids)) != len(ids):
        refuse(where, "a session is listed twice")
    problems = check_schedule(summit, {s.id: s for s in sessions})
    if problems:
        refuse(where, "; ".join(problems[:5]))
    return summit, sessions


def _bytes(where: str, value: Any) -> bytes:
    if not isinstance(value, str):
        refuse(where, "not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        refuse(where, f"bad base64: {exc}")


def _stream_id(where: str, value: Any) -> tuple[int, int]:
    match = _STREAM_ID.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        refuse(where, f"{str(value)[:40]!r} is not a log id (<ms>-<seq>)")
    parsed = int(match[1]), int(match[2])
    if max(parsed) > _MAX_ID_PART or parsed == (0, 0):
        refuse(where, f"{value!r} is not a log id Valkey can store")
    return parsed


def _apply(where: str, doc: Doc[Any], update: bytes) -> None:
    try:
        doc.apply_update(update)
    except Exception as exc:  # pycrdt raises ValueError, or its own panics, for what it cannot read
        refuse(where, f"not a Yjs update: {str(exc)[:200]}")


def _pad(where: str, body: dict[str, Any], pad_id: str) -> PadRecord:
    _typed(where, body, {"pad_id": str, "read_only_id": (str, None), "state": str,
                         "revisions": list, "saved": list, "chat": list, "authors": dict})
    if body["pad_id"] != pad_id:
        refuse(where, f"pad_id {body['pad_id'][:120]!r}, not {pad_id!r}")
    try:
        check_pad_id(pad_id)
    except NotFound as exc:
        refuse(where, str(exc))
    ro_id = body["read_only_id"]
    if ro_id is not None and not is_ro_id(ro_id):
        refuse(where, f"read_only_id {ro_id[:60]!r} is not a read-only id")
    state = _bytes(f"{where}: state", body["state"])
    expected: Doc[Any] = Doc()
    _apply(f"{where}: state", expected, state)
    revisions = _revisions(where, body["revisions"])
    replayed = load_doc(b"")
    for revision in revisions:
        _apply(f"{where}: revision {revision.number}", replayed, revision.update)
    content = pad_content(expected)
    if pad_content(replayed) != content or (
        decode_state_vector(replayed.get_state()) != decode_state_vector(expected.get_state())
    ):
        refuse(where, "its revisions, applied in order, do not give its state")
    return PadRecord(
        session_id=pad_id.partition(".")[2],
        pad_id=pad_id,
        read_only_id=ro_id,
        state=state,
        text=content.text,
        revisions=revisions,
        saved=_saved(where, body["saved"], revisions),
        chat=_chat(where, body["chat"]),
        authors=_authors(where, body["authors"]),
    )


def _revisions(where: str, items: list[Any]) -> list[Revision]:
    revisions: list[Revision] = []
    last = (0, 0)
    for i, item in enumerate(items):
        at = f"{where}: revisions[{i}]"
        _typed(at, item, {"number": int, "author": str, "time": int, "upto": str,
                          "update": str})
        if item["number"] != i + 1:
            refuse(at, f"numbered {item['number']}: revisions are numbered 1..N, in order")
        upto = _stream_id(f"{at}: upto", item["upto"])
        if upto <= last:
            refuse(at, "its upto is not after the previous revision's")
        last = upto
        if item["time"] < 0:
            refuse(at, "a negative time")
        update = _bytes(f"{at}: update", item["update"])
        if not update:
            refuse(at, "an empty update")
        revisions.append(Revision(i + 1, item["author"], item["time"], update, item["upto"]))
    return revisions


def _saved(where: str, items: list[Any], revisions: list[Revision]) -> list[SavedRevision]:
    saved: list[SavedRevision] = []
    uptos: set[str] = set()
    for i, item in enumerate(items):
        at = f"{where}: saved[{i}]"
        _typed(at, item, {"upto": str, "number": (int, None), "label": str, "author": str,
                          "name": str, "time": int})
        _stream_id(f"{at}: upto", item["upto"])
        if item["upto"] in uptos:
            refuse(at, "a second saved revision with the same upto")
        uptos.add(item["upto"])
        number = item["number"]
        if number is not None and not (
            1 <= number <= len(revisions) and revisions[number - 1].upto == item["upto"]
        ):
            refuse(at, f"revision {number} is not the one whose upto is {item['upto']!r}")
        saved.append(SavedRevision(number, item["label"], item["author"], item["name"],
                                   item["time"], item["upto"]))
    return saved


def _chat(where: str, items: list[Any]) -> list[tuple[str, dict[str, Any]]]:
    chat: list[tuple[str, dict[str, Any]]] = []
    last = (0, 0)
    for i, item in enumerate(items):
        at = f"{where}: chat[{i}]"
        _typed(at, item, {"id": str, "m": dict})
        entry_id = _stream_id(f"{at}: id", item["id"])
        if entry_id <= last:
            refuse(at, "its id is not after the previous message's")
        last = entry_id
        _typed(f"{at}: m", item["m"], {"author": str, "name": str, "color": str, "text": str},
               required=False)
        chat.append((item["id"], item["m"]))
    return chat


def _authors(where: str, items: dict[str, Any]) -> dict[str, dict[str, Any]]:
    for author_id, value in items.items():
        if not author_id:
            refuse(f"{where}: authors", "an empty author id")
        _typed(f"{where}: authors[{author_id[:60]!r}]", value, {"name": str, "color": str},
               required=False)
    return dict(items)

