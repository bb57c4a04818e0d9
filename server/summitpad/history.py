"""A pad's history: revisions built from its log, and the checkpoints that make seeks fast.

Every log entry is one author's consecutive edits within one writer batch. A **revision** joins
consecutive entries of one author within one time window (`WINDOW_MS`, windows aligned to the
clock so a session's end, on a whole minute, always falls between two revisions), and ends
early at a saved revision's entry. Revision 0 is the empty pad; revision n is the pad after
applying revisions 1..n in order. Grouping depends only on the entries, their ids and the saved
revisions, so the revisions shown from the log before they are written to the history are the
same ones written later: revision numbers never change.

A **checkpoint** is the whole pad at one revision, stored compressed. A new one is written once
the revisions since the last weigh as much as it does (and at least every `CHECKPOINT_EVERY`
revisions), so a seek loads one checkpoint and applies at most about its size again in updates
(or `CHECKPOINT_EVERY` revisions, at a few microseconds each).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc

from .update_merge import merge

WINDOW_MS = 3_000
CHECKPOINT_MIN_BYTES = 32 * 1024
CHECKPOINT_EVERY = 5_000


@dataclass(frozen=True, slots=True)
class LogEntry:
    entry_id: str
    author: str
    update: bytes

    @property
    def time_ms(self) -> int:
        return int(self.entry_id.partition("-")[0])


@dataclass(frozen=True, slots=True)
class Revision:
    number: int
    author: str
    time_ms: int  # when its last edit was made
    update: bytes
    upto: str  # the id of its last log entry


def window(time_ms: int) -> int:
    return time_ms // WINDOW_MS


def group(
    entries: Sequence[LogEntry], *, first_number: int, saved: Collection[str] = ()
) -> list[Revision]:
    """The revisions `entries` make, numbered from `first_number`."""
    revisions: list[Revision] = []
    start = 0
    for i, entry in enumerate(entries):
        last = i + 1 == len(entries)
        ends = (
            last
            or entry.entry_id in saved
            or entries[i + 1].author != entry.author
            or window(entries[i + 1].time_ms) != window(entry.time_ms)
        )
        if ends:
            updates = [e.update for e in entries[start : i + 1]]
            revisions.append(
                Revision(
                    number=first_number + len(revisions),
                    author=entry.author,
                    time_ms=entry.time_ms,
                    update=merge(updates),
                    upto=entry.entry_id,
                )
            )
            start = i + 1
    return revisions


def checkpoint_due(bytes_since: int, revisions_since: int, last_size: int) -> bool:
    """Whether the revisions since the last checkpoint call for a new one."""
    return (
        bytes_since >= max(last_size, CHECKPOINT_MIN_BYTES)
        or revisions_since >= CHECKPOINT_EVERY
    )


def replay(base: bytes | None, updates: Iterable[bytes]) -> Doc[Any]:
    """A document from a checkpoint (or nothing) and the revisions after it."""
    doc: Doc[Any] = Doc()
    if base:
        doc.apply_update(base)
    for update in updates:
        doc.apply_update(update)
    return doc


@dataclass(frozen=True, slots=True)
class Head:
    """The last revision written: how many there are and the checkpoint bookkeeping."""

    count: int = 0
    upto: str | None = None
    bytes_since: int = 0
    revisions_since: int = 0
    checkpoint_size: int = 0


# -- what writing revisions adds: the same for `HistoryStore.extend` and a restored archive ---


@dataclass(frozen=True, slots=True)
class HistEntry:
    """One revision as the `hist` stream holds it, with the checkpoint bookkeeping after it."""

    revision: Revision
    bytes_since: int
    revisions_since: int
    checkpoint_size: int

    @property
    def entry_id(self) -> str:
        return f"0-{self.revision.number}"

    @property
    def fields(self) -> dict[str, bytes | str | int]:
        """The stream entry's fields (see history_store.py), in this order."""
        r = self.revision
        return {"u": r.update, "a": r.author, "t": r.time_ms, "o": r.upto,
                "s": self.bytes_since, "k": self.revisions_since, "c": self.checkpoint_size}


@dataclass(frozen=True, slots=True)
class PlannedHistory:
    entries: list[HistEntry]
    checkpoints: list[tuple[int, bytes]]  # (score, member) for the `ckpt` sorted set


def checkpoints_due(
    head: Head, revisions: Sequence[Revision], forced: Collection[int] = ()
) -> set[int]:
    """The numbers of `revisions` (written after `head`) that get a checkpoint: those in
    `forced`, and each one after which the revisions since the last outweigh it."""
    due: set[int] = set(forced)
    bytes_since, count_since, size = (
        head.bytes_since, head.revisions_since, head.checkpoint_size
    )
    for revision in revisions:
        bytes_since += len(revision.update)
        count_since += 1
        if revision.number in due or checkpoint_due(bytes_since, count_since, size):
            due.add(revision.number)
            bytes_since, count_since = 0, 0
    return due


def history_entries(
    head: Head, revisions: Sequence[Revision], due: Collection[int], doc: Doc[Any] | None
) -> PlannedHistory:
    """The hist entries and checkpoints that writing `revisions` after `head` adds. `doc` is
    the pad before the first of them (needed only if a checkpoint is `due`); it is changed."""
    entries: list[HistEntry] = []
    checkpoints: list[tuple[int, bytes]] = []
    last_due = max(due, default=0)
    bytes_since, count_since, size = (
        head.bytes_since, head.revisions_since, head.checkpoint_size
    )
    for revision in revisions:
        bytes_since += len(revision.update)
        count_since += 1
        if doc is not None:
            doc.apply_update(revision.update)
            if revision.number in due:
                state = doc.get_update()
                checkpoints.append(
                    (revision.number, struct.pack(">Q", revision.number) + pack_checkpoint(state))
                )
                bytes_since, count_since, size = 0, 0, len(state)
                if revision.number == last_due:
                    doc = None  # nothing more to build
        entries.append(HistEntry(revision, bytes_since, count_since, size))
    return PlannedHistory(entries, checkpoints)


_ZLIB = b"\x01"


def pack_checkpoint(state: bytes) -> bytes:
    """A checkpoint as stored: a pad's state weighs three times less compressed, and a 2 MB
    one decompresses in a few milliseconds."""
    return _ZLIB + zlib.compress(state, 6)


def unpack_checkpoint(stored: bytes) -> bytes:
    if stored[:1] != _ZLIB:
        raise ValueError("a checkpoint in an unknown format")
    return zlib.decompress(stored[1:])
