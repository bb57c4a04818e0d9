"""Reading a summit's pads for its archive: each pad's revisions, saved revisions, chat,
authors and read-only id, as the store holds them.

The history is read as a reader sees it (`HistoryStore.view`): the revisions written to the
history stream, then those its log makes and nobody has written yet, numbered 1..N alike. The
pad's state is the replay of those revisions (built by the archive, off the event loop), so a
pad's record always agrees with itself. Pads are read a bounded number at a time, each in a
few round trips (the view, then one pipeline for the rest); a pad whose history grew between
the two is read again.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis

from .author_names import recorded_authors
from .chat import ChatEntry
from .errors import StoreUnavailable
from .export_fields import history_fields
from .history import Revision
from .history_store import Head, HistoryStore, HistoryView, SavedRevision
from .keys import PadKeys, pad_keys
from .schedule import Session, Summit
from .store import UNAVAILABLE, as_text
from .timeslider import saved_revisions, session_end

CONCURRENCY = 16
READ_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class StoredPad:
    """One session's pad as the store holds it."""

    session: Session
    pad_id: str
    written: bool  # the pad holds data: a snapshot or a log (never written, or deleted: not)
    revisions: list[Revision]  # 1..N, written and not yet written alike
    saved: list[SavedRevision]  # as stored, keyed by `upto`
    shown_saved: list[SavedRevision]  # the saved revisions listed, "end of session" included
    history_fields: dict[str, Any]  # what the JSON export says of the history
    chat: list[tuple[str, dict[str, Any]]]  # stream id, stored message
    chat_entries: list[ChatEntry]  # the same, checked as the pages show them
    authors: dict[str, dict[str, Any]]  # author id -> stored name and colour
    recorded: dict[str, dict[str, str]]  # the same, checked: {"name", "color"}
    read_only_id: str | None

    @property
    def last_time_ms(self) -> int | None:
        """When the pad last changed: its last revision's time."""
        return self.revisions[-1].time_ms if self.revisions else None


def _fields(raw: Any) -> dict[str, bytes]:
    """A stream entry's fields, whether redis-py gives a list (RESP2) or a dict (RESP3)."""
    items = raw.items() if isinstance(raw, dict) else zip(raw[::2], raw[1::2], strict=True)
    return {as_text(k): bytes(v) for k, v in items}


def _object(value: bytes) -> dict[str, Any] | None:
    """A stored JSON object; None for anything else."""
    try:
        found = json.loads(value)
    except (ValueError, RecursionError):
        return None
    return found if isinstance(found, dict) else None


def _written_revisions(entries: Sequence[Any]) -> list[Revision]:
    """Revisions from the history stream (entry `0-<n>`: u, a, t, o)."""
    revisions = []
    for entry_id, raw in entries:
        f = _fields(raw)
        revisions.append(Revision(
            number=int(as_text(entry_id).partition("-")[2]),
            author=f["a"].decode(),
            time_ms=int(f["t"]),
            update=f["u"],
            upto=f["o"].decode(),
        ))
    return revisions


async def read_pad(
    client: aioredis.Redis,
    history: HistoryStore,
    keys: PadKeys,
    session: Session,
    ended: datetime | None,
) -> StoredPad:
    """Everything of one pad; `ended`: when its session ended, if it has."""
    for _ in range(READ_ATTEMPTS):
        view = await history.view(keys)
        try:
            async with client.pipeline(transaction=False) as pipe:
                pipe.exists(keys.snap, keys.log)
                pipe.xrange(keys.chat)
                pipe.hgetall(keys.authors)
                pipe.get(keys.ro)
                pipe.xrange(keys.hist, "0-1", "+")
                replies = await pipe.execute()
        except UNAVAILABLE as exc:
            raise StoreUnavailable(f"Valkey/Redis cannot answer now: {exc}") from exc
        # A node that wrote revisions to the history while the view was read may have trimmed
        # the log it read from: read again, so revisions and log agree.
        if len(replies[4] or []) == view.head.count:
            break
    else:
        raise StoreUnavailable(f"pad {keys.pad_id} changed too often to be read; try again")
    exists, chat_raw, authors_raw, ro = replies[:4]
    written = bool(exists)
    revisions: list[Revision] = []
    saved: list[SavedRevision] = []
    if written:
        revisions = _written_revisions(replies[4] or []) + view.tail
        saved = sorted(view.saved, key=lambda s: (s.number or 0, s.time_ms, s.upto))
    # Every revision in memory: the history's functions below ask the store nothing.
    whole = HistoryView(keys, Head(), revisions, saved)
    shown = await saved_revisions(history, whole, ended=ended)
    fields = await history_fields(history, whole, None, ended)
    chat = []
    entries = []
    for entry_id, raw in chat_raw or []:
        message = _fields(raw).get("m", b"")
        stored = _object(message)
        if stored is not None:
            chat.append((as_text(entry_id), stored))
        entries.append(ChatEntry.stored(as_text(entry_id), message))
    authors = {}
    for author_id, value in sorted((as_text(k), v) for k, v in (authors_raw or {}).items()):
        stored = _object(value)
        if stored is not None:
            authors[author_id] = stored
    return StoredPad(
        session=session,
        pad_id=keys.pad_id,
        written=written,
        revisions=revisions,
        saved=saved,
        shown_saved=shown,
        history_fields=fields,
        chat=chat,
        chat_entries=entries,
        authors=authors,
        recorded=recorded_authors(authors_raw or {}),
        read_only_id=as_text(ro) if ro else None,
    )


async def read_pads(
    client: aioredis.Redis,
    prefix: str,
    summit: Summit,
    sessions: Sequence[Session],
    now: datetime,
    *,
    concurrency: int = CONCURRENCY,
) -> list[StoredPad]:
    """The pads of `sessions`, in their order, `concurrency` at a time."""
    history = HistoryStore(client)
    bound = asyncio.Semaphore(concurrency)

    async def one(session: Session) -> StoredPad:
        async with bound:
            keys = pad_keys(prefix, summit.pad_id(session.id))
            return await read_pad(client, history, keys, session, session_end(session, now))

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(session)) for session in sessions]
    except ExceptionGroup as failed:  # the first failure, as callers know it (StoreUnavailable)
        raise failed.exceptions[0] from None
    return [task.result() for task in tasks]
