"""Awareness of one pad: who is here, their names, colours and cursors. Ephemeral, never stored.

The server keeps the latest state of every client id it has heard of (from its own connections
and from other nodes), so a joiner gets every current state at once, and a closed connection's
states can be cleared for everybody.
"""

from __future__ import annotations

import time

from .protocol import AwarenessEntry

# Clients renew their state every 15 s and drop states unheard of for 30 s; so do we.
STALE_AFTER = 30.0


class AwarenessStates:
    __slots__ = ("_states",)

    def __init__(self) -> None:
        self._states: dict[int, tuple[AwarenessEntry, float]] = {}

    def __len__(self) -> int:
        return len(self._states)

    def apply(self, entries: list[AwarenessEntry]) -> list[AwarenessEntry]:
        """Record `entries` by the Yjs rules; return the ones that changed something."""
        now = time.monotonic()
        changed = []
        for entry in entries:
            known = self._states.get(entry.client_id)
            current_clock = known[0].clock if known else -1
            if entry.clock > current_clock or (
                entry.clock == current_clock and entry.is_removal and known is not None
            ):
                if entry.is_removal:
                    self._states.pop(entry.client_id, None)
                else:
                    self._states[entry.client_id] = (entry, now)
                changed.append(entry)
        return changed

    def remove(self, client_ids: set[int]) -> list[AwarenessEntry]:
        """Null states that clear `client_ids` for every client."""
        removals = []
        for client_id in client_ids:
            known = self._states.pop(client_id, None)
            if known is not None:
                removals.append(AwarenessEntry(client_id, known[0].clock + 1, b"null"))
        return removals

    def current(self) -> list[AwarenessEntry]:
        self.prune()
        return [entry for entry, _ in self._states.values()]

    def prune(self) -> None:
        deadline = time.monotonic() - STALE_AFTER
        for client_id in [cid for cid, (_, seen) in self._states.items() if seen < deadline]:
            del self._states[client_id]
