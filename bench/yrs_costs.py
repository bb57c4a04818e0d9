"""Two costs of pycrdt/Yrs that grow faster than the work: merging many updates, and the text
delta the server reads to mark who typed what.

    .venv/bin/python bench/yrs_costs.py

Prints, as JSON:

- `merge`: milliseconds to merge the updates of n keystrokes (random positions in a 50,000
  character text, a fifth of them deletions) in one `merge_updates` call, and in groups as the
  server does (`summitpad.update_merge.merge`);
- `apply`: microseconds per one-character update applied to a text of n blocks, with nothing
  observing the text and with a text observer that reads the event's delta (what the server's
  `DocChanges` does for every client update).
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

from pycrdt import Doc, Text, TextEvent, TransactionEvent, merge_updates
from summitpad.update_merge import merge


def _keystrokes(count: int, seed: int = 1) -> list[bytes]:
    doc: Doc = Doc()
    text = doc.get("content", type=Text)
    text.insert(0, "x" * 50_000)
    updates: list[bytes] = []

    def record(event: TransactionEvent) -> None:
        updates.append(event.update)

    subscription = doc.observe(record)
    rng = random.Random(seed)
    for _ in range(count):
        if rng.random() < 0.8:
            text.insert(rng.randrange(len(text)), "a")
        else:
            start = rng.randrange(len(text))
            del text[start : start + 1]
    doc.unobserve(subscription)
    return updates


def _ms(run: Any) -> float:
    started = time.perf_counter()
    run()
    return round((time.perf_counter() - started) * 1000, 1)


def merge_costs() -> list[dict[str, Any]]:
    updates = _keystrokes(8_000)
    return [
        {
            "keystrokes": n,
            "one_call_ms": _ms(lambda n=n: merge_updates(*updates[:n])),
            "in_groups_ms": _ms(lambda n=n: merge(updates[:n])),
        }
        for n in (1_000, 2_000, 4_000, 8_000)
    ]


class _DeltaReader:
    """Reads each event's delta, as the server's text observer does. (pycrdt passes a callback
    as many arguments as it takes: `read` takes the event alone.)"""

    def __init__(self) -> None:
        self.changes = 0

    def read(self, event: TextEvent) -> None:
        self.changes += len(event.delta)  # type: ignore[attr-defined]  # computed when read


def _text_of_blocks(blocks: int) -> tuple[bytes, list[bytes]]:
    """A text of about `blocks` blocks, as one update, and 500 one-character inserts into it."""
    source: Doc = Doc()
    text = source.get("content", type=Text)
    rng = random.Random(blocks)
    for _ in range(blocks):  # random positions: about one block each
        text.insert(rng.randrange(len(text) + 1), "ab")
    whole = source.get_update()
    updates: list[bytes] = []
    subscription = source.observe(lambda event: updates.append(event.update))
    for _ in range(500):
        text.insert(rng.randrange(len(text) + 1), "z")
    source.unobserve(subscription)
    return whole, updates


def apply_costs() -> list[dict[str, Any]]:
    rows = []
    for blocks in (1_000, 10_000, 50_000):
        whole, updates = _text_of_blocks(blocks)
        row: dict[str, Any] = {"blocks": blocks}
        for observed in (False, True):
            doc: Doc = Doc()
            target = doc.get("content", type=Text)
            doc.apply_update(whole)
            if observed:
                target.observe(_DeltaReader().read)
            started = time.perf_counter()
            for update in updates:
                doc.apply_update(update)
            per_update = (time.perf_counter() - started) / len(updates) * 1e6
            row["with_delta_us" if observed else "plain_us"] = round(per_update, 1)
        rows.append(row)
    return rows


if __name__ == "__main__":
    print(json.dumps({"merge": merge_costs(), "apply": apply_costs()}, indent=1))
