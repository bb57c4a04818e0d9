"""Node restart: a thousand browsers reconnecting at once, and the pads that are not in it.

    .venv/bin/python bench/restart_storm.py [--quick] [--signals term,kill] [--label TEXT]

One command; it starts everything it needs on loopback and a unix socket, and stops it all:

1. A private valkey-server (bench/run.py's `valkey()`), and two `summitpad serve` nodes, A and
   B, on it (bench/targets.py), sharing one key prefix.
2. `clients` browsers on node A, spread over `pads` pads: `typists` a pad type a keystroke
   every 400 ms (with cursor awareness, as y-quill sends), the others read; every one of them
   applies what it gets, as a browser does, and reconnects as y-websocket does
   (bench/reconnecting.py).
3. Beside it, in a process of its own (bench/storm_watch.py): the other pads, on node B, each
   with a writer at 10 updates/s and observers; they never disconnect.
4. For each signal of `--signals`, a round: `before` s of steady typing, then node A gets the
   signal (SIGTERM: it writes what it holds and closes every websocket with 1001; SIGKILL: it
   is gone at once), and a new process starts on the same port as soon as the old one has
   exited. Every browser of A comes back by itself; the watcher opens a pad nobody had open
   on A as soon as A answers (the fresh pad). The round waits until every browser is back and
   synced, then `after` s more.
5. Typing stops; every pad is checked: a client that joins afresh holds every marker typed,
   exactly once and in each typist's order, every marker a typist saw echoed among them, and
   every checker holds the same text.

Figures per round: edit-to-peer latency on the other pads (and on the fresh pad, and on the
storm's own pads) before, during (from the signal until the last browser is back and synced;
its end, from node A answering again, is the storm) and after; how long each browser took to
be back, from node A answering again; CPU, run-queue wait and RSS of both nodes, Valkey and
the two generator processes in each phase. The result goes to
bench/results/<date>-restart-storm[-quick][-label].json (bench/storm_report.py prints its
tables again); server logs to bench/results/tmp/.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import gc
import json
import os
import random
import signal
import socket
import sys
import tempfile
import time
from array import array
from pathlib import Path
from typing import Any

import procstats
import targets
from loadgen import Run, percentiles, raise_nofile_limit, tag
from peers import AWARENESS_RENEW, Peer, now
from reconnecting import (
    Reconnecting,
    ReconnectingChecker,
    ReconnectingEditor,
    Samples,
    summary,
)
from run import valkey, wait_until_quiet
from scenarios import check_pad, fresh_check, wait_for_text
from storm_report import table
from summitpad.cli import GC_THRESHOLDS
from summitpad.embedded_valkey import find_valkey_server
from timeline import Timeline

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
SCRATCH = RESULTS / "tmp"
SIGNALS = {"term": signal.SIGTERM, "kill": signal.SIGKILL}
KEYSTROKE = 0.4
WARMUP = 3.0
BACK_WITHIN = 120.0  # s for every browser to be back after a restart, else the round fails
LOG_WORDS = (" WARNING ", " ERROR ", "Traceback")


class Storm:
    """The browsers of node A, the watcher of the other pads, and the restarts."""

    def __init__(self, server: targets.Summitpad, valkey_pid: int, args: argparse.Namespace):
        self.server = server
        self.args = args
        self.node_a, self.node_b = server.nodes
        self.urls = server.urls
        self.timeline = Timeline(
            {
                "node A": (self.node_a.pid,),
                "node B": (self.node_b.pid,),
                "valkey": (valkey_pid,),
                "loadgen": (os.getpid(),),
                "watcher": (),
            }
        )
        self.samples = Samples()  # the storm's own pads
        self.typists: list[list[ReconnectingEditor]] = []
        self.browsers: list[Reconnecting] = []
        self.pad_ids: list[str] = []
        self.rounds: list[dict[str, Any]] = []
        self.typing = True
        self.old_logs: list[dict[str, Any]] = []

    # -- the run ------------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        args = self.args
        self.timeline.start()
        watcher = await asyncio.create_subprocess_exec(
            sys.executable,
            str(BENCH / "storm_watch.py"),
            "--url-a", self.urls[0],
            "--url-b", self.urls[1],
            "--server-pid", str(self.node_b.pid),
            "--pads", str(args.other_pads),
            "--observers", str(args.observers),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert watcher.stdin is not None and watcher.stdout is not None
        self.timeline.pids["watcher"] = (watcher.pid,)
        try:
            async with Run(self.urls[0], {"server": (self.node_b.pid,)}, AWARENESS_RENEW) as run:
                join_s = await run.join(self.make_browsers(run))
                ready = await asyncio.wait_for(watcher.stdout.readline(), 120)
                assert ready.strip() == b"ready", ready
                tasks = [
                    asyncio.create_task(
                        t.type_for(lambda: self.typing, KEYSTROKE, random.uniform(0, KEYSTROKE))
                    )
                    for pad in self.typists
                    for t in pad
                ]
                gc.collect()
                gc.freeze()  # as run.py's window: the generator's own collections stay short
                thresholds = gc.get_threshold()
                gc.set_threshold(*GC_THRESHOLDS)
                await asyncio.sleep(WARMUP)
                for n, name in enumerate(args.signals):
                    self.rounds.append(await self.restart(n + 1, name, watcher.stdin))
                self.typing = False
                await asyncio.gather(*tasks)
                gc.set_threshold(*thresholds)
                gc.unfreeze()
                watcher.stdin.write(b"end\n")
                await watcher.stdin.drain()
                watched = json.loads(await asyncio.wait_for(watcher.stdout.read(), 300))
                convergence = await self.check(run)
                await run.leave()
                ledger = run.ledger
        finally:
            if watcher.returncode is None:
                watcher.kill()
            await watcher.wait()
            await self.timeline.stop()
        for figures in self.rounds:
            self.split(figures, watched)
        return {
            "connections_on_a": len(self.browsers),
            "join_seconds": round(join_s, 1),
            "rounds": self.rounds,
            "storm_pads": {
                "disconnects": ledger.disconnects,
                "close_codes": dict(ledger.close_codes),
                "connect_failures": ledger.connect_failures,
                "markers_received_again": self.samples.repeats,
                **summary(self.browsers),
                "convergence": convergence,
            },
            "other_pads": {
                "connections_on_b": watched["connections_on_b"],
                "lost_on_b": watched["lost_on_b"],
                "markers_received_again_on_b": watched["b_pads"]["repeats"],
                "disconnects_with_fresh_pads": watched["disconnects_with_fresh_pads"],
                "close_codes": watched["close_codes"],
                "fresh_pads_reconnecting": watched["fresh_pads_reconnecting"],
                "convergence": watched["convergence"],
            },
            "replaced_node_logs": self.old_logs,
        }

    def make_browsers(self, run: Run) -> list[Peer]:
        args, ledger = self.args, run.ledger
        per_pad = args.clients // args.pads
        run_tag = tag()
        peers: list[Peer] = []
        self.typists = [[] for _ in range(args.pads)]
        self.pad_ids = [f"storm-{run_tag}-{p}" for p in range(args.pads)]
        for i in range(per_pad):  # interleaved, as a room's participants arrive
            for p, pad_id in enumerate(self.pad_ids):
                browser: Reconnecting
                if i < args.typists:
                    browser = ReconnectingEditor(ledger, p, pad_id, f"typist {p}.{i}", cursor=True)
                    self.typists[p].append(browser)
                else:
                    browser = ReconnectingChecker(ledger, p, pad_id, f"reader {p}.{i}")
                browser.samples = self.samples
                peers.append(browser)
        self.browsers = [b for b in peers if isinstance(b, Reconnecting)]
        return peers

    async def restart(self, n: int, name: str, watcher: asyncio.StreamWriter) -> dict[str, Any]:
        """One round: steady typing, node A stopped by `name`, started again, all back."""
        args = self.args
        print(f"-- round {n}: {args.before:g} s steady, then {name}", file=sys.stderr, flush=True)
        await asyncio.sleep(args.before)
        old = self.server.nodes[0]
        signalled = now()
        old.process.send_signal(SIGNALS[name])
        await asyncio.to_thread(old.process.wait, 60)
        exited = now()
        self.old_logs.append(old.stop(LOG_WORDS))
        watcher.write(f"fresh {n}\n".encode())
        await watcher.drain()
        log = SCRATCH / f"{datetime.date.today()}-restart-storm-node-a-{n}-server.log"
        new = old.again(log)
        self.server.nodes[0] = new
        self.timeline.pids["node A"] = (new.pid,)
        started = now()
        await asyncio.to_thread(wait_listening, new.port, new)
        up = now()
        while any(b.back_at is None or b.back_at < up for b in self.browsers):
            if now() - up > BACK_WITHIN:
                break
            await asyncio.sleep(0.05)
        returned = [b for b in self.browsers if b.back_at is not None and b.back_at >= up]
        back = [b.back_at - up for b in returned]
        # From the start of the attempt that worked to the step 2: the server's own share.
        served = [b.back_at - b.tried_at for b in returned]
        all_back = now() if len(back) < len(self.browsers) else up + max(back)
        print(
            f"   {len(back)} of {len(self.browsers)} back, the last {all_back - up:.1f} s after "
            "node A answered",
            file=sys.stderr,
            flush=True,
        )
        await asyncio.sleep(args.after)
        return {
            "round": n,
            "signal": name,
            "times": {
                "signalled": signalled,
                "exited": exited,
                "started": started,
                "up": up,
                "all_back": all_back,
                "after_end": all_back + args.after,
            },
            "old_node_exit_s": round(exited - signalled, 2),
            "new_node_start_s": round(up - started, 2),
            "back": {
                "browsers": len(self.browsers),
                "back": len(back),
                "all_back_after_up_s": round(all_back - up, 2),
                "all_back_after_signal_s": round(all_back - signalled, 2),
                "per_browser_after_up_ms": percentiles(array("d", back)),
                "per_browser_last_attempt_ms": percentiles(array("d", served)),
            },
        }

    def split(self, figures: dict[str, Any], watched: dict[str, Any]) -> None:
        """The round's latencies and process figures in its three phases."""
        t = figures["times"]
        phases = {
            "before": (t["signalled"] - self.args.before, t["signalled"]),
            "during": (t["signalled"], t["all_back"]),
            # The end of "during": node A is up again and takes the browsers back.
            "storm": (t["up"], t["all_back"]),
            "after": (t["all_back"], t["after_end"]),
        }
        other = Samples()
        other.sent_at.extend(watched["b_pads"]["sent_at"])
        other.latency.extend(watched["b_pads"]["latency"])
        fresh = watched["fresh"].get(str(figures["round"]), {})
        fresh_samples = Samples()
        fresh_samples.sent_at.extend(fresh.get("sent_at", []))
        fresh_samples.latency.extend(fresh.get("latency", []))
        lag = watched["lag"]
        figures["phases"] = {
            phase: {
                "seconds": round(end - start, 2),
                "other_pads_on_b_ms": percentiles(other.between(start, end)),
                "fresh_pad_on_a_ms": percentiles(fresh_samples.between(start, end)),
                "storm_pads_ms": percentiles(self.samples.between(start, end)),
                "watcher_loop_lag_ms": percentiles(
                    array("d", (lg for at, lg in lag if start <= at < end))
                ),
                "processes": self.timeline.window(start, end),
            }
            for phase, (start, end) in phases.items()
        }
        if fresh:
            figures["fresh_pad"] = {
                "writer_synced_after_up_ms": round((fresh["writer_synced"] - t["up"]) * 1000, 1),
                "observers_synced_after_up_ms": [
                    round((s - t["up"]) * 1000, 1) for s in fresh["observers_synced"]
                ],
            }
        figures["cpu_per_second"] = {
            "columns": ["s after signal", "node A", "node B", "valkey", "loadgen", "watcher"],
            "rows": self.timeline.per_second(
                t["signalled"],
                t["all_back"] + 1.0,
                ("node A", "node B", "valkey", "loadgen", "watcher"),
            ),
        }

    async def check(self, run: Run) -> dict[str, Any]:
        """Every storm pad: a fresh client holds every marker typed (each typist's in order)
        and every marker echoed; every checker the same text."""
        bad = 0
        totals: dict[str, int] = {}
        for p, pad_id in enumerate(self.pad_ids):
            typists = self.typists[p]
            checkers = [
                b for b in self.browsers if b.pad == p and isinstance(b, ReconnectingChecker)
            ]
            await wait_for_text(checkers, sum(t.length for t in typists), 30)
            fresh = await fresh_check(run, p, pad_id)
            text = fresh or ""
            problems = check_pad(text, typists)
            problems["echoed_missing"] = sum(
                1 for t in typists for seq in t.echoed if f"#{seq}#" not in text
            )
            problems["checker_differs"] = sum(c.content() != fresh for c in checkers)
            problems["no_answer"] = int(fresh is None)
            for key, value in problems.items():
                totals[key] = totals.get(key, 0) + value
            bad += any(problems.values())
        return {
            "documents_checked": len(self.pad_ids),
            "lost_or_diverged_documents": bad,
            "problems": totals,
            "markers_typed": sum(len(t.seqs) for pad in self.typists for t in pad),
            "markers_echoed": sum(len(t.echoed) for pad in self.typists for t in pad),
        }


def wait_listening(port: int, process: targets.Process, within: float = 60.0) -> None:
    """Until `port` accepts a TCP connection (aiohttp listens once the app has started)."""
    deadline = time.monotonic() + within
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if process.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"node A did not start again; see {process.log_path}") from None
            time.sleep(0.005)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="200 browsers, shorter phases")
    parser.add_argument("--clients", type=int, help="browsers on node A (1000; --quick 200)")
    parser.add_argument("--pads", type=int, help="pads they are spread over (25; --quick 10)")
    parser.add_argument("--typists", type=int, default=2, help="typists a pad")
    parser.add_argument("--other-pads", type=int, default=3, help="pads on node B")
    parser.add_argument("--observers", type=int, default=10, help="observers a pad on node B")
    parser.add_argument("--before", type=float, help="s of steady typing before (15; --quick 5)")
    parser.add_argument("--after", type=float, help="s after all are back (15; --quick 5)")
    parser.add_argument(
        "--signals",
        default="term,kill",
        type=lambda text: [s.strip() for s in text.split(",") if s.strip()],
        help="how node A is stopped, one round each: term (SIGTERM), kill (SIGKILL)",
    )
    parser.add_argument("--label", help="added to the result file's name")
    args = parser.parse_args()
    if any(s not in SIGNALS for s in args.signals):
        parser.error(f"--signals takes {', '.join(SIGNALS)}")
    args.clients = args.clients or (200 if args.quick else 1000)
    args.pads = args.pads or (10 if args.quick else 25)
    args.before = args.before or (5.0 if args.quick else 15.0)
    args.after = args.after or (5.0 if args.quick else 15.0)

    raise_nofile_limit()
    SCRATCH.mkdir(parents=True, exist_ok=True)
    quiet = wait_until_quiet()
    date = datetime.date.today().isoformat()
    with (
        tempfile.TemporaryDirectory(prefix="summitpad-storm-") as tmp,
        valkey(Path(tmp)) as (url, vpid),
    ):
        server = targets.Summitpad(url, vpid, SCRATCH / f"{date}-restart-storm", nodes=2)
        try:
            result = asyncio.run(Storm(server, vpid, args).run())
        finally:
            status = server.stop()
    document = {
        "scenario": "restart-storm",
        "date": date,
        "command": " ".join([".venv/bin/python", "bench/restart_storm.py", *sys.argv[1:]]),
        "quick": args.quick,
        "machine": procstats.machine(find_valkey_server()),
        "server_revision": status["revision"],
        "server_environment": targets.SUMMITPAD_ENV,
        "settings": {
            k: v for k, v in vars(args).items() if k not in ("quick", "label")
        },
        **result,
        "server_processes": status,
        **quiet,
    }
    name = f"{date}-restart-storm" + ("-quick" if args.quick else "")
    name += f"-{args.label}" if args.label else ""
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(table(document))
    conv = document["storm_pads"]["convergence"]
    other = document["other_pads"]
    print(
        f"\nstorm pads: {conv['lost_or_diverged_documents']} of {conv['documents_checked']} "
        f"lost or diverged ({conv['markers_typed']} markers typed, {conv['markers_echoed']} "
        f"echoed); other pads: {other['convergence']['lost_or_diverged_documents']} of "
        f"{other['convergence']['documents_checked']}, {other['lost_on_b']} connections lost "
        "on node B. "
        f"Wrote {path.relative_to(BENCH.parent)}",
    )


if __name__ == "__main__":
    main()
