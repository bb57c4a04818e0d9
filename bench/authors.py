"""Authors on one pad: add typists to one pad until the latency gives way.

Etherpad's own load test works this way: authors join one pad and each adds a character every
~400 ms; the figure is how many authors the server holds before its latency goes bad. Here the
pad gains `step` typists at a time (one keystroke every 400 ms each, at random phases, no
cursor awareness); after each group has joined and typed for `settle` s, a window of `window`
s is measured. The ramp stops at the first level whose p95 edit-to-peer latency exceeds
`limit_ms`, or that lost a connection; the figure is the last level that held.

What is measured, and what is not:
- Latency is taken at a sample of the typists (`SAMPLE` of every group, spread over its join
  order, so that peers early and late in a server's broadcast loop are both in it); the others
  read every frame but look for no marker. The server does the same work for every peer: the
  sample only keeps the generator's own cost down.
- A marker the sample should have received in the window but had not one second after the
  window ended counts as infinitely late: an overloaded server cannot look better by dropping
  or delaying past the wait.
- After the ramp, two checkers that applied every update and a fresh client must hold every
  marker typed, exactly once, each typist's in order (`scenarios.check_pad`).
"""

from __future__ import annotations

import asyncio
import math
import random
from array import array
from collections import Counter
from collections.abc import Callable
from typing import Any

from loadgen import Run, Urls, percentiles, tag
from peers import Checker, Editor, Peer
from procstats import Pids
from scenarios import CHECKERS_PER_PAD, DRAIN, check_pad, fresh_check, wait_for_text

SAMPLE = 3  # measuring typists per group
LATE = 1.0  # s after a window for the last markers of it to arrive


def _measure_some(group: list[Editor]) -> None:
    chosen = {round(i * (len(group) - 1) / max(SAMPLE - 1, 1)) for i in range(SAMPLE)}
    for i, editor in enumerate(group):
        editor.measures = i in chosen


def _level_latency(run: Run, sample: list[Peer]) -> tuple[dict[str, float], int]:
    """Percentiles over the sample's markers of the window, counting a missing one as
    infinitely late; and how many were missing."""
    ledger = run.ledger
    by_sender: Counter[int] = Counter(
        ledger.sent[seq][2] for seq in range(ledger.first, ledger.last + 1)
    )
    total = sum(by_sender.values())
    missing = sum(
        max(0, total - by_sender[p.client_id] - p.got) for p in sample if not p.lost
    )
    samples = array("d", ledger.latencies)
    samples.extend([math.inf] * missing)
    figures = percentiles(samples)
    return {k: (v if v != math.inf else -1.0) for k, v in figures.items()}, missing


async def authors_ramp(
    url: Urls,
    pids: dict[str, Pids],
    *,
    start: int = 100,
    step: int = 50,
    most: int = 1000,
    settle: float = 3.0,
    window: float = 8.0,
    interval: float = 0.4,
    limit_ms: float = 100.0,
    on_window: Callable[[str, float], None] | None = None,
) -> dict[str, Any]:
    """The ramp on one pad; `on_window` is not called (the ramp has no one window for the
    probe to run beside)."""
    pad_id = f"bench-{tag()}-authors"
    async with Run(url, pids) as run:
        ledger = run.ledger
        checkers = [Checker(ledger, 0, pad_id, f"checker {i}") for i in range(CHECKERS_PER_PAD)]
        await run.join(checkers)
        for checker in checkers:
            checker.measures = False
        typists: list[Editor] = []
        tasks: list[asyncio.Task[None]] = []
        typing = True
        levels: list[dict[str, Any]] = []
        held = 0
        while len(typists) < most:
            count = min(start if not typists else step, most - len(typists))
            group = [
                Editor(ledger, 0, pad_id, f"author {len(typists) + i}", cursor=False)
                for i in range(count)
            ]
            _measure_some(group)
            join_s = await run.join(group)
            typists += group
            tasks += [
                asyncio.create_task(
                    e.type_for(lambda: typing, interval, random.uniform(0, interval))
                )
                for e in group
            ]
            await asyncio.sleep(settle)
            sample: list[Peer] = [t for t in typists if t.measures]
            ledger.latencies = array("d")
            ledger.spread = {}
            for peer in sample:
                peer.got = 0
            run.start_window()
            await asyncio.sleep(window)
            figures = run.stop_window()
            await asyncio.sleep(LATE)
            latency, missing = _level_latency(run, sample)
            lags = percentiles(run.lags)
            run.lags = array("d")
            level = {
                "typists": len(typists),
                "join_seconds": round(join_s, 1),
                "latency_ms": latency,
                "late_or_missing_markers": missing,
                "markers_sent_in_window": ledger.last - ledger.first + 1,
                "cpu_pct_of_one_core": figures["cpu_pct"],
                "server_rss_mib": round(figures["rss_at_window_end"]["server"] / (1 << 20), 1),
                "loadgen_loop_lag_ms": lags,
                "disconnects": ledger.disconnects,
                "connect_failures": ledger.connect_failures,
            }
            levels.append(level)
            p95 = latency.get("p95", -1.0)
            failed = ledger.disconnects or ledger.connect_failures
            if failed or p95 < 0 or p95 > limit_ms:
                break
            held = len(typists)
        typing = False
        await asyncio.gather(*tasks)

        want = sum(t.length for t in typists)
        await wait_for_text(checkers, want, DRAIN)
        fresh = await fresh_check(run, 0, pad_id)
        problems = check_pad(fresh or "", typists)
        problems["checker_differs"] = sum(c.content() != fresh for c in checkers if not c.lost)
        problems["no_answer"] = int(fresh is None)
        await run.leave()
    last = levels[-1]
    return {
        "authors_held": held,
        "limit_p95_ms": limit_ms,
        "levels": levels,
        "connections": len(typists) + CHECKERS_PER_PAD,
        "keystroke_interval_s": interval,
        # For the table and the retry rule: the last level that held (else the first).
        "latency_ms": next(
            (lv["latency_ms"] for lv in reversed(levels) if lv["typists"] == held),
            levels[0]["latency_ms"],
        ),
        "cpu_pct_of_one_core": {
            **last["cpu_pct_of_one_core"],
            "other_processes": max(
                lv["cpu_pct_of_one_core"]["other_processes"] for lv in levels
            ),
        },
        "disconnects": ledger.disconnects,
        "close_codes": dict(ledger.close_codes),
        "convergence": {
            "documents_checked": 1,
            "lost_or_diverged_documents": int(any(problems.values())),
            "problems": problems,
        },
    }
