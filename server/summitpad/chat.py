"""A pad's chat: short messages beside the pad, stored in Valkey, live on every node.

The chat travels over the pad's websocket as summitpad's own message type 100
(`protocol.MessageType.CHAT`), one JSON object per frame:

    client -> server  {"kind": "join"}              "send me the chat": the history, then live
                      {"kind": "send", "text": ..., "name": ..., "color": ...}
    server -> client  {"kind": "history", "messages": [message, ...]}   the last 200, oldest first
                      {"kind": "message", "message": message}           one new message
                      {"kind": "refused", "reason": ..., "retry_after": ms}   to the sender only

    message = {"id": stream id, "author": participant id, "name": ..., "color": "#rrggbb",
               "text": ..., "time": ms since the epoch}

The stock y-websocket client logs an error for every message type it does not know, so chat
frames go only to connections that joined. Reasons for a refusal: "empty", "too-long", "flood",
"read-only" (the pad is locked), "unavailable" (Valkey cannot be reached), "busy". A read-only
connection (a read-only link) may not use the chat at all: it is closed with 4403.

Limits: a message holds at most MAX_TEXT characters (more is refused, not cut); a name at most
MAX_NAME characters (more is cut); a colour that is not `#rrggbb` becomes a neutral grey; control
characters are removed from both. A participant (the signed author id, not an address: a whole
summit sits behind one venue NAT) may send FLOOD_LIMIT messages per FLOOD_WINDOW_MS to a pad;
a pad keeps its last MAX_STORED messages.

One script checks the participant's counter, appends the message to the pad's chat stream and
publishes it to the other nodes (`C<node id> <entry id> <message>` on the pad's channel), so a
message anybody sees is stored. The author is the connection's participant and the time is the
stream id's (Valkey's clock), whatever the client says.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from . import protocol
from .connection import Connection, frame
from .errors import ProtocolError, StoreUnavailable
from .keys import PadKeys
from .store import UNAVAILABLE, as_text

log = logging.getLogger(__name__)

MAX_TEXT = 1_000
MAX_NAME = 40
FLOOD_LIMIT = 5
FLOOD_WINDOW_MS = 10_000
HISTORY = 200
MAX_STORED = 10_000
NEUTRAL_COLOR = "#475467"
ANONYMOUS = "Anonymous"
_QUEUE = 1_000  # joins and sends waiting for Valkey, per pad; beyond this: "busy"

_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_BLANKS = re.compile(r"\s+")
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
# Cleaning is linear, but a frame may hold megabytes: what is longer than this is not cleaned.
_RAW_TEXT_MAX = 4 * MAX_TEXT

# KEYS: chat stream, the participant's counter. ARGV: message JSON, limit, window in ms, most
# entries kept, channel, node id. Returns {1, entry id}, or {0, ms until it may send again}.
_SEND = """
local count = redis.call('INCR', KEYS[2])
if count == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
if count > tonumber(ARGV[2]) then
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl < 0 then
    redis.call('PEXPIRE', KEYS[2], ARGV[3])
    ttl = tonumber(ARGV[3])
  end
  return {0, ttl}
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 'm', ARGV[1])
redis.call('SPUBLISH', ARGV[5], 'C' .. ARGV[6] .. ' ' .. id .. ' ' .. ARGV[1])
return {1, id}
"""


# -- cleaning what participants write ----------------------------------------------------------


def _without_controls(text: str) -> str:
    """`text` with control characters, line and paragraph separators and lone surrogates gone
    (Unicode categories Cc, Zl, Zp, Cs); the blanks among them become spaces."""
    return _CONTROLS.sub(lambda m: " " if m[0].isspace() else "", text)


def clean_text(text: str) -> str:
    return _without_controls(text).strip()


def clean_name(name: Any) -> str:
    """A display name: one line of at most MAX_NAME characters; ANONYMOUS if nothing is left."""
    if not isinstance(name, str):
        return ANONYMOUS
    flat = _BLANKS.sub(" ", _without_controls(name[: 4 * MAX_NAME])).strip()
    return flat[:MAX_NAME].strip() or ANONYMOUS


def clean_color(color: Any) -> str:
    if isinstance(color, str) and _COLOR.fullmatch(color):
        return color.lower()
    return NEUTRAL_COLOR


@dataclass(frozen=True, slots=True)
class ChatEntry:
    """One stored chat message."""

    id: str  # the stream id: "<ms>-<seq>"
    author: str
    name: str
    color: str
    text: str

    @property
    def time(self) -> int:
        """When it was stored, in ms since the epoch (Valkey's clock)."""
        return int(self.id.partition("-")[0])

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "author": self.author, "name": self.name, "color": self.color,
                "text": self.text, "time": self.time}

    @classmethod
    def stored(cls, entry_id: str, fields: Any) -> ChatEntry:
        """An entry as the stream holds it (cleaned again: anybody may write to Valkey)."""
        try:
            body = json.loads(fields)
        except (ValueError, RecursionError, UnicodeDecodeError):
            body = {}
        if not isinstance(body, dict):
            body = {}
        author, text = body.get("author"), body.get("text")
        return cls(
            id=entry_id,
            author=author if isinstance(author, str) else "",
            name=clean_name(body.get("name")),
            color=clean_color(body.get("color")),
            text=clean_text(text) if isinstance(text, str) else "",
        )


@dataclass(frozen=True, slots=True)
class Draft:
    """A message a participant sent, cleaned, not yet stored."""

    author: str
    name: str
    color: str
    text: str

    @classmethod
    def of(cls, author: str, body: dict[str, Any]) -> Draft:
        text = body.get("text")
        if not isinstance(text, str):
            raise ProtocolError("a chat message's text must be a string")
        # Far too long: cut uncleaned to just over the limit, which refuses it as too long.
        text = text[: MAX_TEXT + 1] if len(text) > _RAW_TEXT_MAX else clean_text(text)
        return cls(author, clean_name(body.get("name")), clean_color(body.get("color")), text)

    @property
    def problem(self) -> str | None:
        """Why it cannot be sent, if it cannot."""
        if not self.text:
            return "empty"
        if len(self.text) > MAX_TEXT:
            return "too-long"
        return None

    def to_stored(self) -> bytes:
        body = {"author": self.author, "name": self.name, "color": self.color, "text": self.text}
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


# -- reading --------------------------------------------------------------------------------------


def _message_field(fields: Any) -> bytes:
    # XRANGE entries come back as [id, [field, value, ...]] (RESP2) or {field: value} (RESP3).
    if isinstance(fields, dict):
        return bytes(fields.get(b"m", b""))
    pairs = dict(zip(fields[::2], fields[1::2], strict=False)) if isinstance(fields, list) else {}
    return bytes(pairs.get(b"m", b""))


async def read_chat(
    client: aioredis.Redis, keys: PadKeys, *, last: int | None = None
) -> list[ChatEntry]:
    """The pad's chat, oldest first: all of it, or its `last` messages."""
    entries: Any
    try:
        if last is None:
            entries = await client.xrange(keys.chat) or []
        else:
            entries = list(reversed(await client.xrevrange(keys.chat, count=last) or []))
    except UNAVAILABLE as exc:
        raise StoreUnavailable(f"Valkey/Redis cannot be read now: {exc}") from exc
    return [ChatEntry.stored(as_text(eid), _message_field(fields)) for eid, fields in entries]


# -- storing ------------------------------------------------------------------------------------


class ChatWriter:
    """Stores a pad's messages with the flood limit, and publishes them to the other nodes (a
    node does not hear its own: its live pad's members get a message from the caller)."""

    def __init__(self, client: aioredis.Redis, keys: PadKeys, node_id: str) -> None:
        self.keys = keys
        self._node_id = node_id
        self._send = client.register_script(_SEND)

    async def store(self, draft: Draft) -> ChatEntry | int:
        """The stored message, or the ms until its author may send again (a flood)."""
        written, detail = await self._send(
            keys=[self.keys.chat, self.keys.chat_rate(draft.author)],
            args=[draft.to_stored(), FLOOD_LIMIT, FLOOD_WINDOW_MS, MAX_STORED,
                  self.keys.channel, self._node_id],
        )
        if not written:
            return int(detail)
        return ChatEntry(as_text(detail), draft.author, draft.name, draft.color, draft.text)


# -- the chat of a live pad --------------------------------------------------------------------


class PadChat:
    """The chat of one live pad on this node: its joined connections, and one task that talks
    to Valkey for them in order."""

    def __init__(self, pad_id: str, keys: PadKeys, client: aioredis.Redis, node_id: str) -> None:
        self.pad_id = pad_id
        self.keys = keys
        self._client = client
        self._writer = ChatWriter(client, keys, node_id)
        self.members: set[Connection] = set()  # connections that joined
        self._queue: asyncio.Queue[tuple[Connection, Draft | None]] = asyncio.Queue(_QUEUE)
        self._worker: asyncio.Task[None] | None = None

    def receive(self, conn: Connection, message: protocol.ChatMessage, *, locked: bool) -> None:
        """Handle a connection's chat message; raises ProtocolError for a malformed one.
        `locked`: the pad takes no edits now, and no chat either."""
        kind = message.kind
        if kind == "join":
            self.members = {c for c in self.members if not c.closed}
            self.members.add(conn)  # live messages from now on; the history follows
            self._enqueue(conn, None)
        elif kind == "send":
            draft = Draft.of(conn.author_id, message.body)
            problem = "read-only" if locked else draft.problem
            if problem is not None:
                refuse(conn, problem)
            else:
                self._enqueue(conn, draft)
        else:
            raise ProtocolError(f"unknown chat message kind {kind[:40]!r}")

    def receive_remote(self, entry_id: str, payload: bytes) -> None:
        """A message another node stored and published."""
        self._broadcast(ChatEntry.stored(entry_id, payload))

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None

    def _enqueue(self, conn: Connection, draft: Draft | None) -> None:
        try:
            self._queue.put_nowait((conn, draft))
        except asyncio.QueueFull:
            refuse(conn, "busy")
            return
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work(), name=f"chat {self.pad_id}")

    async def _work(self) -> None:
        while True:
            conn, draft = await self._queue.get()
            if conn.closed and draft is None:
                continue  # a message sent just before closing is still stored
            try:
                if draft is None:
                    await self._send_history(conn)
                else:
                    await self._store(conn, draft)
            except (StoreUnavailable, *UNAVAILABLE) as exc:
                log.warning("pad %s: chat unavailable: %s", self.pad_id, exc)
                refuse(conn, "unavailable")
            except Exception:
                log.exception("pad %s: chat failed", self.pad_id)
                refuse(conn, "unavailable")

    async def _send_history(self, conn: Connection) -> None:
        entries = await read_chat(self._client, self.keys, last=HISTORY)
        body = {"kind": "history", "messages": [entry.to_json() for entry in entries]}
        conn.send_message(protocol.encode_chat(body))

    async def _store(self, conn: Connection, draft: Draft) -> None:
        stored = await self._writer.store(draft)
        if isinstance(stored, int):
            log.info("pad %s: chat flood from %s", self.pad_id, conn.peer)
            refuse(conn, "flood", retry_after=stored)
            return
        self._broadcast(stored)

    def receive_local(self, entry: ChatEntry) -> None:
        """A message stored on this node by someone other than a connection (an API)."""
        self._broadcast(entry)

    def _broadcast(self, entry: ChatEntry) -> None:
        """Send one message to every joined connection: encoded and framed once."""
        framed = frame(protocol.encode_chat({"kind": "message", "message": entry.to_json()}))
        for conn in self.members:
            conn.send(framed)


def refuse(conn: Connection, reason: str, *, retry_after: int | None = None) -> None:
    body: dict[str, Any] = {"kind": "refused", "reason": reason}
    if retry_after is not None:
        body["retry_after"] = retry_after
    conn.send_message(protocol.encode_chat(body))
