"""A pad's durable state in Valkey/Redis: snapshot + log, appended and compacted by scripts.

    <prefix>:{pad:<id>}:snap   hash: doc = the folded state (one Yjs update),
                               upto = the last log id folded into it
    <prefix>:{pad:<id>}:log    stream of updates (field `u`, and `a`: the author id, empty for the
                               server's own); those after `upto` are not folded, and those the
                               history does not hold yet are kept (see history_store.py)
    <prefix>:{pad:<id>}:lease  the node compacting the pad, with an expiry
    <prefix>:{pad:<id>}:live   sharded pub/sub channel to the other nodes (SPUBLISH: on a
                               Redis Cluster it lives on the pad's shard)

An append writes the log entry and publishes it in one script, so a node that reads the
message can trust the entry is durable; the message names the previous id, so a node that missed
one notices the gap and reads the log.

With replicas to wait for (`wait_replicas`: the setting `redis_wait_replicas`, 1 by default
through Sentinel), an append counts only once they confirm it, and is published only then: see
replica_wait.py. Without, an append is the one script call above.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import redis.asyncio as aioredis
from redis import exceptions as redis_errors
from redis.asyncio.cluster import ClusterNode, RedisCluster

from .append_guard import append_guard
from .errors import PadDeleted, StoreUnavailable
from .keys import PadKeys, pad_key_pattern, parse_pad_key
from .read_batch import Call, ReadBatch
from .redis_url import (
    ClusterURL,
    is_cluster_url,
    is_sentinel_url,
    parse_cluster_url,
    parse_sentinel_url,
)
from .replica_wait import ConfirmedAppend, Unconfirmed
from .sentinel import connect_sentinel

T = TypeVar("T")

# Any error of the store holds a write back rather than drop it: a connection refused, but also
# a replica's READONLY during a failover, OOM under maxmemory, BUSY, LOADING.
UNAVAILABLE = (redis_errors.RedisError, OSError)

_NEWER = """
local function newer(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am > bm or (am == bm and as > bs)
end
"""

# KEYS: log, gone. ARGV: channel, node id, the last log id the writer has seen ('0-0': none),
# then update and author for each entry. Writes and publishes the entries in order. Returns
# {id before the first, id of the last, log length}, or false, writing nothing, if the pad was
# deleted (its tombstone exists) and the writer has seen entries of it: it must not bring the
# pad back. A writer that has seen none starts the pad anew, and the tombstone goes.
_APPEND = append_guard("ARGV[3]") + """
local prev = first
for i = 4, #ARGV, 2 do
  local id = redis.call('XADD', KEYS[1], '*', 'u', ARGV[i], 'a', ARGV[i + 1])
  redis.call('SPUBLISH', ARGV[1], 'U' .. prev .. ' ' .. id .. ' ' .. ARGV[2] .. ' ' .. ARGV[i])
  prev = id
end
return {first, prev, redis.call('XLEN', KEYS[1])}
"""

# KEYS: snap, log, gone. ARGV: the id the caller has; '0-0' for none.
# Returns {snapshot doc or false, snapshot upto or false, log entries after what the caller needs,
# 1 if the pad's tombstone exists (it was deleted) else 0}.
_READ = (
    _NEWER
    + """
local snap = redis.call('HMGET', KEYS[1], 'doc', 'upto')
local after = ARGV[1]
local gone = redis.call('EXISTS', KEYS[3])
if snap[2] and newer(snap[2], after) then
  return {snap[1], snap[2], redis.call('XRANGE', KEYS[2], '(' .. snap[2], '+'), gone}
end
if after == '0-0' then
  return {false, snap[2], redis.call('XRANGE', KEYS[2], '-', '+'), gone}
end
return {false, snap[2], redis.call('XRANGE', KEYS[2], '(' .. after, '+'), gone}
"""
)

# KEYS: snap, log, lease, hist. ARGV: doc, upto, node id. Folds the log up to `upto` into the
# snapshot if this node still holds the lease and the snapshot is not newer; trims the log up to
# `upto` or the history's last entry, whichever is older, keeping that entry itself so the log
# always knows its last id. A pad with neither snapshot nor log was deleted (the log always
# keeps its last entry): it is not written back. Returns 1 if it wrote, 0 if not.
_COMPACT = (
    _NEWER
    + """
if redis.call('GET', KEYS[3]) ~= ARGV[3] then return 0 end
local cur = redis.call('HGET', KEYS[1], 'upto')
if not cur and redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[3])
  return 0
end
if cur and newer(cur, ARGV[2]) then
  redis.call('DEL', KEYS[3])
  return 0
end
if cur ~= ARGV[2] then redis.call('HSET', KEYS[1], 'doc', ARGV[1], 'upto', ARGV[2]) end
local trim = ARGV[2]
local hist = redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', 1)
local kept = '0-0'
if #hist > 0 then
  local f = hist[1][2]
  for i = 1, #f, 2 do if f[i] == 'o' then kept = f[i + 1] end end
end
if newer(trim, kept) then trim = kept end
redis.call('XTRIM', KEYS[2], 'MINID', trim)
redis.call('DEL', KEYS[3])
return 1
"""
)

# KEYS: snap, log, gone. ARGV: update, channel, node id, author. Writes the first entry of a pad
# that has never been written (no snapshot, no log): a new pad's template, written once however
# many nodes try, or a pad created through an API. A deleted pad's tombstone goes.
_SEED = """
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('DEL', KEYS[3])
local id = redis.call('XADD', KEYS[2], '*', 'u', ARGV[1], 'a', ARGV[4])
redis.call('SPUBLISH', ARGV[2], 'U0-0 ' .. id .. ' ' .. ARGV[3] .. ' ' .. ARGV[1])
return 1
"""

LEASE_MS = 30_000


def parse_id(entry_id: str) -> tuple[int, int]:
    """A stream id as a comparable pair; '0-0' is before every entry."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


@dataclass(frozen=True, slots=True)
class Appended:
    previous_id: str
    entry_id: str
    log_length: int


@dataclass(frozen=True, slots=True)
class PadState:
    """What a node reads to build or catch up a pad: apply `snapshot`, then `updates` in order."""

    snapshot: bytes | None
    snapshot_upto: str | None
    updates: list[tuple[str, bytes]]
    deleted: bool = False  # the pad's tombstone exists: it was deleted (see pad_deletion.py)

    @property
    def last_id(self) -> str | None:
        if self.updates:
            return self.updates[-1][0]
        return self.snapshot_upto

    @property
    def only_update(self) -> bytes | None:
        """The one update this state holds, if it holds exactly one: a snapshot with no log
        entries after it, or one log entry and no snapshot."""
        if self.snapshot is None:
            return self.updates[0][1] if len(self.updates) == 1 else None
        return None if self.updates else self.snapshot


class PadStore:
    """Reads and writes pads. Every method raises StoreUnavailable when Valkey cannot answer."""

    def __init__(self, client: aioredis.Redis, node_id: str, *, wait_replicas: int = 0) -> None:
        self.client = client
        self.node_id = node_id
        self._append = client.register_script(_APPEND)
        # None: no replicas to wait for, and an append is one script call.
        self._confirmed = ConfirmedAppend(client, node_id, wait_replicas) if wait_replicas else None
        self._read = client.register_script(_READ)
        # Reads asked for together go together (read_batch.py); on a cluster, where the pads
        # live on several servers, each goes alone.
        self._read_batch = None if is_cluster(client) else ReadBatch(
            client, lambda: self._read.sha, self._read_alone, UNAVAILABLE
        )
        self._compact = client.register_script(_COMPACT)
        self._seed = client.register_script(_SEED)

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T:
        try:
            return await operation()
        except UNAVAILABLE as exc:
            raise StoreUnavailable(f"Valkey/Redis cannot store this now: {exc}") from exc

    async def append(
        self,
        keys: PadKeys,
        update: bytes | Sequence[tuple[str, bytes]],
        *,
        seen: str = "0-0",
        unconfirmed: Unconfirmed | None = None,
    ) -> Appended:
        """Make updates durable in the pad log, one entry per (author, update), and publish
        them to the other nodes. A bare update is written with no author. `seen`: the last log
        id the writer has seen; PadDeleted, writing nothing, if the pad was deleted since.

        With `wait_replicas`, replica_wait.NotReplicated (a StoreUnavailable) if too few
        replicas confirm the entries in time; retry the same entries with its `unconfirmed`,
        so that they are not written twice."""
        entries = [("", update)] if isinstance(update, bytes) else update
        if self._confirmed is not None:
            written, length = await self._confirmed.append(keys, entries, seen, unconfirmed)
            return Appended(written.previous_id, written.entry_ids[-1], length)
        args: list[str | bytes] = [keys.channel, self.node_id, seen]
        for author, data in entries:
            args += [data, author]
        reply = await self._call(lambda: self._append(keys=[keys.log, keys.gone], args=args))
        if reply is None:
            raise PadDeleted(f"pad {keys.pad_id} was deleted: its edits were not written")
        prev, entry_id, length = reply
        return Appended(prev.decode(), entry_id.decode(), int(length))

    async def seed(self, keys: PadKeys, update: bytes, author: str = "") -> bool:
        """Write `update` as the pad's first entry, by `author` (none: the server's own), if
        nothing was ever written to it."""
        written = await self._call(
            lambda: self._seed(
                keys=[keys.snap, keys.log, keys.gone],
                args=[update, keys.channel, self.node_id, author],
            )
        )
        return bool(written)

    async def read(self, keys: PadKeys, after: str | None = None) -> PadState:
        """The pad as stored (after=None), or what was added after log id `after`."""
        call = ([keys.snap, keys.log, keys.gone], [after or "0-0"])
        if self._read_batch is None:
            reply = await self._read_alone(call)
        else:
            reply = await self._read_batch(call)
        snapshot, upto, entries, gone = reply
        return PadState(
            snapshot=snapshot or None,
            snapshot_upto=upto.decode() if upto else None,
            updates=[(eid.decode(), _update_field(fields)) for eid, fields in entries],
            deleted=bool(gone),
        )

    async def _read_alone(self, call: Call) -> Any:
        keys, args = call
        return await self._call(lambda: self._read(keys=keys, args=args))

    async def stored_upto(self, keys: PadKeys) -> str:
        """The last log id the pad holds ("0-0": none). The log keeps its last entry when it
        is folded into the snapshot, so only a snapshot written without one counts by its
        `upto`."""
        client = self.client
        last = await self._call(lambda: client.xrevrange(keys.log, count=1))
        if last:
            return as_text(last[0][0])
        upto = await self._call(lambda: client.hget(keys.snap, "upto"))
        return as_text(upto) if upto else "0-0"

    async def try_lease(self, keys: PadKeys) -> bool:
        """Take the pad's compaction lease if nobody holds it."""
        return bool(
            await self._call(
                lambda: self.client.set(keys.lease, self.node_id, nx=True, px=LEASE_MS)
            )
        )

    async def compact(self, keys: PadKeys, doc: bytes, upto: str) -> bool:
        """Replace the snapshot with `doc` (the pad up to log id `upto`) and trim the log."""
        written = await self._call(
            lambda: self._compact(
                keys=[keys.snap, keys.log, keys.lease, keys.hist], args=[doc, upto, self.node_id]
            )
        )
        return bool(written)

    async def ping(self) -> None:
        await self._call(self.client.ping)


async def stored_pad_ids(client: aioredis.Redis, prefix: str) -> set[str]:
    """Every pad under `prefix` with a snapshot or a log (a pad exists once something is stored
    for it), found with SCAN, never KEYS."""
    found: set[str] = set()
    try:
        for kind in ("snap", "log"):
            async for key in client.scan_iter(match=pad_key_pattern(prefix, kind), count=1000):
                try:
                    key_prefix, pad_id, key_kind = parse_pad_key(as_text(key))
                except ValueError:
                    continue
                if key_prefix == prefix and key_kind == kind:
                    found.add(pad_id)
    except UNAVAILABLE as exc:
        raise StoreUnavailable(f"cannot list the pads now: {exc}") from exc
    return found


def as_text(value: Any) -> str:
    """A reply of redis-py as text, whether the client decodes replies or not."""
    return value.decode() if isinstance(value, bytes) else str(value)


def _update_field(fields: Any) -> bytes:
    # XRANGE entries come back as [id, [field, value, ...]] (RESP2) or {field: value} (RESP3).
    if isinstance(fields, dict):
        return bytes(fields[b"u"])
    return bytes(fields[1])


MAX_CONNECTIONS = 64
# The pool of a client of one server, or of a Sentinel deployment's primary.
_POOL: dict[str, Any] = {
    "max_connections": MAX_CONNECTIONS,
    "timeout": 10,  # waiting for a free connection
    "decode_responses": False,
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "health_check_interval": 15,
}
try:
    from redis.driver_info import DriverInfo

    # redis-py 8 would look its own version up in the package metadata for every connection
    # it opens (about 0.3 ms): a burst of pad loads that grows the pool stalls on it.
    _POOL["driver_info"] = DriverInfo()
except ImportError:  # an older redis-py, without DriverInfo
    pass


def connect(url: str) -> aioredis.Redis:
    """A client for `url`; connects lazily on first use. Its pool is bounded, and a command
    waits for a free connection rather than failing when all are busy.

    For a cluster URL (see redis_url.py) it is a `RedisCluster`, which takes the same commands
    as one server's client for everything summitpad does (the keys of one script or
    transaction share a slot: see keys.py); it is typed as `Redis` so that the modules using
    it need not care. For a sentinel URL it is a client of the primary that the sentinels
    name, found again after a failover (see sentinel.py)."""
    if is_cluster_url(url):
        return cast(aioredis.Redis, connect_cluster(parse_cluster_url(url)))
    if is_sentinel_url(url):
        return connect_sentinel(parse_sentinel_url(url), **_POOL)
    pool = aioredis.BlockingConnectionPool.from_url(url, **_POOL)
    return aioredis.Redis(connection_pool=pool)


def connect_cluster(url: ClusterURL) -> RedisCluster:
    """A client of the cluster that `url` names; it finds the nodes on first use."""
    return RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in url.seeds],
        username=url.username,
        password=url.password,
        ssl=url.tls,
        # Per node, and not blocking: past it a command fails as the store being unavailable
        # (writes are held back and retried), so leave room for bursts.
        max_connections=4 * MAX_CONNECTIONS,
        decode_responses=False,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=15,
    )


def is_cluster(client: aioredis.Redis) -> bool:
    """Whether `client` talks to a Redis Cluster."""
    return isinstance(client, RedisCluster)
