"""Who is in which pad, across nodes, and when each pad was last edited: for the board.

Each node reports how many connections it holds per pad, every few seconds, into a hash of its
own that expires when the node stops reporting; the board adds the nodes' counts up. A pad's
last edit time is the time of its newest log entry (Valkey stream ids are timestamps, and
compaction always keeps the newest entry).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

import redis.asyncio as aioredis

from .errors import StoreUnavailable
from .keys import PadKeys, nodes_key, presence_key
from .pads import PadRegistry
from .store import UNAVAILABLE, as_text

log = logging.getLogger(__name__)

REPORT_INTERVAL = 5.0
NODE_EXPIRY = 30  # seconds without a report after which a node's counts no longer count


class Presence:
    def __init__(self, client: aioredis.Redis, prefix: str, node_id: str) -> None:
        self.client = client
        self.prefix = prefix
        self.node_id = node_id

    async def report(self, counts: dict[str, int]) -> None:
        # The node's hash and the node list are in different slots on a Redis Cluster: one
        # transaction for the hash, then the list (a reader reads the list first, and a node
        # listed a moment before its hash is replaced counts its last report).
        key = presence_key(self.prefix, self.node_id)
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(key)
        if counts:
            pipe.hset(key, mapping=counts)  # type: ignore[arg-type]
            pipe.expire(key, NODE_EXPIRY)
        await pipe.execute()
        await self.client.zadd(nodes_key(self.prefix), {self.node_id: time.time()})

    async def withdraw(self) -> None:
        await self.client.zrem(nodes_key(self.prefix), self.node_id)
        await self.client.delete(presence_key(self.prefix, self.node_id))

    async def counts(
        self, pad_ids: list[str], here: Mapping[str, int] | None = None
    ) -> dict[str, int]:
        """Connections per pad over every node that reported lately; with `here` (this node's
        connections per pad as it holds them now), that instead of this node's last report."""
        if not pad_ids:
            return {}
        try:
            nodes = await self.client.zrangebyscore(
                nodes_key(self.prefix), time.time() - NODE_EXPIRY, "+inf"
            )
            pipe = self.client.pipeline(transaction=False)
            for node in nodes:
                if here is None or as_text(node) != self.node_id:
                    pipe.hmget(presence_key(self.prefix, as_text(node)), pad_ids)
            replies = await pipe.execute()
        except UNAVAILABLE as exc:
            raise StoreUnavailable(f"cannot read who is here: {exc}") from exc
        totals = {pad_id: (here or {}).get(pad_id, 0) for pad_id in pad_ids}
        for reply in replies:
            for pad_id, count in zip(pad_ids, reply, strict=True):
                if count is not None:
                    totals[pad_id] += int(count)
        return totals

    async def connections(self, pad_id: str, here: int) -> int:
        """Connections to one pad over every node: this node's as it holds them now (`here`),
        the others' as they last reported (a few seconds ago at most)."""
        try:
            nodes = await self.client.zrangebyscore(
                nodes_key(self.prefix), time.time() - NODE_EXPIRY, "+inf"
            )
            pipe = self.client.pipeline(transaction=False)
            for node in nodes:
                if as_text(node) != self.node_id:
                    pipe.hget(presence_key(self.prefix, as_text(node)), pad_id)
            replies = await pipe.execute()
        except UNAVAILABLE as exc:
            raise StoreUnavailable(f"cannot read who is here: {exc}") from exc
        return here + sum(int(count) for count in replies if count is not None)

    async def run(self, registry: PadRegistry, stop: asyncio.Event) -> None:
        """Report this node's counts until `stop` is set (or cancelled)."""
        while not stop.is_set():
            counts = {pad.pad_id: len(pad.connections) for pad in registry if pad.connections}
            try:
                await self.report(counts)
            except UNAVAILABLE as exc:
                log.debug("presence not reported: %s", exc)
            await asyncio.sleep(REPORT_INTERVAL)


async def last_edits(
    client: aioredis.Redis, prefix: str, pad_ids: Iterable[str]
) -> dict[str, datetime]:
    """The time of each pad's newest log entry; pads never written are left out."""
    ids = list(pad_ids)
    if not ids:
        return {}
    pipe = client.pipeline(transaction=False)
    for pad_id in ids:
        pipe.xrevrange(PadKeys(prefix, pad_id).log, count=1)
    try:
        replies = await pipe.execute()
    except UNAVAILABLE as exc:
        raise StoreUnavailable(f"cannot read the pads' last edits: {exc}") from exc
    found = {}
    for pad_id, entries in zip(ids, replies, strict=True):
        if entries:
            millis = int(entries[0][0].split(b"-")[0])
            found[pad_id] = datetime.fromtimestamp(millis / 1000, UTC)
    return found
