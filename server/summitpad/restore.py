"""Bring a pad's text back to what it was at an earlier revision, by ordinary edits.

`restore_edits` changes a live `Text` into the target runs (an earlier revision's `diff()`)
with few edits: lines are diffed first, then the characters of a changed block when it is small
(a larger block is replaced whole), and the edits are applied from the end backwards so that
every offset still points into the text as it was. Text inserted gets the target's attributes,
its `author` included (the restored words stay theirs); text that stays but whose attributes
differ is formatted back. Nothing is lost: the history keeps every revision, the restore is
one more.

Offsets of pycrdt's Text are UTF-8 bytes; an embed counts as 1. Inserted text always carries
explicit attributes, so it never takes the format of the character before it.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from itertools import accumulate
from typing import Any

from pycrdt import Text

# A changed block of lines at most this long (characters, both sides together) is diffed
# character by character; a longer one is replaced whole (SequenceMatcher is quadratic).
CHAR_DIFF_MAX = 2_000

Runs = Sequence[tuple[Any, Mapping[str, Any] | None]]
Opcode = tuple[str, int, int, int, int]
_LINE = re.compile(r"[^\n]*\n|[^\n]+$")


def plain(attrs: Mapping[str, Any] | None) -> dict[str, Any]:
    """Attributes without the keys set to None (Yrs leaves out what is unset anyway)."""
    return {k: v for k, v in (attrs or {}).items() if v is not None}


class _Embeds:
    """A private-use character per distinct embed, so embeds take part in the text diff."""

    def __init__(self, texts: Sequence[str]) -> None:
        self._used = set().union(*(set(t) for t in texts)) if texts else set()
        self._by_key: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self._next = 0xF0000

    def char(self, value: Any) -> str:
        key = json.dumps(value, sort_keys=True, default=repr)
        if key not in self._by_key:
            while chr(self._next) in self._used:
                self._next += 1
            char = chr(self._next)
            self._next += 1
            self._by_key[key] = char
            self.values[char] = value
        return self._by_key[key]


@dataclass(slots=True)
class _Flat:
    """Runs as one string (embeds as their private-use characters) and the run boundaries."""

    text: str = ""
    starts: list[int] = field(default_factory=list)
    attrs: list[dict[str, Any]] = field(default_factory=list)
    embed: list[bool] = field(default_factory=list)

    def end(self, run: int) -> int:
        return self.starts[run + 1] if run + 1 < len(self.starts) else len(self.text)

    def run_at(self, index: int) -> int:
        return bisect_right(self.starts, index) - 1


def _flatten(runs: Runs, embeds: _Embeds) -> _Flat:
    flat = _Flat()
    pieces: list[str] = []
    size = 0
    for chunk, attrs in runs:
        if isinstance(chunk, str):
            if not chunk:
                continue
            piece, is_embed = chunk, False
        else:
            piece, is_embed = embeds.char(chunk), True
        flat.starts.append(size)
        flat.attrs.append(plain(attrs))
        flat.embed.append(is_embed)
        pieces.append(piece)
        size += len(piece)
    flat.text = "".join(pieces)
    return flat


class _ByteOffsets:
    """The UTF-8 byte offset of each character index of the current text (embeds: 1)."""

    def __init__(self, flat: _Flat) -> None:
        self._ascii = flat.text.isascii()
        if not self._ascii:
            embedded = {flat.starts[i] for i, e in enumerate(flat.embed) if e}
            sizes = (
                1 if i in embedded else len(c.encode("utf-8", "surrogatepass"))
                for i, c in enumerate(flat.text)
            )
            self._offsets = list(accumulate(sizes, initial=0))

    def __call__(self, index: int) -> int:
        return index if self._ascii else self._offsets[index]


def _lines(text: str) -> tuple[list[str], list[int]]:
    """The lines of `text`, each with its newline, and where each starts (plus the end)."""
    lines = _LINE.findall(text)
    return lines, list(accumulate((len(line) for line in lines), initial=0))


def opcodes(current: str, target: str) -> Iterator[Opcode]:
    """Character opcodes (as SequenceMatcher's) that turn `current` into `target`: by lines,
    then by characters inside a small changed block."""
    a_lines, a_at = _lines(current)
    b_lines, b_at = _lines(target)
    matcher = SequenceMatcher(None, a_lines, b_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        a0, a1, b0, b1 = a_at[i1], a_at[i2], b_at[j1], b_at[j2]
        if tag == "replace" and (a1 - a0) + (b1 - b0) <= CHAR_DIFF_MAX:
            inner = SequenceMatcher(None, current[a0:a1], target[b0:b1], autojunk=False)
            for t, x1, x2, y1, y2 in inner.get_opcodes():
                yield t, a0 + x1, a0 + x2, b0 + y1, b0 + y2
        else:
            yield tag, a0, a1, b0, b1


def _patches(
    cur: _Flat, tgt: _Flat, a0: int, a1: int, b0: int
) -> list[tuple[int, int, dict[str, Any]]]:
    """Where equal text (current a0..a1 = target from b0) differs in attributes: (start, end,
    the attributes to set, None for those to remove), in current character indices."""
    found: list[tuple[int, int, dict[str, Any]]] = []
    shift = b0 - a0
    i, j = cur.run_at(a0), tgt.run_at(b0)
    position = a0
    while position < a1:
        cur_end, tgt_end = cur.end(i), tgt.end(j) - shift
        end = min(a1, cur_end, tgt_end)
        have, want = cur.attrs[i], tgt.attrs[j]
        if have != want:
            patch = {k: want.get(k) for k in sorted(have.keys() | want.keys())
                     if have.get(k) != want.get(k)}
            if found and found[-1][1] == position and found[-1][2] == patch:
                found[-1] = (found[-1][0], end, patch)
            else:
                found.append((position, end, patch))
        position = end
        if position == cur_end:
            i += 1
        if position == tgt_end:
            j += 1
    return found


def _insert(text: Text, at: int, tgt: _Flat, embeds: _Embeds, b0: int, b1: int) -> None:
    """Insert target characters b0..b1 at byte offset `at`, run by run with its attributes."""
    j = tgt.run_at(b0)
    position = b0
    while position < b1:
        end = min(b1, tgt.end(j))
        piece = tgt.text[position:end]
        if tgt.embed[j]:
            text.insert_embed(at, embeds.values[piece], dict(tgt.attrs[j]))
            at += 1
        else:
            text.insert(at, piece, dict(tgt.attrs[j]))  # explicit: nothing from the left
            at += len(piece.encode("utf-8", "surrogatepass"))
        position = end
        j += 1


def restore_edits(text: Text, target: Runs) -> None:
    """Change `text` (inside the caller's transaction) into `target`, a list of (chunk,
    attributes) as `Text.diff()` gives them, with few edits."""
    current = text.diff()
    strings = [c for c, _ in [*current, *target] if isinstance(c, str)]
    embeds = _Embeds(strings)
    cur, tgt = _flatten(current, embeds), _flatten(target, embeds)
    byte = _ByteOffsets(cur)
    for tag, a0, a1, b0, b1 in reversed(list(opcodes(cur.text, tgt.text))):
        if tag == "equal":
            for start, end, patch in reversed(_patches(cur, tgt, a0, a1, b0)):
                text.format(byte(start), byte(end), patch)
            continue
        if a1 > a0:
            del text[byte(a0):byte(a1)]
        if b1 > b0:
            _insert(text, byte(a0), tgt, embeds, b0, b1)
