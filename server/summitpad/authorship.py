"""Who wrote what: every run of a pad's text carries its author id in the `author` attribute.

The server, not the client, decides the author of an edit: it is the participant of the
connection that sent it. An insert that arrives without that author (a stock Yjs client sets
none; text typed inside someone else's run inherits theirs) is attributed by the server in the
same batch, and an edit that changes the author of text already there is refused, so nobody can
wipe or take over other people's attribution.

Offsets here are those of pycrdt's Text: UTF-8 bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

AUTHOR = "author"

Delta = Sequence[dict[str, Any]]
Runs = Iterable[tuple[Any, dict[str, Any] | None]]


def changes_authorship(delta: Delta, before: Sequence[tuple[Any, Any]] | None = None) -> bool:
    """True if `delta` (a text event's) sets or clears the author of text already there.

    Yjs and Yrs report the author of text next to a deleted run as set when the delete takes
    that run's formatting marks away, even though it does not change: with `before` (the text's
    `diff()` before the change), only a retain whose author differs from the one the text had
    counts."""
    if before is None:
        return any("retain" in op and AUTHOR in (op.get("attributes") or {}) for op in delta)
    old_authors = _author_spans(before)
    old = 0  # offset in the text before the change
    for op in delta:
        if "retain" in op:
            size = op["retain"]
            attributes = op.get("attributes") or {}
            if AUTHOR in attributes:
                author = attributes[AUTHOR] or ""
                if any(a != author for a in _authors_between(old_authors, old, old + size)):
                    return True
            old += size
        elif "delete" in op:
            old += op["delete"]
    return False


def _author_spans(runs: Sequence[tuple[Any, Any]]) -> list[tuple[int, int, str]]:
    """(start, end, author) of each run, in UTF-8 bytes; an embed is one."""
    spans = []
    offset = 0
    for chunk, attributes in runs:
        size = len(chunk.encode()) if isinstance(chunk, str) else 1
        spans.append((offset, offset + size, str((attributes or {}).get(AUTHOR) or "")))
        offset += size
    return spans


def _authors_between(spans: list[tuple[int, int, str]], start: int, end: int) -> set[str]:
    return {author for s, e, author in spans if s < end and start < e}


def misattributed(delta: Delta, author: str) -> list[tuple[int, int]]:
    """The (offset, length) of every insert in `delta` whose author is not `author`, in
    UTF-8 bytes of the text after the change. Line breaks alone need no author."""
    ranges: list[tuple[int, int]] = []
    offset = 0
    for op in delta:
        if "retain" in op:
            offset += op["retain"]
        elif "insert" in op:
            inserted = op["insert"]
            if not isinstance(inserted, str):
                offset += 1  # an embed
                continue
            size = len(inserted.encode())
            attributes = op.get("attributes") or {}
            if size and attributes.get(AUTHOR) != author and inserted.strip("\n"):
                if ranges and ranges[-1][0] + ranges[-1][1] == offset:
                    start, length = ranges.pop()
                    ranges.append((start, length + size))
                else:
                    ranges.append((offset, size))
            offset += size
    return ranges


def characters_by_author(runs: Runs) -> dict[str, int]:
    """How many characters (line breaks not counted) each author's runs hold; "" for text
    nobody is recorded for (a template, or text written before authorship was kept)."""
    counts: dict[str, int] = {}
    for chunk, attributes in runs:
        if not isinstance(chunk, str):
            continue
        size = len(chunk) - chunk.count("\n")
        if size:
            author = str((attributes or {}).get(AUTHOR) or "")
            counts[author] = counts.get(author, 0) + size
    return counts
