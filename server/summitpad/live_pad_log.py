"""A live pad's side of its pad log: appending, catching up and rebuilding.

The writer of a live pad (live_pad.py) hands its batches here to be appended, and the entries
other nodes wrote reach the document through here. Both keep one invariant: between two
batches of the writer the document equals the stored pad up to the pad's `last_id`. When a
gap shows in the log ids (an entry whose predecessor we never saw), the gap is read from the
log before anything else; when a refused change may have left part of itself in the
document, the document is rebuilt from the store and the connections get what they lack.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .errors import PadDeleted, StoreUnavailable, UpdateRejected
from .metrics import Metrics
from .protocol import decode_state_vector, write_varuint
from .replica_wait import NotReplicated, Unconfirmed
from .store import PadState, parse_id
from .update_check import check_update

if TYPE_CHECKING:
    from .live_pad import LivePad

log = logging.getLogger(__name__)

EMPTY_ID = "0-0"  # the log id before every entry
_RETRY_FIRST, _RETRY_MAX = 0.05, 2.0
_EMPTY_UPDATE = b"\x00\x00"  # no structs, no deletions


class LivePadLog:
    """Keeps `pad.doc` level with the pad log. `apply_state`, `new_doc` and
    `broadcast_update` are the pad's own: apply what was read, start an empty document, send
    an update to every connection."""

    def __init__(
        self,
        pad: LivePad,
        *,
        apply_state: Callable[[PadState], object],
        new_doc: Callable[[], None],
        broadcast_update: Callable[[bytes], None],
        metrics: Metrics,
    ) -> None:
        self._pad = pad
        self._apply_state = apply_state
        self._new_doc = new_doc
        self._broadcast_update = broadcast_update
        self._metrics = metrics
        self.tainted = False  # a refused change may have left part of itself in the document
        # The clients (Yjs client ids) of what refused changes left in the document; None:
        # unknown, so the rebuild sends the whole document.
        self._unsent_clients: set[int] | None = set()

    # -- the writer's batches -----------------------------------------------------------------

    async def append(self, entries: list[tuple[str, bytes]]) -> bool:
        """Append (author, update) entries to the log, retrying until Valkey answers, and read
        whatever another node wrote just before them; False if the pad was deleted."""
        pad = self._pad
        seen = pad.last_id
        delay = _RETRY_FIRST
        # Written to the primary by an earlier attempt but not confirmed by its replicas: the
        # retry names it, so that it is confirmed rather than written twice (replica_wait.py).
        unconfirmed: Unconfirmed | None = None
        while True:
            if pad.gone:
                return False
            started = time.perf_counter()
            try:
                appended = await pad.store.append(
                    pad.keys, entries, seen=pad.last_id, unconfirmed=unconfirmed
                )
                break
            except PadDeleted:
                log.info("pad %s: deleted before its edits were written", pad.pad_id)
                pad.deleted()
                return False
            except StoreUnavailable as exc:
                if isinstance(exc, NotReplicated):
                    unconfirmed = exc.unconfirmed
                if not pad.unsaved:
                    log.warning("pad %s: not saved, retrying: %s", pad.pad_id, exc)
                    pad.unsaved = True
                    pad.tell_store()
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX)
        self._metrics.valkey_write_seconds.observe(time.perf_counter() - started)
        if pad.unsaved:
            log.info("pad %s: saved again", pad.pad_id)
            pad.unsaved = False
            pad.tell_store()
        # Another node may have written between our last known entry and ours: read it first.
        # Until that read succeeds, last_id stays before the gap (so no snapshot claims it).
        if appended.previous_id == pad.last_id or await self.catch_up(skip=appended.entry_id):
            if parse_id(appended.entry_id) > parse_id(pad.last_id):
                pad.last_id = appended.entry_id
        else:
            pad.catch_up()
        pad.compaction.log_length = appended.log_length
        if parse_id(appended.previous_id) < parse_id(seen):
            return await self._write_back(seen, appended.previous_id)
        return True

    async def _write_back(self, seen: str, stored: str) -> bool:
        """The log ended before an entry this node had seen (it always keeps its last entry):
        Valkey lost writes, from a restore of an older backup, a crash of its machine under
        `appendfsync everysec`, or keys removed by hand. The entry just written depends on
        edits that are now only in memory, so a pad loaded from Valkey would lack them and
        everything after them. Write the whole document: Yjs skips what is already there."""
        pad = self._pad
        log.warning(
            "pad %s: Valkey's log ends at %s, before %s that this node has seen: writes were "
            "lost; writing the whole document again", pad.pad_id, stored, seen,
        )
        return await self.append([("", pad.doc.get_update())])

    async def write_back_if_lost(self) -> None:
        """Before the pad is unloaded: if Valkey lost writes and nobody edited the pad on this
        node since, this node's copy is the only whole one left; write it back."""
        pad = self._pad
        stored = await pad.store.stored_upto(pad.keys)
        if parse_id(stored) < parse_id(pad.last_id):
            await self._write_back(pad.last_id, stored)

    # -- other nodes' entries -----------------------------------------------------------------

    async def apply_remote(self, previous_id: str, entry_id: str, update: bytes) -> bool:
        """Apply an entry another node wrote; True if it changed the document (its step 2
        for fresh joiners is then out of date)."""
        pad = self._pad
        if parse_id(entry_id) <= parse_id(pad.last_id):
            return False  # already applied, through a catch-up
        if previous_id != pad.last_id:
            await self.catch_up()
            return False
        try:
            pad.doc.apply_update(update)
        except Exception:
            log.exception("pad %s: a logged update %s does not apply", pad.pad_id, entry_id)
            return False
        pad.last_id = entry_id
        pad.size.grew(len(update))
        pad.text_changed = True
        self._broadcast_update(update)
        return True

    async def catch_up(self, skip: str | None = None) -> bool:
        """Apply what the log holds past last_id (except entry `skip`); False if unreadable."""
        pad = self._pad
        try:
            state = await pad.store.read(pad.keys, after=pad.last_id)
        except StoreUnavailable as exc:
            log.warning("pad %s: cannot catch up now: %s", pad.pad_id, exc)
            return False
        if state.deleted and pad.last_id != EMPTY_ID:
            log.info("pad %s: deleted (its tombstone is stored)", pad.pad_id)
            pad.deleted()
            return True
        if skip is not None:
            state = PadState(
                state.snapshot, state.snapshot_upto, [u for u in state.updates if u[0] != skip]
            )
        if state.snapshot is not None or state.updates:
            before = pad.doc.get_state()
            self._apply_state(state)
            pad.text_changed = True
            self._broadcast_update(pad.doc.get_update(before))
        return True

    # -- rebuilding after a refused change ----------------------------------------------------

    def taint(self, entered: bytes | None) -> None:
        """A change was refused after it may have changed the document; `entered` is what
        of it did (None: nothing, as for an update that waits for edits we lack). The
        document is rebuilt after the batch (`rebuild_if_tainted`)."""
        self.tainted = True
        if entered is None or self._unsent_clients is None:
            return
        try:
            self._unsent_clients.update(check_update(entered))
        except UpdateRejected:
            self._unsent_clients = None

    async def rebuild_if_tainted(self) -> None:
        """Replace the document with the stored pad, and send the connections what they lack.

        What the connections hold is at most what was broadcast, and everything broadcast was
        in the old document. So the rebuilt document's update past the old one's state vector
        is all they can lack, with two corrections. Deletions are in no state vector, but
        `get_update(state)` always carries the whole delete set, so the deletions the store
        holds reach them. And the clock range of what a refused change left in the old
        document was never broadcast: another node may have stored an entry with those ids,
        so those clients are taken out of the state vector and sent whole. After a resync
        close (4509) the refused update never entered the document: the update is just the
        entries other nodes wrote that this node had not applied yet. (A joiner still waiting
        for its sync step 2 gets that from the rebuilt document.)"""
        if not self.tainted:
            return
        pad = self._pad
        while True:
            try:
                state = await pad.store.read(pad.keys)
                break
            except StoreUnavailable as exc:
                log.warning("pad %s: cannot rebuild yet: %s", pad.pad_id, exc)
                await asyncio.sleep(_RETRY_MAX)
        sent = self._sent_state()
        self._new_doc()
        pad.last_id = EMPTY_ID
        self._apply_state(state)
        self.tainted = False
        self._unsent_clients = set()
        # Other nodes' entries read here will not be broadcast when their messages arrive.
        update = pad.doc.get_update(sent)
        if update != _EMPTY_UPDATE:
            self._broadcast_update(update)
        log.info(
            "pad %s: rebuilt from the store after a rejected update; sent the %d bytes the "
            "connections lacked", pad.pad_id, len(update) if update != _EMPTY_UPDATE else 0,
        )

    def _sent_state(self) -> bytes:
        """The state vector of what the connections may hold: the document's, without the
        clients a refused change reached (see `rebuild_if_tainted`)."""
        if self._unsent_clients is None:
            return b"\x00"
        clocks = decode_state_vector(self._pad.doc.get_state())
        for client in self._unsent_clients:
            clocks.pop(client, None)
        return write_varuint(len(clocks)) + b"".join(
            write_varuint(client) + write_varuint(clock) for client, clock in clocks.items()
        )
