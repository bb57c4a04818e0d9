"""Three scenarios on recorded editing traces (bench/traces.py), for every target of run.py.

- `join_storm`: one pad holds the whole automerge-paper text (105 KB); `clients` browsers join
  it at the same moment. Figure: per client, the time from starting to connect to holding the
  document (sync step 2 received).
- `replay`: the concurrent friendsforever trace typed again by two clients through the server,
  each waiting for what the recording says it had seen of the other. Figure: the time until
  both clients hold the final text; also updates/s and edit-to-peer latency.
- `cold_load`: pads stored and loaded by no server process, opened by a fresh client each, one
  after another and then `concurrency` at a time. Figure: per client, connect to holding the
  document. summitpad's pads are in Valkey; for y-websocket it starts a second
  @y/websocket-server with LevelDB persistence; pycrdt-websocket is skipped.

Each is `make(urls, pids, on_window)`-shaped for `run.run_step` and returns `Run.report`'s
figures with `latency_ms` replaced by the scenario's own figure, plus `convergence`. Without
the traces (../shared/data/editing-traces) each returns a result that says it was skipped.

Try one on one target:

    .venv/bin/python bench/trace_scenarios.py join-storm --target summitpad [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import tempfile
import time
from array import array
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import procstats
import targets
import traces
from loadgen import Run, Urls, percentiles, raise_nofile_limit, tag
from peers import Peer, now
from procstats import Pids
from scenarios import fresh_check
from summitpad import protocol
from summitpad.keys import pad_keys
from summitpad.store import PadStore, connect
from trace_peers import Payloads, ReplayClient, Seeder, TimedPeer

OnWindow = Callable[[str, float], None] | None
JOIN_WITHIN = 60.0  # s a client may take to connect and get the document
MIN_WINDOW = 1.0  # s: the shortest measured window of a join storm
QUICK = {
    "join-storm": {"clients": 60},
    "replay": {"transactions": 4000},
    "cold-load": {"pads": 20},
}
FULL = {"join-storm": {"clients": 300}, "replay": {}, "cold-load": {"pads": 100}}


def _timed(peers: list[TimedPeer]) -> array[float]:
    return array("d", (s for p in peers if (s := p.seconds()) is not None))


def _finish(result: dict[str, Any]) -> dict[str, Any]:
    result["cpu_pct_of_one_core"].setdefault("valkey", 0.0)  # the peer servers use none
    return result


def skipped(reason: str) -> dict[str, Any]:
    """A result for run_step that says why nothing was measured."""
    cpu = {"server": 0.0, "loadgen": 0.0, "valkey": 0.0, "other_processes": 0.0}
    return {
        "skipped": reason,
        "latency_ms": {"samples": 0},
        "cpu_pct_of_one_core": cpu,
        "convergence": {"documents_checked": 0, "lost_or_diverged_documents": 0},
    }


# -- 1. join storm ------------------------------------------------------------------------------


async def join_storm(
    urls: Urls, pids: dict[str, Pids], clients: int = 300, *, on_window: OnWindow = None
) -> dict[str, Any]:
    """`clients` connections opened at once (not 32 at a time) to a pad that holds the final
    automerge-paper text, each timed until it has its step 2. The seeder stays connected."""
    if reason := traces.missing(traces.SEQUENTIAL):
        return skipped(reason)
    update = traces.final_update()
    payloads = Payloads(traces.end_content(traces.SEQUENTIAL))
    pad_id = f"bench-{tag()}-join-storm"
    async with Run(urls, pids) as run:
        seeder = Seeder(run.ledger, pad_id)
        await run.join([seeder])
        assert seeder.ws is not None
        await seeder.ws.send_bytes(protocol.encode_update(update))
        try:
            await asyncio.wait_for(seeder.echoed.wait(), 30.0)
        except TimeoutError:
            pass  # counted below: every joiner's payload is checked
        storm = [
            TimedPeer(run.ledger, pad_id, f"joiner {i}", payloads, updates_too=False)
            for i in range(clients)
        ]
        if on_window is not None:
            on_window("join-storm", 5.0)
        run.start_window()
        join_s = await run.join(list[Peer](storm), concurrency=len(storm), within=JOIN_WITHIN)
        # CPU is counted in ticks of 10 ms: a window of at least a second, which also holds
        # the tail of the joiners' awareness broadcasts.
        await asyncio.sleep(max(0.0, MIN_WINDOW - join_s))
        window = run.stop_window()
        result = run.report(window, list[Peer](storm), lambda p: 0)
        checked = payloads.check()
        result["latency_ms"] = percentiles(_timed(storm))
        result.update(
            clients=clients,
            all_joined_s=round(join_s, 2),
            seed_update_bytes=len(update),
            seed_echoed=seeder.echoed.is_set(),
            step2_bytes=checked["bytes"],
            distinct_step2_payloads=len(checked["bytes"]),
            client_apply_ms=checked["client_apply_ms"],
            convergence={
                "documents_checked": clients,
                "lost_or_diverged_documents": sum(p.digest not in checked["good"] for p in storm),
                "no_step2": sum(p.digest is None for p in storm),
            },
        )
        await run.leave()
    return _finish(result)


# -- 2. replay of a concurrent trace ------------------------------------------------------------


async def replay(
    urls: Urls,
    pids: dict[str, Pids],
    *,
    transactions: int | None = None,
    within: float = 600.0,
    on_window: OnWindow = None,
) -> dict[str, Any]:
    """The friendsforever trace (its first `transactions`, or all) typed by two clients, as
    fast as the recorded dependencies and the server allow; then a fresh client joins."""
    if reason := traces.missing(traces.CONCURRENT):
        return skipped(reason)
    plan = traces.concurrent_plan(traces.CONCURRENT, transactions)  # offline, ~1 s
    pad_id = f"bench-{tag()}-replay"
    sent_at = (array("d", [0.0]) * len(plan.steps[0]), array("d", [0.0]) * len(plan.steps[1]))
    async with Run(urls, pids) as run:
        agents = [ReplayClient(run.ledger, pad_id, plan, a, sent_at) for a in (0, 1)]
        await run.join(list[Peer](agents))
        if on_window is not None:
            on_window("replay", max(3.0, plan.updates / 4000))
        run.start_window()
        began = now()
        await asyncio.gather(*(a.type_all(within) for a in agents))
        deadline = now() + 30.0
        while now() < deadline and not all(a.done_at or a.lost for a in agents):  # noqa: ASYNC110 - polls with a deadline
            await asyncio.sleep(0.01)
        window = run.stop_window()
        result = run.report(window, list[Peer](agents), lambda p: 0)
        fresh = await fresh_check(run, 0, pad_id)
        texts = [str(a.text) for a in agents] + [fresh or "<no answer>"]
        done = array("d", (a.done_at - began for a in agents if a.done_at))
        seconds = max(done) if len(done) == 2 else None
        result["latency_ms"] = percentiles(done)
        edits = array("d", (x for a in agents for x in a.latencies))
        result.update(
            trace=plan.name,
            transactions=plan.transactions,
            updates=plan.updates,
            update_bytes=sum(len(s.update) for steps in plan.steps for s in steps),
            offline_build_s=plan.build_s,
            replay_s=None if seconds is None else round(seconds, 2),
            updates_per_s=None if seconds is None else round(plan.updates / seconds, 1),
            edit_to_peer_ms=percentiles(edits),
            final_characters=len(plan.end_content),
            convergence={
                "documents_checked": len(texts),
                "lost_or_diverged_documents": sum(t != plan.end_content for t in texts),
                "clients_done": len(done),
            },
        )
        await run.leave()
    return _finish(result)


# -- 3. cold load -------------------------------------------------------------------------------


def _cmdline(pids: Pids) -> list[str]:
    first = pids if isinstance(pids, int) else pids[0]
    return Path(f"/proc/{first}/cmdline").read_bytes().decode().split("\0")


def summitpad_store(pids: Pids) -> tuple[str, str] | None:
    """The Valkey URL and key prefix a summitpad node was started with (its command line:
    targets.Summitpad passes both), or None if the server is not summitpad."""
    argv = _cmdline(pids)
    options = dict(itertools.pairwise(argv))  # each option and the word after it
    if "serve" not in argv or "--key-prefix" not in options or "--redis-url" not in options:
        return None
    return options["--redis-url"], options["--key-prefix"]


async def seed_pads(redis_url: str, prefix: str, pad_ids: list[str], update: bytes) -> None:
    """Write each pad as summitpad's own store would (`PadStore.seed`: the pad's first log
    entry), straight into Valkey: no node has loaded them."""
    client = connect(redis_url)
    try:
        store = PadStore(client, "bench-seed")
        for pad_id in pad_ids:
            if not await store.seed(pad_keys(prefix, pad_id), update):
                raise RuntimeError(f"pad {pad_id} was already written")
    finally:
        await client.aclose()


class LevelDbServer:
    """@y/websocket-server as targets.YWebsocket starts it, plus `YPERSISTENCE`: its documents
    in LevelDB (y-leveldb) in `directory`. It loads a room's document when the room opens and
    drops it, written, when the room's last client leaves."""

    def __init__(self, directory: Path, log_prefix: str) -> None:
        port = targets.free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SUMMITPAD_")}
        env.update(HOST="127.0.0.1", PORT=str(port), YPERSISTENCE=str(directory))
        log = targets.BENCH / "results" / "tmp" / f"{log_prefix}-leveldb-server.log"
        argv = ["node", str(targets.NODE_SERVER)]
        self.process = targets.Process("y-websocket-leveldb", argv, env, log, port)
        try:
            self.process.wait_ready()
        except BaseException:
            self.process.stop(())
            raise
        self.url = f"ws://127.0.0.1:{port}"

    def stop(self) -> dict[str, Any]:
        return self.process.stop(("Error", "error"))


async def seed_rooms(url: str, pad_ids: list[str], update: bytes) -> None:
    """Put `update` into each room through a client that leaves again, 10 rooms at a time:
    the server writes it to LevelDB and drops the room."""
    async with Run(url, {"server": ()}, None) as run:
        for start in range(0, len(pad_ids), 10):
            seeders = [Seeder(run.ledger, pad_id) for pad_id in pad_ids[start : start + 10]]
            await run.join(list[Peer](seeders))
            for seeder in seeders:
                assert seeder.ws is not None
                await seeder.ws.send_bytes(protocol.encode_update(update))
            for seeder in seeders:
                await asyncio.wait_for(seeder.echoed.wait(), 30.0)
            await run.leave(list[Peer](seeders))


async def settle(pid: int, within: float = 60.0, busy_pct: float = 5.0) -> float:
    """Wait until process `pid` uses under `busy_pct` % of a core over half a second (the
    writes of the seeding done, LevelDB's compactions included); returns the seconds waited."""
    began = now()
    while now() - began < within:
        before = procstats.cpu_seconds(pid)
        await asyncio.sleep(0.5)
        if (procstats.cpu_seconds(pid) - before) / 0.5 * 100 < busy_pct:
            break
    return now() - began


async def _open_all(
    run: Run, pad_ids: list[str], pads: int, concurrency: int, *, updates_too: bool
) -> dict[str, Any]:
    """The measured part of a cold load: the first `pads` pads opened one after another, the
    others `concurrency` at a time, each by a fresh client; the window around both."""
    payloads = Payloads(traces.end_content(traces.SEQUENTIAL))
    one, many = (
        [TimedPeer(run.ledger, p, "cold", payloads, updates_too=updates_too) for p in ids]
        for ids in (pad_ids[:pads], pad_ids[pads:])
    )
    gate = asyncio.Semaphore(concurrency)

    async def load(peer: TimedPeer) -> None:
        """Join, then wait for the document: it may come after the step 2, as an update."""
        async with gate:
            await run.join([peer], within=JOIN_WITHIN)
            deadline = now() + JOIN_WITHIN
            while not (peer.loaded.is_set() or peer.lost) and now() < deadline:  # noqa: ASYNC110 - polls with a deadline
                await asyncio.sleep(0.002)

    run.start_window()
    for peer in one:
        await load(peer)
    await asyncio.gather(*(load(peer) for peer in many))
    window = run.stop_window()
    peers = one + many
    result = run.report(window, list[Peer](peers), lambda p: 0)
    checked = payloads.check()
    result["latency_ms"] = percentiles(_timed(peers))
    result.update(
        pads=len(peers),
        by_pass={
            "one_at_a_time": percentiles(_timed(one)),
            f"{concurrency}_at_a_time": percentiles(_timed(many)),
        },
        payload_bytes=checked["bytes"],
        client_apply_ms=checked["client_apply_ms"],
        convergence={
            "documents_checked": len(peers),
            "lost_or_diverged_documents": sum(p.digest not in checked["good"] for p in peers),
            "no_document": sum(p.digest is None for p in peers),
        },
    )
    if updates_too:
        result["content_after_an_empty_step2"] = sum(p.by_update for p in peers)
    await run.leave()
    return result


async def cold_load(
    urls: Urls,
    pids: dict[str, Pids],
    pads: int = 100,
    concurrency: int = 10,
    *,
    typed: bool = False,
    on_window: OnWindow = None,
) -> dict[str, Any]:
    """2 x `pads` pads stored and loaded nowhere; the first `pads` opened one after another,
    the others `concurrency` at a time, each by a fresh client. `typed`: each pad holds the
    automerge-paper document typed through its whole trace (289 KB, `traces.typed_update`),
    not its final text as one insert (105 KB).

    summitpad: the pads are written into Valkey with its own store code. y-websocket: the step
    runs against a second @y/websocket-server, with LevelDB persistence, that this function
    starts and stops (`LevelDbServer`; the step's own keeps documents in memory only); no
    probe runs beside it. pycrdt-websocket: skipped, the result says why."""
    if reason := traces.missing(traces.SEQUENTIAL):
        return skipped(reason)
    update = traces.typed_update() if typed else traces.final_update()
    pad_ids = [f"bench-{tag()}-cold-{i}" for i in range(2 * pads)]
    state: dict[str, Any] = {
        "state": "typed through the trace" if typed else "final text as one insert",
        "stored_update_bytes": len(update),
    }
    began = time.perf_counter()
    store = summitpad_store(pids["server"])
    if store is not None:
        await seed_pads(*store, pad_ids, update)
        state["seed_s"] = round(time.perf_counter() - began, 2)
        async with Run(urls, pids) as run:
            if on_window is not None:
                on_window("cold-load", max(3.0, 0.05 * pads))
            result = await _open_all(run, pad_ids, pads, concurrency, updates_too=False)
        return _finish({**result, **state})
    if str(targets.NODE_SERVER) not in _cmdline(pids["server"]):
        return skipped(
            "pycrdt-websocket 0.16: WebsocketServer opens its rooms without a store, and a "
            "YRoom only writes to one (reading a document back is left to the application): a "
            "cold load would measure a server of our own, not the project as shipped"
        )
    with tempfile.TemporaryDirectory(prefix="summitpad-bench-leveldb-") as directory:
        server = LevelDbServer(Path(directory), f"cold-load-{tag()}")
        try:
            await seed_rooms(server.url, pad_ids, update)
            state["seed_s"] = round(time.perf_counter() - began, 2)
            state["settle_s"] = round(await settle(server.process.pid), 2)
            async with Run(server.url, {"server": server.process.pid}) as run:
                result = await _open_all(run, pad_ids, pads, concurrency, updates_too=True)
        finally:
            status = server.stop()
    result = {**result, **state, "persistence": "LevelDB (y-leveldb)", "leveldb_server": status}
    return _finish(result)


# -- trying one ---------------------------------------------------------------------------------

Make = Callable[[list[str], dict[str, Pids], Callable[[str, float], None]], Awaitable[Any]]


def make(scenario: str, quick: bool, **more: Any) -> Make:
    """The `make` argument of run.run_step for `scenario`, full or --quick."""
    options: dict[str, Any] = {**(QUICK if quick else FULL)[scenario], **more}
    if scenario == "join-storm":
        return lambda u, p, w: join_storm(u, p, on_window=w, **options)
    if scenario == "replay":
        return lambda u, p, w: replay(u, p, on_window=w, **options)
    return lambda u, p, w: cold_load(u, p, on_window=w, **options)


def main() -> None:
    import run  # here: run.py may import this module

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("scenario", choices=tuple(FULL))
    parser.add_argument("--target", choices=targets.TARGETS, default="summitpad")
    parser.add_argument("--quick", action="store_true", help="scaled down: " + json.dumps(QUICK))
    parser.add_argument(
        "--typed",
        action="store_true",
        help="cold-load: pads hold the trace typed through (289 KB), not its final text",
    )
    args = parser.parse_args()
    more = {"typed": True} if args.typed and args.scenario == "cold-load" else {}
    if reason := traces.missing():
        print(f"skipped: {reason}", file=sys.stderr)
        return
    raise_nofile_limit()
    run.SCRATCH.mkdir(parents=True, exist_ok=True)
    hooks = run.WindowHooks(profile=False)
    with (
        tempfile.TemporaryDirectory(prefix="summitpad-bench-") as tmp,
        run.valkey(Path(tmp)) as (url, valkey_pid),
    ):
        chosen = make(args.scenario, args.quick, **more)
        result = run.run_step(args.scenario, args.target, url, valkey_pid, hooks, chosen)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
