"""Fan-out between nodes: one pub/sub connection per process, one channel per live pad.

Messages on a pad's channel:

    U<previous id> <entry id> <node id> <update>    written by the append script
    A<node id> <awareness update>                  published by a node for its connections
    Q<node id>                                     "who is here?", from a node loading the pad;
                                                   the others answer with an A message

A node skips its own messages. Pub/sub drops messages while a connection is down, so after every
reconnect (and every few seconds anyway) each live pad catches up from its log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis

from .store import UNAVAILABLE

if TYPE_CHECKING:
    from .live_pad import LivePad

log = logging.getLogger(__name__)

CATCH_UP_INTERVAL = 5.0
_SUBSCRIBE_WAIT = 2.0
_RETRY_MAX = 2.0


class Fanout:
    def __init__(self, client: aioredis.Redis, node_id: str) -> None:
        self._client = client
        self._node = node_id.encode()
        self._pads: dict[bytes, LivePad] = {}
        self._pubsub: aioredis.client.PubSub | None = None
        self._changed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.connected = False
        self._ready = asyncio.Event()  # set while subscribed to every live pad
        self._stopping = False

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="fanout listener"),
            asyncio.create_task(self._catch_up_regularly(), name="fanout catch-up"),
        ]

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        _, pending = await asyncio.wait(self._tasks, timeout=5.0)
        if pending:
            log.error("fan-out tasks did not stop: %s", pending)

    async def subscribe(self, pad: LivePad) -> None:
        """Listen to a pad's channel; returns once subscribed (or after a short wait if the
        store is unreachable: catching up from the log covers what is missed meanwhile)."""
        channel = pad.keys.channel.encode()
        self._pads[channel] = pad
        self._changed.set()
        if self._pubsub is not None and self.connected:
            try:
                await self._pubsub.subscribe(channel)
            except Exception as exc:  # the listener reconciles its subscriptions anyway
                log.warning("subscribe to %s postponed: %s", pad.pad_id, exc)
        else:  # the listener subscribes to every pad as it connects
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_SUBSCRIBE_WAIT):
                    await self._ready.wait()
        self._publish(pad, b"Q" + self._node)

    def _publish(self, pad: LivePad, message: bytes) -> None:
        task = asyncio.ensure_future(self._client.publish(pad.keys.channel, message))
        task.add_done_callback(_log_publish_failure)

    def unsubscribe(self, pad: LivePad) -> None:
        """Stop listening to a pad's channel. The listener task sends the UNSUBSCRIBE itself,
        as it alone may close the pub/sub connection."""
        self._pads.pop(pad.keys.channel.encode(), None)

    def publish_awareness(self, pad: LivePad, payload: bytes) -> None:
        self._publish(pad, b"A" + self._node + b" " + payload)

    # -- the listener -------------------------------------------------------------------------

    async def _listen(self) -> None:
        delay = 0.05
        while not self._stopping:
            try:
                await self._listen_once()
            except UNAVAILABLE as exc:
                if self.connected:
                    log.warning("pub/sub connection lost: %s", exc)
                self.connected = False
                self._ready.clear()
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX)
            else:
                delay = 0.05

    async def _listen_once(self) -> None:
        while not self._pads:
            self._changed.clear()
            await self._changed.wait()
        pubsub = self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(*self._pads)
            self._ready.set()
            if not self.connected:
                self.connected = True
                for pad in self._pads.values():
                    pad.catch_up()
            while self._pads:
                if len(pubsub.channels) != len(self._pads):
                    await self._reconcile(pubsub)
                message = await pubsub.get_message(timeout=1.0)
                if message is not None and message["type"] == "message":
                    self._dispatch(message["channel"], message["data"])
        finally:
            self._pubsub = None
            # Closing must not hang a cancelled listener: give it a moment, then drop it.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _reconcile(self, pubsub: aioredis.client.PubSub) -> None:
        """Subscribe to pads that went live while the subscription was being made."""
        subscribed = set(pubsub.channels)
        missing = [channel for channel in self._pads if channel not in subscribed]
        if missing:
            await pubsub.subscribe(*missing)
            for channel in missing:
                self._pads[channel].catch_up()
        stale = [channel for channel in subscribed if channel not in self._pads]
        if stale:
            await pubsub.unsubscribe(*stale)

    def _dispatch(self, channel: bytes, data: bytes) -> None:
        pad = self._pads.get(channel)
        if pad is None or not data:
            return
        try:
            if data[:1] == b"U":
                header = data[1:].split(b" ", 3)
                previous_id, entry_id, node, update = header
                if node != self._node:
                    pad.receive_remote_update(previous_id.decode(), entry_id.decode(), update)
            elif data[:1] == b"A":
                node, payload = data[1:].split(b" ", 1)
                if node != self._node:
                    pad.receive_remote_awareness(payload)
            elif data[:1] == b"Q":
                if data[1:] != self._node:  # a node that just loaded the pad asks who is here
                    states = pad.local_awareness()
                    if states:
                        self.publish_awareness(pad, states)
        except ValueError:
            log.warning("pad %s: dropped a malformed fan-out message", pad.pad_id)

    async def _catch_up_regularly(self) -> None:
        while True:
            await asyncio.sleep(CATCH_UP_INTERVAL)
            for pad in list(self._pads.values()):
                pad.catch_up()


def _log_publish_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.debug("awareness not published: %s", task.exception())
