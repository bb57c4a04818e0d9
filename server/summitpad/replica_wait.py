"""Appends that count only once replicas confirm them (the setting `redis_wait_replicas`).

Replication is asynchronous: an entry the primary has written may not be on any replica when
the primary dies, and the failover that follows loses it. An edit echoed to its writer, or
shown on another node, must not be lost that way. So, with replicas to wait for:

1. a script writes the batch to the pad log without publishing it, and WAIT follows it in the
   same pipeline: one round trip on one connection (WAIT waits for the writes of the
   connection it is sent on, nothing else);
2. if fewer replicas than asked confirm within WAIT_TIMEOUT_MS, the batch is not durable:
   NotReplicated (a StoreUnavailable), and the live pad holds it back and retries, as when
   the store cannot be reached;
3. only once confirmed is the batch published to the other nodes (and echoed by the caller).

A retry may run on another pooled connection, one that wrote nothing: a bare WAIT there would
answer at once. So every retry writes. Writing the batch again would do the document no harm
(a Yjs update applied twice changes nothing), but would leave it twice in the log and its
history. Instead the retry names the last entry of the attempt that was not confirmed: if it
is still in the log (the primary is the same, its replicas were slow or away), the script
only touches the log, a write that changes nothing but is replicated after those entries, so
WAIT covers them; if it is gone (a failover lost it), the script writes the batch anew.
A script is replicated whole, so an attempt's entries are all there or none is.

What remains: the script's reply can be lost with its connection after it wrote (the primary
died right then); the retry, not knowing of the attempt, writes the batch a second time.
That costs a duplicate entry, never an edit. And another node that reads the log to catch up
(on a gap, or every few seconds) may read entries still waiting for replicas, and show them:
those are lost only if the primary and the writing node both fail before they are confirmed,
since the writing node holds them and retries until they are.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis import exceptions as redis_errors

from .append_guard import append_guard
from .errors import PadDeleted, StoreUnavailable
from .keys import PadKeys
from .sentinel import recheck_primary

log = logging.getLogger(__name__)

# How long an append waits for replicas to confirm it (WAIT's timeout): well within the socket
# timeout; past it the batch is held back and retried.
WAIT_TIMEOUT_MS = 1000

# KEYS: log, gone. ARGV: the last log id the writer has seen ('0-0': none), the last id of the
# attempt at the same entries that replicas did not confirm ('': none), then update and author
# for each entry. As store._APPEND, but it publishes nothing. If the earlier attempt's entries
# are still in the log (its last id is there, holding the batch's last update: on a primary
# whose clock is behind, an id alone could be another entry's), it writes them no second time
# but touches the log: XSETID to its own last id changes nothing, yet is a write, replicated
# after them, so a WAIT after it waits for them. Returns {id before the first, {ids}, length},
# {'', {}, log length} if the earlier entries are still there, or false (nothing written) if
# the pad was deleted and the writer has seen entries of it.
_APPEND_UNPUBLISHED = append_guard("ARGV[1]") + """
if ARGV[2] ~= '' then
  local held = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
  if #held > 0 and held[1][2][2] == ARGV[#ARGV - 1] then
    redis.call('XSETID', KEYS[1], first)
    return {'', {}, redis.call('XLEN', KEYS[1])}
  end
end
local ids = {}
for i = 3, #ARGV, 2 do
  ids[#ids + 1] = redis.call('XADD', KEYS[1], '*', 'u', ARGV[i], 'a', ARGV[i + 1])
end
return {first, ids, redis.call('XLEN', KEYS[1])}
"""


@dataclass(frozen=True, slots=True)
class Unconfirmed:
    """Entries an attempt wrote to the primary's log: the id before them and theirs."""

    previous_id: str
    entry_ids: tuple[str, ...]


class NotReplicated(StoreUnavailable):
    """The primary wrote a batch, but too few replicas confirmed it in time: it is not durable
    (a failover now would lose it). Retry the same batch with `unconfirmed`."""

    def __init__(self, message: str, unconfirmed: Unconfirmed) -> None:
        super().__init__(message)
        self.unconfirmed = unconfirmed


class ConfirmedAppend:
    """Writes batches to pad logs and returns once `replicas` replicas confirm them."""

    def __init__(self, client: aioredis.Redis, node_id: str, replicas: int) -> None:
        self.client = client
        self.node_id = node_id
        self.replicas = replicas
        self._script = client.register_script(_APPEND_UNPUBLISHED)

    async def append(
        self,
        keys: PadKeys,
        entries: Sequence[tuple[str, bytes]],
        seen: str,
        unconfirmed: Unconfirmed | None,
    ) -> tuple[Unconfirmed, int]:
        """Write (author, update) entries, wait for the replicas, publish: the entries as
        written (now confirmed) and the log's length. `unconfirmed`: an earlier attempt at the
        same entries, from its NotReplicated. PadDeleted if the pad was deleted since `seen`;
        StoreUnavailable (NotReplicated if only the replicas failed) if not durable."""
        args: list[str | bytes] = [seen, unconfirmed.entry_ids[-1] if unconfirmed else ""]
        for author, data in entries:
            args += [data, author]
        try:
            reply, confirmed = await self._write_and_wait(keys, args)
        except (redis_errors.RedisError, OSError) as exc:
            raise StoreUnavailable(f"Valkey/Redis cannot store this now: {exc}") from exc
        if reply is None:
            raise PadDeleted(f"pad {keys.pad_id} was deleted: its edits were not written")
        first, ids, length = reply
        if ids:
            attempt = Unconfirmed(first.decode(), tuple(entry_id.decode() for entry_id in ids))
        elif unconfirmed is not None:
            attempt = unconfirmed  # still in the log: the touch made WAIT wait for it
        else:  # the script writes unless it was told of an attempt
            raise StoreUnavailable("the append script wrote nothing")
        if confirmed < self.replicas:
            # A primary demoted by a graceful failover has lost its replicas: look again
            # where the primary is, so that the retry goes there.
            await recheck_primary(self.client)
            raise NotReplicated(
                f"{confirmed} of the {self.replicas} replicas needed confirmed the write "
                f"within {WAIT_TIMEOUT_MS} ms",
                attempt,
            )
        await self._publish(keys, attempt, entries)
        return attempt, int(length)

    async def _write_and_wait(self, keys: PadKeys, args: list[str | bytes]) -> tuple[Any, int]:
        """The script's reply and how many replicas confirmed it, from one pipeline."""
        for _ in range(2):  # once more after loading the script into a server that lacks it
            pipe = self.client.pipeline(transaction=False)
            pipe.evalsha(self._script.sha, 2, keys.log, keys.gone, *args)
            pipe.wait(self.replicas, WAIT_TIMEOUT_MS)
            reply, confirmed = await pipe.execute(raise_on_error=False)
            if isinstance(reply, redis_errors.NoScriptError):
                await self.client.script_load(_APPEND_UNPUBLISHED)
                continue
            for result in (reply, confirmed):
                if isinstance(result, Exception):
                    raise result
            return reply, int(confirmed)
        raise redis_errors.NoScriptError("the append script could not be loaded")

    async def _publish(
        self, keys: PadKeys, written: Unconfirmed, entries: Sequence[tuple[str, bytes]]
    ) -> None:
        """Tell the other nodes, in the messages the append script sends when it need not
        wait. One lost here is found all the same: the next names it as its predecessor, and
        nodes read the log every few seconds."""
        pipe = self.client.pipeline(transaction=False)
        previous = written.previous_id
        for entry_id, (_, data) in zip(written.entry_ids, entries, strict=True):
            pipe.spublish(keys.channel, f"U{previous} {entry_id} {self.node_id} ".encode() + data)
            previous = entry_id
        try:
            await pipe.execute()
        except (redis_errors.RedisError, OSError) as exc:
            log.warning(
                "pad %s: written, but not published to the other nodes: %s", keys.pad_id, exc
            )
