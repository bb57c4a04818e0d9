"""A pad's history in Valkey/Redis: revisions, checkpoints and saved revisions.

    <prefix>:{pad:<id>}:hist   stream; entry `0-<n>` is revision n: u (update), a (author),
                               t (time, ms), o (its last log id), s and k (bytes and revisions
                               since the last checkpoint), c (that checkpoint's size)
    <prefix>:{pad:<id>}:ckpt   sorted set: score n, member = n (8 bytes, big-endian) + the pad
                               (one byte 1, then the state compressed with zlib)
    <prefix>:{pad:<id>}:saved  hash: log id -> JSON {number, label, author, name, time}

Revisions are written from the log by whichever node compacts the pad (`extend`), or by a
restore (archive_restore.py, with the same entries and checkpoints: history.history_entries),
and the log keeps every entry the history does not hold yet. Readers (`view`) see the
written revisions plus those the rest of the log makes, numbered the same way.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import redis.asyncio as aioredis
from pycrdt import Doc

from .errors import NotFound, StoreUnavailable
from .history import Head as Head  # re-exported: readers of the history take it from here
from .history import (
    LogEntry,
    Revision,
    checkpoints_due,
    group,
    history_entries,
    replay,
    unpack_checkpoint,
)
from .keys import PadKeys
from .store import UNAVAILABLE, as_text

T = TypeVar("T")

# KEYS: hist, ckpt, log. ARGV: the revision count the caller built on, the number of revisions
# r, r times (number, u, a, t, o, s, k, c), then (score, member) per checkpoint. Writes nothing
# and returns 0 if another node extended the history first, or if the pad has no log (it was
# deleted: revisions are only ever made from a log, which always keeps its last entry).
_EXTEND = """
if redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local count = 0
if #last > 0 then count = tonumber(string.match(last[1][1], '^0%-(%d+)$')) end
if count ~= tonumber(ARGV[1]) then return 0 end
local i = 3
for _ = 1, tonumber(ARGV[2]) do
  redis.call('XADD', KEYS[1], '0-' .. ARGV[i], 'u', ARGV[i+1], 'a', ARGV[i+2], 't', ARGV[i+3],
             'o', ARGV[i+4], 's', ARGV[i+5], 'k', ARGV[i+6], 'c', ARGV[i+7])
  i = i + 8
end
while i <= #ARGV do
  redis.call('ZADD', KEYS[2], ARGV[i], ARGV[i+1])
  i = i + 2
end
return 1
"""

# KEYS: log, saved. ARGV: JSON of the saved revision. Marks the log's last entry; returns its id.
_SAVE = """
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last == 0 then return false end
redis.call('HSET', KEYS[2], last[1][1], ARGV[1])
return last[1][1]
"""


def _fields(raw: Any) -> dict[str, bytes]:
    """A stream entry's fields, whether redis-py gives a list (RESP2) or a dict (RESP3)."""
    items = raw.items() if isinstance(raw, dict) else zip(raw[::2], raw[1::2], strict=True)
    return {as_text(k): bytes(v) for k, v in items}


@dataclass(frozen=True, slots=True)
class SavedRevision:
    number: int | None
    label: str
    author: str
    name: str
    time_ms: int
    upto: str


@dataclass(slots=True)
class HistoryView:
    """The history as a reader sees it: `head.count` written revisions, then `tail`."""

    keys: PadKeys
    head: Head
    tail: list[Revision]
    saved: list[SavedRevision] = field(default_factory=list)

    @property
    def count(self) -> int:
        return self.head.count + len(self.tail)


def _revision(number: int, fields: dict[str, bytes]) -> Revision:
    return Revision(
        number=number,
        author=fields["a"].decode(),
        time_ms=int(fields["t"]),
        update=fields["u"],
        upto=fields["o"].decode(),
    )


class HistoryStore:
    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self._extend = client.register_script(_EXTEND)
        self._save = client.register_script(_SAVE)

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T:
        try:
            return await operation()
        except UNAVAILABLE as exc:
            raise StoreUnavailable(f"Valkey/Redis cannot answer now: {exc}") from exc

    # -- reading ------------------------------------------------------------------------------

    async def head(self, keys: PadKeys) -> Head:
        last = await self._call(lambda: self.client.xrevrange(keys.hist, count=1))
        if not last:
            return Head()
        entry_id, raw = last[0]
        f = _fields(raw)
        return Head(
            count=int(as_text(entry_id).partition("-")[2]),
            upto=f["o"].decode(),
            bytes_since=int(f["s"]),
            revisions_since=int(f["k"]),
            checkpoint_size=int(f["c"]),
        )

    async def _entries_after(
        self, keys: PadKeys, head: Head
    ) -> tuple[list[Revision], list[LogEntry]]:
        """The log entries the history does not hold yet; a pad whose older log was folded away
        before it had a history starts with one revision holding its snapshot."""
        base: list[Revision] = []
        after = head.upto
        if head.count == 0:
            doc, upto = await self._call(lambda: self.client.hmget(keys.snap, ["doc", "upto"]))
            if doc:
                after = as_text(upto)
                state = doc if isinstance(doc, bytes) else doc.encode()
                base = [Revision(1, "", int(after.partition("-")[0]), state, after)]
        low = f"({after}" if after else "-"
        raw = await self._call(lambda: self.client.xrange(keys.log, low, "+"))
        entries = []
        for entry_id, data in raw or []:
            f = _fields(data)
            entries.append(LogEntry(as_text(entry_id), f.get("a", b"").decode(), f["u"]))
        return base, entries

    async def _saved_ids(self, keys: PadKeys) -> dict[str, SavedRevision]:
        raw = await self._call(lambda: self.client.hgetall(keys.saved))
        saved = {}
        for upto, value in raw.items():
            data = json.loads(value)
            saved[as_text(upto)] = SavedRevision(
                number=data.get("number"),
                label=str(data.get("label", "")),
                author=str(data.get("author", "")),
                name=str(data.get("name", "")),
                time_ms=int(data.get("time", 0)),
                upto=as_text(upto),
            )
        return saved

    async def _unwritten(
        self, keys: PadKeys
    ) -> tuple[Head, dict[str, SavedRevision], list[Revision], list[Revision]]:
        """The written history's head, the saved revisions, and the revisions past the history
        (numbered as they will be written): a first one holding the snapshot of a pad older
        than its history, if so, then those the log makes."""
        head = await self.head(keys)
        saved = await self._saved_ids(keys)
        base, entries = await self._entries_after(keys, head)
        made = group(entries, first_number=head.count + len(base) + 1, saved=saved)
        return head, saved, base, made

    async def view(self, keys: PadKeys) -> HistoryView:
        head, saved, base, made = await self._unwritten(keys)
        tail = base + made
        by_upto = {r.upto: r.number for r in tail}
        if head.upto is not None:
            # Saved when the log's last entry was already written: the history's last revision.
            by_upto.setdefault(head.upto, head.count)
        listed = [
            s if s.number is not None or s.upto not in by_upto
            else SavedRevision(by_upto[s.upto], s.label, s.author, s.name, s.time_ms, s.upto)
            for s in saved.values()
        ]
        listed.sort(key=lambda s: (s.number or 0, s.time_ms))
        return HistoryView(keys, head, tail, listed)

    async def revision(self, view: HistoryView, number: int) -> Revision:
        if not 1 <= number <= view.count:
            raise NotFound(f"revision {number} does not exist (the pad has {view.count})")
        if number > view.head.count:
            return view.tail[number - view.head.count - 1]
        raw = await self._call(
            lambda: self.client.xrange(view.keys.hist, f"0-{number}", f"0-{number}")
        )
        assert raw, f"revision {number} is missing"
        return _revision(number, _fields(raw[0][1]))

    async def summaries(
        self, view: HistoryView, first: int, last: int
    ) -> list[tuple[int, str, int]]:
        """(number, author, time in ms) of revisions `first`..`last` that exist, in order."""
        found: list[tuple[int, str, int]] = []
        top = min(last, view.head.count)
        if max(first, 1) <= top:
            raw = await self._call(
                lambda: self.client.xrange(view.keys.hist, f"0-{max(first, 1)}", f"0-{top}")
            )
            for entry_id, data in raw or []:
                f = _fields(data)
                number = int(as_text(entry_id).partition("-")[2])
                found.append((number, f["a"].decode(), int(f["t"])))
        found += [(r.number, r.author, r.time_ms) for r in view.tail if first <= r.number <= last]
        return found

    async def doc_at(self, view: HistoryView, number: int) -> Doc[Any]:
        """The pad at revision `number` (0: empty); NotFound past the last one."""
        if not 0 <= number <= view.count:
            raise NotFound(f"revision {number} does not exist (the pad has {view.count})")
        written = min(number, view.head.count)
        base, since = await self._checkpoint(view.keys, written)
        updates: list[bytes] = []
        if since < written:
            raw = await self._call(
                lambda: self.client.xrange(view.keys.hist, f"0-{since + 1}", f"0-{written}")
            )
            updates = [_fields(data)["u"] for _, data in raw or []]
        updates += [r.update for r in view.tail[: max(0, number - view.head.count)]]
        return replay(base, updates)

    async def _checkpoint(self, keys: PadKeys, number: int) -> tuple[bytes | None, int]:
        """The last checkpoint at or before revision `number`: (state, its number)."""
        if number == 0:
            return None, 0
        found = await self._call(
            lambda: self.client.zrevrangebyscore(keys.ckpt, number, 0, start=0, num=1)
        )
        if not found:
            return None, 0
        member = found[0]
        assert isinstance(member, bytes)
        return unpack_checkpoint(member[8:]), struct.unpack(">Q", member[:8])[0]

    async def number_at(self, view: HistoryView, time_ms: int) -> int:
        """The last revision made at or before `time_ms` (0 if none)."""
        for revision in reversed(view.tail):
            if revision.time_ms <= time_ms:
                return revision.number
        low, high = 0, view.head.count  # revision `low` is at or before; `high` may not be
        while low < high:
            middle = (low + high + 1) // 2
            if (await self.revision(view, middle)).time_ms <= time_ms:
                low = middle
            else:
                high = middle - 1
        return low

    # -- writing ------------------------------------------------------------------------------

    async def save(
        self, keys: PadKeys, *, label: str, author: str, name: str, time_ms: int
    ) -> SavedRevision | None:
        """Save the pad's latest revision under `label`; None if the pad has no edits yet."""
        record = {"label": label, "author": author, "name": name, "time": time_ms}
        upto = await self._call(
            lambda: self._save(keys=[keys.log, keys.saved], args=[json.dumps(record)])
        )
        if not upto:
            return None
        upto = as_text(upto)
        view = await self.view(keys)
        saved = next(s for s in view.saved if s.upto == upto)
        if saved.number is not None:
            record["number"] = saved.number
            await self._call(lambda: self.client.hset(keys.saved, upto, json.dumps(record)))
        return saved

    async def extend(self, keys: PadKeys) -> int:
        """Write the revisions the log holds past the history; returns how many."""
        head, _, base, made = await self._unwritten(keys)
        revisions = base + made
        if not revisions:
            return 0
        # Which revisions get a checkpoint, found first: the pad itself is built only if one does.
        due = checkpoints_due(head, revisions, forced={r.number for r in base})
        doc = await self._doc_before(keys, head, revisions[0].number) if due else None
        planned = history_entries(head, revisions, due, doc)
        args: list[Any] = [head.count, len(revisions)]
        for entry in planned.entries:
            args += [entry.revision.number, *entry.fields.values()]
        for score, member in planned.checkpoints:
            args += [score, member]
        written = await self._call(
            lambda: self._extend(keys=[keys.hist, keys.ckpt, keys.log], args=args)
        )
        return len(revisions) if written else 0

    async def _doc_before(self, keys: PadKeys, head: Head, number: int) -> Doc[Any]:
        """The pad at revision `number - 1`, from the written history."""
        view = HistoryView(keys, head, [])
        return await self.doc_at(view, min(number - 1, head.count))


