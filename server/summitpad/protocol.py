"""The y-protocols wire format: pure encode and decode, no I/O.

A websocket frame of the y-websocket protocol holds one message:

    message   = varuint(type) body
    type 0    sync:            varuint(subtype) varbytes   (0 step 1: state vector,
                                                             1 step 2: update, 2: update)
    type 1    awareness:       varbytes(awareness update)
    type 2    auth:            varuint(0 = permission denied) varstring(reason)
    type 3    query awareness: (no body)
    type 100  chat:            varstring(a JSON object with a string "kind")   summitpad's own;
                                                             see `chat` for its kinds
    type 101  notice:          varstring(a JSON object with a string "kind")   summitpad's own;
                                                             see `admin_broadcast` for its kinds

    awareness update = varuint(count) { varuint(client id) varuint(clock) varstring(json) }

Decoding is strict: a truncated, over-long or unknown message raises `ProtocolError`, which
the websocket layer turns into a close with a code (see `errors`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from .errors import ProtocolError


class MessageType(IntEnum):
    SYNC = 0
    AWARENESS = 1
    AUTH = 2
    QUERY_AWARENESS = 3
    CHAT = 100  # summitpad's own: sent only to clients that ask for it (the stock one does not)
    NOTICE = 101  # summitpad's own, the organizers' notices: likewise only to clients that ask


MESSAGE_CHAT = MessageType.CHAT

class SyncType(IntEnum):
    STEP1 = 0
    STEP2 = 1
    UPDATE = 2


# The largest varuint a Yjs client writes (lib0 handles up to 2**53); anything longer is garbage.
_MAX_VARUINT_BYTES = 8


@dataclass(frozen=True, slots=True)
class SyncMessage:
    kind: SyncType
    payload: bytes  # a state vector for STEP1, an update otherwise


@dataclass(frozen=True, slots=True)
class AwarenessMessage:
    payload: bytes  # the encoded awareness update, as received


@dataclass(frozen=True, slots=True)
class AuthMessage:
    denied_reason: str


@dataclass(frozen=True, slots=True)
class QueryAwarenessMessage:
    pass


@dataclass(frozen=True, slots=True)
class ChatMessage:
    body: dict[str, Any]  # a JSON object whose "kind" is a string

    @property
    def kind(self) -> str:
        return str(self.body["kind"])


@dataclass(frozen=True, slots=True)
class NoticeMessage:
    body: dict[str, Any]  # a JSON object whose "kind" is a string

    @property
    def kind(self) -> str:
        return str(self.body["kind"])


Message = (
    SyncMessage | AwarenessMessage | AuthMessage | QueryAwarenessMessage | ChatMessage
    | NoticeMessage
)


@dataclass(frozen=True, slots=True)
class AwarenessEntry:
    client_id: int
    clock: int
    state: bytes  # the JSON text of the state; b"null" when the client is gone

    @property
    def is_removal(self) -> bool:
        return self.state == b"null"


# -- primitives -------------------------------------------------------------------------------


def write_varuint(value: int) -> bytes:
    if value < 0:
        raise ValueError("varuint must not be negative")
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def write_varbytes(data: bytes) -> bytes:
    return write_varuint(len(data)) + data


class Reader:
    """A cursor over one message's bytes."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    @property
    def at_end(self) -> bool:
        return self._pos >= len(self._data)

    def varuint(self) -> int:
        data, pos = self._data, self._pos
        value = shift = 0
        for _ in range(_MAX_VARUINT_BYTES):
            if pos >= len(data):
                raise ProtocolError("truncated message: varuint runs past the end")
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                self._pos = pos
                return value
            shift += 7
        raise ProtocolError("varuint longer than 8 bytes")

    def byte(self) -> int:
        if self._pos >= len(self._data):
            raise ProtocolError("truncated message: a byte is missing")
        self._pos += 1
        return self._data[self._pos - 1]

    def skip(self, count: int) -> None:
        if self._pos + count > len(self._data):
            raise ProtocolError(f"truncated message: {count} bytes missing")
        self._pos += count

    def varint(self) -> int:
        """A lib0 signed varint: sign in bit 6 of the first byte."""
        first = self.byte()
        value = first & 0x3F
        negative = bool(first & 0x40)
        shift = 6
        more = first & 0x80
        while more:
            if shift > 7 * _MAX_VARUINT_BYTES:
                raise ProtocolError("varint longer than 8 bytes")
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            shift += 7
            more = byte & 0x80
        return -value if negative else value

    def varbytes(self) -> bytes:
        length = self.varuint()
        end = self._pos + length
        if end > len(self._data):
            raise ProtocolError(
                f"truncated message: {length} bytes announced, {len(self._data) - self._pos} left"
            )
        chunk = self._data[self._pos : end]
        self._pos = end
        return bytes(chunk)

    def varstring(self) -> str:
        try:
            return self.varbytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError("string is not valid UTF-8") from exc


# -- messages ---------------------------------------------------------------------------------


def decode_message(frame: bytes) -> Message:
    """Decode one frame holding exactly one message."""
    reader = Reader(frame)
    if reader.at_end:
        raise ProtocolError("empty frame")
    kind = reader.varuint()
    message: Message
    if kind == MessageType.SYNC:
        subtype = reader.varuint()
        if subtype not in (0, 1, 2):
            raise ProtocolError(f"unknown sync message type {subtype}")
        message = SyncMessage(SyncType(subtype), reader.varbytes())
    elif kind == MessageType.AWARENESS:
        message = AwarenessMessage(reader.varbytes())
    elif kind == MessageType.AUTH:
        reader.varuint()
        message = AuthMessage(reader.varstring())
    elif kind == MessageType.QUERY_AWARENESS:
        message = QueryAwarenessMessage()
    elif kind == MessageType.CHAT:
        message = ChatMessage(decode_chat_body(reader.varstring()))
    elif kind == MessageType.NOTICE:
        message = NoticeMessage(decode_chat_body(reader.varstring()))
    else:
        raise ProtocolError(f"unknown message type {kind}")
    if not reader.at_end:
        raise ProtocolError("trailing bytes after the message")
    return message


def encode_sync(kind: SyncType, payload: bytes) -> bytes:
    return bytes((MessageType.SYNC, kind)) + write_varbytes(payload)


def encode_step1(state_vector: bytes) -> bytes:
    return encode_sync(SyncType.STEP1, state_vector)


def encode_step2(update: bytes) -> bytes:
    return encode_sync(SyncType.STEP2, update)


def encode_update(update: bytes) -> bytes:
    return encode_sync(SyncType.UPDATE, update)


def encode_awareness(payload: bytes) -> bytes:
    return bytes((MessageType.AWARENESS,)) + write_varbytes(payload)


def encode_query_awareness() -> bytes:
    return bytes((MessageType.QUERY_AWARENESS,))


AUTH_DENIED = 0
# summitpad's own auth subtype: "you may write (again)". The stock y-protocols client reads only
# subtype 0 and ignores any other, so this is safe to send to every client.
AUTH_GRANTED = 1


def encode_auth_denied(reason: str) -> bytes:
    return bytes((MessageType.AUTH, AUTH_DENIED)) + write_varbytes(reason.encode())


def encode_auth_granted(scope: str) -> bytes:
    return bytes((MessageType.AUTH, AUTH_GRANTED)) + write_varbytes(scope.encode())


# An awareness message with no entries: harmless to every client, and it counts as traffic for
# the client's 30-second silence check.
KEEPALIVE = encode_awareness(write_varuint(0))


def encode_chat(body: Mapping[str, Any]) -> bytes:
    """A chat message: `body` as compact JSON (it must hold no lone surrogates)."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return write_varuint(MessageType.CHAT) + write_varbytes(text.encode())


def encode_notice(body: Mapping[str, Any]) -> bytes:
    """A notice message: `body` as compact JSON (it must hold no lone surrogates)."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return write_varuint(MessageType.NOTICE) + write_varbytes(text.encode())


def decode_chat_body(text: str) -> dict[str, Any]:
    """The JSON object of a chat or notice message; ProtocolError unless it is one with a
    string kind."""
    try:
        body = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError("chat message is not JSON") from exc
    if not isinstance(body, dict) or not isinstance(body.get("kind"), str):
        raise ProtocolError("chat message is not a JSON object with a string kind")
    return body


def decode_state_vector(state_vector: bytes) -> dict[int, int]:
    """{client id: clock} of an encoded Yjs state vector."""
    reader = Reader(state_vector)
    clocks = {}
    for _ in range(reader.varuint()):
        client_id = reader.varuint()
        clocks[client_id] = reader.varuint()
    if not reader.at_end:
        raise ProtocolError("trailing bytes after the state vector")
    return clocks


# -- awareness payloads -----------------------------------------------------------------------


def decode_awareness(payload: bytes) -> list[AwarenessEntry]:
    reader = Reader(payload)
    count = reader.varuint()
    entries = []
    for _ in range(count):
        client_id = reader.varuint()
        clock = reader.varuint()
        state = reader.varstring()
        try:
            value = json.loads(state, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            raise ProtocolError(f"awareness state of client {client_id} is not JSON") from exc
        canonical = b"null" if value is None else state.encode()
        entries.append(AwarenessEntry(client_id, clock, canonical))
    if not reader.at_end:
        raise ProtocolError("trailing bytes after the awareness update")
    return entries


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def encode_awareness_entries(entries: Iterable[AwarenessEntry]) -> bytes:
    entries = list(entries)
    parts = [write_varuint(len(entries))]
    for entry in entries:
        parts.append(write_varuint(entry.client_id))
        parts.append(write_varuint(entry.clock))
        parts.append(write_varbytes(entry.state))
    return b"".join(parts)
