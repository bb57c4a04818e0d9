"""One websocket of one browser tab: its bounded send queue, its rate limit, its awareness ids,
and the participant (author id) it speaks for.

Broadcasts write the same pre-framed bytes straight to every connection's transport: a message
is encoded and framed once per pad, never once per connection. The transport's write buffer is
the connection's send queue; when it grows past the limit the client is too slow and is closed.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from typing import Any

from aiohttp import web

from .errors import CLOSE_SLOW_CONSUMER, RateLimited, SummitpadError
from .metrics import DETACHED, Metrics

log = logging.getLogger(__name__)

_FIN_BINARY = 0x82
_FIN_CLOSE = 0x88
_ABORT_AFTER_CLOSE = 5.0
_BYTES_PER_TOKEN = 16 * 1024


def message_cost(size: int) -> int:
    """Tokens a message of `size` bytes costs: one, plus one per 16 KiB, so a client cannot
    make the server check megabytes a second within its message count."""
    return 1 + size // _BYTES_PER_TOKEN


def frame(message: bytes, opcode: int = _FIN_BINARY) -> bytes:
    """An unmasked, uncompressed server-to-client websocket frame holding `message`."""
    length = len(message)
    if length < 126:
        header = struct.pack("!BB", opcode, length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", opcode, 126, length)
    else:
        header = struct.pack("!BBQ", opcode, 127, length)
    return header + message


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up."""

    __slots__ = ("_burst", "_rate", "_stamp", "_tokens")

    def __init__(self, rate: float, burst: int) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._stamp = time.monotonic()

    def take(self, tokens: int = 1) -> bool:
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if self._tokens >= tokens:
            self._tokens -= tokens
            return True
        return False


class Connection:
    __slots__ = (
        "_bucket",
        "_metrics",
        "_send_limit",
        "_transport",
        "_ws",
        "author_id",
        "awareness_ids",
        "closed",
        "closing",
        "peer",
        "read_only",
        "sent_recently",
    )

    def __init__(
        self,
        ws: web.WebSocketResponse,
        transport: asyncio.Transport | None,
        *,
        peer: str,
        send_limit: int,
        rate: float,
        burst: int,
        read_only: bool = False,
        author_id: str = "",
        metrics: Metrics = DETACHED,
    ) -> None:
        self._ws = ws
        self._metrics = metrics
        self._transport = transport
        self._send_limit = send_limit
        self._bucket = TokenBucket(rate, burst)
        self.peer = peer
        self.read_only = read_only
        self.author_id = author_id  # the participant whose edits these are
        self.awareness_ids: set[int] = set()
        self.sent_recently = False
        self.closed = False
        self.closing: asyncio.Future[Any] | None = None

    def __repr__(self) -> str:
        return f"<Connection {self.peer}>"

    def send(self, framed: bytes) -> None:
        """Queue one framed message; close the connection if its queue is over the limit."""
        if self.closed:
            return
        transport = self._transport
        if transport is None or transport.is_closing():
            self.closed = True
            return
        if transport.get_write_buffer_size() > self._send_limit:
            self._close_slow()
            return
        transport.write(framed)
        self.sent_recently = True

    def send_message(self, message: bytes) -> None:
        self.send(frame(message))

    def check_rate(self, size: int) -> None:
        """Charge one message of `size` bytes (see `message_cost`)."""
        if not self._bucket.take(message_cost(size)):
            raise RateLimited("more messages than the per-connection limit allows")

    def close(self, error: SummitpadError, *, exc_info: bool = False) -> None:
        """Close with the error's code and reason, from any task; logged once, with the
        traceback of the exception being handled if `exc_info` (an error of ours)."""
        if self.closed:
            return
        self.closed = True
        code = error.close_code
        log.log(
            logging.ERROR if exc_info else logging.INFO,
            "closing %s: %s (%s)", self.peer, error, code,
            exc_info=exc_info, extra={"peer": self.peer, "close_code": code},
        )
        self._metrics.closed_with(code)
        reason = str(error).encode()[:120]
        self.closing = asyncio.ensure_future(
            self._ws.close(code=error.close_code, message=reason)
        )

    def _close_slow(self) -> None:
        # The client is not reading: a polite close would wait behind megabytes it will never
        # read. Queue the close frame, then cut the connection if it does not go by itself.
        self.closed = True
        log.warning(
            "closing %s: send queue over %d bytes (%s)", self.peer, self._send_limit,
            CLOSE_SLOW_CONSUMER, extra={"peer": self.peer, "close_code": CLOSE_SLOW_CONSUMER},
        )
        self._metrics.send_queue_drops.inc()
        self._metrics.closed_with(CLOSE_SLOW_CONSUMER)
        transport = self._transport
        assert transport is not None
        transport.write(frame(struct.pack("!H", CLOSE_SLOW_CONSUMER) + b"too slow", _FIN_CLOSE))
        loop = asyncio.get_running_loop()
        loop.call_later(_ABORT_AFTER_CLOSE, transport.abort)
