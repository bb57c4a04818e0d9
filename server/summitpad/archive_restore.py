"""Write a checked summit archive into the store: `summitpad restore <file.zip>`.

Nothing is written before the whole archive passed archive_check.py and the deployment was
found to hold none of it: not the summit's slug, not any data of its sessions' pads, not one of
its read-only ids. Then, per pad, in one transaction on the pad's keys (they share a hash tag,
so this holds on a Redis Cluster too; no transaction spans two pads):

    hist, ckpt    the revisions and checkpoints, as `HistoryStore.extend` makes them
    log           one entry, the last revision's, under its log id: the log knows its last id
    snap          doc = the pad's state, upto = the last revision's log id
    saved, chat, authors, ro    as archived (chat under its original stream ids)

and the way back from the read-only id before it. The summit comes last: its search texts, then
its sessions and meta in one transaction, then its slug in the list of summits, so a summit
half restored is never listed. If the store fails half-way, what was written is deleted again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis import exceptions as redis_errors

from .archive_check_records import CheckedArchive, PadRecord
from .errors import InvalidInput, StoreUnavailable
from .history import Head, checkpoints_due, history_entries
from .keys import PadKeys, SummitKeys, pad_keys, read_only_key, summit_index_key
from .pad_export import load_doc
from .store import UNAVAILABLE
from .summit_store import SummitStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Restored:
    slug: str
    sessions: int
    pads: int
    revisions: int
    chat: int

    def summary(self) -> str:
        return (f"restored summit {self.slug}: {self.sessions} sessions, {self.pads} pads, "
                f"{self.revisions} revisions, {self.chat} chat messages")


@dataclass(slots=True)
class _Written:
    """What this restore wrote so far: what a failure deletes again."""

    keys: list[tuple[str, ...]] = field(default_factory=list)  # each tuple: one slot
    listed: tuple[str, str] | None = None  # (the list of summits, the slug added to it)


def _summit_keys(keys: SummitKeys) -> tuple[str, ...]:
    return (keys.meta, keys.sessions, keys.version, keys.text, keys.text_version,
            keys.text_changes)


async def restore_archive(
    client: aioredis.Redis, prefix: str, archive: CheckedArchive
) -> Restored:
    """Write `archive` under `prefix`. InvalidInput, having written nothing, if the store holds
    any of it already; StoreUnavailable if the store fails (what was written is deleted)."""
    try:
        await _refuse_taken(client, prefix, archive)
    except UNAVAILABLE as exc:
        raise StoreUnavailable(f"Valkey/Redis cannot answer now: {exc}") from exc
    written = _Written()
    try:
        for pad in archive.pads:
            await _write_pad(client, prefix, pad, written)
        await _write_summit(client, prefix, archive, written)
    except BaseException as exc:
        left = await _remove(client, written)
        if not written.keys:
            undone = "nothing was written"
        elif not left:
            undone = "what was written was removed again"
        else:
            undone = f"{len(left)} keys written could not be removed: {', '.join(left[:10])}"
        if isinstance(exc, (StoreUnavailable, *UNAVAILABLE)):
            raise StoreUnavailable(f"the restore failed half-way ({exc}); {undone}") from exc
        if isinstance(exc, InvalidInput):
            raise InvalidInput(f"{exc}; {undone}") from exc
        raise
    log.info("summit %s restored from an archive", archive.summit.slug)
    return Restored(archive.summit.slug, len(archive.sessions), len(archive.pads),
                    archive.revision_count, archive.chat_count)


async def _refuse_taken(client: aioredis.Redis, prefix: str, archive: CheckedArchive) -> None:
    slug = archive.summit.slug
    summit = SummitKeys(prefix, slug)
    pads = [pad_keys(prefix, archive.summit.pad_id(s.id)) for s in archive.sessions]
    ro_ids = [pad.read_only_id for pad in archive.pads if pad.read_only_id is not None]
    async with client.pipeline(transaction=False) as pipe:
        pipe.exists(*_summit_keys(summit))
        pipe.sismember(summit_index_key(prefix), slug)
        for keys in pads:
            pipe.exists(*keys.stored)
        for ro_id in ro_ids:
            pipe.exists(read_only_key(prefix, ro_id))
        replies = await pipe.execute()
    if replies[0] or replies[1]:
        raise InvalidInput(f"the archive cannot be restored: there is a summit {slug!r} already "
                           "(delete it first, or restore into another deployment)")
    for keys, found in zip(pads, replies[2 : 2 + len(pads)], strict=True):
        if found:
            raise InvalidInput(f"the archive cannot be restored: pad {keys.pad_id!r} holds data "
                               "already")
    for ro_id, found in zip(ro_ids, replies[2 + len(pads) :], strict=True):
        if found:
            raise InvalidInput(f"the archive cannot be restored: read-only id {ro_id!r} is "
                               "another pad's already")


async def _write_pad(
    client: aioredis.Redis, prefix: str, pad: PadRecord, written: _Written
) -> None:
    keys = pad_keys(prefix, pad.pad_id)
    if pad.read_only_id is not None:
        way_back = read_only_key(prefix, pad.read_only_id)
        if not await client.set(way_back, pad.pad_id, nx=True):
            raise InvalidInput(f"the archive cannot be restored: read-only id "
                               f"{pad.read_only_id!r} was taken meanwhile")
        written.keys.append((way_back,))
    async with client.pipeline(transaction=True) as pipe:
        await pipe.watch(*keys.stored)
        if await pipe.exists(*keys.stored):
            raise InvalidInput(f"the archive cannot be restored: pad {pad.pad_id!r} was written "
                               "meanwhile")
        pipe.multi()  # type: ignore[no-untyped-call]
        _queue_pad(pipe, keys, pad)
        try:
            await pipe.execute()
        except redis_errors.WatchError as exc:
            raise InvalidInput(f"the archive cannot be restored: pad {pad.pad_id!r} was "
                               "written meanwhile") from exc
        except BaseException:
            written.keys.append(keys.stored)  # it may have landed
            raise
    written.keys.append(keys.stored)


def _queue_pad(pipe: Any, keys: PadKeys, pad: PadRecord) -> None:
    """Queue the writes of one pad (all its keys share one slot)."""
    revisions = pad.revisions
    pipe.delete(keys.gone)  # a pad deleted here before comes back
    if revisions:
        due = checkpoints_due(Head(), revisions)
        planned = history_entries(Head(), revisions, due, load_doc(b"") if due else None)
        for entry in planned.entries:
            pipe.xadd(keys.hist, entry.fields, id=entry.entry_id)
        if planned.checkpoints:
            pipe.zadd(keys.ckpt, {member: score for score, member in planned.checkpoints})
        last = revisions[-1]
        pipe.xadd(keys.log, {"u": last.update, "a": last.author}, id=last.upto)
        pipe.hset(keys.snap, mapping={"doc": pad.state, "upto": last.upto})
    if pad.saved:
        records: dict[str | bytes, str] = {}
        for saved in pad.saved:
            record: dict[str, Any] = {"label": saved.label, "author": saved.author,
                                      "name": saved.name, "time": saved.time_ms}
            if saved.number is not None:
                record["number"] = saved.number
            records[saved.upto] = json.dumps(record)
        pipe.hset(keys.saved, mapping=records)
    for entry_id, message in pad.chat:
        body = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        pipe.xadd(keys.chat, {"m": body}, id=entry_id)
    if pad.authors:
        pipe.hset(keys.authors, mapping={a: json.dumps(v) for a, v in pad.authors.items()})
    if pad.read_only_id is not None:
        pipe.set(keys.ro, pad.read_only_id)


async def _write_summit(
    client: aioredis.Redis, prefix: str, archive: CheckedArchive, written: _Written
) -> None:
    summit = archive.summit
    keys = SummitKeys(prefix, summit.slug)
    written.keys.append((keys.text, keys.text_version, keys.text_changes))
    store = SummitStore(client, prefix)
    for pad in archive.pads:
        if pad.revisions:
            await store.save_text(summit.slug, pad.session_id, pad.text)
    async with client.pipeline(transaction=True) as pipe:
        await pipe.watch(keys.meta, keys.sessions)
        if await pipe.exists(keys.meta, keys.sessions):
            raise InvalidInput(f"the archive cannot be restored: summit {summit.slug!r} was "
                               "created meanwhile")
        pipe.multi()  # type: ignore[no-untyped-call]
        if archive.sessions:
            pipe.hset(keys.sessions, mapping={
                s.id: json.dumps(s.to_json()) for s in archive.sessions
            })
        pipe.set(keys.meta, json.dumps(summit.to_json()))
        pipe.incr(keys.version)
        try:
            await pipe.execute()
        except redis_errors.WatchError as exc:
            raise InvalidInput(f"the archive cannot be restored: summit {summit.slug!r} was "
                               "created meanwhile") from exc
        except BaseException:
            written.keys.append((keys.meta, keys.sessions, keys.version))  # it may have landed
            raise
    written.keys.append((keys.meta, keys.sessions, keys.version))
    written.listed = (summit_index_key(prefix), summit.slug)
    await client.sadd(*written.listed)


async def _remove(client: aioredis.Redis, written: _Written) -> list[str]:
    """Delete what `written` names (best effort); returns the keys that could not be."""
    left: list[str] = []
    if written.listed is not None:
        index, slug = written.listed
        try:
            await client.srem(index, slug)
        except UNAVAILABLE as exc:
            log.error("restore: %s not removed from %s: %s", slug, index, exc)
            left.append(index)
    for group in reversed(written.keys):
        try:
            await client.delete(*group)
        except UNAVAILABLE as exc:
            log.error("restore: keys %s not removed: %s", ", ".join(group), exc)
            left += group
    return left
