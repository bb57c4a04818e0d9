"""What one participant may use of this node: connections, and messages over all of them.

A participant is one browser's signed cookie (`PARTICIPANT_ID`, web_security.py), not an
address: a whole summit sits behind one venue NAT. Each connection has its own rate limit
(connection.py); without a limit per participant, a browser opening forty tabs, or a script
replaying one browser's cookie over many sockets, would have forty times that. So on top of it
every participant has, on this node, at most `max_connections` connections open at once and one
token bucket that all of them draw from, whatever pads they are on.

Both are per node: a participant whose tabs a load balancer spreads over three nodes may hold
three times as much. A client that sends no cookie (a script, the load generator) is a new
participant on every connection, so these limits bind browsers; the per-connection limits bind
everything.

A participant's bucket outlives its last connection until it has filled up again, so that
closing every tab and coming back does not buy a fresh burst.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web

from .connection import TokenBucket, message_cost
from .errors import RateLimited, TooManyConnections

_SWEEP_EVERY = 30.0  # seconds between looks for idle participants to forget


class ParticipantLimits:
    def __init__(self, *, max_connections: int, rate: float, burst: int) -> None:
        self._max_connections = max_connections
        self._rate = rate
        self._burst = burst
        self._refill = burst / rate  # seconds an emptied bucket takes to fill up again
        self._connections: dict[str, int] = {}
        self._buckets: dict[str, TokenBucket] = {}
        self._idle_since: dict[str, float] = {}  # participants with no connection: since when
        self._swept = time.monotonic()

    def connections(self, participant: str) -> int:
        """Connections `participant` holds open on this node."""
        return self._connections.get(participant, 0)

    @contextmanager
    def connected(self, participant: str) -> Iterator[None]:
        """Count one connection of `participant` while the block runs; TooManyConnections,
        counting nothing, if it holds `max_connections` already."""
        held = self._connections.get(participant, 0)
        if held >= self._max_connections:
            raise TooManyConnections(
                f"this browser has {held} connections open on this node, the most allowed: "
                "close a tab and reload"
            )
        self._connections[participant] = held + 1
        self._idle_since.pop(participant, None)
        if participant not in self._buckets:
            self._buckets[participant] = TokenBucket(self._rate, self._burst)
        try:
            yield
        finally:
            self._leave(participant)

    def check_rate(self, participant: str, size: int) -> None:
        """Charge one message of `size` bytes (as connection.py charges it) to the participant's
        bucket; RateLimited, naming the participant's limit, when it is empty."""
        bucket = self._buckets.get(participant)
        if bucket is not None and not bucket.take(message_cost(size)):
            raise RateLimited(
                "more messages than the per-participant limit allows (over all of this "
                "browser's connections)"
            )

    def __len__(self) -> int:
        """Participants this node remembers (connected, or with a bucket still refilling)."""
        return len(self._buckets)

    def _leave(self, participant: str) -> None:
        held = self._connections.get(participant, 0) - 1
        now = time.monotonic()
        if held > 0:
            self._connections[participant] = held
        else:
            self._connections.pop(participant, None)
            self._idle_since[participant] = now
        if now - self._swept >= _SWEEP_EVERY:
            self._sweep(now)

    def _sweep(self, now: float) -> None:
        """Forget the participants whose buckets have been idle long enough to be full."""
        self._swept = now
        full = [p for p, since in self._idle_since.items() if now - since >= self._refill]
        for participant in full:
            del self._idle_since[participant]
            self._buckets.pop(participant, None)


PARTICIPANTS = web.AppKey("participants", ParticipantLimits)
