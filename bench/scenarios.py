"""The benchmark's scenarios, each one step of connections, typing, a measured window and a check.

- `fanout_step`: one writer types 20 one-marker updates a second into one pad that `observers`
  peers watch; the latency is edit-to-peer over every observer.
- `summit`: `pads` pads, each with `typists` editors (a keystroke every 400 ms, each followed
  by a cursor awareness update, as y-quill sends) and `readers` peers.

Each returns a dict of figures (see `Run.report`), plus `convergence`.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Callable
from typing import Any

from loadgen import Run, Urls, percentiles, tag
from peers import AWARENESS_RENEW, MARKER_TEXT, Checker, Editor, Ledger, Peer, now
from procstats import Pids

CHECKERS_PER_PAD = 2
WARMUP = 3.0
DRAIN = 15.0


async def fresh_check(run: Run, pad: int, pad_id: str) -> str | None:
    """The text a newly joined client gets for the pad (after the run), or None if it failed."""
    checker = Checker(run.ledger, pad, pad_id, "final check")
    await run.join([checker], within=60.0)
    text = None if checker.lost else checker.content()
    await run.leave([checker])
    return text


async def wait_for_text(checkers: list[Checker], length: int, within: float) -> None:
    deadline = now() + within
    while now() < deadline and any(len(c.text) < length for c in checkers if not c.lost):  # noqa: ASYNC110 - polls with a deadline
        await asyncio.sleep(0.1)


async def fanout_step(
    url: Urls,
    pids: dict[str, Pids],
    observers: int,
    duration: float,
    *,
    rate: float = 20.0,
    renew_awareness: float | None = AWARENESS_RENEW,
    on_window: Callable[[str, float], None] | None = None,
) -> dict[str, Any]:
    pad_id = f"bench-{tag()}-fanout-{observers}"
    async with Run(url, pids, renew_awareness) as run:
        ledger = run.ledger
        peers: list[Peer] = [
            (Checker if i < CHECKERS_PER_PAD else Peer)(ledger, 0, pad_id, f"observer {i}")
            for i in range(observers)
        ]
        join_s = await run.join(peers)
        writer = Editor(ledger, 0, pad_id, "writer", cursor=False)
        await run.join([writer])
        typing = True
        task = asyncio.create_task(writer.type_for(lambda: typing, 1.0 / rate, 0.0))
        await asyncio.sleep(WARMUP)
        if on_window is not None:
            on_window(f"fanout-{observers}", duration)
        run.start_window()
        await asyncio.sleep(duration)
        typing = False
        await task
        window = run.stop_window()

        def expected(peer: Peer, _ledger: Ledger = ledger) -> int:
            return _ledger.last - _ledger.first + 1

        await run.drain(peers, expected, DRAIN)
        result = run.report(window, peers, expected)
        checkers = [p for p in peers if isinstance(p, Checker)]
        want = str(writer.text)
        await wait_for_text(checkers, len(want), DRAIN)
        texts = [c.content() for c in checkers if not c.lost]
        texts.append(await fresh_check(run, 0, pad_id) or "<no answer>")
        bad = sum(text != want for text in texts)
        result["observers"] = observers
        result["join_seconds"] = round(join_s, 1)
        result["convergence"] = {
            "documents_checked": len(texts),
            "lost_or_diverged_documents": bad,
            "writer_characters": len(want),
        }
        await run.leave()
    return result


def check_pad(text: str, typists: list[Editor]) -> dict[str, int]:
    """What is wrong with the final text of one pad: markers missing, doubled or out of order."""
    seqs = [int(s) for s in MARKER_TEXT.findall(text)]
    sent = {seq for t in typists for seq in t.seqs}
    found = set(seqs)
    problems = {
        "missing": len(sent - found),
        "unexpected": len(found - sent),
        "duplicated": len(seqs) - len(found),
        "out_of_order": 0,
    }
    position = {seq: i for i, seq in enumerate(seqs)}
    for typist in typists:
        places = [position[s] for s in typist.seqs if s in position]
        problems["out_of_order"] += sum(1 for a, b in itertools.pairwise(places) if b < a)
    return problems


async def summit(
    url: Urls,
    pids: dict[str, Pids],
    pads: int,
    typists: int,
    readers: int,
    duration: float,
    interval: float = 0.4,
    *,
    renew_awareness: float | None = AWARENESS_RENEW,
    on_window: Callable[[str, float], None] | None = None,
) -> dict[str, Any]:
    run_tag = tag()
    pad_ids = [f"bench-{run_tag}-summit-{p}" for p in range(pads)]
    async with Run(url, pids, renew_awareness) as run:
        ledger = run.ledger
        editors: list[list[Editor]] = [[] for _ in range(pads)]
        peers: list[Peer] = []
        # Interleave the pads, as participants of every session arrive at once.
        for i in range(typists + readers):
            for p, pad_id in enumerate(pad_ids):
                if i < typists:
                    editor = Editor(ledger, p, pad_id, f"typist {p}.{i}", cursor=True)
                    editors[p].append(editor)
                    peers.append(editor)
                else:
                    kind = Checker if i - typists < CHECKERS_PER_PAD else Peer
                    peers.append(kind(ledger, p, pad_id, f"reader {p}.{i}"))
        join_s = await run.join(peers)
        typing = True
        tasks = [
            asyncio.create_task(e.type_for(lambda: typing, interval, random.uniform(0, interval)))
            for pad in editors
            for e in pad
        ]
        await asyncio.sleep(WARMUP + interval)
        if on_window is not None:
            on_window("summit", duration)
        run.start_window()
        await asyncio.sleep(duration)
        typing = False
        await asyncio.gather(*tasks)
        window = run.stop_window()

        counts: dict[tuple[int, int], int] = {}
        per_pad: dict[int, int] = {}
        for seq in range(ledger.first, ledger.last + 1):
            _, pad, sender = ledger.sent[seq]
            per_pad[pad] = per_pad.get(pad, 0) + 1
            counts[pad, sender] = counts.get((pad, sender), 0) + 1

        def expected(peer: Peer) -> int:
            return per_pad.get(peer.pad, 0) - counts.get((peer.pad, peer.client_id), 0)

        await run.drain(peers, expected, DRAIN)
        result = run.report(window, peers, expected)
        bad_pads = 0
        problems_total: dict[str, int] = {}
        for p, pad_id in enumerate(pad_ids):
            length = sum(e.length for e in editors[p])
            checkers = [c for c in peers if isinstance(c, Checker) and c.pad == p]
            await wait_for_text(checkers, length, DRAIN)
            fresh = await fresh_check(run, p, pad_id)
            texts = [c.content() for c in checkers if not c.lost]
            problems = check_pad(fresh or "", editors[p])
            problems["checker_differs"] = sum(t != fresh for t in texts)
            problems["no_answer"] = int(fresh is None)
            for key, value in problems.items():
                problems_total[key] = problems_total.get(key, 0) + value
            bad_pads += any(problems.values())
        result.update(
            pads=pads,
            typists_per_pad=typists,
            readers_per_pad=readers,
            keystroke_interval_s=interval,
            join_seconds=round(join_s, 1),
            convergence={
                "documents_checked": pads,
                "lost_or_diverged_documents": bad_pads,
                "problems": problems_total,
            },
        )
        await run.leave()
    return result


async def probe(
    url: Urls, pids: dict[str, Pids], duration: float, rate: float = 10.0
) -> dict[str, Any]:
    """A quiet pad with one writer and one observer, run from a process of its own.

    run.py starts it next to the main generator during each measured window: its latency is the
    server's responsiveness to a client whose own loop is idle, so the main generator's loop lag
    does not count in it.
    """
    pad_id = f"bench-{tag()}-probe"
    async with Run(url, {"server": pids["server"]}, None) as run:
        ledger = run.ledger
        observer = Peer(ledger, 0, pad_id, "probe observer")
        writer = Editor(ledger, 0, pad_id, "probe writer", cursor=False)
        await run.join([observer, writer])
        run.start_window()
        typing = True
        task = asyncio.create_task(writer.type_for(lambda: typing, 1.0 / rate, 0.0))
        await asyncio.sleep(duration)
        typing = False
        await task
        run.stop_window()
        await run.drain([observer], lambda p: ledger.last - ledger.first + 1, DRAIN)
        result = {
            "latency_ms": percentiles(ledger.latencies),
            "disconnects": ledger.disconnects,
            "loop_lag_ms": percentiles(run.lags),
        }
        await run.leave()
    return result
