"""Why a writer batch is logged in the order it was applied: a simulation with pycrdt alone.

    .venv/bin/python bench/log_order.py [--histories 1500] [--seed 0]

Two nodes, A and B, serve one pad, each to three clients. In every round some of the clients
type, each at a node that applies the keystroke and then marks its author on the text as the
server does (`Text.format`, in the node's own transaction). Each node then logs its batch
grouped one of two ways, and the log is A's entries followed by B's:

- `per_author`: one entry per author, each author's changes merged, as the writer did before
  `b32cfb9`;
- `in_order`: one entry per run of one author's changes, in the order they were applied
  (`summitpad.live_pad.add_to_runs`, what the writer does now).

Node A applies B's entries one at a time, and node B catches up on A's and then writes its
own. Each node sends its clients what it applied, in flushes that merge a random number of
consecutive updates, as `PadBroadcast` does. After the last round, every document (both
nodes and every client) should hold node A's text. Prints, as JSON, how many of `histories`
random histories left any document with a different text, for each grouping.
"""

from __future__ import annotations

import argparse
import json
import random

from pycrdt import Doc, Text, merge_updates
from summitpad.live_pad import add_to_runs
from summitpad.update_merge import merge

CLIENTS = 3


def _typed(node: Doc, client: Doc, who: str, marker: str, rng: random.Random) -> bytes:
    """`client` types `marker` (mostly at the end); `node` applies it and marks its author.
    What the node changed, as one update."""
    text = client.get("content", type=Text)
    before = client.get_state()
    text.insert(len(text) if rng.random() < 0.7 else rng.randint(0, len(text)), marker)
    changes: list[bytes] = []
    subscription = node.observe(lambda event: changes.append(event.update))
    node.apply_update(client.get_update(before))
    shown = str(node.get("content", type=Text))
    if marker in shown:
        start = shown.index(marker)
        with node.transaction():
            node.get("content", type=Text).format(
                start, start + len(marker), {"author": who}
            )
    node.unobserve(subscription)
    return merge(changes)


def _entries(batch: list[tuple[str, bytes]], grouping: str) -> list[bytes]:
    if grouping == "per_author":
        by_author: dict[str, list[bytes]] = {}
        for author, change in batch:
            by_author.setdefault(author, []).append(change)
        return [merge(changes) for changes in by_author.values()]
    runs: list[tuple[str, list[bytes]]] = []
    for author, change in batch:
        add_to_runs(runs, author, change)
    return [merge(changes) for _, changes in runs]


def _flushed(updates: list[bytes], rng: random.Random) -> list[bytes]:
    """`updates` as a client receives them: consecutive ones merged into one message."""
    out: list[bytes] = []
    waiting: list[bytes] = []
    for update in updates:
        waiting.append(update)
        if rng.random() < 0.5:
            out.append(merge_updates(*waiting) if len(waiting) > 1 else waiting[0])
            waiting = []
    if waiting:
        out.append(merge_updates(*waiting) if len(waiting) > 1 else waiting[0])
    return out


def diverged(seed: int, grouping: str) -> bool:
    """Whether one random history leaves any document with a different text."""
    rng = random.Random(seed)
    a: Doc = Doc()
    a.get("content", type=Text).insert(0, "base ")
    base = a.get_update()
    b: Doc = Doc()
    b.apply_update(base)
    on_a = [Doc() for _ in range(CLIENTS)]
    on_b = [Doc() for _ in range(CLIENTS)]
    for doc in on_a + on_b:
        doc.apply_update(base)
    for round_ in range(rng.randint(1, 5)):
        batch_a: list[tuple[str, bytes]] = []
        batch_b: list[tuple[str, bytes]] = []
        for step in range(rng.randint(2, 10)):
            n = rng.randrange(CLIENTS)
            if rng.random() < 0.5:
                who = f"a{n}"
                batch_a.append((who, _typed(a, on_a[n], who, f"<{who}.{round_}.{step}> ", rng)))
            else:
                who = f"b{n}"
                batch_b.append((who, _typed(b, on_b[n], who, f"<{who}.{round_}.{step}> ", rng)))
        logged_a, logged_b = _entries(batch_a, grouping), _entries(batch_b, grouping)
        # B reads A's entries before it writes its own (a catch-up: it sends what it lacked).
        before = b.get_state()
        for entry in logged_a:
            b.apply_update(entry)
        sent_by_b = [b.get_update(before), *logged_b]
        # A applies B's entries as their messages come, one at a time.
        for entry in logged_b:
            a.apply_update(entry)
        for client in on_a:
            for message in _flushed(logged_a + logged_b, rng):
                client.apply_update(message)
        for client in on_b:
            for message in _flushed(sent_by_b, rng):
                client.apply_update(message)
    expected = str(a.get("content", type=Text))
    return any(str(doc.get("content", type=Text)) != expected for doc in [b, *on_a, *on_b])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--histories", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0, help="the first history's seed")
    args = parser.parse_args()
    seeds = range(args.seed, args.seed + args.histories)
    result = {
        grouping: sum(diverged(seed, grouping) for seed in seeds)
        for grouping in ("per_author", "in_order")
    }
    print(json.dumps({"histories": args.histories, "first_seed": args.seed, "diverged": result}))


if __name__ == "__main__":
    main()
