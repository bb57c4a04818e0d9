"""Soak: the summit for half an hour on three nodes, a random node restarted every few minutes.

    .venv/bin/python bench/soak.py [--quick] [--minutes 30] [--restart-every 4] [--pads 20]
                                   [--typists 4] [--readers 30] [--seed N] [--label TEXT]

One command; everything runs on loopback and a unix socket and stops by itself:

1. A private valkey-server with AOF (run.py's `valkey()`) and three `summitpad serve` nodes on
   it sharing one key prefix (targets.py).
2. The summit's browsers: `pads` pads, each with `typists` typists (a keystroke every 400 ms,
   then the cursor, as y-quill sends) and `readers` readers, spread over the three nodes. All
   reconnect as the stock y-websocket client does (reconnecting.py), through a load balancer
   that sends a connection to the node with the fewest connections among those up, as the
   deploy's nginx does (`least_conn`): a browser whose node goes away comes back on another.
   Typists type on while away; what they typed goes out in the sync step 2 they answer on
   coming back. Two readers a pad apply every update and come back with their state vector;
   the others hold no document and join again from nothing, as a page opened afresh.
3. Every `--restart-every` minutes (±25 %), a random node is stopped, by SIGTERM and SIGKILL
   in turn, and started again on its port; the balancer sends it nobody until it answers.
4. Every `--sample-every` s, CPU and RSS of each node process, Valkey and the generator
   (timeline.py, on procstats.py).
5. Once time is up typing stops, and after a settle period (until every typist is back with
   every marker it typed echoed, at most `--settle` s) every pad is read from Valkey with a
   fresh client: markers typed, echoed, present, lost (echoed but missing) and duplicated.

Result: bench/results/<date>-soak[-quick][-label].json with the figures of soak_figures.py,
and its plot (soak_plot.py) in bench/results/plots/. Server logs go to bench/results/tmp/.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import datetime
import gc
import json
import os
import random
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import doc_cost
import procstats
import soak_figures as figures
import targets
from loadgen import Run, raise_nofile_limit, tag
from peers import AWARENESS_RENEW, Checker, Ledger, Peer, now
from procstats import Pids
from pycrdt import Text
from reconnecting import Reconnecting, ReconnectingChecker, ReconnectingEditor, Samples, summary
from restart_storm import LOG_WORDS, SIGNALS
from run import valkey, wait_until_quiet
from scenarios import CHECKERS_PER_PAD, check_pad, wait_for_text
from summitpad import protocol
from summitpad.cli import GC_THRESHOLDS
from summitpad.embedded_valkey import find_valkey_server
from summitpad.keys import PadKeys
from summitpad.pad_export import TEXT_NAME, doc_from_updates
from summitpad.store import PadStore, connect
from timeline import Timeline

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
SCRATCH = RESULTS / "tmp"
KEYSTROKE = 0.4
JITTER = 0.25  # each wait between restarts is restart-every x (1 ± JITTER)
BACK_WITHIN = 60.0  # s for the browsers of a restarted node to be back before moving on
AFTER_RESTART = 5.0  # s after the last browser is back still counted as the restart's


class Balancer:
    """Where each connection goes, as nginx's `least_conn` sends it: to the node with the
    fewest of the generator's connections among those up (ties at random). A browser that
    lost its node, or whose attempt failed there, is sent elsewhere."""

    def __init__(self, urls: list[str]) -> None:
        self.counts: Counter[str] = Counter(dict.fromkeys(urls, 0))
        self.down: set[str] = set()

    def assign(self, url: str) -> str:
        self.counts[url] += 1
        return url

    def move(self, old: str) -> str:
        others = [u for u in self.counts if u != old]
        choices = [u for u in others if u not in self.down] or others
        new = min(choices, key=lambda u: (self.counts[u], random.random()))
        self.counts[old] -= 1
        self.counts[new] += 1
        return new


class Balanced(Reconnecting):
    """A reconnecting browser behind the balancer; notes when it lost its connection."""

    balancer: Balancer
    down_at: float | None = None

    @property
    def node_url(self) -> str:
        return self._url

    def next_url(self) -> str:
        return self.balancer.move(self._url)

    def connected(self) -> bool:
        return self.has_state and self.ws is not None and not self.ws.closed

    def on_disconnect(self) -> None:
        if self.down_at is None or (self.back_at is not None and self.back_at > self.down_at):
            self.down_at = now()  # it was connected: the start of its time away
        super().on_disconnect()


class SoakTypist(Balanced, ReconnectingEditor):
    """A typist that notes the markers it typed while away, and which of its markers the
    server has told it it holds.

    An echo is one such word. The other is the server's sync step 1 on a later connection:
    its state vector covers what the server had stored when it answered, and a marker whose
    echo was lost with its node (written, then the node stopped before sending it) is
    acknowledged there. A typist's clock is the length of its text (ASCII, no deletes), so the
    marker ending at clock c is in the server's state if the server's clock for it is >= c."""

    def __init__(self, ledger: Ledger, pad: int, pad_id: str, name: str) -> None:
        super().__init__(ledger, pad, pad_id, name, cursor=True)
        self.offline: set[int] = set()
        self.ends: list[int] = []  # the clock after each marker of `seqs`
        self.held_by_server = 0  # markers seqs[:held_by_server] are in a server's step 1

    async def keystroke(self) -> None:
        if not self.connected():
            self.offline.add(self.ledger.next_seq)
        await super().keystroke()
        self.ends.append(self.length)

    def answer_step1(self, frame: bytes) -> bytes:
        message = protocol.decode_message(frame)
        assert isinstance(message, protocol.SyncMessage)
        clock = protocol.decode_state_vector(message.payload).get(self.client_id, 0)
        held = bisect.bisect_right(self.ends, clock)
        self.held_by_server = max(self.held_by_server, held)
        return super().answer_step1(frame)

    def acknowledged(self) -> set[int]:
        return self.echoed | set(self.seqs[: self.held_by_server])


class SoakChecker(Balanced, ReconnectingChecker):
    """A reader that applies every update; back from a reconnect, the markers in its step 2
    (typed while it was away) count as delivered then."""

    def on_sync(self, frame: bytes) -> None:
        super().on_sync(frame)
        if frame[1] == 1:
            self._markers(frame)


class SoakReader(Balanced):
    """A reader that holds no document and looks for no marker: it only reads."""

    def __init__(self, ledger: Ledger, pad: int, pad_id: str, name: str) -> None:
        super().__init__(ledger, pad, pad_id, name)
        self.setup_reconnect()
        self.measures = False


class SoakRun(Run):
    """`Run` whose first connections are counted by the balancer."""

    def __init__(self, urls: list[str], pids: dict[str, Pids], balancer: Balancer) -> None:
        super().__init__(urls, pids, AWARENESS_RENEW)
        self.balancer = balancer

    def url_for(self, peer: Peer) -> str:
        return self.balancer.assign(super().url_for(peer))


class Soak:
    def __init__(self, server: targets.Summitpad, redis_url: str, valkey_pid: int,
                 args: argparse.Namespace, doc_cost: dict[str, Any]) -> None:
        self.server, self.redis_url, self.args = server, redis_url, args
        self.doc_cost = doc_cost
        self.urls = server.urls
        self.balancer = Balancer(self.urls)
        self.names = [f"node {i + 1}" for i in range(len(self.urls))]
        pids = {name: (node.pid,) for name, node in zip(self.names, server.nodes, strict=True)}
        self.timeline = Timeline(
            {**pids, "valkey": (valkey_pid,), "loadgen": (os.getpid(),)}, args.sample_every
        )
        self.t0 = now()
        self.lives: list[dict[str, Any]] = [
            {"node": name, "pid": node.pid, "started": now(), "ended": None, "ended_by": None}
            for name, node in zip(self.names, server.nodes, strict=True)
        ]
        self.samples = Samples()
        self.pad_ids = [f"soak-{tag()}-{p}" for p in range(args.pads)]
        self.typists: list[list[SoakTypist]] = [[] for _ in self.pad_ids]
        self.checkers: list[SoakChecker] = []
        self.browsers: list[Balanced] = []
        self.restarts: list[dict[str, Any]] = []
        self.lags: list[tuple[float, float]] = []
        self.typing = True
        # (time, live pads per node): after the joins, then after each restart's moves.
        self.held: list[tuple[float, dict[str, int]]] = []

    def make_browsers(self, ledger: Ledger) -> list[Peer]:
        """As the summit scenario: the pads interleaved, as every session's people arrive."""
        args = self.args
        for i in range(args.typists + args.readers):
            for p, pad_id in enumerate(self.pad_ids):
                browser: Balanced
                if i < args.typists:
                    typist = SoakTypist(ledger, p, pad_id, f"typist {p}.{i}")
                    self.typists[p].append(typist)
                    browser = typist
                elif i - args.typists < CHECKERS_PER_PAD:
                    checker = SoakChecker(ledger, p, pad_id, f"reader {p}.{i}")
                    self.checkers.append(checker)
                    browser = checker
                else:
                    browser = SoakReader(ledger, p, pad_id, f"reader {p}.{i}")
                browser.balancer = self.balancer
                if not isinstance(browser, SoakReader):
                    browser.samples = self.samples
                self.browsers.append(browser)
        return list(self.browsers)

    async def run(self) -> dict[str, Any]:
        args = self.args
        self.timeline.start()
        try:
            async with SoakRun(self.urls, {"server": ()}, self.balancer) as run:
                join_s = await run.join(self.make_browsers(run.ledger))
                print(f"-- {len(self.browsers)} browsers joined in {join_s:.1f} s",
                      file=sys.stderr, flush=True)
                gc.collect()
                gc.freeze()  # as restart_storm.py: the generator's own collections stay short
                thresholds = gc.get_threshold()
                gc.set_threshold(*GC_THRESHOLDS)
                lag = asyncio.create_task(self.watch_lag())
                self.t0 = now()
                self.held.append((self.t0, self.pads_by_node()))
                end = self.t0 + args.minutes * 60
                tasks = [
                    asyncio.create_task(
                        t.type_for(lambda: self.typing, KEYSTROKE, random.uniform(0, KEYSTROKE))
                    )
                    for pad in self.typists
                    for t in pad
                ]
                await self.restart_until(end)
                self.typing = False
                await asyncio.gather(*tasks)
                typing_end = now()
                settle_s = await self.settle(args.settle)
                lag.cancel()
                gc.set_threshold(*thresholds)
                gc.unfreeze()
                found = await self.check()
                ledger = run.ledger
                await run.leave()
        finally:
            await self.timeline.stop()
        return {
            "browsers": len(self.browsers),
            "join_seconds": round(join_s, 1),
            "typing_s": round(typing_end - self.t0, 1),
            "settle_s": round(settle_s, 1),
            "restarts": self.restarts,
            **found,
            "disconnects": ledger.disconnects,
            "close_codes": dict(ledger.close_codes),
            "connect_failures": ledger.connect_failures,
            "markers_received_again": self.samples.repeats,
            "reconnecting": summary(self.browsers),
            **self.summarise(typing_end),
        }

    def pads_held(self, name: str, at: float) -> int:
        """Live pads on node `name` after the last move at or before `at`."""
        return next((held[name] for t, held in reversed(self.held) if t <= at), 0)

    async def watch_lag(self, interval: float = 0.02) -> None:
        """How late the generator's loop wakes: when high, latency measures the generator."""
        due = now() + interval
        while True:
            await asyncio.sleep(interval)
            t = now()
            self.lags.append((t, t - due))
            due = t + interval

    # -- restarts -------------------------------------------------------------------------------

    async def restart_until(self, end: float) -> None:
        every = self.args.restart_every * 60
        tail = min(60.0, every / 2)  # the last restart leaves this much typing after it
        while True:
            wait = every * random.uniform(1 - JITTER, 1 + JITTER)
            if now() + wait > end - tail:
                break
            await asyncio.sleep(wait)
            how = "term" if len(self.restarts) % 2 == 0 else "kill"
            # Not the node restarted last: the balancer has sent it nobody since.
            last = self.names.index(self.restarts[-1]["node"]) if self.restarts else -1
            index = random.choice([i for i in range(len(self.urls)) if i != last])
            self.restarts.append(await self.restart(index, how))
        await asyncio.sleep(max(0.0, end - now()))

    async def restart(self, index: int, how: str) -> dict[str, Any]:
        """Stop node `index` by `how`, start it again on its port, wait for its browsers."""
        name, url = self.names[index], self.urls[index]
        old = self.server.nodes[index]
        dropped = [b for b in self.browsers if b.node_url == url]
        failed_before = sum(b.failed_attempts for b in self.browsers)
        print(f"-- {now() - self.t0:.0f} s: {how} {name} ({len(dropped)} browsers)",
              file=sys.stderr, flush=True)
        self.balancer.down.add(url)
        signalled = now()
        old.process.send_signal(SIGNALS[how])
        await asyncio.to_thread(old.process.wait, 60)
        exited = now()
        status = old.stop(LOG_WORDS)
        life = next(lv for lv in reversed(self.lives) if lv["node"] == name)
        life.update(ended=exited, ended_by=how, exit_code=status["exit_code"],
                    warnings_and_errors=status["warnings_and_errors"],
                    first_lines=status["first_lines"], log=status["log"])
        generation = sum(1 for lv in self.lives if lv["node"] == name)
        date = datetime.date.today().isoformat()
        new = old.again(SCRATCH / f"{date}-soak-node{index + 1}-{generation}-server.log")
        self.server.nodes[index] = new
        self.timeline.pids[name] = (new.pid,)
        await asyncio.to_thread(new.wait_ready, 60.0)
        up = now()
        self.balancer.down.discard(url)
        self.lives.append({"node": name, "pid": new.pid, "started": up, "ended": None,
                           "ended_by": None})
        while any(b.back_at is None or b.back_at < signalled for b in dropped):
            if now() - signalled > BACK_WITHIN:
                break
            await asyncio.sleep(0.05)
        self.held.append((signalled, self.pads_by_node()))
        back = [b for b in dropped if b.back_at is not None and b.back_at >= signalled]
        away = [b.back_at - b.down_at for b in back if b.back_at and b.down_at]
        all_back = max((b.back_at for b in back if b.back_at), default=now())
        return {
            "node": name,
            "signal": how,
            "at": signalled,
            "old_pid": old.pid,
            "new_pid": new.pid,
            "old_exit_code": status["exit_code"],
            "old_exited_after_s": round(exited - signalled, 2),
            "new_answering_after_s": round(up - signalled, 2),
            "browsers_on_node": len(dropped),
            "back": len(back),
            "all_back": all_back,
            "all_back_after_signal_s": round(all_back - signalled, 2),
            "reconnect_ms": figures.quantiles(away),
            "failed_attempts": sum(b.failed_attempts for b in self.browsers) - failed_before,
        }

    # -- the end --------------------------------------------------------------------------------

    def pads_by_node(self) -> dict[str, int]:
        """How many pads have a browser on each node: the live pads it holds."""
        pads: dict[str, set[int]] = {name: set() for name in self.names}
        for browser in self.browsers:
            pads[self.names[self.urls.index(browser.node_url)]].add(browser.pad)
        return {name: len(held) for name, held in pads.items()}

    async def settle(self, within: float) -> float:
        """Until every typist is connected with every marker it typed acknowledged, and every
        checker connected; at most `within` s."""
        start = now()
        while now() - start < within:
            typists = [t for pad in self.typists for t in pad]
            if all(t.connected() and len(t.acknowledged()) >= len(t.seqs) for t in typists) and all(
                c.connected() for c in self.checkers
            ):
                break
            await asyncio.sleep(0.2)
        return now() - start

    async def check(self) -> dict[str, Any]:
        """Every pad as Valkey holds it, read with a client of its own: the markers counted,
        and every checker's document compared with it."""
        client = connect(self.redis_url)
        store = PadStore(client, "soak-check")
        totals: dict[str, int] = {}
        stored_bytes = 0
        bad: list[str] = []
        unechoed: list[dict[str, Any]] = []
        try:
            for p, pad_id in enumerate(self.pad_ids):
                typists = self.typists[p]
                checkers: list[Checker] = [c for c in self.checkers if c.pad == p]
                await wait_for_text(checkers, sum(t.length for t in typists), 15)
                state = await store.read(PadKeys(self.server.key_prefix, pad_id))
                snapshot = [state.snapshot] if state.snapshot else []
                doc = doc_from_updates(snapshot + [u for _, u in state.updates])
                text = str(doc.get(TEXT_NAME, type=Text))
                stored_bytes += len(doc.get_update())
                counts = figures.marker_counts(
                    text,
                    (s for t in typists for s in t.seqs),
                    (s for t in typists for s in t.echoed),
                    (s for t in typists for s in t.offline),
                    (s for t in typists for s in t.acknowledged()),
                )
                unechoed += [
                    {
                        "seq": seq,
                        "pad": p,
                        "typed_s": round(t.ledger.sent[seq][0] - self.t0, 3),
                        "typed_while_away": seq in t.offline,
                        "in_a_later_step1": seq in t.acknowledged(),
                        "present": f"#{seq}#" in text,
                    }
                    for t in typists
                    for seq in sorted(set(t.seqs) - t.echoed)
                ]
                counts["out_of_order"] = check_pad(text, list(typists))["out_of_order"]
                counts["checkers_differing"] = sum(c.content() != text for c in checkers)
                if any(counts[k] for k in ("lost", "missing", "duplicated", "unexpected",
                                           "out_of_order", "checkers_differing")):
                    bad.append(pad_id)
                figures.add_counts(totals, counts)
            memory = await client.info("memory")
        finally:
            await client.aclose()
        return {
            "markers": totals,
            "pads_with_problems": bad,
            "never_echoed": unechoed[:50],
            "stored_state_mib": round(stored_bytes / figures.MIB, 2),
            "valkey_used_memory_mib": round(int(memory["used_memory"]) / figures.MIB, 1),
        }

    def summarise(self, typing_end: float) -> dict[str, Any]:
        """Times as s from the start of typing; RSS per node process; latency and CPU a minute."""
        t0, warmup = self.t0, self.args.warmup
        # MiB per 10 min that one pad's typing adds to a node holding it (doc_cost.py).
        keystrokes = self.args.typists / KEYSTROKE * figures.TEN_MINUTES
        per_pad = keystrokes * self.doc_cost["rss_bytes_per_keystroke"] / figures.MIB
        series: dict[str, dict[int, list[tuple[float, float]]]] = {}
        for t, found, _ in self.timeline.samples:
            for name, by_pid in found.items():
                for pid, (_, _, rss) in by_pid.items():
                    if rss:  # 0: exited, not yet reaped
                        series.setdefault(name, {}).setdefault(pid, []).append((t - t0, rss))
        lives = []
        for life in self.lives:
            started = max(life["started"], t0) - t0
            ended = (life["ended"] or typing_end) - t0
            cuts = [started] + [
                r["at"] - t0 for r in self.restarts
                if r["node"] != life["node"] and started < r["at"] - t0 < ended
            ]
            points = series.get(life["node"], {}).get(life["pid"], [])
            until = min(ended, typing_end - t0)
            held = [self.pads_held(life["node"], t0 + cut) for cut in cuts]
            found = figures.rss_slope(
                points, cuts, warmup, until, [n * per_pad for n in held]
            )
            lives.append({
                **{k: v for k, v in life.items() if k not in ("started", "ended")},
                "started_s": round(life["started"] - t0, 1),
                "ended_s": None if life["ended"] is None else round(life["ended"] - t0, 1),
                "pads_held": held,
                **found,
                "flat": figures.flat(found),
                "rss_mib": [[round(t, 1), round(y / figures.MIB, 1)] for t, y in points],
            })
        others = {}
        for name in ("valkey", "loadgen"):
            points = [p for pts in series.get(name, {}).values() for p in pts]
            others[name] = {
                **figures.rss_slope(points, [0.0], warmup, typing_end - t0),
                "rss_mib": [[round(t, 1), round(y / figures.MIB, 1)] for t, y in points],
            }
        for r in self.restarts:
            r["at"] = round(r["at"] - t0, 1)
            r["all_back"] = round(r["all_back"] - t0, 1)
        minutes = int((typing_end - t0) // 60)
        sent, lat = self.samples.sent_at, self.samples.latency
        rows = figures.per_minute(sent, lat, t0, minutes)
        for row in rows:
            start = t0 + 60 * row["minute"]
            row["restarts"] = [f"{r['signal']} {r['node']}" for r in self.restarts
                               if 60 * row["minute"] <= r["at"] < 60 * (row["minute"] + 1)]
            row["processes"] = self.timeline.window(start, start + 60)
            lags = [lag for t, lag in self.lags if start <= t < start + 60]
            row["loadgen_loop_lag_ms"] = figures.quantiles(lags)
        windows = [(t0 + r["at"], t0 + r["all_back"] + AFTER_RESTART) for r in self.restarts]
        return {
            "latency_ms": figures.quantiles(list(lat)),
            "latency_ms_outside_restarts": figures.quantiles(figures.outside(sent, lat, windows)),
            "per_minute": rows,
            "node_processes": lives,
            "nodes_overall": figures.overall(lives),
            "other_processes": others,
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true",
                        help="a 2-minute smoke run: 4 pads x (4 + 10), a restart every 30 s")
    parser.add_argument("--minutes", type=float, help="minutes of typing (30; --quick 2)")
    parser.add_argument("--restart-every", type=float,
                        help="minutes between restarts, ±25 %% (4; --quick 0.5)")
    parser.add_argument("--pads", type=int, help="pads (20; --quick 4)")
    parser.add_argument("--typists", type=int, default=4, help="typists a pad (4)")
    parser.add_argument("--readers", type=int, help="readers a pad (30; --quick 10)")
    parser.add_argument("--sample-every", type=float,
                        help="s between CPU and RSS samples (5; --quick 1)")
    parser.add_argument("--warmup", type=float,
                        help="s left out of the RSS slope after a node starts or takes "
                             "browsers over (60; --quick 10)")
    parser.add_argument("--settle", type=float, default=60.0,
                        help="at most this many s for every typist to be back and echoed")
    parser.add_argument("--seed", type=int, help="random seed: which nodes, when")
    parser.add_argument("--label", help="added to the result file's name")
    args = parser.parse_args()
    quick = args.quick
    args.minutes = args.minutes or (2.0 if quick else 30.0)
    args.restart_every = args.restart_every or (0.5 if quick else 4.0)
    args.pads = args.pads or (4 if quick else 20)
    args.readers = args.readers if args.readers is not None else (10 if quick else 30)
    args.sample_every = args.sample_every or (1.0 if quick else 5.0)
    args.warmup = args.warmup if args.warmup is not None else (10.0 if quick else 60.0)
    if args.seed is None:
        args.seed = random.randrange(1 << 30)
    random.seed(args.seed)

    raise_nofile_limit()
    SCRATCH.mkdir(parents=True, exist_ok=True)
    quiet = wait_until_quiet()
    date = datetime.date.today().isoformat()
    print("-- what a keystroke costs a live pad (doc_cost.py)", file=sys.stderr, flush=True)
    cost = doc_cost.measure(args.pads, args.typists, 200 if quick else 600)
    loadavg_before = Path("/proc/loadavg").read_text().split()[:3]
    with (
        tempfile.TemporaryDirectory(prefix="summitpad-soak-") as tmp,
        valkey(Path(tmp)) as (url, vpid),
    ):
        server = targets.Summitpad(url, vpid, SCRATCH / f"{date}-soak", nodes=3)
        try:
            result = asyncio.run(Soak(server, url, vpid, args, cost).run())
        finally:
            status = server.stop()
    document = {
        "scenario": "soak",
        "date": date,
        "command": " ".join([".venv/bin/python", "bench/soak.py", *sys.argv[1:]]),
        "quick": quick,
        "machine": procstats.machine(find_valkey_server()),
        "server_revision": status["revision"],
        "server_environment": targets.SUMMITPAD_ENV,
        "settings": {k: v for k, v in vars(args).items() if k != "quick"},
        "doc_cost": cost,
        "flat_rule": {"mib_per_10min": figures.FLAT_MIB, "share_of_content": figures.FLAT_SHARE},
        "loadavg_before": loadavg_before,
        "loadavg_after": Path("/proc/loadavg").read_text().split()[:3],
        **quiet,
        **result,
        "server_processes_at_the_end": status,
    }
    path = RESULTS / f"{figures.file_stem(document)}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {path.relative_to(BENCH.parent)}", file=sys.stderr)
    print(report(document))
    try:
        import soak_plot  # matplotlib: the bench extra
    except ImportError:
        print("no plot: matplotlib is not installed (make bench-setup)", file=sys.stderr)
    else:
        print(f"wrote {soak_plot.draw(document).relative_to(BENCH.parent)}", file=sys.stderr)


def report(document: dict[str, Any]) -> str:
    """The run's figures in a few lines."""
    m = document["markers"]
    lines = [
        f"markers typed {m['typed']} (while away {m['typed_offline']}), echoed {m['echoed']}, "
        f"acknowledged {m['acknowledged']}, present {m['present']}, lost {m['lost']} "
        f"(acknowledged {m['lost_acknowledged']}), missing {m['missing']}, duplicated "
        f"{m['duplicated']}, out of order {m['out_of_order']}, checkers differing "
        f"{m['checkers_differing']}",
        f"restarts {len(document['restarts'])}; latency p50/p99 {document['latency_ms'].get('p50')}"
        f"/{document['latency_ms'].get('p99')} ms, outside restarts "
        f"{document['latency_ms_outside_restarts'].get('p99')} ms p99",
    ]
    for r in document["restarts"]:
        lines.append(
            f"  {r['at']:>7} s {r['signal']:<4} {r['node']}: {r['back']}/{r['browsers_on_node']} "
            f"back, reconnect p50/p99/max {r['reconnect_ms'].get('p50')}/"
            f"{r['reconnect_ms'].get('p99')}/{r['reconnect_ms'].get('max')} ms"
        )
    for life in document["node_processes"]:
        lines.append(
            f"  {life['node']} pid {life['pid']}: RSS {life['rss_mib_start']} -> "
            f"{life['rss_mib_end']} MiB, slope {life['slope_mib_per_10min']} MiB/10 min "
            f"({life['steady_seconds']} s steady; plain {life['plain_slope_mib_per_10min']}), "
            f"content {life['content_slope_mib_per_10min']}, excess "
            f"{life['excess_mib_per_10min']}: flat {life['flat']}"
        )
    o = document["nodes_overall"]
    lines.append(
        f"  every node process pooled: slope {o['slope_mib_per_10min']}, content "
        f"{o.get('content_slope_mib_per_10min')}, excess {o.get('excess_mib_per_10min')} "
        f"MiB/10 min: flat {o['flat']}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
