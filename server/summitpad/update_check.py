"""A structural check of a Yjs (v1) update before it reaches the CRDT library.

Yrs decodes nested values recursively: an update of a few kilobytes holding an array nested
thirty thousand deep overflows the native stack and kills the process, which no `except` can
catch. This walks the update's structs once, in Python, checking that it is well formed and that
no value nests deeper than `MAX_DEPTH`. Yrs keeps clocks in 32 bits and panics on an update
that goes past them, so no clock may pass `MAX_CLOCK`, far beyond what a pad under its size
limit reaches. It does not check what only the document can tell (that
a parent exists, say): `LivePad` handles those errors.

    update     = varuint(clients) { varuint(structs) varuint(client) varuint(clock) struct* }
                 delete set
    delete set = varuint(clients) { varuint(client) varuint(ranges) { varuint varuint }* }
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ProtocolError, UpdateRejected
from .protocol import Reader

MAX_DEPTH = 64
MAX_CLOCK = 2**31
_PARENT_SUB = 0x20
_RIGHT_ORIGIN = 0x40
_ORIGIN = 0x80
_XML_ELEMENT, _XML_HOOK = 3, 5


@dataclass(frozen=True, slots=True)
class UpdateShape:
    """What a well-formed update holds, as far as the server cares before applying it."""

    reaches: dict[int, int]  # per client id, the clock its structs reach
    format_keys: frozenset[str]  # the keys of the formatting marks it inserts
    deletes: bool  # whether it deletes anything


def check_update(update: bytes) -> dict[int, int]:
    """Raise UpdateRejected unless `update` is a well-formed v1 update with shallow values.

    Returns, per client id, the clock its structs reach: once the update is integrated, the
    document's state vector covers these (else part of it waits for edits it depends on)."""
    return inspect_update(update).reaches


def inspect_update(update: bytes) -> UpdateShape:
    """`check_update`, also telling which formatting keys the update sets and whether it
    deletes anything."""
    reader = Reader(update)
    reaches: dict[int, int] = {}
    keys: set[str] = set()
    deletes = False
    try:
        for _ in range(reader.varuint()):
            structs = reader.varuint()
            if not structs:
                # Yjs and Yrs never write one; Yrs panics on it.
                raise ProtocolError("a client's block holds no structs")
            client = reader.varuint()
            if client in reaches:
                # Yjs and Yrs write one block per client; Yrs, given two that overlap, can
                # ask for gigabytes.
                raise ProtocolError(f"client {client} has two blocks")
            clock = reader.varuint()
            for _ in range(structs):
                clock = _within_clocks(clock + _struct(reader, keys))
            reaches[client] = clock
        for _ in range(reader.varuint()):
            reader.varuint()  # client
            for _ in range(reader.varuint()):
                start, length = reader.varuint(), reader.varuint()
                _within_clocks(start + length)
                deletes = length > 0 or deletes
    except ProtocolError as exc:
        raise UpdateRejected(f"malformed update: {exc}") from exc
    if not reader.at_end:
        raise UpdateRejected("malformed update: trailing bytes")
    return UpdateShape(reaches, frozenset(keys), deletes)


def _struct(reader: Reader, keys: set[str]) -> int:
    """Skip one struct; return its length in clock ticks."""
    info = reader.byte()
    ref = info & 0x1F
    if ref in (0, 10):  # GC, Skip
        return reader.varuint()
    if info & _ORIGIN:
        _id(reader)
    if info & _RIGHT_ORIGIN:
        _id(reader)
    if not info & (_ORIGIN | _RIGHT_ORIGIN):
        if reader.varuint() == 1:
            reader.varstring()  # a root type's name
        else:
            _id(reader)
        if info & _PARENT_SUB:
            reader.varstring()
    return _content(reader, ref, keys)


def _id(reader: Reader) -> None:
    """Skip an item's id: client, clock."""
    reader.varuint()
    _within_clocks(reader.varuint())


def _within_clocks(clock: int) -> int:
    if clock > MAX_CLOCK:
        raise ProtocolError(f"a clock past {MAX_CLOCK}")
    return clock


def _content(reader: Reader, ref: int, keys: set[str]) -> int:
    """Skip an item's content; return its length (strings count UTF-16 code units, as Yjs)."""
    if ref == 1:  # deleted
        return reader.varuint()
    if ref == 2:  # JSON: strings
        count = reader.varuint()
        for _ in range(count):
            reader.varstring()
        return count
    if ref == 4:  # string
        return len(reader.varstring().encode("utf-16-le")) // 2
    if ref in (3, 5):  # binary, embed (JSON text)
        reader.varbytes()
    elif ref == 6:  # format: key, JSON text
        keys.add(reader.varstring())
        reader.varbytes()
    elif ref == 7:  # type
        if reader.varuint() in (_XML_ELEMENT, _XML_HOOK):
            reader.varstring()
    elif ref == 8:  # any values
        count = reader.varuint()
        for _ in range(count):
            _any(reader, 1)
        return count
    elif ref == 9:  # subdocument: guid, options
        reader.varstring()
        _any(reader, 1)
    else:
        raise ProtocolError(f"unknown content type {ref}")
    return 1


def _any(reader: Reader, depth: int) -> None:
    """Skip one lib0-encoded value, refusing to nest deeper than MAX_DEPTH."""
    if depth > MAX_DEPTH:
        raise UpdateRejected(f"a value nests deeper than {MAX_DEPTH} levels")
    tag = reader.byte()
    if tag in (127, 126, 121, 120):  # undefined, null, false, true
        return
    if tag == 125:  # integer
        reader.varint()
    elif tag == 124:  # float32
        reader.skip(4)
    elif tag in (123, 122):  # float64, bigint
        reader.skip(8)
    elif tag in (119, 116):  # string, bytes
        reader.varbytes()
    elif tag == 118:  # object
        for _ in range(reader.varuint()):
            reader.varstring()
            _any(reader, depth + 1)
    elif tag == 117:  # array
        for _ in range(reader.varuint()):
            _any(reader, depth + 1)
    else:
        raise ProtocolError(f"unknown value tag {tag}")
