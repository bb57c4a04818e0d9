"""Load generator for summitpad: many y-websocket peers in one asyncio loop.

Every peer (see peers.py) speaks y-protocols as the stock y-websocket client does: on open it
sends sync step 1 and its awareness; it answers the server's step 1 with step 2; it resends its
awareness every 15 s. Editors type by inserting a marker `#<seq>#` at the end of their own
text; the generator keeps the send time of every seq. A peer that receives an update finds every
marker in the raw bytes (the server may merge several updates into one frame) and records
now - send time; it does not apply the update, so a peer costs little. A few checkers per pad do
apply every update, and at the end a fresh check client joins each pad: both must hold exactly
what the editors typed.

`Run` holds the peers of one scenario step: joins them, measures a window (latency, CPU, RSS,
the generator's own loop lag), counts disconnects and reports. The scenarios are in
scenarios.py; bench/run.py starts the server and runs them all.

`Run` takes one websocket base URL or several (the nodes of one server): it spreads the peers
of every pad over them in turn, so that writers and readers of a pad are on different nodes.

Run against a server you started yourself:

    .venv/bin/python bench/loadgen.py --url ws://127.0.0.1:8080/ws --server-pid PID fanout
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import secrets
from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp
from peers import AWARENESS_RENEW, Ledger, Peer, now
from procstats import CpuWindow, Pids, RssSampler
from summitpad.cli import GC_THRESHOLDS


def raise_nofile_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# -- running peers -----------------------------------------------------------------------------

Urls = str | Sequence[str]  # a websocket base URL, or one per node of the server


class Run:
    """The peers of one scenario step and the tasks around them."""

    def __init__(
        self, url: Urls, pids: dict[str, Pids], renew_awareness: float | None = AWARENESS_RENEW
    ) -> None:
        self.urls = [url] if isinstance(url, str) else list(url)
        self._joined_per_pad: Counter[str] = Counter()
        self.renew_awareness = renew_awareness  # None: peers never renew their awareness
        self.ledger = Ledger()
        self.peers: list[Peer] = []
        self.pids: dict[str, Pids] = {"server": pids["server"], "loadgen": os.getpid()}
        self.pids.update({k: v for k, v in pids.items() if k != "server"})
        self.rss = RssSampler(self.pids)
        self.cpu = CpuWindow(self.pids)
        self.lags = array("d")
        self.measuring = False
        self.session: aiohttp.ClientSession | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Run:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=30),
        )
        self.rss.start()
        self.baseline_rss = self.rss.sample()
        self._tasks = [
            asyncio.create_task(self._watch_lag()),
            asyncio.create_task(self._renew_awareness()),
        ]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.rss.stop()
        if self.session is not None:
            await self.session.close()

    def url_for(self, peer: Peer) -> str:
        """The next node in turn for this peer's pad (the pad's number shifts where it starts)."""
        n = self._joined_per_pad[peer.pad_id]
        self._joined_per_pad[peer.pad_id] += 1
        return self.urls[(n + peer.pad) % len(self.urls)]

    async def join(self, peers: list[Peer], concurrency: int = 32, within: float = 60.0) -> float:
        """Connect `peers` and wait until each has its step 2; returns the seconds it took."""
        assert self.session is not None
        session = self.session
        gate = asyncio.Semaphore(concurrency)
        started = now()

        async def one(peer: Peer) -> None:
            url = self.url_for(peer)
            async with gate:
                try:
                    await peer.open(session, url)
                    await asyncio.wait_for(peer.synced.wait(), within)
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    self.ledger.connect_failures += 1
                    self.ledger.close_codes[f"connect: {type(exc).__name__}"] += 1
                    peer.lost = True
                    return
                if not peer.has_state:  # closed before its step 2 (counted as a disconnect too)
                    self.ledger.connect_failures += 1

        # The first peer of a pad new to this run joins alone, then the others: two connections
        # that open a room at the same moment leave the second one unserved on
        # pycrdt-websocket 0.16 (bench/README.md, "Against the peers").
        first: dict[str, Peer] = {}
        for peer in peers:
            if self._joined_per_pad[peer.pad_id] == 0:
                first.setdefault(peer.pad_id, peer)
        self.peers.extend(peers)
        await asyncio.gather(*(one(p) for p in first.values()))
        chosen = set(map(id, first.values()))
        await asyncio.gather(*(one(p) for p in peers if id(p) not in chosen))
        return now() - started

    async def leave(self, peers: list[Peer] | None = None) -> None:
        gate = asyncio.Semaphore(256)

        async def one(peer: Peer) -> None:
            async with gate:
                await peer.close()

        await asyncio.gather(*(one(p) for p in (self.peers if peers is None else peers)))

    def start_window(self) -> None:
        # The generator holds thousands of peers: a full collection of the cyclic garbage
        # collector would stall its loop for ~100 ms and show up as server latency. The server
        # tunes its collector the same way (summitpad.cli).
        gc.collect()
        gc.freeze()
        self._gc_thresholds = gc.get_threshold()
        gc.set_threshold(*GC_THRESHOLDS)
        self.ledger.open_window()
        self.cpu.start()
        self.measuring = True

    def stop_window(self) -> dict[str, Any]:
        self.measuring = False
        gc.set_threshold(*self._gc_thresholds)
        gc.unfreeze()
        cpu = self.cpu.stop()
        self.ledger.close_window()
        return {"cpu_pct": cpu, "rss_at_window_end": self.rss.sample()}

    async def drain(
        self, peers: list[Peer], expected: Callable[[Peer], int], within: float
    ) -> None:
        """Wait until every live peer has received every marker of the window."""
        deadline = now() + within
        while now() < deadline:
            if all(p.lost or p.got >= expected(p) for p in peers):
                return
            await asyncio.sleep(0.1)

    async def _watch_lag(self, interval: float = 0.02) -> None:
        """How late the generator's own loop wakes up: when high, it measures itself."""
        due = now() + interval
        while True:
            await asyncio.sleep(interval)
            t = now()
            if self.measuring:
                self.lags.append(t - due)
            due = t + interval

    async def _renew_awareness(self) -> None:
        """Each peer resends its awareness state on its own 15 s period, as browsers do."""
        while True:
            await asyncio.sleep(0.05)
            if self.renew_awareness is None:
                continue
            t = now()
            for peer in self.peers:
                if peer.aw_due < t and peer.ws is not None and not (peer.closing or peer.lost):
                    try:
                        await peer.send_awareness(self.renew_awareness)
                    except (aiohttp.ClientError, ConnectionError):
                        pass  # its reader notices the close and counts it

    def report(
        self, window: dict[str, Any], peers: list[Peer], expected: Callable[[Peer], int]
    ) -> dict[str, Any]:
        ledger = self.ledger
        live = [p for p in peers if not p.lost]
        missing = sum(max(0, expected(p) - p.got) for p in live)
        duplicated = sum(max(0, p.got - expected(p)) for p in live)
        mib = 1 << 20
        return {
            "connections": len(self.peers),
            "markers_sent_in_window": ledger.last - ledger.first + 1,
            "latency_ms": percentiles(ledger.latencies),
            # Per update: when its first and its last peer had it. The first is the server's
            # path (receive, apply, Valkey, first write); last - first is the serial fan-out,
            # the server's writes and the generator's reads of every peer's frame.
            "first_peer_latency_ms": percentiles(
                array("d", (b[0] for b in ledger.spread.values()))
            ),
            "last_peer_latency_ms": percentiles(array("d", (b[1] for b in ledger.spread.values()))),
            "missing_deliveries": missing,
            "duplicate_deliveries": duplicated,
            "disconnects": ledger.disconnects,
            "connect_failures": ledger.connect_failures,
            "close_codes": dict(ledger.close_codes),
            "frames_received": ledger.frames,
            "noop_update_frames_received": ledger.noop_updates,
            "cpu_pct_of_one_core": window["cpu_pct"],
            "rss_mib": {
                name: {
                    "before_join": round(self.baseline_rss.get(name, 0) / mib, 1),
                    "at_window_end": round(window["rss_at_window_end"].get(name, 0) / mib, 1),
                    "peak": round(self.rss.peak[name] / mib, 1),
                }
                for name in self.pids
            },
            "server_rss_kib_per_connection": round(
                (window["rss_at_window_end"]["server"] - self.baseline_rss["server"])
                / 1024
                / max(1, len(self.peers)),
                1,
            ),
            "loadgen_loop_lag_ms": percentiles(self.lags),
        }


def percentiles(samples: array[float]) -> dict[str, float]:
    if not samples:
        return {"samples": 0}
    ordered = sorted(samples)
    n = len(ordered)

    def at(q: float) -> float:
        return round(ordered[min(n - 1, int(q * n))] * 1000, 2)

    return {
        "samples": n,
        "p50": at(0.50),
        "p90": at(0.90),
        "p95": at(0.95),
        "p99": at(0.99),
        "max": at(1.0),
    }


# -- scenarios ----------------------------------------------------------------------------------
# (in scenarios.py, to keep each module to one job)


def tag() -> str:
    return secrets.token_hex(3)


def main() -> None:
    from scenarios import fanout_step, probe, summit  # here: scenarios imports this module

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--url",
        default="ws://127.0.0.1:8080/ws",
        help="the server's websocket base URL; comma-separated for several nodes",
    )
    parser.add_argument(
        "--server-pid",
        required=True,
        help="pid of the server, for CPU and RSS; comma-separated for several processes",
    )
    parser.add_argument(
        "--no-awareness-renewal", action="store_true", help="peers never resend their awareness"
    )
    sub = parser.add_subparsers(dest="scenario", required=True)
    fan = sub.add_parser("fanout", help="one writer at 20 updates/s, many observers on one pad")
    fan.add_argument("--observers", default="100,500,1000", help="comma-separated observer counts")
    fan.add_argument("--duration", type=float, default=20.0, help="measured seconds per step")
    fan.add_argument("--rate", type=float, default=20.0, help="writer updates per second")
    pr = sub.add_parser("probe", help="one writer and one observer on a quiet pad (diagnostic)")
    pr.add_argument("--duration", type=float, default=20.0)
    sm = sub.add_parser("summit", help="many pads, typists with cursors, readers")
    sm.add_argument("--pads", type=int, default=40)
    sm.add_argument("--typists", type=int, default=8)
    sm.add_argument("--readers", type=int, default=60)
    sm.add_argument("--duration", type=float, default=30.0)
    sm.add_argument("--interval", type=float, default=0.4, help="seconds between keystrokes")
    args = parser.parse_args()
    raise_nofile_limit()
    pids: dict[str, Pids] = {"server": tuple(int(p) for p in args.server_pid.split(","))}
    urls = args.url.split(",")
    renew = None if args.no_awareness_renewal else AWARENESS_RENEW
    if args.scenario == "probe":
        print(json.dumps(asyncio.run(probe(urls, pids, args.duration))))
    elif args.scenario == "fanout":
        for n in (int(x) for x in args.observers.split(",")):
            result = asyncio.run(
                fanout_step(urls, pids, n, args.duration, rate=args.rate, renew_awareness=renew)
            )
            print(json.dumps(result, indent=2))
    else:
        result = asyncio.run(
            summit(
                urls,
                pids,
                args.pads,
                args.typists,
                args.readers,
                args.duration,
                args.interval,
                renew_awareness=renew,
            )
        )
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
