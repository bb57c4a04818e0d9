"""The live pads of this process: loaded once however many join at once, unloaded when idle."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator

from pycrdt import Text

from .fanout import Fanout
from .keys import pad_keys
from .live_pad import LivePad
from .metrics import DETACHED, Metrics
from .pad_rules import BARE_PAD, PadRules
from .pad_size import DEFAULT_MAX_PAD_SIZE
from .store import PadStore

log = logging.getLogger(__name__)

CLOSE_TIMEOUT = 10.0


class PadRegistry:
    def __init__(
        self,
        store: PadStore,
        fanout: Fanout,
        *,
        key_prefix: str,
        compact_after: int,
        unload_delay: float,
        max_pad_size: int = DEFAULT_MAX_PAD_SIZE,
        rules: PadRules | None = None,
        text_sink: Callable[[LivePad], Awaitable[None]] | None = None,
        after_delete: Callable[[LivePad], Awaitable[None]] | None = None,
        metrics: Metrics = DETACHED,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._fanout = fanout
        self._prefix = key_prefix
        self._compact_after = compact_after
        self._max_pad_size = max_pad_size
        self._unload_delay = unload_delay
        self._rules = rules
        self._text_sink = text_sink
        self._after_delete = after_delete  # once a deleted pad is unloaded (pad_deletion.py)
        self._dropping: set[asyncio.Task[None]] = set()
        self._live: dict[str, LivePad] = {}
        self._loading: dict[str, asyncio.Task[LivePad]] = {}
        self._unloads: dict[str, asyncio.TimerHandle] = {}

    def __len__(self) -> int:
        return len(self._live)

    def __iter__(self) -> Iterator[LivePad]:
        return iter(list(self._live.values()))

    async def acquire(self, pad_id: str) -> LivePad:
        """The live pad `pad_id`, loaded if needed; pair every call with `release`."""
        pad = self._live.get(pad_id)
        if pad is None:
            loading = self._loading.get(pad_id)
            if loading is None:
                loading = asyncio.create_task(self._load(pad_id), name=f"load {pad_id}")
                self._loading[pad_id] = loading
                loading.add_done_callback(lambda _: self._loading.pop(pad_id, None))
            pad = await asyncio.shield(loading)
        pad.users += 1
        handle = self._unloads.pop(pad_id, None)
        if handle is not None:
            handle.cancel()
        return pad

    async def edit(self, pad_id: str, author: str, change: Callable[[Text], None]) -> None:
        """Change pad `pad_id` as `author` (see `LivePad.edit`), loading it if needed."""
        pad = await self.acquire(pad_id)
        try:
            await pad.edit(author, change)
        finally:
            self.release(pad)

    def live(self, pad_id: str) -> LivePad | None:
        """The live pad `pad_id` if it is loaded on this process."""
        return self._live.get(pad_id)

    def _forget(self, pad: LivePad) -> None:
        """`pad` was deleted and has closed its connections: forget it at once, then unload
        it without writing anything back."""
        if self._live.get(pad.pad_id) is pad:
            del self._live[pad.pad_id]
            handle = self._unloads.pop(pad.pad_id, None)
            if handle is not None:
                handle.cancel()
        self._fanout.unsubscribe(pad)
        task = asyncio.create_task(self._drop(pad), name=f"drop {pad.pad_id}")
        self._dropping.add(task)
        task.add_done_callback(self._dropping.discard)

    async def _drop(self, pad: LivePad) -> None:
        try:
            await pad.close()
            if self._after_delete is not None:
                await self._after_delete(pad)
        except Exception:
            log.exception("pad %s: unloading the deleted pad failed", pad.pad_id)
        log.debug("pad %s: dropped (deleted)", pad.pad_id)

    def release(self, pad: LivePad) -> None:
        pad.users -= 1
        if pad.users == 0 and self._live.get(pad.pad_id) is pad:
            loop = asyncio.get_running_loop()
            self._unloads[pad.pad_id] = loop.call_later(
                self._unload_delay, lambda: asyncio.ensure_future(self._unload(pad))
            )

    async def _load(self, pad_id: str) -> LivePad:
        pad = LivePad(
            pad_id,
            pad_keys(self._prefix, pad_id),
            self._store,
            compact_after=self._compact_after,
            max_size=self._max_pad_size,
            publish_awareness=self._fanout.publish_awareness,
            metrics=self._metrics,
            on_deleted=self._forget,
        )
        terms = BARE_PAD
        if self._rules is not None:
            terms = await self._rules.terms(pad_id, with_template=True)
        pad.read_only = terms.read_only
        await pad.load(terms.template, unclaimed=terms.unclaimed)
        # Whatever is published before the subscription takes effect, the pad reads from the
        # log when it does: a deletion too (its tombstone). Subscribing only now puts that
        # read after the first joiners' sync instead of in front of it, where it would hold
        # their step 2 up by a round trip to Valkey behind every other load under way.
        self._fanout.subscribe(pad)
        self._live[pad_id] = pad
        log.debug("pad %s: live", pad_id)
        return pad

    async def _unload(self, pad: LivePad) -> None:
        self._unloads.pop(pad.pad_id, None)
        if pad.users or self._live.get(pad.pad_id) is not pad:
            return
        del self._live[pad.pad_id]
        self._fanout.unsubscribe(pad)
        await pad.compact_now()
        if pad.text_changed and self._text_sink is not None:
            pad.text_changed = False
            await self._text_sink(pad)
        await pad.close()
        log.debug("pad %s: unloaded", pad.pad_id)

    async def close(self) -> None:
        """Write out and unload every pad (at shutdown)."""
        for handle in self._unloads.values():
            handle.cancel()
        self._unloads.clear()
        pads = list(self._live.values())
        self._live.clear()
        for pad in pads:
            self._fanout.unsubscribe(pad)
        closing = asyncio.gather(
            *(pad.close() for pad in pads), *self._dropping, return_exceptions=True
        )
        try:
            await asyncio.wait_for(closing, CLOSE_TIMEOUT)
        except TimeoutError:
            # Valkey is away: what is still unwritten was never echoed, so its senders still
            # have it and send it again when they reconnect.
            log.error("%d pads could not write everything before shutdown", len(pads))
