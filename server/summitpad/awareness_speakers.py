"""Which connection of a live pad speaks for which awareness client (presence ownership).

A connection may set or clear the awareness state of the clients it introduced, and only
those: another browser's connection may not overwrite or remove a participant's cursor. The
same browser's connection may (a tab that reconnected before its old connection was seen to
drop). Each connection's own ids are kept on it (`Connection.awareness_ids`), so that they can
be cleared for everybody when it leaves.
"""

from __future__ import annotations

from collections.abc import Iterable

from .awareness import AwarenessStates
from .connection import Connection
from .errors import ProtocolError
from .protocol import AwarenessEntry

# A browser tab has one awareness client id; a few more leave room for reloads and tools.
MAX_AWARENESS_IDS = 8


class AwarenessSpeakers:
    def __init__(self) -> None:
        self._speakers: dict[int, Connection] = {}  # awareness client id -> its connection

    def own(
        self, conn: Connection, entries: Iterable[AwarenessEntry], states: AwarenessStates
    ) -> list[AwarenessEntry]:
        """The entries that are `conn`'s to set. The stock client sends on every awareness
        change it applies, other tabs' too, as it was sent them: such an echo is no newer than
        what the pad holds (`states`) and makes no state the connection's. Nor may a
        connection set or clear a state that another browser's connection here speaks for."""
        own = []
        for entry in entries:
            speaker = self._speakers.get(entry.client_id)
            if speaker is not None and speaker is not conn and (
                speaker.author_id != conn.author_id
            ):
                continue
            if states.is_newer(entry):
                own.append(entry)
        return own

    def claim(self, conn: Connection, entries: list[AwarenessEntry]) -> None:
        """`conn` set (or cleared) the states of `entries` (its own, see `own`): it speaks for
        those clients now. ProtocolError, claiming nothing, past MAX_AWARENESS_IDS."""
        claimed = conn.awareness_ids.union(e.client_id for e in entries)
        if len(claimed) > MAX_AWARENESS_IDS:
            raise ProtocolError(
                f"a connection may speak for at most {MAX_AWARENESS_IDS} awareness clients"
            )
        for entry in entries:
            previous = self._speakers.get(entry.client_id)
            if previous is not None and previous is not conn:
                previous.awareness_ids.discard(entry.client_id)
            if entry.is_removal:
                self._speakers.pop(entry.client_id, None)
                conn.awareness_ids.discard(entry.client_id)
            else:
                self._speakers[entry.client_id] = conn
                conn.awareness_ids.add(entry.client_id)

    def forget(self, conn: Connection) -> None:
        """`conn` left: it speaks for nobody now (its `awareness_ids` stay, for the caller to
        clear the states of)."""
        for client_id in conn.awareness_ids:
            if self._speakers.get(client_id) is conn:
                del self._speakers[client_id]
