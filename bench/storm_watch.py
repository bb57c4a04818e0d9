"""The other pads of a restart storm, watched from a process of their own.

    storm_watch.py --url-a WS --url-b WS --server-pid PID [--pads 3] [--observers 10]
                   [--rate 10]

bench/restart_storm.py starts this beside its own load generator, so that the latency of the
pads that are not in the storm does not include that generator's loop lag while it reconnects
a thousand peers. It holds:

- `pads` pads on node B, each with a writer at `rate` updates/s and `observers` observers (two
  of them apply every update, to check the pad at the end). Node B does not restart: these
  connections must not drop.
- on the line `fresh <round>` on stdin (sent once the old node A has exited), a new pad on
  node A, opened as soon as A accepts websockets again (tried every 20 ms): a writer at
  `rate`/s and two observers, which reconnect as browsers do if A goes again.

On the line `end` it stops typing, checks every pad (its checkers and a client that joins
afresh hold exactly the writer's text) and prints one JSON object: every marker's send time
and latency per group, when each fresh pad was open and synced, its own loop lag, and the
checks. The clock is CLOCK_MONOTONIC, the same in every process, so restart_storm.py splits
the samples into its phases.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
from typing import Any

import aiohttp
from loadgen import Run, raise_nofile_limit, tag
from peers import AWARENESS_RENEW, Checker, Editor, Peer, now
from reconnecting import ReconnectingChecker, ReconnectingEditor, Samples, Timed, summary

OPEN_RETRY = 0.02  # s between tries to reach node A while it restarts


class TimedChecker(Timed, Checker):
    """An observer that applies every update, its latencies with their send times."""


class Placed(Run):
    """Peers connect to the node chosen for each (`place`); node A's URL otherwise."""

    def __init__(self, urls: list[str], server_pid: int) -> None:
        super().__init__(urls, {"server": (server_pid,)}, AWARENESS_RENEW)
        self.place: dict[int, str] = {}

    def url_for(self, peer: Peer) -> str:
        return self.place.get(id(peer), self.urls[0])


async def open_when_up(run: Run, peer: ReconnectingEditor | ReconnectingChecker, url: str) -> float:
    """Open `peer` on `url` as soon as it answers; when it was synced."""
    assert run.session is not None
    while True:
        try:
            await peer.open(run.session, url)
            break
        except (aiohttp.ClientError, OSError, TimeoutError):  # refused, or not up yet
            await asyncio.sleep(OPEN_RETRY)
    run.peers.append(peer)
    await asyncio.wait_for(peer.synced.wait(), 60)
    if peer.has_state:
        return now()
    while peer.back_at is None:  # noqa: ASYNC110 - closed before its step 2: it reconnects by itself
        await asyncio.sleep(0.01)
    return peer.back_at


class Watch:
    def __init__(self, args: argparse.Namespace, run: Placed) -> None:
        self.args = args
        self.run = run
        self.typing = True
        self.b_samples = Samples()
        self.writers: dict[str, Editor] = {}  # pad id -> its writer
        self.on_b: list[Peer] = []  # the connections that must not drop
        self.node_of: dict[str, str] = {}  # pad id -> the URL of its node
        self.checkers: dict[str, list[Checker]] = {}
        self.fresh: dict[str, dict[str, Any]] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self.lags: list[tuple[float, float]] = []

    async def start_b_pads(self) -> None:
        args, run, ledger = self.args, self.run, self.run.ledger
        peers: list[Peer] = []
        for p in range(args.pads):
            pad_id = f"storm-{tag()}-other-{p}"
            writer = Editor(ledger, p, pad_id, f"writer {p}", cursor=False)
            observers: list[Peer] = []
            for i in range(args.observers):
                observer = (TimedChecker if i < 2 else Timed)(ledger, p, pad_id, f"observer {i}")
                observer.samples = self.b_samples
                observers.append(observer)
            for peer in (writer, *observers):
                run.place[id(peer)] = args.url_b
            self.writers[pad_id] = writer
            self.node_of[pad_id] = args.url_b
            self.checkers[pad_id] = [o for o in observers if isinstance(o, Checker)]
            peers += [writer, *observers]
        self.on_b = peers
        await run.join(peers)
        for writer in self.writers.values():
            self.type(writer)

    def type(self, writer: Editor) -> None:
        interval = 1.0 / self.args.rate
        phase = random.uniform(0, interval)
        self.tasks.append(
            asyncio.create_task(writer.type_for(lambda: self.typing, interval, phase))
        )

    async def open_fresh_pad(self, round_: str) -> None:
        """A pad nobody had open, on node A as soon as it is back."""
        pad_id = f"storm-{tag()}-fresh-{round_}"
        pad = 100 + len(self.fresh)
        ledger, url = self.run.ledger, self.args.url_a
        samples = Samples()
        writer = ReconnectingEditor(ledger, pad, pad_id, "fresh writer", cursor=False)
        observers = [
            ReconnectingChecker(ledger, pad, pad_id, f"fresh observer {i}") for i in (0, 1)
        ]
        for observer in observers:
            observer.samples = samples
        record: dict[str, Any] = {"pad_id": pad_id, "asked": now(), "samples": samples}
        self.fresh[round_] = record
        record["writer_synced"] = await open_when_up(self.run, writer, url)
        self.writers[pad_id] = writer
        self.node_of[pad_id] = url
        self.checkers[pad_id] = list(observers)
        record["observers_synced"] = [
            await open_when_up(self.run, observer, url) for observer in observers
        ]
        self.type(writer)

    async def watch_lag(self, interval: float = 0.02) -> None:
        due = now() + interval
        while True:
            await asyncio.sleep(interval)
            t = now()
            self.lags.append((t, t - due))
            due = t + interval

    async def check(self) -> dict[str, Any]:
        """Every pad: its checkers and a fresh client hold exactly its writer's text."""
        bad, checked = [], 0
        for pad_id, writer in self.writers.items():
            want = str(writer.text)
            deadline = now() + 15
            checkers = [c for c in self.checkers[pad_id] if not c.lost]
            while now() < deadline and any(c.content() != want for c in checkers):  # noqa: ASYNC110 - polls with a deadline
                await asyncio.sleep(0.1)
            fresh = Checker(self.run.ledger, writer.pad, pad_id, "final check")
            self.run.place[id(fresh)] = self.node_of[pad_id]
            await self.run.join([fresh], within=60.0)
            texts = [c.content() for c in checkers] + [fresh.content() if not fresh.lost else None]
            await self.run.leave([fresh])
            checked += 1
            if any(text != want for text in texts):
                bad.append(pad_id)
        return {"documents_checked": checked, "lost_or_diverged_documents": len(bad), "bad": bad}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    async with Placed([args.url_a, args.url_b], args.server_pid) as run:
        watch = Watch(args, run)
        lag = asyncio.create_task(watch.watch_lag())
        await watch.start_b_pads()
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        opening: list[asyncio.Task[None]] = []
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).split()
            if not line or line[0] == "end":
                break
            if line[0] == "fresh":
                opening.append(asyncio.create_task(watch.open_fresh_pad(line[1])))
        await asyncio.gather(*opening)
        watch.typing = False
        await asyncio.gather(*watch.tasks)
        convergence = await watch.check()
        lag.cancel()
        fresh_peers = [
            p for p in run.peers if isinstance(p, ReconnectingEditor | ReconnectingChecker)
        ]
        b_samples = watch.b_samples
        result = {
            "b_pads": {
                "sent_at": list(b_samples.sent_at),
                "latency": list(b_samples.latency),
                "repeats": b_samples.repeats,
            },
            "fresh": {
                k: {
                    **{n: v for n, v in rec.items() if n != "samples"},
                    "sent_at": list(rec["samples"].sent_at),
                    "latency": list(rec["samples"].latency),
                    "repeats": rec["samples"].repeats,
                }
                for k, rec in watch.fresh.items()
            },
            "lag": watch.lags,
            "connections_on_b": len(watch.on_b),
            "lost_on_b": sum(p.lost for p in watch.on_b),
            "disconnects_with_fresh_pads": run.ledger.disconnects,
            "close_codes": dict(run.ledger.close_codes),
            "fresh_pads_reconnecting": summary(fresh_peers),
            "convergence": convergence,
        }
        await run.leave()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url-a", required=True)
    parser.add_argument("--url-b", required=True)
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--pads", type=int, default=3)
    parser.add_argument("--observers", type=int, default=10)
    parser.add_argument("--rate", type=float, default=10.0)
    args = parser.parse_args()
    raise_nofile_limit()
    print(json.dumps(asyncio.run(main_async(args))), flush=True)


if __name__ == "__main__":
    main()
