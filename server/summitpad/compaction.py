"""Folding a pad's log into its snapshot, under the pad's lease.

The fold itself is an encode of the live pad's document, which is only right between two
batches of its writer (then the document equals the log up to `last_id`). So the lease is
taken here, in the background, and the writer is asked to hand over the document when it is
next between batches.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from .errors import StoreUnavailable
from .history_store import HistoryStore
from .keys import PadKeys
from .metrics import DETACHED, Metrics
from .store import PadStore

log = logging.getLogger(__name__)


class Compaction:
    def __init__(
        self,
        store: PadStore,
        keys: PadKeys,
        *,
        after: int,
        ask_writer: Callable[[], None],
        metrics: Metrics = DETACHED,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._history = HistoryStore(store.client)
        self._keys = keys
        self._after = after  # log entries that make a fold worth it
        self._ask_writer = ask_writer  # queues a "fold now" for the writer
        self._running = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.log_length = 0  # entries in the stored log, as of our last read or append
        self.folded_upto: str | None = None  # the last log id known to be in the snapshot

    def maybe_start(self) -> None:
        """Take the lease if the log has grown long; the writer then calls `fold`."""
        if self._running or self.log_length <= self._after:
            return
        self._running = True
        self._background(self._lease_then_ask())

    def fold(self, doc: bytes, upto: str) -> None:
        """The writer's document (`doc`, equal to the log up to `upto`) goes to the store."""
        self._background(self._write(doc, upto))

    async def fold_now(self, doc: bytes, upto: str) -> None:
        """Fold before unloading the pad, even if the snapshot holds everything already: the
        history takes what it lacks and the log is trimmed."""
        if self._tasks:  # a fold of our own under way holds the lease: let it finish
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if await self._store.try_lease(self._keys):
            self._running = True
            await self._write(doc, upto)

    async def _lease_then_ask(self) -> None:
        try:
            if await self._store.try_lease(self._keys):
                self._ask_writer()
                return
        except StoreUnavailable as exc:
            log.warning("pad %s: compaction postponed: %s", self._keys.pad_id, exc)
        self._running = False

    async def _write(self, doc: bytes, upto: str) -> None:
        try:
            try:
                await self._history.extend(self._keys)
            except StoreUnavailable:
                raise
            except Exception:  # the log keeps what the history lacks: try again next time
                log.exception("pad %s: history not extended", self._keys.pad_id)
            if await self._store.compact(self._keys, doc, upto):
                self.log_length = 1
                self.folded_upto = upto
                self._metrics.compactions.inc()
                log.debug("pad %s: compacted up to %s", self._keys.pad_id, upto)
        except StoreUnavailable as exc:
            log.warning("pad %s: compaction postponed: %s", self._keys.pad_id, exc)
        finally:
            self._running = False

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
