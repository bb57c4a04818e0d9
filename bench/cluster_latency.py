"""Cross-node edit latency on a Redis Cluster: an edit on node A, seen by a client on node B.

    .venv/bin/python bench/cluster_latency.py [--edits 200] [--interval 0.1] [--idle 10]
                                              [--store cluster|valkey] [--label TEXT]
                                              [--note TEXT]

Starts the three-primary Valkey cluster of the tests (tests/valkey_cluster.py) and two
`summitpad serve` nodes on it (bench/targets.py), opens one pad on each shard, and puts on every
pad a typist on node A and a reader on node B. The typists take turns: one keystroke every
`interval` s (with jitter, so that keystrokes do not keep step with anything in the server),
`edits` in all. Each keystroke crosses from A to B through the pad's shard (SPUBLISH in the
append script, the sharded subscription of node B), so the figure is what a participant on
another node waits for an edit: node A's write path plus the fan-out between nodes. Then, with
every connection still open and nobody typing, it measures for `idle` s what the two nodes
spend doing nothing (their pub/sub listeners waking up, the keepalives). `--store valkey` runs
the same on one Valkey server (bench/run.py's `valkey()`), for comparison.

Prints the figures and writes bench/results/<date>-cluster-latency[-valkey][-label].json.
Everything runs on loopback and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import random
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))  # the tests' cluster

import procstats  # noqa: E402
import targets  # noqa: E402
from loadgen import Run, percentiles, raise_nofile_limit  # noqa: E402
from peers import Editor, Peer  # noqa: E402
from procstats import CpuWindow  # noqa: E402
from run import valkey, wait_until_quiet  # noqa: E402
from summitpad.embedded_valkey import find_valkey_server  # noqa: E402

from tests.valkey_cluster import ValkeyCluster  # noqa: E402

RESULTS = BENCH / "results"
SCRATCH = RESULTS / "tmp"


class TypistsOnA(Run):
    """Every typist on the first node, every reader on the second."""

    def url_for(self, peer: Peer) -> str:
        return self.urls[0] if isinstance(peer, Editor) else self.urls[1]


PadsFor = Callable[[str], list[str]]  # a key prefix -> the pad ids to type in


@contextmanager
def store(kind: str, directory: Path) -> Iterator[tuple[str, tuple[int, ...], PadsFor]]:
    """The store's URL, its processes, and the pads: one per shard, three on one server."""
    if kind == "valkey":
        with valkey(directory) as (url, pid):
            yield url, (pid,), lambda prefix: ["cross-0", "cross-1", "cross-2"]
        return
    cluster = ValkeyCluster(directory)
    try:
        cluster.start()
        yield cluster.url, tuple(p.pid for p in cluster.processes), lambda prefix: (
            cluster.pads_on_every_primary(prefix, "cross")
        )
    finally:
        cluster.stop()


async def measure(
    urls: list[str],
    pids: dict[str, Any],
    pads: list[str],
    edits: int,
    interval: float,
    idle: float,
) -> dict[str, Any]:
    async with TypistsOnA(urls, pids, renew_awareness=None) as run:
        ledger = run.ledger
        typists: list[Editor] = []
        peers: list[Peer] = []
        for p, pad_id in enumerate(pads):
            typist = Editor(ledger, p, pad_id, f"typist {p}", cursor=False)
            typists.append(typist)
            peers += [typist, Peer(ledger, p, pad_id, f"reader {p}")]
        await run.join(peers)
        for typist in typists:  # each pad's path once before the window
            await typist.keystroke()
        await asyncio.sleep(1.0)
        run.start_window()
        for n in range(edits):
            await typists[n % len(typists)].keystroke()
            await asyncio.sleep(interval * random.uniform(0.5, 1.5))
        window = run.stop_window()
        readers = [p for p in peers if not isinstance(p, Editor)]

        def expected(peer: Peer) -> int:
            return sum(
                1 for seq in range(ledger.first, ledger.last + 1) if ledger.sent[seq][1] == peer.pad
            )

        await run.drain(readers, expected, 10.0)
        report = run.report(window, readers, expected)
        quiet = CpuWindow({"server": pids["server"]})
        quiet.start()
        await asyncio.sleep(idle)
        idle_cpu = quiet.stop()
        await run.leave()
    return {
        "edits": edits,
        "latency_ms": percentiles(ledger.latencies),
        "missing_deliveries": report["missing_deliveries"],
        "disconnects": report["disconnects"],
        "cpu_pct_of_one_core": report["cpu_pct_of_one_core"],
        "idle_s": idle,
        "idle_server_cpu_pct_of_one_core": idle_cpu["server"],
        "idle_other_processes_cpu_pct": idle_cpu["other_processes"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.1, help="mean s between keystrokes")
    parser.add_argument("--idle", type=float, default=10.0, help="s measured with nobody typing")
    parser.add_argument("--store", choices=("cluster", "valkey"), default="cluster")
    parser.add_argument("--label", help="added to the result file's name")
    parser.add_argument("--note", help="kept in the result file (which server code ran, say)")
    args = parser.parse_args()
    raise_nofile_limit()
    SCRATCH.mkdir(parents=True, exist_ok=True)
    quiet = wait_until_quiet()
    date = datetime.date.today().isoformat()
    with (
        tempfile.TemporaryDirectory(prefix="summitpad-cross-") as tmp,
        store(args.store, Path(tmp)) as (url, store_pids, pads_for),
    ):
        server = targets.Summitpad(url, store_pids[0], SCRATCH / f"{date}-cross", nodes=2)
        try:
            pads = pads_for(server.key_prefix)
            pids: dict[str, Any] = {"server": server.pids["server"], "valkey": store_pids}
            result = asyncio.run(
                measure(server.urls, pids, pads, args.edits, args.interval, args.idle)
            )
        finally:
            status = server.stop()
    document = {
        "date": date,
        "command": " ".join([".venv/bin/python", "bench/cluster_latency.py", *sys.argv[1:]]),
        "machine": procstats.machine(find_valkey_server()),
        "server_revision": status["revision"],
        "note": args.note,
        "store": args.store,
        "pads": pads,
        "interval_s": args.interval,
        **result,
        "server_process": status,
        **quiet,
    }
    name = f"{date}-cluster-latency" + ("-valkey" if args.store == "valkey" else "")
    name += f"-{args.label}" if args.label else ""
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    lat, cpu = result["latency_ms"], result["cpu_pct_of_one_core"]
    print(
        f"{args.store}: {result['edits']} edits A -> B on {len(pads)} pads: p50 {lat.get('p50')} "
        f"ms, p90 {lat.get('p90')}, p99 {lat.get('p99')}, max {lat.get('max')}; missing "
        f"{result['missing_deliveries']}; idle: both nodes "
        f"{result['idle_server_cpu_pct_of_one_core']} % of a core; other processes "
        f"{cpu['other_processes']} % of a core; wrote {path.relative_to(BENCH.parent)}"
    )


if __name__ == "__main__":
    main()
