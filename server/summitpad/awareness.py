"""Awareness of one pad: who is here, their names, colours and cursors. Ephemeral, never stored.

The server keeps the latest state of every client id it has heard of (from its own connections
and from other nodes), so a joiner gets every current state at once, and a closed connection's
states can be cleared for everybody.

Relaying every awareness message to every connection would cost more than the edits do: each
stock client renews its state every 15 s even when idle, and a typist's cursor moves with every
key. So changes are coalesced per pad, at most `FAST_INTERVAL` apart (and go out at once with
the pad's next edit broadcast), and renewals that only bump a clock wait for the slow lane,
well inside the 30 s after which clients forget a state.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable

from .protocol import AwarenessEntry, encode_awareness, encode_awareness_entries

# Clients renew their state every 15 s and drop states unheard of for 30 s; so do we.
STALE_AFTER = 30.0
FAST_INTERVAL = 0.1  # changed states: at most ten broadcasts a second per pad
SLOW_INTERVAL = 3.0  # renewals of unchanged states


class AwarenessStates:
    __slots__ = ("_states",)

    def __init__(self) -> None:
        self._states: dict[int, tuple[AwarenessEntry, float]] = {}

    def __len__(self) -> int:
        return len(self._states)

    def apply(
        self, entries: Iterable[AwarenessEntry]
    ) -> tuple[list[AwarenessEntry], list[AwarenessEntry]]:
        """Record `entries` by the Yjs rules; return (changed states, mere renewals)."""
        now = time.monotonic()
        changed, renewed = [], []
        for entry in entries:
            known = self._states.get(entry.client_id)
            if self.is_newer(entry):
                if entry.is_removal:
                    self._states.pop(entry.client_id, None)
                else:
                    self._states[entry.client_id] = (entry, now)
                if known is not None and known[0].state == entry.state:
                    renewed.append(entry)
                else:
                    changed.append(entry)
        return changed, renewed

    def is_newer(self, entry: AwarenessEntry) -> bool:
        """Whether `entry` changes what is known (by the Yjs rules), rather than repeating it."""
        known = self._states.get(entry.client_id)
        current_clock = known[0].clock if known else -1
        return entry.clock > current_clock or (
            entry.clock == current_clock and entry.is_removal and known is not None
        )

    def remove(self, client_ids: set[int]) -> list[AwarenessEntry]:
        """Null states that clear `client_ids` for every client."""
        removals = []
        for client_id in client_ids:
            known = self._states.pop(client_id, None)
            if known is not None:
                removals.append(AwarenessEntry(client_id, known[0].clock + 1, b"null"))
        return removals

    def current(self, client_ids: set[int] | None = None) -> list[AwarenessEntry]:
        """Every current state, or those of `client_ids`."""
        self.prune()
        return [
            entry
            for entry, _ in self._states.values()
            if client_ids is None or entry.client_id in client_ids
        ]

    def prune(self) -> None:
        deadline = time.monotonic() - STALE_AFTER
        for client_id in [cid for cid, (_, seen) in self._states.items() if seen < deadline]:
            del self._states[client_id]


class _Lane:
    """Entries waiting to be sent, the latest per client id; local ones also to publish."""

    __slots__ = ("local", "pending", "timer")

    def __init__(self) -> None:
        self.pending: dict[int, AwarenessEntry] = {}
        self.local: dict[int, AwarenessEntry] = {}
        self.timer: asyncio.TimerHandle | None = None

    def add(self, entries: list[AwarenessEntry], *, local: bool) -> None:
        for entry in entries:
            self.pending[entry.client_id] = entry
            if local:
                self.local[entry.client_id] = entry

    def take(self) -> tuple[list[AwarenessEntry], list[AwarenessEntry]]:
        pending, local = list(self.pending.values()), list(self.local.values())
        self.pending.clear()
        self.local.clear()
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        return pending, local


class AwarenessRelay:
    """A pad's awareness: its states, and the coalescing of what is sent and published."""

    def __init__(
        self, broadcast: Callable[[bytes], None], publish: Callable[[bytes], None]
    ) -> None:
        self.states = AwarenessStates()
        self._broadcast = broadcast  # a framed-once message to every connection of the pad
        self._publish = publish  # an awareness update to the other nodes
        self._fast = _Lane()
        self._slow = _Lane()
        self._last_fast = 0.0

    def receive(self, entries: list[AwarenessEntry], *, local: bool) -> list[AwarenessEntry]:
        """Entries from one of this node's connections (local) or from another node; returns
        those taken (not older than what is known: a stock client echoes the states it was
        sent, and an echo is never newer)."""
        changed, renewed = self.states.apply(entries)
        self._queue(changed, renewed, local=local)
        return changed + renewed

    def remove(self, client_ids: set[int]) -> None:
        """A connection closed: clear its states for everybody."""
        self._queue(self.states.remove(client_ids), [], local=True)

    def snapshot(self, client_ids: set[int] | None = None) -> bytes | None:
        """An awareness update holding every current state (of `client_ids`), or None."""
        entries = self.states.current(client_ids)
        return encode_awareness_entries(entries) if entries else None

    def flush(self) -> None:
        """Send pending changes now (with an edit broadcast that is going out anyway)."""
        if self._fast.pending:
            self._send(self._fast)
            self._last_fast = time.monotonic()

    def close(self) -> None:
        for lane in (self._fast, self._slow):
            lane.take()

    def _queue(
        self, changed: list[AwarenessEntry], renewed: list[AwarenessEntry], *, local: bool
    ) -> None:
        loop = asyncio.get_running_loop()
        if changed:
            self._fast.add(changed, local=local)
            if self._fast.timer is None:
                delay = max(0.0, self._last_fast + FAST_INTERVAL - time.monotonic())
                self._fast.timer = loop.call_later(delay, self._flush_fast)
        if renewed:
            self._slow.add(renewed, local=local)
            if self._slow.timer is None:
                self._slow.timer = loop.call_later(SLOW_INTERVAL, self._send, self._slow)

    def _flush_fast(self) -> None:
        self._fast.timer = None
        self.flush()

    def _send(self, lane: _Lane) -> None:
        if lane is self._slow:
            self.states.prune()
        pending, local = lane.take()
        if pending:
            self._broadcast(encode_awareness(encode_awareness_entries(pending)))
        if local:
            self._publish(encode_awareness_entries(local))
