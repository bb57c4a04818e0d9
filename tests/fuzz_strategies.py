"""What the fuzz tests feed the node: wrong frames, wrong JSON, and real Yjs updates broken on
purpose. Strategies only; the tests and their budgets are in test_fuzz.py.

Frames are built from the y-protocols grammar (protocol.py) with every field open to being
wrong: var-uints truncated, padded past 8 bytes or claiming 2**60; lengths that are short, long
or huge; unknown message types; payloads of garbage, of bad JSON, of real updates.

Updates start valid: pycrdt (Yrs, wire-compatible with Yjs) writes them for a pad holding some
text, then they are mutated at the byte level (flip, insert, delete, splice) and at the struct
level (duplicate or drop a struct, extreme client ids and clocks, wrong counts, origins and
deletions naming items nobody has).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from pycrdt import Array, Doc, Map, Text
from summitpad.errors import SummitpadError
from summitpad.protocol import MessageType, Reader, write_varbytes, write_varuint
from summitpad.update_check import _struct

# Values where decoders and Yrs change behaviour: one and two bytes, the 32-bit and 53-bit
# limits of Yrs clocks and lib0 integers, the 8-byte limit of our var-uints.
EDGES = [
    0, 1, 2, 3, 4, 5, 7, 8, 100, 101, 127, 128, 255, 256, 2**14, 2**21, 2**28, 2**31 - 1,
    2**31, 2**32 - 1, 2**32, 2**53 - 1, 2**53, 2**55, 2**56 - 1,
]
# Lengths and counts no frame can hold: a decoder must refuse them without allocating.
HUGE = [2**24, 2**28, 2**31, 2**32 - 1, 2**53 - 1, 2**56 - 1, 2**60, 2**63, 2**64 + 1]

uints = st.sampled_from(EDGES) | st.integers(0, 2**56 - 1)


def overlong(value: int, padding: int) -> bytes:
    """`value` as a var-uint with `padding` continuation bytes too many (lib0 reads them)."""
    encoded = bytearray(write_varuint(value))
    encoded[-1] |= 0x80
    return bytes(encoded) + b"\x80" * (padding - 1) + b"\x00"


@st.composite
def varuints(draw: st.DrawFn, values: st.SearchStrategy[int] = uints) -> bytes:
    """A var-uint, mostly well written; else padded, huge or cut after a continuation bit."""
    value = draw(values)
    form = draw(st.sampled_from(["canonical"] * 5 + ["overlong", "huge", "truncated"]))
    if form == "overlong":
        return overlong(value, draw(st.integers(1, 9)))
    if form == "huge":
        return write_varuint(draw(st.sampled_from(HUGE)))
    if form == "truncated":
        return write_varuint(value | 0x80)[:-1]
    return write_varuint(value)


@st.composite
def varbytes(draw: st.DrawFn, content: st.SearchStrategy[bytes]) -> bytes:
    """`content` behind a length that is mostly right; else short, long or huge."""
    body = draw(content)
    claim = draw(st.sampled_from(["right"] * 6 + ["short", "long", "huge"]))
    length = len(body)
    if claim == "short":
        length = max(0, length - draw(st.integers(1, 4)))
    elif claim == "long":
        length += draw(st.integers(1, 4))
    elif claim == "huge":
        length = draw(st.sampled_from(HUGE))
    return draw(varuints(st.just(length))) + body


# -- JSON, good and bad -----------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64) | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=4),
    max_leaves=12,
)
names = st.one_of(
    st.text(max_size=50), st.sampled_from(["", " ", "\u2028", "\x00", "<b>x</b>", "\\ud800"]),
    st.integers(), st.none(),
)
chat_bodies = st.fixed_dictionaries(
    {"kind": st.sampled_from(["send", "join", "history", "", "x" * 100]) | st.integers()},
    optional={"text": names, "name": names, "color": st.sampled_from(["#00ff00", "red", 3])},
)
awareness_states = st.fixed_dictionaries(
    {}, optional={"user": st.fixed_dictionaries({}, optional={"name": names, "color": names})
                  | names, "cursor": json_values},
)
# Escapes of lone surrogates are valid JSON that Python reads into strings it cannot encode.
BAD_JSON = [
    "", "{", "}", "nul", "NaN", "Infinity", "-Infinity", '{"x":NaN}', "1e999999", "[1,]",
    "{'a':1}", '"open', '"\\ud800"', '{"user":{"name":"\\ud800\\udfff\\udc00"}}',
    '{"kind":"send","text":"\\ud83d"}', '{"kind":"\\udfff"}', "[" * 3000, "[" * 900 + "]" * 900,
    '{"kind":"send","text":' * 200, "\ufeff{}", '{"kind":"join"} {}', "0" * 5000,
]
BAD_UTF8 = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b'{"kind":"\xc0\xaf"}']


def _dumps(value: Any, ascii_only: bool) -> bytes:
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


json_texts = st.one_of(
    st.builds(_dumps, json_values, st.booleans()),
    st.builds(_dumps, chat_bodies, st.booleans()),
    st.builds(_dumps, awareness_states, st.booleans()),
    st.sampled_from(BAD_JSON).map(str.encode),
    st.sampled_from(BAD_UTF8),
    st.text(max_size=30).map(str.encode),
    st.binary(max_size=20),
)


# -- frames -----------------------------------------------------------------------------------


def state_vector(clocks: list[tuple[int, int]]) -> bytes:
    return write_varuint(len(clocks)) + b"".join(
        write_varuint(client) + write_varuint(clock) for client, clock in clocks
    )


@st.composite
def state_vectors(draw: st.DrawFn) -> bytes:
    """A state vector whose count or fields may be wrong."""
    clocks = draw(st.lists(st.tuples(uints, uints), max_size=5))
    count = draw(varuints(st.just(len(clocks)) | uints))
    fields = [draw(varuints(st.just(v))) for pair in clocks for v in pair]
    return count + b"".join(fields)


@st.composite
def awareness_payloads(draw: st.DrawFn) -> bytes:
    entries = draw(st.lists(st.tuples(uints, uints, json_texts), max_size=4))
    count = draw(varuints(st.just(len(entries)) | uints))
    parts = [count]
    for client, clock, state in entries:
        parts += [draw(varuints(st.just(client))), draw(varuints(st.just(clock))),
                  draw(varbytes(st.just(state)))]
    return b"".join(parts)


def sync_payloads(updates: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    return st.one_of(state_vectors(), updates, st.binary(max_size=40))


@st.composite
def frames(draw: st.DrawFn, updates: st.SearchStrategy[bytes]) -> bytes:
    """One websocket frame of the y-protocols grammar, any field of it possibly wrong."""
    kind = draw(st.sampled_from(
        ["sync", "sync", "awareness", "awareness", "auth", "query", "chat", "notice", "unknown",
         "raw"]
    ))
    if kind == "raw":
        return draw(st.binary(max_size=80))
    if kind == "sync":
        subtype = draw(varuints(st.sampled_from([0, 1, 2]) | uints))
        parts = [draw(varuints(st.just(0))), subtype, draw(varbytes(sync_payloads(updates)))]
    elif kind == "awareness":
        parts = [draw(varuints(st.just(1))), draw(varbytes(awareness_payloads()))]
    elif kind == "auth":
        parts = [draw(varuints(st.just(2))), draw(varuints()), draw(varbytes(json_texts))]
    elif kind == "query":
        parts = [draw(varuints(st.just(3)))]
    elif kind in ("chat", "notice"):
        kind_number = MessageType.CHAT if kind == "chat" else MessageType.NOTICE
        parts = [draw(varuints(st.just(int(kind_number)))), draw(varbytes(json_texts))]
    else:
        known = {int(t) for t in MessageType}
        unknown = uints.filter(lambda n: n not in known)
        parts = [draw(varuints(unknown)), draw(st.binary(max_size=8))]
    frame = b"".join(parts)
    end = draw(st.sampled_from(["whole"] * 6 + ["truncated", "trailing"]))
    if end == "truncated" and frame:
        return frame[: draw(st.integers(0, len(frame) - 1))]
    if end == "trailing":
        return frame + draw(st.binary(min_size=1, max_size=8))
    return frame


@st.composite
def huge_claims(draw: st.DrawFn, valid: list[bytes]) -> bytes:
    """A valid frame with a huge var-uint put in at some byte, or put over the var-uint there."""
    frame = draw(st.sampled_from(valid))
    at = draw(st.integers(0, len(frame)))
    claim = write_varuint(draw(st.sampled_from(HUGE)))
    cut = draw(st.integers(0, 2))
    return frame[:at] + claim + frame[at + cut:]


# -- real updates -----------------------------------------------------------------------------

TEXT_PIECES = ["a", "Zoë ", "😀", "line\n", "# heading\n", "x" * 40, "日本", "\t"]
ATTRIBUTES: list[dict[str, Any] | None] = [
    None, {"bold": True}, {"header": 1}, {"link": "https://example.org"}, {"author": "someone"},
]


@dataclass(frozen=True)
class TextOp:
    """One edit of a pad's text, at a character (never a byte inside one) picked by `at`."""

    kind: str  # insert, delete, format, map, array
    at: int
    span: int
    piece: str
    attributes: dict[str, Any] | None

    def apply(self, doc: Doc[Any]) -> None:
        text = doc.get("content", type=Text)
        current = str(text)
        bounds = [len(current[:i].encode()) for i in range(len(current) + 1)]
        start = self.at % len(bounds)
        end = min(len(bounds) - 1, start + self.span)
        if self.kind == "delete" and end > start:
            del text[bounds[start] : bounds[end]]
        elif self.kind == "format" and end > start:
            text.format(bounds[start], bounds[end], self.attributes or {"italic": True})
        elif self.kind == "map":
            doc.get("meta", type=Map)[self.piece[:4]] = {"n": self.at, "l": [self.span, None]}
        elif self.kind == "array":
            doc.get("list", type=Array).append(self.piece)
        else:
            text.insert(bounds[start], self.piece, self.attributes)


def text_ops(attributes: list[dict[str, Any] | None] = ATTRIBUTES) -> st.SearchStrategy[TextOp]:
    return st.builds(
        TextOp,
        st.sampled_from(["insert"] * 4 + ["delete", "delete", "format", "map", "array"]),
        st.integers(0, 1000),
        st.integers(1, 6),
        st.sampled_from(TEXT_PIECES),
        st.sampled_from(attributes),
    )


# A participant's own edits name no author: the server sets it, and refuses an edit that
# changes the author of text already there (4403), as an insert inside a run can.
participant_ops = text_ops([a for a in ATTRIBUTES if not a or "author" not in a])
client_ids = st.sampled_from([1, 2, 2**31, 2**32 - 1, 2**53 - 1]) | st.integers(3, 2**32 - 1)


def edits(base: bytes, client_id: int, ops: list[TextOp]) -> list[bytes]:
    """The updates of `ops` by Yjs client `client_id` on a document holding `base`: one per
    op, then all of them as one."""
    doc: Doc[Any] = Doc(client_id=client_id)
    if base:
        doc.apply_update(base)
    before = doc.get_state()
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    for op in ops:
        op.apply(doc)
    return [u for u in updates if u != b"\x00\x00"] + [doc.get_update(before)]


# -- mutations ---------------------------------------------------------------------------------


class _Cursor(Reader):
    __slots__ = ()

    @property
    def pos(self) -> int:
        return self._pos


Block = tuple[int, int, list[bytes]]  # client, clock, the structs as written
DeleteSet = list[tuple[int, list[tuple[int, int]]]]


def split(update: bytes) -> tuple[list[Block], DeleteSet] | None:
    """An update's blocks of structs and its delete set; None if it is not well formed."""
    reader = _Cursor(update)
    try:
        blocks: list[Block] = []
        for _ in range(reader.varuint()):
            count, client, clock = reader.varuint(), reader.varuint(), reader.varuint()
            structs = []
            for _ in range(count):
                start = reader.pos
                _struct(reader, set())
                structs.append(update[start : reader.pos])
            blocks.append((client, clock, structs))
        deletes: DeleteSet = []
        for _ in range(reader.varuint()):
            client = reader.varuint()
            deletes.append((client, [(reader.varuint(), reader.varuint())
                                     for _ in range(reader.varuint())]))
    except SummitpadError:
        return None
    return (blocks, deletes) if reader.at_end else None


def join(blocks: list[Block], deletes: DeleteSet, counts: dict[str, int] | None = None) -> bytes:
    """The update of `blocks` and `deletes`; `counts` overrides the count fields ("blocks",
    "structs", "deletes", "ranges": the first block's or client's)."""
    counts = counts or {}
    out = [write_varuint(counts.get("blocks", len(blocks)))]
    for i, (client, clock, structs) in enumerate(blocks):
        count = counts.get("structs", len(structs)) if i == 0 else len(structs)
        out += [write_varuint(count), write_varuint(client), write_varuint(clock), *structs]
    out.append(write_varuint(counts.get("deletes", len(deletes))))
    for i, (client, ranges) in enumerate(deletes):
        count = counts.get("ranges", len(ranges)) if i == 0 else len(ranges)
        out += [write_varuint(client), write_varuint(count)]
        out += [write_varuint(clock) + write_varuint(length) for clock, length in ranges]
    return b"".join(out)


def _with_origin(struct: bytes, client: int, clock: int) -> bytes:
    """`struct` with its left origin (if it has one) naming (client, clock) instead."""
    if not struct[0] & 0x80:
        return struct
    reader = _Cursor(struct)
    reader.byte()
    reader.varuint()
    reader.varuint()
    return struct[:1] + write_varuint(client) + write_varuint(clock) + struct[reader.pos :]


BYTE_LEVEL = ("flip", "insert", "delete", "splice", "concat", "huge")
STRUCT_LEVEL = ("duplicate", "drop", "client", "clock", "count", "unknown delete", "merge",
                "swap", "origin")
COUNT_FIELDS = ("blocks", "structs", "deletes", "ranges")


@dataclass(frozen=True)
class Mutation:
    """One way to break an update, drawn before the update is known: positions are taken
    modulo its length, so what is drawn never depends on the bytes (which a live pad's
    random client ids change from run to run, and Hypothesis replays draws)."""

    kind: str
    at: int  # a byte, block or struct: modulo the count there is
    other: int  # which of the other updates, or where in it
    bit: int
    blob: bytes
    values: tuple[int, int, int]  # extreme client ids, clocks, lengths or counts

    def apply(self, update: bytes, others: list[bytes]) -> bytes:
        """`update` broken in this way; `others` are updates to splice or merge in."""
        parts = split(update)
        if self.kind in STRUCT_LEVEL and parts is not None:
            return self._structs(*parts, others)
        if not update:
            return self.blob
        at = self.at % len(update)
        other = others[self.other % len(others)]
        if self.kind == "flip":
            return update[:at] + bytes((update[at] ^ self.bit,)) + update[at + 1 :]
        if self.kind == "insert":
            return update[:at] + self.blob + update[at:]
        if self.kind == "delete":
            return update[:at] + update[at + len(self.blob) :]
        if self.kind == "huge":
            return update[:at] + write_varuint(HUGE[self.bit % len(HUGE)]) + update[at + 1 :]
        if self.kind == "concat":
            return update + other
        return update[:at] + other[self.other % (len(other) + 1) :]  # splice

    def _structs(self, blocks: list[Block], deletes: DeleteSet, others: list[bytes]) -> bytes:
        first, second, third = self.values
        if self.kind == "unknown delete":
            return join(blocks, [*deletes, (first, [(second, third)])])
        if self.kind == "count":
            return join(blocks, deletes, {COUNT_FIELDS[self.bit % len(COUNT_FIELDS)]: first})
        if self.kind == "merge":
            merged = split(others[self.other % len(others)])
            if merged is not None:
                return join(blocks + merged[0], deletes + merged[1])
        if self.kind == "swap":
            return join(blocks[::-1], deletes)
        if not blocks:
            return join(blocks, deletes)
        i = self.at % len(blocks)
        client, clock, structs = blocks[i]
        if self.kind == "client":
            client = first
        elif self.kind == "clock":
            clock = second
        elif structs:
            j = self.other % len(structs)
            if self.kind == "duplicate":
                structs = structs[: j + 1] + structs[j:]
            elif self.kind == "drop":
                structs = structs[:j] + structs[j + 1 :]
            elif self.kind == "origin":
                structs = [*structs[:j], _with_origin(structs[j], first, second), *structs[j + 1 :]]
        return join([*blocks[:i], (client, clock, structs), *blocks[i + 1 :]], deletes)


extremes = st.sampled_from(EDGES)
mutations = st.builds(
    Mutation,
    st.sampled_from(BYTE_LEVEL + STRUCT_LEVEL),
    st.integers(0, 2**16),
    st.integers(0, 2**16),
    st.sampled_from([1, 2, 4, 8, 16, 32, 64, 128, 255]),
    st.binary(min_size=1, max_size=4),
    st.tuples(extremes, extremes, extremes),
)


def mutated(update: bytes, plan: list[Mutation], others: list[bytes]) -> bytes:
    for mutation in plan:
        update = mutation.apply(update, others)
    return update


def frame_update(update: bytes, kind: int = 2) -> bytes:
    """An update as a sync message of `kind` (1: step 2, 2: update)."""
    return bytes((0, kind)) + write_varbytes(update)
