"""The B4 trace typed by three participants, as the server records it: one log entry per
transaction (see history.py).

The typists are pycrdt clients of their own, each up to date with every entry before its turn
(a stock client has them by the echo). The server's side is a model of
`DocChanges.apply_client_update`: it applies the update, then formats text inserted without the
sender's author with it, in one more transaction, and records both as one update. The model
finds that text from a per-character author map instead of the text observer's delta (which Yrs
builds by walking the whole text, so the real thing costs O(document) per update and would make
the replay take hours); `RealCheck` runs the real `LivePad._validate` beside it for the first
transactions and counts the entries that differ.
"""

from __future__ import annotations

import random
import re
import sys
import time
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc, Text, merge_updates
from summitpad import authorship, history, live_pad
from summitpad.doc_changes import DocChanges
from summitpad.keys import PadKeys
from summitpad.live_pad import LivePad
from summitpad.pad_export import TEXT_NAME
from summitpad.store import PadStore

AUTHORS = ("q3VkX9s2LmPaZt0B", "Hn4wR7cYe1JuTd8F", "Zp6GbM0vKx2NsQ5W")  # as new_author_id makes
CLIENT_IDS = (1_000_001, 1_000_002, 1_000_003)
SERVER_CLIENT_ID = 4_242_424_242
START_MS = 1_777_885_200_000  # 2026-05-04 09:00 UTC
FRESH = 0x80  # marks a character inserted by the transaction at hand in the author map


@dataclass(frozen=True, slots=True)
class Entry:
    """One log entry: one transaction of the trace as the server writes it."""

    ms: int
    author: str
    update: bytes
    txn: int  # its index in the trace

    @property
    def entry_id(self) -> str:
        return f"{self.ms}-0"


def turns(count: int, revisions: int, seed: int) -> tuple[list[int], list[int], float]:
    """Simulated times (ms) and typists (0-2) of `count` transactions: one every 100-200 ms;
    after each, the next one is another participant's with probability p, p chosen so that
    history.group makes about `revisions` revisions (one per author per window)."""
    rng = random.Random(seed)
    times, now = [], START_MS
    for _ in range(count):
        now += rng.randint(100, 200)
        times.append(now)
    draws = [(rng.random(), rng.random() < 0.5) for _ in range(count)]

    def make(p: float) -> tuple[list[int], int]:
        who, typist, made = [], 0, 1
        for i, (u, other) in enumerate(draws):
            if i and (typist != who[-1] or times[i] // history.WINDOW_MS
                      != times[i - 1] // history.WINDOW_MS):
                made += 1
            who.append(typist)
            if u < p:
                typist = (typist + 1 + other) % 3
        return who, made

    low, high = 0.0, 1.0
    for _ in range(30):
        middle = (low + high) / 2
        if make(middle)[1] < revisions:
            low = middle
        else:
            high = middle
    return times, make(high)[0], high


class Typist:
    """A participant's client: its own Doc, up to date with every entry before its turn."""

    def __init__(self, client_id: int) -> None:
        self.doc: Doc[Any] = Doc(client_id=client_id)
        self.text = self.doc.get(TEXT_NAME, type=Text)
        self.seen = 0
        self.sent: list[bytes] = []
        self._sub = self.doc.observe(lambda event: self.sent.append(event.update))

    def type(self, patches: list[list[Any]], log: list[Entry]) -> bytes:
        for entry in log[self.seen:]:
            self.doc.apply_update(entry.update)
        self.seen = len(log)
        self.sent.clear()
        with self.doc.transaction():
            for pos, deleted, inserted in patches:
                if deleted:
                    del self.text[pos:pos + deleted]
                if inserted:
                    self.text.insert(pos, inserted)
        return merge_updates(*self.sent) if len(self.sent) > 1 else self.sent[0]


class ServerModel:
    """What the live pad records for a client's update (`DocChanges.apply_client_update`: the
    update, then the attribution of text it inserted without the sender's author), with the
    attribution found from a per-character author map instead of the text observer's delta."""

    def __init__(self) -> None:
        self.doc: Doc[Any] = Doc(client_id=SERVER_CLIENT_ID)
        self.text = self.doc.get(TEXT_NAME, type=Text)
        self.changes: list[bytes] = []
        self._sub = self.doc.observe(lambda event: self.changes.append(event.update))
        self.chars = bytearray()  # the text (the trace is ASCII: characters are UTF-8 bytes)
        self.authors = bytearray()  # per character: 0 nobody, i + 1 for AUTHORS[i]

    def misattributed(self, patches: list[list[Any]], code: int) -> list[tuple[int, int]]:
        """Apply `patches` to the maps; the ranges `authorship.misattributed` gives: inserts
        inherit the author of the character before them, as in Yrs."""
        chars, authors = self.chars, self.authors
        for pos, deleted, inserted in patches:
            if deleted:
                del chars[pos:pos + deleted]
                del authors[pos:pos + deleted]
            if inserted:
                inherited = authors[pos - 1] & ~FRESH if pos else 0
                chars[pos:pos] = inserted.encode()
                authors[pos:pos] = bytes([inherited | FRESH]) * len(inserted)
        if len(patches) == 1:
            pos, _, inserted = patches[0]
            fresh = [(pos, pos + len(inserted))] if inserted else []
        else:
            fresh = [m.span() for m in re.finditer(rb"[\x80-\xff]+", authors)]
        ranges: list[tuple[int, int]] = []
        for start, end in fresh:
            op = start
            for i in range(start, end + 1):  # the delta's inserts: one per run of one author
                if i < end and authors[i] == authors[op]:
                    continue
                if authors[op] & ~FRESH != code and chars[op:i].strip(b"\n"):
                    if ranges and sum(ranges[-1]) == op:
                        ranges[-1] = (ranges[-1][0], ranges[-1][1] + i - op)
                    else:
                        ranges.append((op, i - op))
                op = i
            authors[start:end] = bytes(a & ~FRESH for a in authors[start:end])
        for offset, length in ranges:
            authors[offset:offset + length] = bytes([code]) * length
        return ranges

    def receive(self, update: bytes, patches: list[list[Any]], code: int) -> bytes:
        ranges = self.misattributed(patches, code)
        self.changes.clear()
        self.doc.apply_update(update)
        if ranges:
            with self.doc.transaction():
                for offset, length in ranges:
                    self.text.format(offset, offset + length,
                                     {authorship.AUTHOR: AUTHORS[code - 1]})
        return self.changes[0] if len(self.changes) == 1 else merge_updates(*self.changes)


class Sender:
    """The connection `LivePad._validate` takes: who sent the update; records a close."""

    def __init__(self, author_id: str) -> None:
        self.author_id = author_id
        self.closed_with: Exception | None = None

    def close(self, error: Exception) -> None:
        self.closed_with = error


class RealCheck:
    """`LivePad._validate` itself on the same client updates, for the first transactions."""

    def __init__(self, store: PadStore, keys: PadKeys) -> None:
        made = live_pad.Doc
        live_pad.Doc = lambda: made(client_id=SERVER_CLIENT_ID)  # type: ignore[misc]
        try:  # the same client id as the model's server doc, so the bytes can be compared
            self.pad = LivePad(keys.pad_id, keys, store, compact_after=200,
                               publish_awareness=lambda *_: None)
        finally:
            live_pad.Doc = made  # type: ignore[misc]
        self.checked = self.differ = self.closed = 0
        self.first_difference: int | None = None

    def compare(self, index: int, author: str, update: bytes, ours: bytes) -> None:
        sender = Sender(author)
        real = self.pad._validate(sender, update)  # type: ignore[arg-type]
        self.checked += 1
        self.closed += sender.closed_with is not None
        if real != ours:
            self.differ += 1
            if self.first_difference is None:
                self.first_difference = index

    def report(self) -> dict[str, Any]:
        return {"transactions": self.checked, "entries_differing": self.differ,
                "first_difference": self.first_difference, "senders_closed": self.closed}


def replay(txns: list[dict[str, Any]], times: list[int], who: list[int],
           check: RealCheck | None, check_first: int) -> tuple[list[Entry], ServerModel]:
    server = ServerModel()
    typists = [Typist(c) for c in CLIENT_IDS]
    log: list[Entry] = []
    began = time.perf_counter()
    for i, txn in enumerate(txns):
        patches = txn["patches"]
        typist = typists[who[i]]
        update = typist.type(patches, log)
        ours = server.receive(update, patches, who[i] + 1)
        if check is not None and i < check_first:
            check.compare(i, AUTHORS[who[i]], update, ours)
        log.append(Entry(times[i], AUTHORS[who[i]], ours, i))
        if i % 20_000 == 19_999:
            print(f"   replayed {i + 1:,} transactions, {time.perf_counter() - began:.0f} s",
                  file=sys.stderr)
    return log, server


def plain_size(txns: list[dict[str, Any]]) -> int:
    """The final state's size when the same text is typed by one client, nobody attributed."""
    doc: Doc[Any] = Doc(client_id=CLIENT_IDS[0])
    text = doc.get(TEXT_NAME, type=Text)
    for txn in txns:
        with doc.transaction():
            for pos, deleted, inserted in txn["patches"]:
                if deleted:
                    del text[pos:pos + deleted]
                if inserted:
                    text.insert(pos, inserted)
    return len(doc.get_update())


def keystroke_cost(state: bytes, length: int, count: int = 200, seed: int = 1
                   ) -> dict[str, float]:
    """ms the live pad's writer spends on one client keystroke (`DocChanges.apply_client_update`:
    apply, record, attribute) on the pad `state`, at random places of its `length` characters."""
    pad: Doc[Any] = Doc(client_id=SERVER_CLIENT_ID)
    changes = DocChanges(pad, pad.get(TEXT_NAME, type=Text))
    pad.apply_update(state)
    typist = Typist(CLIENT_IDS[0])
    typist.doc.apply_update(state)
    rng, spent = random.Random(seed), []
    for _ in range(count):
        update = typist.type([[rng.randrange(1, length), 0, "x"]], [])
        began = time.perf_counter()
        changes.apply_client_update(update, AUTHORS[1])
        spent.append((time.perf_counter() - began) * 1000)
    spent.sort()
    return {"p50": round(spent[len(spent) // 2], 2), "max": round(spent[-1], 2)}
