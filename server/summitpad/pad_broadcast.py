"""What a live pad sends to all its connections, and when.

Everything broadcast until the pad's next flush goes out in one write per connection, and the
updates among it, merged, in one message: each client parses and applies one update instead of
one per keystroke. The flush comes in the same loop turn, unless the pad's last one was less
than `flush_gap` ago. A pad with hundreds of typists then costs each of its connections a
bounded number of messages a second, at the price of a few milliseconds; a pad with a few
dozen connections, or typed into less than a few hundred times a second, is never held back.
"""

from __future__ import annotations

import asyncio

from . import protocol
from .connection import Connection, frame
from .metrics import Metrics
from .update_merge import merge

# The shortest time between two flushes: 50 us per connection, so that a busy pad's fan-out
# makes at most 20,000 writes a second on a node however fast its typists type; at most 25 ms,
# well under the time between two keystrokes of one typist.
FLUSH_GAP_PER_CONNECTION = 50e-6
MAX_FLUSH_GAP = 0.025


def flush_gap(connections: int) -> float:
    """The shortest time between two flushes of a pad with `connections` connections."""
    return min(MAX_FLUSH_GAP, FLUSH_GAP_PER_CONNECTION * connections)


class PadBroadcast:
    """The messages waiting for a pad's next flush, to the connections in `connections`."""

    def __init__(self, connections: set[Connection], metrics: Metrics) -> None:
        self.connections = connections  # the pad's own set: joins and leaves show here
        self._metrics = metrics
        self._out: list[bytes] = []  # framed messages
        self._updates: list[bytes] = []  # updates broadcast since the last framed message
        self._flush: asyncio.Handle | None = None
        self._last_flush = 0.0  # loop time

    def message(self, message: bytes) -> None:
        """Send `message` to every connection at the next flush, framed once."""
        self._merge_updates()  # what was broadcast before it goes before it
        self._out.append(frame(message))
        self._schedule()

    def update(self, update: bytes) -> None:
        """Send a document update to every connection at the next flush, merged with the
        updates next to it."""
        self._metrics.updates_out.inc()
        self._updates.append(update)
        self._schedule()

    def _schedule(self) -> None:
        if self._flush is not None:
            return
        loop = asyncio.get_running_loop()
        wait = self._last_flush + flush_gap(len(self.connections)) - loop.time()
        if wait > 0:
            self._flush = loop.call_later(wait, self._send)
        else:
            self._flush = loop.call_soon(self._send)

    def _merge_updates(self) -> None:
        pending = self._updates
        if pending:
            merged = merge(pending)
            self._out.append(frame(protocol.encode_update(merged)))
            pending.clear()

    def _send(self) -> None:
        self._flush = None
        self._last_flush = asyncio.get_running_loop().time()
        self._merge_updates()
        if not self._out:
            return
        data = self._out[0] if len(self._out) == 1 else b"".join(self._out)
        self._out.clear()
        self._metrics.broadcast_bytes.inc(len(data) * len(self.connections))
        for conn in self.connections:
            conn.send(data)
