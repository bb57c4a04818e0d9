"""Deleting a pad for good (a redaction): from Valkey, from every node's memory, from every
screen, at once. The admin pages and the Etherpad-compatible API's deletePad both use it.

1. One script deletes every key of `PadKeys.stored`, sets the pad's tombstone (`PadKeys.gone`,
   kept a week) and publishes `D<node id>` on the pad's channel, in the same instant (the keys
   and the channel share the pad's hash tag).
2. Then the way-back key of the pad's read-only id goes, and a session pad's text leaves the
   summit's search.
3. Every node holding the pad live, this one included (a node does not skip its own `D`),
   closes its connections with 4410 (`PadDeleted`), throws away the edits it has not
   written, and unloads the pad without writing anything back (`LivePad.deleted`). Once its
   writer, chat and names are stopped it clears whatever they may have written meanwhile
   (`clear_leftovers`), as long as the pad still has neither snapshot nor log.

A node that has not heard of the deletion yet cannot bring the pad back either: its writer's
next append is refused (`store._APPEND`: the tombstone exists and the writer has seen log
entries), its compaction and history find no log (`store._COMPACT`, `history_store._EXTEND`),
and its catch-up, every few seconds and after any pub/sub reconnection, finds the tombstone.
Each drops the live pad as the message does. The deletion is known by its tombstone, never
guessed from missing keys: a store that lost data is not a deletion. The pad's next first
write (a template, a creation, a restore, the first edit of a node that loads it anew) removes
the tombstone; a node that missed the message and has not caught up by then could merge its
old copy into the new pad.

Clients keep their copy of the document: the stock y-websocket client does not reconnect after
a 44xx close, and the pad page clears its editor and stays disconnected, so nothing sends the
old notes back. (A client that did reconnect with its old copy would write it again: a CRDT
takes whatever a peer brings.) A new connection afterwards gets an empty pad, or its session's
template.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import redis.asyncio as aioredis

from .errors import NotFound, StoreUnavailable
from .keys import PadKeys, read_only_key
from .schedule import parse_session_pad_id
from .store import UNAVAILABLE, PadStore, as_text

if TYPE_CHECKING:
    from .pads import PadRegistry
    from .summit_store import SummitStore

log = logging.getLogger(__name__)

# KEYS: the pad's read-only id key, the other keys holding its data, then its tombstone. ARGV:
# the pad's channel, the message for the nodes, the tombstone's life in seconds. Returns {how
# many keys existed, the read-only id or nil}.
_DELETE = """
local ro = redis.call('GET', KEYS[1])
local found = redis.call('DEL', unpack(KEYS, 1, #KEYS - 1))
redis.call('SET', KEYS[#KEYS], '1', 'EX', ARGV[3])
redis.call('SPUBLISH', ARGV[1], ARGV[2])
return {found, ro}
"""
TOMBSTONE_SECONDS = 7 * 24 * 3600

# KEYS: snap, log, ro, then the pad's other keys. Deletes them all unless a snapshot or a log
# exists (a new pad of the same name). Returns the read-only id it deleted ('' for none), or
# nil if it left the keys be.
_SWEEP = """
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then return false end
local ro = redis.call('GET', KEYS[3]) or ''
redis.call('DEL', unpack(KEYS))
return ro
"""

# KEYS: a read-only id's way back. ARGV: the pad id. Deletes it if it leads to that pad.
_FORGET_RO = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _others(keys: PadKeys, *first: str) -> list[str]:
    """`first`, then the rest of the pad's stored keys."""
    return [*first, *(key for key in keys.stored if key not in first)]


async def _forget_read_only_id(client: aioredis.Redis, keys: PadKeys, ro_id: str) -> None:
    await client.register_script(_FORGET_RO)(
        keys=[read_only_key(keys.prefix, ro_id)], args=[keys.pad_id]
    )


async def _forget_text(summits: SummitStore, pad_id: str) -> None:
    """A session's pad leaves the summit's search with its text."""
    found = parse_session_pad_id(pad_id)
    if found is None:
        return
    try:
        await summits.load(found[0])
    except NotFound:
        return  # a bare pad with a dotted name: no summit keeps its text
    await summits.forget_text(*found)


async def delete_pad(
    store: PadStore, registry: PadRegistry, summits: SummitStore, keys: PadKeys, *, by: str
) -> bool:
    """Delete pad `keys.pad_id` everywhere, closing every connection to it on every node
    (see the module's docstring); whether anything was stored for it. Doing it again does
    what is left to do (StoreUnavailable if Valkey cannot answer)."""
    client = store.client
    message = b"D" + store.node_id.encode()
    try:
        found, ro_id = await client.register_script(_DELETE)(
            keys=[*_others(keys, keys.ro), keys.gone],
            args=[keys.channel, message, TOMBSTONE_SECONDS],
        )
        if ro_id:
            await _forget_read_only_id(client, keys, as_text(ro_id))
    except UNAVAILABLE as exc:
        raise StoreUnavailable(f"the pad cannot be deleted now: {exc}") from exc
    live = registry.live(keys.pad_id)
    if live is not None:
        live.deleted()  # its connections close now, not when the message comes back
    await _forget_text(summits, keys.pad_id)
    log.info("pad %s deleted by %s (%d keys)", keys.pad_id, by, int(found))
    return bool(found)


async def clear_leftovers(client: aioredis.Redis, summits: SummitStore, keys: PadKeys) -> None:
    """After a node has unloaded a deleted pad: remove what its writer, chat or names may have
    written in the moment before it heard of the deletion, unless the pad exists again."""
    try:
        ro_id = await client.register_script(_SWEEP)(
            keys=_others(keys, keys.snap, keys.log, keys.ro)
        )
        if ro_id is None:
            return
        if ro_id:
            await _forget_read_only_id(client, keys, as_text(ro_id))
        await _forget_text(summits, keys.pad_id)
    except (StoreUnavailable, *UNAVAILABLE) as exc:
        log.warning("pad %s: leftovers of its deletion not cleared: %s", keys.pad_id, exc)
