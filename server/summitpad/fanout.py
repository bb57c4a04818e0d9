"""Fan-out between nodes: sharded pub/sub, one channel per live pad.

Channels are sharded ones (SPUBLISH, SSUBSCRIBE): on a Redis Cluster a pad's channel lives on
the shard that holds its keys (it shares their hash tag), so a message goes to that shard's
subscribers only, not over the whole cluster bus; a node listens to each shard that holds one
of its live pads (one connection per shard). On one server it is one connection, as plain
pub/sub would be.

Messages on a pad's channel:

    U<previous id> <entry id> <node id> <update>    written by the append script
    A<node id> <awareness update>                  published by a node for its connections
    Q<node id>                                     "who is here?", from a node that just
                                                   subscribed; the others answer with an A
    C<node id> <entry id> <chat message JSON>      written by the chat script (see `chat`);
                                                   one lost in an outage is not read back:
                                                   a client gets it when it next joins
    D<node id>                                     the pad was deleted (see `pad_deletion`):
                                                   every node drops its live pad, the
                                                   deleting node too
    N<node id> <notice JSON>                       an organizers' notice to the pad's
                                                   participants (see `admin_broadcast`)

A node skips its own messages (but for D), and ignores a kind it does not know, so that a
newer node may add kinds while older ones still run. Pub/sub drops messages while a
connection is down, and a pad goes live before its subscription is confirmed, so after every
(re)subscription (and every few seconds anyway) each live pad catches up from its log.

Only the listener uses the pub/sub connections: it reads, and it (un)subscribes as the set of
live pads changes. On one server that is one task blocked on the one connection. On a cluster
each shard's connection has a reader task of its own, blocked on that socket alone, so a message
is dispatched the moment it arrives whichever shard it comes from (polling the connections in
turn made a message wait for its shard's turn); the listener task itself only (un)subscribes,
starts a reader for every new shard connection, and starts everything again when a reader
fails. Publishing (awareness, questions) goes through one publisher task, which pipelines
whatever has queued up, so a burst of cursor moves costs one round trip, not one connection
each.

Through Sentinel the one connection goes to the primary the sentinels name when it connects.
After a graceful failover the old primary keeps that connection until the sentinels make it a
replica (8 to 18 s later with their default periods), and hears nothing meanwhile: the appends
publish on the new one. So while it listens, the listener asks the sentinels every second where
the primary is, and subscribes anew there (catching up, as after any subscription) once it moved.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import ClusterPubSub, RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError

from .sentinel import recheck_primary, through_sentinel
from .store import UNAVAILABLE, is_cluster

if TYPE_CHECKING:
    from .live_pad import LivePad

log = logging.getLogger(__name__)

CATCH_UP_INTERVAL = 5.0
# One server: how long the listener waits for a message before it looks at its subscriptions.
_POLL = 0.05
# A cluster: how long a shard's reader blocks before it looks again whether it should stop
# (and lets redis-py's health check ping an idle connection), and how often the listener looks
# for shard connections that redis-py opened by itself (after a slot moved to another primary).
_SHARD_WAIT = 1.0
# Through Sentinel: how often the listener asks the sentinels where the primary is.
_PRIMARY_CHECK = 1.0
_RETRY_MAX = 2.0
_PUBLISH_QUEUE = 10_000  # awareness is ephemeral: beyond this, drop rather than grow


class Fanout:
    def __init__(self, client: aioredis.Redis, node_id: str) -> None:
        self._client = client
        self._node = node_id.encode()
        self._pads: dict[bytes, LivePad] = {}
        self._subscribed: set[bytes] = set()  # channels the listener has subscribed to
        self._cluster = is_cluster(client)
        self._sentinel = not self._cluster and through_sentinel(client)
        # Who takes notices (N): set by admin_broadcast.Broadcaster.listen.
        self.on_notice: Callable[[LivePad, bytes], None] | None = None
        self._dirty = False  # the live pads changed since the listener last subscribed
        self._changed = asyncio.Event()
        self._outbox: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue(_PUBLISH_QUEUE)
        self._tasks: list[asyncio.Task[None]] = []
        self.connected = False
        # Python 3.11 can lose a task's cancellation when it coincides with a timeout inside
        # redis-py, so the tasks also check this flag.
        self._stopping = False

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="fanout listener"),
            asyncio.create_task(self._publish_queued(), name="fanout publisher"),
            asyncio.create_task(self._catch_up_regularly(), name="fanout catch-up"),
        ]

    async def stop(self) -> None:
        self._stopping = True
        self._changed.set()
        with contextlib.suppress(asyncio.QueueFull):
            self._outbox.put_nowait(None)  # wakes the publisher
        for task in self._tasks:
            task.cancel()
        _, pending = await asyncio.wait(self._tasks, timeout=5.0)
        if pending:
            log.error("fan-out tasks did not stop: %s", pending)

    def subscribe(self, pad: LivePad) -> None:
        """Listen to a pad's channel (within a moment: the pad catches up once it does)."""
        channel = pad.keys.channel.encode()
        self._pads[channel] = pad
        if channel in self._subscribed:  # reloaded before the listener left the channel
            pad.catch_up()  # what was published since the pad read the log
            self._publish(pad, b"Q" + self._node)
        self._dirty = True
        self._changed.set()

    def unsubscribe(self, pad: LivePad) -> None:
        channel = pad.keys.channel.encode()
        if self._pads.get(channel) is pad:  # not a newer live pad of the same id
            del self._pads[channel]
        self._dirty = True
        self._changed.set()

    def publish_awareness(self, pad: LivePad, payload: bytes) -> None:
        self._publish(pad, b"A" + self._node + b" " + payload)

    def _publish(self, pad: LivePad, message: bytes) -> None:
        try:
            self._outbox.put_nowait((pad.keys.channel, message))
        except asyncio.QueueFull:
            log.warning("pad %s: fan-out queue full, awareness dropped", pad.pad_id)

    async def _publish_queued(self) -> None:
        while not self._stopping:
            batch = [await self._outbox.get()]
            while not self._outbox.empty() and len(batch) < 500:
                batch.append(self._outbox.get_nowait())
            pipe = self._client.pipeline(transaction=False)
            for item in batch:
                if item is not None:
                    pipe.spublish(*item)
            try:
                await pipe.execute()
            except UNAVAILABLE as exc:
                log.debug("%d fan-out messages not published: %s", len(batch), exc)
            except Exception:
                log.exception("%d fan-out messages not published", len(batch))

    # -- the listener -------------------------------------------------------------------------

    async def _listen(self) -> None:
        delay = 0.05
        while not self._stopping:
            try:
                await self._listen_once()
            except UNAVAILABLE as exc:
                if self.connected:
                    log.warning("pub/sub connection lost: %s", exc)
            except Exception:
                log.exception("pub/sub listener failed; starting it again")
            else:
                delay = 0.05
                continue
            self.connected = False
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RETRY_MAX)

    async def _listen_once(self) -> None:
        while not self._pads:
            if self._stopping:
                return
            self._changed.clear()
            await self._changed.wait()
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        self._subscribed.clear()
        try:
            self._dirty = True
            if self._cluster:
                await self._listen_sharded(cast(ClusterPubSub, pubsub))
            else:
                await self._listen_single(pubsub)
        finally:
            # Closing must not hang a cancelled listener: give it a moment, then drop it.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _listen_single(self, pubsub: PubSub) -> None:
        """One server: read the one connection, looking at the subscriptions between waits.
        Through Sentinel, return (to subscribe anew) once the primary is elsewhere."""
        watch = None
        if self._sentinel:
            watch = asyncio.create_task(self._watch_primary(pubsub), name="fanout primary")
        try:
            while self._pads and not self._stopping:
                if watch is not None and watch.done():
                    watch.result()  # its error, if it failed
                    return
                if self._dirty:
                    await self._reconcile(pubsub)
                    self.connected = True
                message = await pubsub.get_message(timeout=_POLL)
                if message is not None and message["type"] in ("smessage", b"smessage"):
                    self._dispatch(message["channel"], message["data"])
        finally:
            if watch is not None:
                watch.cancel()

    async def _watch_primary(self, pubsub: PubSub) -> None:
        """Return once the sentinels name a primary other than the server `pubsub` is
        connected to. A task of its own, so that a slow sentinel never holds up the reading."""
        while True:
            await asyncio.sleep(_PRIMARY_CHECK)
            if pubsub.connection is None or not pubsub.connection.is_connected:
                continue  # not subscribed yet, or reconnecting: it asks the sentinels then
            primary = await recheck_primary(self._client)
            connection = pubsub.connection  # after the wait: redis-py may have reconnected it
            if primary is None or connection is None:
                continue
            listening = (str(connection.host), int(connection.port))
            if primary != listening:
                log.info(
                    "pub/sub: the primary moved from %s:%d to %s:%d; subscribing there",
                    *listening, *primary,
                )
                return

    async def _listen_sharded(self, pubsub: ClusterPubSub) -> None:
        """A cluster: a reader task per shard connection; this task keeps the subscriptions.

        redis-py's ClusterPubSub holds one PubSub per primary (`node_pubsub_mapping`); it opens
        one when a channel of that primary is first subscribed and closes it, in the reader's
        `get_sharded_message`, once its last channel is confirmed unsubscribed. Subscribing on a
        connection while its reader waits on it only writes to the socket (a subscribed
        connection is never health-checked on a write); the confirmation comes to the reader.
        """
        readers: dict[PubSub, asyncio.Task[None]] = {}
        leaving = asyncio.Event()  # the readers of this round stop
        try:
            while self._pads and not self._stopping:
                if self._dirty:
                    await self._reconcile(pubsub)
                    self.connected = True
                for name, shard in list(pubsub.node_pubsub_mapping.items()):
                    if shard not in readers:
                        readers[shard] = self._start_reader(pubsub, name, shard, leaving)
                # A reader ends when its connection closes (its last channel left) or fails.
                for shard, task in list(readers.items()):
                    if task.done():
                        del readers[shard]
                        if not task.cancelled() and (error := task.exception()) is not None:
                            raise error
                if self._dirty:
                    continue
                self._changed.clear()  # nothing awaited since the checks above
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(_SHARD_WAIT):
                        await self._changed.wait()
        finally:
            leaving.set()
            for task in readers.values():
                task.cancel()
            if readers:
                await asyncio.wait(readers.values(), timeout=_SHARD_WAIT + 0.5)
            for task in readers.values():
                if task.done() and not task.cancelled():
                    task.exception()  # seen: the listener's own error is what gets logged

    def _start_reader(
        self, pubsub: ClusterPubSub, name: str, shard: PubSub, leaving: asyncio.Event
    ) -> asyncio.Task[None]:
        task = asyncio.create_task(
            self._read_shard(pubsub, name, shard, leaving), name=f"fanout reader {name}"
        )
        task.add_done_callback(lambda _: self._changed.set())  # the listener looks at it
        return task

    async def _read_shard(
        self, pubsub: ClusterPubSub, name: str, shard: PubSub, leaving: asyncio.Event
    ) -> None:
        """Dispatch what one shard's connection brings, while it is that shard's connection."""
        node = cast(RedisCluster, self._client).get_node(node_name=name)
        if node is None:
            raise RedisConnectionError(f"{name} left the cluster")
        # get_sharded_message looks the connection up by name before its first wait: checking
        # that the name still maps to this reader's connection just before is enough.
        while (
            not (self._stopping or leaving.is_set())
            and pubsub.node_pubsub_mapping.get(name) is shard
        ):
            message = await pubsub.get_sharded_message(
                ignore_subscribe_messages=True, timeout=_SHARD_WAIT, target_node=node
            )
            if message is not None and message["type"] in ("smessage", b"smessage"):
                self._dispatch(message["channel"], message["data"])

    async def _reconcile(self, pubsub: PubSub) -> None:
        """Subscribe to the pads that went live, and leave those that were unloaded."""
        self._dirty = False
        # Our own record, not pubsub.channels: redis-py keeps an unsubscribed channel there
        # until the server confirms, and a pad reloaded meanwhile would never be subscribed.
        missing = [channel for channel in self._pads if channel not in self._subscribed]
        stale = [channel for channel in self._subscribed if channel not in self._pads]
        if missing:
            await pubsub.ssubscribe(*missing)
            self._subscribed.update(missing)
            for channel in missing:
                pad = self._pads.get(channel)
                if pad is not None:
                    pad.catch_up()  # whatever was published before we listened
                    self._publish(pad, b"Q" + self._node)
        if stale:
            self._subscribed.difference_update(stale)
            await pubsub.sunsubscribe(*stale)

    def _dispatch(self, channel: bytes, data: bytes) -> None:
        pad = self._pads.get(channel)
        if pad is None or not data:
            return
        try:
            kind, body = data[:1], data[1:]
            if kind == b"U":
                previous_id, entry_id, node, update = body.split(b" ", 3)
                if node != self._node:
                    pad.receive_remote_update(previous_id.decode(), entry_id.decode(), update)
            elif kind == b"A":
                node, payload = body.split(b" ", 1)
                if node != self._node:
                    pad.receive_remote_awareness(payload)
            elif kind == b"C":
                node, entry_id, payload = body.split(b" ", 2)
                if node != self._node:
                    pad.receive_remote_chat(entry_id.decode(), payload)
            elif kind == b"Q":
                states = pad.local_awareness() if body != self._node else None
                if states:
                    self.publish_awareness(pad, states)
            elif kind == b"D":
                pad.deleted()
            elif kind == b"N":
                node, _, payload = body.partition(b" ")
                if node != self._node and self.on_notice is not None:
                    self.on_notice(pad, payload)
            else:
                log.debug("pad %s: ignored a fan-out message of kind %r", pad.pad_id, kind)
        except ValueError:
            log.warning("pad %s: dropped a malformed fan-out message", pad.pad_id)

    async def _catch_up_regularly(self) -> None:
        while True:
            await asyncio.sleep(CATCH_UP_INTERVAL)
            for pad in list(self._pads.values()):
                pad.catch_up()
