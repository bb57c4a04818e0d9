"""Notices from the organizers: a short message to everyone in a summit's pads, on every node.

An organizer sends one from /admin. The node that takes it delivers it to its own connections
and publishes it on the channel of every session pad of the summit (`PadKeys.channel`, see
fanout.py):

    N<node id> <JSON: {"id", "summit", "text", "time"}>

A node listens to the channels of its live pads anyway, so it hears exactly the notices its
connections need, with no subscription of its own: on a Redis Cluster these are sharded
channels, which have no pattern subscriptions, and each message goes only to the shard of its
pad. A summit has a few hundred sessions at most, and an organizer sends one notice per
RATE_WINDOW_MS: the publishes go out in one pipeline. A node skips its own messages, and sends
each notice to the connections of the pad it came on, if that pad is a session pad of the
notice's summit. A malformed notice is dropped (and logged).

Over a pad's websocket a notice is summitpad's own message type 101
(`protocol.MessageType.NOTICE`), one JSON object per frame:

    client -> server  {"kind": "join"}   "send me notices": the pad page, the projector and
                                         the read-only view send it on every (re)connect
    server -> client  {"kind": "notice", "id": ..., "summit": slug, "text": ..., "time": ms}
    server -> client  {"kind": "store", "saved": false}   this node cannot store the pad's
                                         edits now (Valkey does not answer); `true` once it can
                                         again (live_pad.py), and `false` again on joining
                                         while it still cannot

It goes only to connections that joined, as the chat does: the stock y-websocket client logs
an error for a message type it does not know. Another kind from a client closes it (4400).
Pages show the text with textContent, never as markup. Notices are not stored: whoever
connects later does not see one.

Limits: a notice holds at most MAX_TEXT characters once control characters are removed (line
breaks become spaces; more is refused, not cut), and an organizer may send one per
RATE_WINDOW_MS, counted in Valkey so that it holds across nodes.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis

from . import protocol
from .chat import clean_text
from .connection import Connection, frame
from .errors import InvalidInput, ProtocolError, RateLimited, StoreUnavailable
from .keys import PadKeys, broadcast_rate_key
from .schedule import parse_session_pad_id
from .store import UNAVAILABLE

if TYPE_CHECKING:
    from .fanout import Fanout
    from .live_pad import LivePad
    from .pads import PadRegistry
    from .summit_store import SummitStore

log = logging.getLogger(__name__)

MAX_TEXT = 500
RATE_WINDOW_MS = 5_000
_RAW_TEXT_MAX = 4 * MAX_TEXT  # longer than this is refused before it is cleaned


@dataclass(frozen=True, slots=True)
class Notice:
    id: str
    summit: str
    text: str
    time: int  # ms since the epoch

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "summit": self.summit, "text": self.text, "time": self.time}

    def framed(self) -> bytes:
        """The websocket frame that carries it to a client."""
        return frame(protocol.encode_notice({"kind": "notice", **self.to_json()}))


def notice_text(raw: Any) -> str:
    """The text of a notice as it goes out; InvalidInput if it is empty or too long."""
    if not isinstance(raw, str):
        raise InvalidInput("the notice must be text")
    if len(raw) > _RAW_TEXT_MAX:
        raise InvalidInput(f"a notice holds at most {MAX_TEXT} characters")
    text = clean_text(raw)
    if not text:
        raise InvalidInput("the notice is empty")
    if len(text) > MAX_TEXT:
        raise InvalidInput(
            f"a notice holds at most {MAX_TEXT} characters; this one has {len(text)}"
        )
    return text


class PadNotices:
    """The connections of one live pad that take notices."""

    def __init__(self) -> None:
        self.members: set[Connection] = set()

    def receive(self, conn: Connection, message: protocol.NoticeMessage) -> None:
        if message.kind != "join":
            raise ProtocolError(f"unknown notice message kind {message.kind[:40]!r}")
        self.members.add(conn)

    def leave(self, conn: Connection) -> None:
        self.members.discard(conn)

    def send(self, framed: bytes) -> int:
        """Send one framed notice to every member; how many there were."""
        for conn in self.members:
            conn.send(framed)
        return len(self.members)


class Broadcaster:
    """Sends notices from this node and delivers everybody's to this node's connections."""

    def __init__(
        self, client: aioredis.Redis, prefix: str, node_id: str, registry: PadRegistry,
        summits: SummitStore,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._node = node_id.encode()
        self._registry = registry
        self._summits = summits

    def listen(self, fanout: Fanout) -> None:
        """Have the fan-out pass the notices that come on this node's pads' channels."""
        fanout.on_notice = self._received

    async def send(self, slug: str, raw_text: Any, *, by: str) -> Notice:
        """Send a notice to everyone in summit `slug`'s pads, on every node; InvalidInput for
        a text that cannot go out, RateLimited if organizer `by` sent one just now."""
        notice = Notice(secrets.token_urlsafe(9), slug, notice_text(raw_text),
                        int(time.time() * 1000))
        data = await self._summits.load(slug)  # NotFound for a summit that does not exist
        message = b"N" + self._node + b" " + json.dumps(
            notice.to_json(), ensure_ascii=False, separators=(",", ":")
        ).encode()
        rate_key = broadcast_rate_key(self._prefix, by)
        try:
            if not await self._client.set(rate_key, notice.id, nx=True, px=RATE_WINDOW_MS):
                wait = max(int(await self._client.pttl(rate_key)), 0)
                raise RateLimited(
                    f"one notice per {RATE_WINDOW_MS // 1000} s: try again in "
                    f"{(wait + 999) // 1000} s"
                )
            here = self.deliver(notice)
            pipe = self._client.pipeline(transaction=False)
            for session_id in data.sessions:
                pipe.spublish(PadKeys(self._prefix, data.summit.pad_id(session_id)).channel,
                              message)
            await pipe.execute()
        except UNAVAILABLE as exc:
            raise StoreUnavailable(f"the notice cannot go out now: {exc}") from exc
        log.info("notice %s to summit %s by %s (%d connections on this node): %r",
                 notice.id, slug, by, here, notice.text)
        return notice

    def deliver(self, notice: Notice) -> int:
        """Send `notice` to this node's connections in its summit's pads; how many took it."""
        framed = notice.framed()
        sent = 0
        for pad in self._registry:
            found = parse_session_pad_id(pad.pad_id)
            if found is not None and found[0] == notice.summit:
                sent += pad.notices.send(framed)
        return sent

    def _received(self, pad: LivePad, body: bytes) -> None:
        """A notice another node published on the channel of `pad` (live here)."""
        try:
            fields = json.loads(body)
            notice = Notice(str(fields["id"]), str(fields["summit"]),
                            notice_text(fields["text"]), int(fields["time"]))
        except (ValueError, KeyError, TypeError, RecursionError, InvalidInput):
            log.warning("pad %s: dropped a malformed notice", pad.pad_id)
            return
        found = parse_session_pad_id(pad.pad_id)
        if found is None or found[0] != notice.summit:
            log.warning("pad %s: dropped a notice to another summit", pad.pad_id)
            return
        pad.notices.send(notice.framed())
