"""The live pad: one pad's document, connections and awareness on this process.

Durable before visible. Every change to the document goes through one task per pad, the
writer, which takes everything that arrived since it last ran (one batch per event-loop turn
under light load, bigger batches under heavy load) and, in order:

1. applies other nodes' updates (reading the log to fill any gap in the log ids it has seen);
2. applies each client update to the document, which validates it: one that does not decode
   closes its connection and goes no further;
3. appends the batch to the pad log and publishes it, in one Redis script, retrying until
   Valkey answers: one entry per run of one author's changes, in the order applied;
4. only then broadcasts the batch, encoded and framed once, to every connection, sender
   included;
5. answers joiners: sync step 2 from a document that now holds only durable edits.

Between two runs of the writer the document equals the stored pad up to `last_id`, which is
what makes compaction a plain encode of the document. Steps 1 and 3, and the rebuild after a
refused change, are the pad log's side (live_pad_log.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from pycrdt import Doc, Text

from . import protocol
from .admin_broadcast import PadNotices
from .author_names import AuthorNames
from .awareness import AwarenessRelay
from .awareness_speakers import AwarenessSpeakers
from .chat import PadChat
from .compaction import Compaction
from .connection import Connection, frame
from .doc_changes import DocChanges
from .errors import (
    Forbidden,
    PadDeleted,
    ProtocolError,
    StoreUnavailable,
    SummitpadError,
    UpdateRejected,
)
from .keys import PadKeys
from .live_pad_log import EMPTY_ID, LivePadLog
from .metrics import DETACHED, Metrics
from .pad_broadcast import PadBroadcast
from .pad_rules import unclaimed_pad
from .pad_size import DEFAULT_MAX_PAD_SIZE, PadSize
from .protocol import Message, SyncMessage, SyncType
from .store import PadState, PadStore, parse_id
from .update_merge import merge

log = logging.getLogger(__name__)

TEXT_NAME = "content"
# Bytes of client messages a pad holds for its writer (updates, and the joins and step 1s of
# clients that reconnect). They pile up only while the writer waits for Valkey (an outage):
# past this, a message closes its connection (1013, try again later) and the client keeps its
# edits for its resync, so memory stays bounded however long the outage lasts.
HELD_BYTES_LIMIT = 4 * 1024 * 1024
# What a join or step 1 in the inbox costs besides its payload, about. An update counts its
# payload alone: a client flooding at thousands a second (a replayed trace, rate limits
# lifted) keeps many queued behind a batch being written, and its clock is what bounds it.
ENTRY_BYTES = 200

# Reasons sent with the auth message when a pad turns read-only, and when it is reopened.
READ_ONLY = "read-only"
READ_WRITE = "read-write"
# The reason connections are closed with (4410) when the pad is deleted.
DELETED = "the pad was deleted"


class LivePad:
    def __init__(
        self,
        pad_id: str,
        keys: PadKeys,
        store: PadStore,
        *,
        compact_after: int,
        publish_awareness: Callable[[LivePad, bytes], None],
        metrics: Metrics = DETACHED,
        on_deleted: Callable[[LivePad], None] | None = None,
        max_size: int = DEFAULT_MAX_PAD_SIZE,
    ) -> None:
        self.pad_id = pad_id
        self._on_deleted = on_deleted
        self.gone = False  # deleted: takes nothing in and writes nothing (see `deleted`)
        self._metrics = metrics
        self.keys = keys
        self.store = store
        self.size = PadSize(max_size)  # the pad's encoded size, tracked (see pad_size.py)
        self._new_doc()
        self.connections: set[Connection] = set()
        self.out = PadBroadcast(self.connections, metrics)
        self.author_names = AuthorNames(store.client, keys)
        self.awareness = AwarenessRelay(self._broadcast, lambda p: publish_awareness(self, p))
        self.speakers = AwarenessSpeakers()
        self.chat = PadChat(pad_id, keys, store.client, store.node_id)
        self.notices = PadNotices()
        self.last_id = EMPTY_ID
        self.unsaved = False  # True while a batch waits for Valkey
        self.users = 0  # connections holding the pad, counted by the registry
        self._inbox: list[tuple[Any, ...]] = []
        self._held_bytes = 0  # of what clients sent into the inbox (see _hold_and_enqueue)
        # When the first client update of the inbox, and of the batch, came in (0.0: none).
        self._updates_since = 0.0
        self._batch_since = 0.0
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()  # set while the writer holds nothing unwritten
        self._idle.set()
        self._fresh_step2: bytes | None = None  # framed step 2 for joiners with an empty doc
        self.compaction = Compaction(
            store, keys, after=compact_after, metrics=metrics,
            ask_writer=lambda: self._enqueue(("compact",)),
        )
        self._pad_log = LivePadLog(
            self, apply_state=self._apply_state, new_doc=self._new_doc,
            broadcast_update=self._broadcast_update, metrics=metrics,
        )
        self.read_only = False  # the pad takes no edits from clients (a locked session)
        self.text_changed = False  # edited since its text was last handed out for search
        self._writer: asyncio.Task[None] | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"<LivePad {self.pad_id} {len(self.connections)} connections>"

    def _new_doc(self) -> None:
        self.doc: Doc[Any] = Doc()
        self._changes = DocChanges(self.doc, self.doc.get(TEXT_NAME, type=Text))
        self.size.reset(0, exact=True)

    # -- life cycle ---------------------------------------------------------------------------

    async def load(self, template: bytes | None = None, *, unclaimed: str | None = None) -> None:
        """Build the document from the snapshot and the log tail, then start the writer.
        A pad never written before starts with `template`, if there is one; NotFound if it is
        `unclaimed` (pad_rules.py)."""
        state = await self.store.read(self.keys)
        if unclaimed is not None and state.snapshot is None and not state.updates:
            raise unclaimed_pad(unclaimed)
        if template is not None and state.snapshot is None and not state.updates:
            if await self.store.seed(self.keys, template):
                log.info("pad %s: started from the template", self.pad_id)
                self.text_changed = True
            state = await self.store.read(self.keys)
        if self._apply_state(state) and (whole := state.only_update) is not None:
            # Stored as one update (compacted, or written once), the pad as stored is the step
            # 2 for fresh joiners: the document need not be encoded again.
            self._fresh_step2 = frame(protocol.encode_step2(whole))
        self.compaction.folded_upto = state.snapshot_upto
        self.compaction.log_length = len(state.updates)
        self._writer = asyncio.create_task(self._run(), name=f"writer {self.pad_id}")

    async def close(self) -> None:
        """Stop the writer after it has written everything it holds."""
        await self.drain()
        self.awareness.close()
        await self.author_names.close()
        await self.chat.close()
        self._closed = True
        self._wake.set()
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)

    async def drain(self) -> None:
        """Wait until every update received so far is durable and broadcast."""
        await self._idle.wait()

    # -- input from connections ---------------------------------------------------------------

    def join(self, conn: Connection) -> None:
        if self.gone:
            conn.close(PadDeleted(DELETED))
            return
        try:
            self._hold_and_enqueue(("join", conn))
        except StoreUnavailable as exc:
            conn.close(exc)

    def leave(self, conn: Connection) -> None:
        self.connections.discard(conn)
        self.notices.leave(conn)
        if conn.awareness_ids:
            self.speakers.forget(conn)
            self.awareness.remove(conn.awareness_ids)
            conn.awareness_ids.clear()

    def receive(self, conn: Connection, message: Message) -> None:
        """Handle one decoded message; raises ProtocolError for bad awareness payloads and
        chat messages, Forbidden for what this connection may not do."""
        if self.gone:
            return  # the connection is being closed
        if isinstance(message, SyncMessage):
            if message.kind is SyncType.STEP1:
                self._hold_and_enqueue(("step1", conn, message.payload))
            elif conn.read_only:
                # A viewer's client answers the server's step 1 with a step 2 like any
                # other: that is dropped. An update is an attempt to edit: refused.
                if message.kind is SyncType.UPDATE:
                    raise Forbidden(READ_ONLY)
            elif not self.read_only:
                self._hold_and_enqueue(("update", conn, message.payload))
                if not self._updates_since:
                    self._updates_since = time.perf_counter()
        elif isinstance(message, protocol.AwarenessMessage):
            entries = self.speakers.own(
                conn, protocol.decode_awareness(message.payload), self.awareness.states
            )
            self.speakers.claim(conn, entries)
            taken = self.awareness.receive(entries, local=True)
            # Only the connection's own states name its author: not the echoes of others'.
            self.author_names.seen(conn.author_id, (e.state for e in taken))
        elif isinstance(message, protocol.QueryAwarenessMessage):
            self._send_awareness_snapshot(conn)
        elif isinstance(message, protocol.ChatMessage):
            if conn.read_only:
                raise Forbidden(READ_ONLY)
            self.chat.receive(conn, message, locked=self.read_only)
        elif isinstance(message, protocol.NoticeMessage):
            self.notices.receive(conn, message)
            if self.unsaved:
                conn.send(self._store_notice())
        # Auth messages only ever go from server to client: a client's is ignored.

    def tell_store(self) -> None:
        """Tell every connection that takes notices whether this node can store the pad's
        edits now (`unsaved`: Valkey does not answer): pages say *not saved* at once, also to
        those who did not type."""
        self.notices.send(self._store_notice())

    def _store_notice(self) -> bytes:
        return frame(protocol.encode_notice({"kind": "store", "saved": not self.unsaved}))

    # -- input from other nodes ---------------------------------------------------------------

    def receive_remote_update(self, previous_id: str, entry_id: str, update: bytes) -> None:
        self._enqueue(("remote", previous_id, entry_id, update))

    def receive_remote_awareness(self, payload: bytes) -> None:
        try:
            entries = protocol.decode_awareness(payload)
        except ProtocolError:
            log.warning("pad %s: dropped a malformed awareness message from a node", self.pad_id)
            return
        self.awareness.receive(entries, local=False)

    def receive_remote_chat(self, entry_id: str, payload: bytes) -> None:
        self.chat.receive_remote(entry_id, payload)

    def local_awareness(self) -> bytes | None:
        """The awareness states of this node's connections, encoded; None if there are none."""
        return self.awareness.snapshot(set().union(*(c.awareness_ids for c in self.connections)))

    def catch_up(self) -> None:
        """Read whatever the log holds past `last_id` (after a pub/sub outage, say)."""
        self._enqueue(("catch_up",))

    def deleted(self) -> None:
        """The pad was deleted (see pad_deletion.py): close every connection with 4410, throw
        away what is not written yet, write nothing from now on, and have the registry forget
        the pad. Calling it again does nothing."""
        if self.gone:
            return
        self.gone = True
        error = PadDeleted(DELETED)
        closing = len(self.connections)
        for conn in list(self.connections):
            conn.close(error)
        self.connections.clear()
        self.notices.members.clear()
        self._refuse(self._inbox)
        self._inbox = []
        self._wake.set()
        log.info("pad %s: deleted; %d connections closed", self.pad_id, closing)
        if self._on_deleted is not None:
            self._on_deleted(self)

    @staticmethod
    def _refuse(items: list[tuple[Any, ...]]) -> None:
        """Close the connections and fail the server edits waiting in `items` (the pad was
        deleted)."""
        for item in items:
            if item[0] in ("join", "step1", "update"):
                item[1].close(PadDeleted(DELETED))
            elif item[0] == "edit" and not item[3].done():
                item[3].set_exception(PadDeleted(DELETED))

    # -- edits made by the server -------------------------------------------------------------

    async def edit(self, author: str, change: Callable[[Text], None]) -> None:
        """Run `change` on the pad's text in one transaction, as an edit by `author`; returns
        once it is durable and sent to every connection. Raises Forbidden while the pad is
        read-only, and whatever `change` raises (then nothing is changed)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._enqueue(("edit", author, change, done))
        await done

    # -- the writer ---------------------------------------------------------------------------

    def _hold_and_enqueue(self, item: tuple[Any, ...]) -> None:
        """Queue a client's item for the writer, its `_held_cost` counted into the inbox;
        StoreUnavailable (1013: the client comes back later), queueing nothing, past
        HELD_BYTES_LIMIT. The inbox only grows while the writer waits for Valkey, and every
        client that reconnects meanwhile adds its join and step 1."""
        cost = _held_cost(item)
        if self._held_bytes + cost > HELD_BYTES_LIMIT:
            raise StoreUnavailable(
                f"the pad holds {self._held_bytes} bytes of edits it cannot save yet"
            )
        self._held_bytes += cost
        self._enqueue(item)

    def _enqueue(self, item: tuple[Any, ...]) -> None:
        self._inbox.append(item)
        self._idle.clear()
        self._wake.set()

    async def _run(self) -> None:
        while not self._closed:  # a cancellation can get lost inside redis-py on Python 3.11
            await self._wake.wait()
            self._wake.clear()
            batch, self._inbox = self._inbox, []
            self._held_bytes = 0
            self._batch_since, self._updates_since = self._updates_since, 0.0
            try:
                await self._process(batch)
            except Exception:
                log.exception("pad %s: writer failed on a batch", self.pad_id)
            if not self._inbox:
                self._idle.set()

    async def _process(self, batch: list[tuple[Any, ...]]) -> None:
        if self.gone:
            self._refuse(batch)
            return
        runs: list[tuple[str, list[bytes]]] = []  # (author, changes), in the order applied
        edited: list[asyncio.Future[None]] = []
        accepted = pending = 0  # client updates taken, and the bytes of every change taken
        refused: set[Connection] = set()  # closed for an update of this batch
        incoming = sum(len(item[2]) for item in batch if item[0] == "update")
        self.size.refresh(incoming, self.doc.get_update)
        for index, item in enumerate(batch):
            if self._pad_log.tainted:
                # A refused change may have left part of itself in the document: what follows
                # waits for the rebuild, else its update (or the server's attribution of it)
                # could depend on those remains, which the log never gets.
                batch = self._defer(batch, index)
                break
            kind = item[0]
            if kind == "remote":
                if await self._pad_log.apply_remote(*item[1:]):
                    self._fresh_step2 = None
            elif kind == "catch_up":
                await self._pad_log.catch_up()
            elif kind == "update" and not self.read_only:
                if item[1] in refused:
                    continue  # it resyncs, or stops: its next updates may build on this one
                if not self.size.admits(item[2], pending):
                    item[1].close(self.size.refusal())
                    continue
                effective = self._validate(item[1], item[2], refused)
                if effective is not None:
                    add_to_runs(runs, item[1].author_id, effective)
                    accepted += 1
                    pending += len(effective)
            elif kind == "edit":
                effective = self._edit(item[2], item[3], pending)
                if effective is not None:
                    add_to_runs(runs, item[1], effective)
                    pending += len(effective)
                edited.append(item[3])
        if accepted:
            self._metrics.updates_in.inc(accepted)
        if runs:
            await self._write([(author, merge(changes)) for author, changes in runs])
        if self.gone:  # deleted meanwhile: nobody joins, no edit counts, nothing is folded
            self._refuse(batch)
            return
        for done in edited:
            if not done.done():
                done.set_result(None)
        await self._pad_log.rebuild_if_tainted()
        # From here to the next batch the document equals the log up to last_id.
        for item in batch:
            if item[0] == "join":
                self._welcome(item[1])
            elif item[0] == "step1":
                self._answer_step1(item[1], item[2])
            elif item[0] == "compact":
                whole = self.doc.get_update()
                self.size.reset(len(whole), exact=True)
                self.compaction.fold(whole, self.last_id)
        self.compaction.maybe_start()

    def _defer(self, batch: list[tuple[Any, ...]], index: int) -> list[tuple[Any, ...]]:
        """Put `batch[index:]` back at the head of the inbox, for the next batch; return
        what is left of this one."""
        later = batch[index:]
        self._inbox[:0] = later
        self._held_bytes += sum(_held_cost(item) for item in later)
        self._wake.set()
        return batch[:index]

    def _validate(
        self, conn: Connection, update: bytes, refused: set[Connection]
    ) -> bytes | None:
        """Apply a client's update to the document and return what it changed: None if it
        changed nothing (a reconnecting client's step 2, say) or is refused, in which case
        the sender is closed and added to `refused`."""
        try:
            return self._changes.apply_client_update(update, conn.author_id)
        except SummitpadError as exc:
            conn.close(exc)
            refused.add(conn)
            return None
        finally:
            self._after_change()

    def _edit(
        self, change: Callable[[Text], None], done: asyncio.Future[None], pending: int
    ) -> bytes | None:
        """Run a server edit (see `edit`) after `pending` bytes of the batch's changes; its
        update, or None if it changed nothing or made the pad too large."""
        if self.read_only:
            done.set_exception(Forbidden("the pad is read-only"))
            return None
        try:
            effective = self._changes.run_edit(change)
            if effective is not None:
                try:
                    self.size.check_edit(effective, pending, self.doc.get_update)
                except SummitpadError:
                    self._changes.tainted = True  # it is in the document: rebuilt after the batch
                    raise
            return effective
        except Exception as exc:
            done.set_exception(exc)
            return None
        finally:
            self._after_change()

    def _after_change(self) -> None:
        if self._changes.changed or self._changes.tainted:
            self._fresh_step2 = None
        if self._changes.tainted:
            # Part of a refused change may be in the document: the batch's good updates are
            # written as usual, then the document is rebuilt from the store.
            self._pad_log.taint(self._changes.update)
            self._changes.tainted = False

    async def _write(self, entries: list[tuple[str, bytes]]) -> None:
        """Append (author, update) entries to the log, then broadcast them."""
        if not await self._pad_log.append(entries):
            return  # the pad was deleted
        self.text_changed = True
        for _, update in entries:
            self.size.grew(len(update))
            self._broadcast_update(update)
        if self._batch_since:
            self._metrics.fanout_seconds.observe(time.perf_counter() - self._batch_since)
            self._batch_since = 0.0

    def _apply_state(self, state: PadState) -> bool:
        """Apply what was read from the store; False if a logged update did not apply."""
        applied = True
        with self._changes.unobserved():
            if state.snapshot is not None:
                self.doc.apply_update(state.snapshot)
            for entry_id, update in state.updates:
                try:
                    self.doc.apply_update(update)
                except Exception:
                    log.exception("pad %s: logged update %s does not apply", self.pad_id, entry_id)
                    applied = False
        last = state.last_id
        if last is not None and parse_id(last) > parse_id(self.last_id):
            self.last_id = last
        self._fresh_step2 = None
        self.size.stored(state)
        return applied

    def set_read_only(self, read_only: bool) -> None:
        """Lock or reopen the pad for every connection; each client is told at once."""
        if read_only == self.read_only:
            return
        self.read_only = read_only
        if read_only:
            self._broadcast(protocol.encode_auth_denied(READ_ONLY))
        else:
            granted = frame(protocol.encode_auth_granted(READ_WRITE))
            for conn in self.connections:
                if not conn.read_only:  # a read-only connection stays so
                    conn.send(granted)
        log.info("pad %s: %s", self.pad_id, "read-only" if read_only else "writable again")

    def text(self) -> str:
        """The pad's plain text (for search and the board)."""
        return str(self.doc.get(TEXT_NAME, type=Text))

    # -- output -------------------------------------------------------------------------------

    def _broadcast(self, message: bytes) -> None:
        self.out.message(message)

    def _broadcast_update(self, update: bytes) -> None:
        self.out.update(update)
        self.awareness.flush()  # cursor moves go with the edit

    def _welcome(self, conn: Connection) -> None:
        if conn.closed:
            return
        self.connections.add(conn)
        if self.read_only or conn.read_only:
            conn.send_message(protocol.encode_auth_denied(READ_ONLY))
        conn.send_message(protocol.encode_step1(self.doc.get_state()))
        self._send_awareness_snapshot(conn)

    def _answer_step1(self, conn: Connection, state_vector: bytes) -> None:
        if conn.closed:
            return
        if state_vector == b"\x00":
            # A fresh joiner: every one of them gets the same bytes, encoded once.
            if self._fresh_step2 is None:
                whole = self.doc.get_update()
                self.size.reset(len(whole), exact=True)
                self._fresh_step2 = frame(protocol.encode_step2(whole))
            conn.send(self._fresh_step2)
            return
        try:
            # Decoded here first: Yrs reserves room for as many clients as the vector claims.
            protocol.decode_state_vector(state_vector)
        except ProtocolError as exc:
            conn.close(exc)
            return
        try:
            update = self.doc.get_update(state_vector)
        except Exception:
            conn.close(UpdateRejected("sync step 1 holds no valid state vector"))
            return
        conn.send_message(protocol.encode_step2(update))

    def _send_awareness_snapshot(self, conn: Connection) -> None:
        payload = self.awareness.snapshot()
        if payload is not None:
            conn.send_message(protocol.encode_awareness(payload))

    # -- compaction ---------------------------------------------------------------------------

    async def compact_now(self) -> None:
        """Fold the log into the snapshot, if it holds anything (before unloading the pad)."""
        await self.drain()
        if self.last_id != EMPTY_ID:
            await self._pad_log.write_back_if_lost()
            await self.compaction.fold_now(self.doc.get_update(), self.last_id)


def _held_cost(item: tuple[Any, ...]) -> int:
    """What a client's inbox item counts toward HELD_BYTES_LIMIT: a join ENTRY_BYTES, a step 1
    its state vector and ENTRY_BYTES, an update its payload alone (see ENTRY_BYTES)."""
    kind = item[0]
    if kind == "join":
        return ENTRY_BYTES
    if kind == "step1":
        return ENTRY_BYTES + len(item[2])
    if kind == "update":
        return len(item[2])
    return 0


def add_to_runs(runs: list[tuple[str, list[bytes]]], author: str, change: bytes) -> None:
    """Add `author`'s `change` to the batch's runs: to the last one if it is theirs too.

    A run is one log entry. Entries keep the order the changes were applied in: a change can
    build on any change applied before it, the author marks the server adds above all (they
    are the server's own edits, whose clocks follow each other across authors). Merged per
    author instead, an entry could need a later one, and a node that applied the log up to it
    would hold part of it aside, where no encoding of its document (a snapshot, a sync step 2)
    carries it."""
    if runs and runs[-1][0] == author:
        runs[-1][1].append(change)
    else:
        runs.append((author, [change]))
