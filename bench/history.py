"""Timeslider seek time and Valkey bytes of one pad with a long history, on this machine.

    .venv/bin/python bench/history.py [--revisions 50000] [--seeks 200] [--variant ...]

1. **Replay.** The B4 trace (../shared/data/editing-traces/automerge-paper.json.gz: Martin
   Kleppmann writing a LaTeX paper; 259,778 transactions, 104,852 final characters) is typed by
   three participants taking turns, one transaction every 100-200 ms on a simulated clock. Each
   participant is a pycrdt client of its own that has seen every earlier edit (as a stock client
   has, by the echo). Each transaction is one writer batch of the server: its log entry is what
   the live pad records, the client's update plus the server's `author` attribution. The
   entries come from a model of it without its text observer (history_replay.py);
   `--check-first N` runs the real `LivePad._validate` on the first N transactions too and
   counts the entries that differ (none should).
2. **Write.** A private valkey-server (bench/run.py's) gets the entries by XADD with explicit
   ids `<simulated ms>-0` and the fields u and a, as `store._APPEND` writes them. Whenever the
   log holds more than COMPACT_AFTER entries the pad is folded as `Compaction._write` does:
   `HistoryStore.extend(keys)`, then `PadStore.compact` with the pad's state under the lease;
   the last entry gets a fold too, as when the pad is unloaded. So the stored layout is the one
   the server makes.
3. **Seek.** `--seeks` random revisions, the first and the last, and the revisions just before,
   at and after checkpoints: each timed as the timeslider's `history.json` does it (`view`,
   saved revisions, author names, `timeslider.revision_json`, JSON), then once more in parts.
4. **Bytes.** `MEMORY USAGE <key> SAMPLES 0` and the DUMP length of every key of the pad.
5. **Correctness.** The last revision's text is the trace's endContent, and random revisions'
   texts are the trace replayed up to their last log entry.

`--variant NAME:CONST=VALUE,...` writes the same entries again to another pad with constants of
summitpad.history changed (CHECKPOINT_MIN_BYTES, CHECKPOINT_EVERY, WINDOW_MS) and measures it too.
Writes bench/results/history-<date>.json and prints the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import gzip
import json
import os
import random
import statistics
import struct
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import procstats
import run
from history_replay import AUTHORS, Entry, RealCheck, keystroke_cost, plain_size, replay, turns
from pycrdt import Doc, Text
from summitpad import history
from summitpad.author_names import read_authors
from summitpad.embedded_valkey import find_valkey_server
from summitpad.history_store import HistoryStore, unpack_checkpoint
from summitpad.keys import PadKeys
from summitpad.pad_export import TEXT_NAME, pad_content
from summitpad.store import PadStore, connect
from summitpad.timeslider import revision_fragment, revision_json, saved_revisions

TRACE = Path(__file__).resolve().parents[2] / "shared" / "data" / "editing-traces" / (
    "automerge-paper.json.gz")
CREDIT = ("automerge-paper (B4) from the editing-traces collection by Joseph Gentle "
          "(github.com/josephg/editing-traces): Martin Kleppmann writing a LaTeX paper; CC BY 4.0")
NAMES = {AUTHORS[0]: ("Ada", "#d9480f"), AUTHORS[1]: ("Bo", "#1971c2"),
         AUTHORS[2]: ("Chen", "#2f9e44")}
COMPACT_AFTER = 200  # Settings.compact_after's default
GC_THRESHOLDS = (50_000, 50, 100)  # as summitpad.cli sets them in the server


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))], 2)


def spread(samples: list[float]) -> dict[str, float]:
    return {"p50": pct(samples, 50), "p95": pct(samples, 95), "p99": pct(samples, 99),
            "max": round(max(samples), 2), "mean": round(statistics.fmean(samples), 2)}


# -- 2. write ----------------------------------------------------------------------------------


async def write(client: Any, keys: PadKeys, log: list[Entry], *, snapshot: bool
                ) -> dict[str, Any]:
    """XADD every entry as `store._APPEND` would (u, a), folding the pad whenever the log holds
    more than COMPACT_AFTER entries, as `Compaction._write` does: `HistoryStore.extend`, then
    `PadStore.compact` under the lease with the pad's state; the last fold is the one of an
    unloaded pad. `snapshot=False` trims the log as `PadStore.compact` does but writes no
    snapshot (the history does not depend on it): for the variants."""
    store, hist = PadStore(client, "bench-node"), HistoryStore(client)
    doc: Doc[Any] = Doc()  # the pad as the log makes it, for the snapshot
    length, pending = 0, 0
    folds = {"count": 0, "extend_s": 0.0, "compact_s": 0.0, "snapshot_bytes_written": 0}
    pipe = client.pipeline(transaction=False)
    for i, entry in enumerate(log):
        if snapshot:
            doc.apply_update(entry.update)
        pipe.xadd(keys.log, {"u": entry.update, "a": entry.author}, id=entry.entry_id)
        pending += 1
        if length + pending <= COMPACT_AFTER and i + 1 < len(log):
            continue
        await pipe.execute()
        length, pending = length + pending, 0
        began = time.perf_counter()
        await hist.extend(keys)
        mid = time.perf_counter()
        if snapshot:
            state = doc.get_update()
            assert await store.try_lease(keys) and await store.compact(keys, state, entry.entry_id)
            folds["snapshot_bytes_written"] += len(state)
        else:
            await trim(client, keys)
        folds["count"] += 1
        folds["extend_s"] += mid - began
        folds["compact_s"] += time.perf_counter() - mid
        length = await client.xlen(keys.log)
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in folds.items()}


async def trim(client: Any, keys: PadKeys) -> None:
    """The log trim of `PadStore.compact`: up to the history's last entry, kept."""
    last = await client.xrevrange(keys.hist, count=1)
    if last:
        fields = last[0][1]
        kept = fields[b"o"] if isinstance(fields, dict) else dict(
            zip(fields[::2], fields[1::2], strict=True))[b"o"]
        await client.xtrim(keys.log, minid=kept, approximate=False)


async def name_authors(client: Any, keys: PadKeys) -> None:
    """The names and colours the participants announced, as AuthorNames records them."""
    await client.hset(keys.authors, mapping={
        a: json.dumps({"name": n, "color": c}) for a, (n, c) in NAMES.items()})


# -- 3. seek -----------------------------------------------------------------------------------


async def checkpoints(client: Any, keys: PadKeys) -> list[tuple[int, int]]:
    """(revision, state bytes) of every checkpoint, in order."""
    members = await client.zrange(keys.ckpt, 0, -1)
    return [(struct.unpack(">Q", m[:8])[0], len(m) - 8) for m in members]


def targets(count: int, marks: list[tuple[int, int]], seeks: int, rng: random.Random
            ) -> list[tuple[str, int]]:
    """Where to seek: random revisions, the first and last, and around checkpoints (the
    revision just before one replays the most updates)."""
    chosen = [("first", 0), ("first", 1), ("last", count)]
    chosen += [("random", rng.randint(1, count)) for _ in range(seeks)]
    around = marks if len(marks) <= 60 else sorted(rng.sample(marks, 60))
    for number, _ in around:
        chosen += [("before a checkpoint", number - 1), ("at a checkpoint", number),
                   ("after a checkpoint", number + 1)]
    return [(kind, n) for kind, n in chosen if 0 <= n <= count]


async def shown(hist: HistoryStore, keys: PadKeys, number: int) -> str:
    """What the timeslider's history.json answers for `?rev=number` (views/history.py)."""
    view = await hist.view(keys)
    saved = await saved_revisions(hist, view)
    authors = await read_authors(hist.client, keys)
    return json.dumps(await revision_json(hist, view, number, authors=authors, saved=saved))


async def parts(hist: HistoryStore, keys: PadKeys, number: int) -> dict[str, float]:
    """The same seek in parts (ms), reading the layout as `HistoryStore.doc_at` does."""
    client, times, clock = hist.client, {}, time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        times[name] = (now - clock) * 1000
        clock = now

    view = await hist.view(keys)
    authors = await read_authors(client, keys)
    lap("view and author names")
    written = min(number, view.head.count)
    found = await client.zrevrangebyscore(keys.ckpt, written, 0, start=0, num=1) if written else []
    base, since = (found[0][8:], struct.unpack(">Q", found[0][:8])[0]) if found else (None, 0)
    lap("read checkpoint")
    if base:
        base = unpack_checkpoint(base)
    lap("decompress checkpoint")
    raw = await client.xrange(keys.hist, f"0-{since + 1}", f"0-{written}") if since < written \
        else []
    updates = [(f if isinstance(f, dict) else dict(zip(f[::2], f[1::2], strict=True)))[b"u"]
               for _, f in raw]
    updates += [r.update for r in view.tail[: max(0, number - view.head.count)]]
    lap("read revisions")
    doc: Doc[Any] = Doc()
    if base:
        doc.apply_update(base)
    lap("apply checkpoint")
    for update in updates:
        doc.apply_update(update)
    lap("apply revisions")
    content = pad_content(doc)
    lap("pad_content")
    fragment = revision_fragment(content, authors)
    lap("HTML")
    times["revisions replayed"] = len(updates)
    times["checkpoint bytes"] = len(base or b"")
    times["runs"] = len(content.runs)
    times["html bytes"] = len(fragment.html)
    return times


async def seek_all(hist: HistoryStore, keys: PadKeys, chosen: list[tuple[str, int]]
                   ) -> dict[str, Any]:
    totals: list[float] = []
    by_kind: dict[str, list[float]] = {}
    split: list[dict[str, float]] = []
    worst: tuple[float, int] = (0.0, 0)
    for kind, number in chosen:
        began = time.perf_counter()
        await shown(hist, keys, number)
        elapsed = (time.perf_counter() - began) * 1000
        totals.append(elapsed)
        by_kind.setdefault(kind, []).append(elapsed)
        worst = max(worst, (elapsed, number))
        split.append(await parts(hist, keys, number))
    names = [k for k in split[0] if k not in (
        "revisions replayed", "checkpoint bytes", "runs", "html bytes")]
    slowest = sorted(range(len(totals)), key=totals.__getitem__)[-5:]
    return {
        "seeks": len(totals), "ms": spread(totals),
        "by_kind": {k: {"n": len(v), **spread(v)} for k, v in by_kind.items()},
        "parts_ms_mean": {k: round(statistics.fmean(s[k] for s in split), 2) for k in names},
        "parts_ms_p95": {k: pct([s[k] for s in split], 95) for k in names},
        "revisions_replayed": spread([s["revisions replayed"] for s in split]),
        "slowest": [{"revision": chosen[i][1], "kind": chosen[i][0], "ms": round(totals[i], 1),
                     **{k: round(v, 1) for k, v in split[i].items()}} for i in slowest],
        "worst_revision": worst[1],
    }


# -- 4. bytes, 5. correctness -------------------------------------------------------------------


async def sizes(client: Any, keys: PadKeys) -> dict[str, Any]:
    """MEMORY USAGE (SAMPLES 0) and DUMP length of every key of the pad, by kind."""
    pattern = keys.log.rsplit(":", 1)[0] + ":*"
    found: dict[str, Any] = {}
    async for key in client.scan_iter(match=pattern, count=1000):
        kind = key.decode().rsplit(":", 1)[1]
        found[kind] = {
            "memory_usage": await client.execute_command("MEMORY", "USAGE", key, "SAMPLES", 0),
            "dump_bytes": len(await client.dump(key)),
            "type": (await client.type(key)).decode(),
        }
    found = dict(sorted(found.items(), key=lambda kv: -kv[1]["memory_usage"]))
    marks = await checkpoints(client, keys)
    members = await client.zrange(keys.ckpt, 0, -1)
    packed = [zlib.compress(m, 6) for m in members]
    largest = max(packed, key=len, default=b"")
    began = time.perf_counter()
    zlib.decompress(largest)
    unpack_ms = (time.perf_counter() - began) * 1000
    snap = await client.hget(keys.snap, "doc") or b""
    return {
        "keys": found,
        "total_memory_usage": sum(v["memory_usage"] for v in found.values()),
        "total_dump_bytes": sum(v["dump_bytes"] for v in found.values()),
        "revisions": await client.xlen(keys.hist), "log_entries_left": await client.xlen(keys.log),
        **await lean_history(client, keys),
        "checkpoints": len(marks), "checkpoint_bytes": sum(b for _, b in marks),
        "checkpoint_at": [n for n, _ in marks], "checkpoint_sizes": [b for _, b in marks],
        "snapshot_bytes": len(snap),
        "zlib6": {"checkpoints": sum(map(len, packed)), "snapshot": len(zlib.compress(snap, 6)),
                  "largest_checkpoint_decompress_ms": round(unpack_ms, 2)},
    }


async def lean_history(client: Any, keys: PadKeys, block: int = 100) -> dict[str, int]:
    """The updates' bytes in the history; what its stream would take in memory with only the
    fields u, a and o (t is o's time; s, k and c are needed on the last entry only); and the
    updates zlib-compressed in blocks of `block` consecutive revisions."""
    scratch, updates, packed, pending = keys.hist + "-lean", 0, 0, []
    pipe = client.pipeline(transaction=False)
    async for entry_id, fields in _stream(client, keys.hist):
        updates += len(fields[b"u"])
        pending.append(fields[b"u"])
        if len(pending) == block:
            packed += len(zlib.compress(b"".join(pending), 6))
            pending = []
        pipe.xadd(scratch, {"u": fields[b"u"], "a": fields[b"a"], "o": fields[b"o"]},
                  id=entry_id)
        if len(pipe) >= 5000:
            await pipe.execute()
    await pipe.execute()
    packed += len(zlib.compress(b"".join(pending), 6)) if pending else 0
    lean = await client.execute_command("MEMORY", "USAGE", scratch, "SAMPLES", 0)
    await client.unlink(scratch)
    return {"revision_update_bytes": updates, "hist_memory_with_u_a_o_only": lean or 0,
            f"revision_update_bytes_zlib6_in_blocks_of_{block}": packed}


async def _stream(client: Any, key: str, step: int = 5000) -> Any:
    after = "-"
    while True:
        chunk = await client.xrange(key, after, "+", count=step)
        for entry_id, fields in chunk:
            yield entry_id, fields if isinstance(fields, dict) else dict(
                zip(fields[::2], fields[1::2], strict=True))
        if len(chunk) < step:
            return
        after = "(" + chunk[-1][0].decode()


async def correct(hist: HistoryStore, keys: PadKeys, txns: list[dict[str, Any]],
                  end_content: str | None, log: list[Entry], rng: random.Random,
                  extra: list[int]) -> dict[str, Any]:
    """Revisions' texts against the trace replayed up to their last log entry (the last
    revision among them), and the last one against endContent."""
    view = await hist.view(keys)
    by_id = {e.entry_id: e.txn for e in log}
    numbers = sorted({view.count, *rng.sample(range(1, view.count + 1), 12), *extra})
    wanted = []
    for number in numbers:
        wanted.append((by_id[(await hist.revision(view, number)).upto], number))
    texts: dict[int, str] = {}
    chars, done = bytearray(), -1
    for txn, number in sorted(wanted):
        for t in txns[done + 1: txn + 1]:
            for pos, deleted, inserted in t["patches"]:
                chars[pos:pos + deleted] = inserted.encode()
        done = txn
        texts[number] = chars.decode()
    wrong = []
    for number in numbers:
        got = str((await hist.doc_at(view, number)).get(TEXT_NAME, type=Text))
        if got != texts[number]:
            wrong.append(number)
    last = str((await hist.doc_at(view, view.count)).get(TEXT_NAME, type=Text))
    return {"revisions_checked": numbers, "wrong": wrong,
            "last_equals_end_content": None if end_content is None else last == end_content}


# -- the command -------------------------------------------------------------------------------


def parse_variant(text: str) -> tuple[str, dict[str, int]]:
    """NAME:CONST=VALUE,... (constants of summitpad.history)."""
    name, _, body = text.partition(":")
    constants = {}
    for item in body.split(","):
        key, _, value = item.partition("=")
        if not hasattr(history, key):
            raise SystemExit(f"summitpad.history has no {key}")
        constants[key] = int(value)
    return name, constants


async def measure(client: Any, valkey_pid: int, keys: PadKeys, log: list[Entry],
                  args: argparse.Namespace, trace: dict[str, Any], rng: random.Random, *,
                  main: bool, snapshot_of: PadKeys | None = None) -> dict[str, Any]:
    """Write `log` to the pad `keys` and measure it; a variant (not `main`) gets the snapshot
    of the pad `snapshot_of`, which does not depend on the history's constants."""
    hist = HistoryStore(client)
    memory_before = (await client.info("memory"))["used_memory"]
    began = time.perf_counter()
    folds = await write(client, keys, log, snapshot=main)
    write_s = time.perf_counter() - began
    await name_authors(client, keys)
    if snapshot_of is not None:
        await client.copy(snapshot_of.snap, keys.snap)
    memory_after = (await client.info("memory"))["used_memory"]
    print(f"   written in {write_s:.1f} s ({folds['count']} folds)", file=sys.stderr)
    size = await sizes(client, keys)
    size["used_memory_delta"] = memory_after - memory_before
    view = await hist.view(keys)
    marks = await checkpoints(client, keys)
    chosen = targets(view.count, marks, args.seeks if main else args.variant_seeks, rng)
    attempts = []
    for _ in range(args.attempts):  # again while other processes took the cores
        quiet = run.wait_until_quiet()
        gc.collect()
        window = procstats.CpuWindow({"bench": os.getpid(), "valkey": valkey_pid})
        window.start()
        seeks = await seek_all(hist, keys, chosen)
        seeks.update(cpu_pct=window.stop(), **quiet)
        attempts.append(seeks)
        print(f"   {seeks['seeks']} seeks: {seeks['ms']}, other processes "
              f"{seeks['cpu_pct']['other_processes']} % of a core", file=sys.stderr)
        if seeks["cpu_pct"]["other_processes"] <= run.DISTURBED:
            break
    seeks = min(attempts, key=lambda a: a["cpu_pct"]["other_processes"])
    seeks["attempts"] = [{"ms": a["ms"], "other_processes_pct": a["cpu_pct"]["other_processes"]}
                         for a in attempts]
    checked = await correct(hist, keys, trace["txns"], trace.get("endContent"), log, rng,
                            [n - 1 for n, _ in marks[:3]]) if main else None
    return {"write_s": round(write_s, 1), "folds": folds, "bytes": size, "seek": seeks,
            "correctness": checked}


def table(results: dict[str, dict[str, Any]]) -> str:
    """MB here are 10^6 bytes."""
    lines = ["| pad | revisions | checkpoints (MB) | MEMORY USAGE MB: total = hist + ckpt + snap"
             " + rest | DUMP MB | seek p50 / p95 / p99 / max ms | seeks |",
             "|---|" + "---:|" * 6]
    for name, r in results.items():
        b, k, s = r["bytes"], r["bytes"]["keys"], r["seek"]["ms"]
        kinds = [k.get(kind, {}).get("memory_usage", 0) for kind in ("hist", "ckpt", "snap")]
        total = b["total_memory_usage"]
        parts = " + ".join(f"{v / 1e6:.2f}" for v in [*kinds, total - sum(kinds)])
        ckpt = f"{b['checkpoints']} ({b['checkpoint_bytes'] / 1e6:.1f})"
        lines.append(
            f"| {name} | {b['revisions']:,} | {ckpt} | {total / 1e6:.2f} = {parts} "
            f"| {b['total_dump_bytes'] / 1e6:.2f} "
            f"| {s['p50']} / {s['p95']} / {s['p99']} / {s['max']} | {r['seek']['seeks']} |")
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> dict[str, Any] | None:
    if not TRACE.exists():
        print(f"skipped: {TRACE} is not there (the editing traces live in ../shared)",
              file=sys.stderr)
        return None
    trace = json.loads(gzip.decompress(TRACE.read_bytes()))
    if args.transactions:  # a quick run on the first transactions only
        trace = {"txns": trace["txns"][:args.transactions]}
    else:
        assert str(trace["endContent"]).isascii(), "the model counts characters as UTF-8 bytes"
    txns = trace["txns"]
    rng = random.Random(args.seed)
    times, who, p = turns(len(txns), args.revisions, args.seed)
    print(f"-- {len(txns):,} transactions over {(times[-1] - times[0]) / 3.6e6:.1f} simulated "
          f"hours; the typist changes after a transaction with p = {p:.3f}", file=sys.stderr)
    prefix = f"bench{rng.randrange(1 << 24):06x}"
    report: dict[str, Any] = {"trace": CREDIT, "transactions": len(txns)}
    with tempfile.TemporaryDirectory(prefix="summitpad-bench-") as tmp, \
            run.valkey(Path(tmp)) as (url, valkey_pid):
        client = connect(url)
        try:
            keys = PadKeys(prefix, "history-b4")
            check = RealCheck(PadStore(client, "bench-check"), PadKeys(prefix, "check"))
            began = time.perf_counter()
            log, server = replay(txns, times, who, check, args.check_first)
            replay_s = time.perf_counter() - began
            runs = len(server.text.diff())
            assert str(server.text) == trace.get("endContent", str(server.text))
            began = time.perf_counter()
            plain = plain_size(txns)
            print(f"   replayed in {replay_s:.0f} s; {runs:,} runs of authors; state "
                  f"{len(server.doc.get_update()):,} bytes ({plain:,} unattributed, "
                  f"{time.perf_counter() - began:.0f} s)", file=sys.stderr)
            report["replay"] = {
                "seconds": round(replay_s, 1), "typist_change_probability": round(p, 4),
                "simulated_hours": round((times[-1] - times[0]) / 3.6e6, 2),
                "log_entries": len(log), "log_entry_bytes": sum(len(e.update) for e in log),
                "author_runs_at_end": runs, "final_state_bytes": len(server.doc.get_update()),
                "final_state_bytes_unattributed": plain,
                "checked_against_LivePad_validate": check.report(),
                "writer_ms_per_keystroke_at_end": keystroke_cost(
                    server.doc.get_update(), len(trace.get("endContent", str(server.text)))),
            }
            del server, check
            gc.collect()
            gc.freeze()
            gc.set_threshold(*GC_THRESHOLDS)
            results = {"default": await measure(client, valkey_pid, keys, log, args, trace, rng,
                                                 main=True)}
            results["default"]["constants"] = {
                k: getattr(history, k) for k in ("WINDOW_MS", "CHECKPOINT_MIN_BYTES",
                                                 "CHECKPOINT_EVERY")}
            for name, constants in map(parse_variant, args.variant):
                print(f"-- variant {name}: {constants}", file=sys.stderr)
                saved = {k: getattr(history, k) for k in constants}
                for k, v in constants.items():
                    setattr(history, k, v)
                try:
                    vkeys = PadKeys(prefix, f"variant-{name}")
                    results[name] = await measure(client, valkey_pid, vkeys, log, args, trace,
                                                  rng, main=False, snapshot_of=keys)
                    results[name]["constants"] = constants
                    async for key in client.scan_iter(match=vkeys.log[:-4] + "*"):
                        await client.unlink(key)
                finally:
                    for k, v in saved.items():
                        setattr(history, k, v)
            report["results"] = results
            report["valkey_url"] = "unix socket, AOF everysec (bench/run.py)"
        finally:
            await client.aclose()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--revisions", type=int, default=50_000, help="about this many")
    parser.add_argument("--seeks", type=int, default=200, help="random seeks (plus the others)")
    parser.add_argument("--variant-seeks", type=int, default=100)
    parser.add_argument("--check-first", type=int, default=10_000,
                        help="transactions also run through the real LivePad._validate")
    parser.add_argument("--variant", action="append", default=[],
                        help="NAME:CONST=VALUE,... e.g. every5k:CHECKPOINT_EVERY=5000")
    parser.add_argument("--transactions", type=int, help="replay only the first N (quick run)")
    parser.add_argument("--attempts", type=int, default=3, help="runs of a disturbed seek loop")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--label", help="added to the result file name")
    args = parser.parse_args()
    run.SCRATCH.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    report = asyncio.run(main_async(args))
    if report is None:
        return
    report = {"date": dt.date.today().isoformat(), "server_revision": run.server_revision(),
              "machine": procstats.machine(find_valkey_server()),
              "command": " ".join(["bench/history.py", *sys.argv[1:]]),
              "wall_s": round(time.perf_counter() - began, 1), **report}
    name = f"history-{report['date']}" + (f"-{args.label}" if args.label else "")
    out = run.RESULTS / f"{name}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    default = report["results"]["default"]
    print(table(report["results"]))
    print(f"\nSeek parts, mean ms: {default['seek']['parts_ms_mean']}")
    print(f"Correctness: {default['correctness']}")
    print(f"Replay {report['replay']['seconds']} s, write {default['write_s']} s. Machine: "
          f"{report['machine']['nproc']} x {report['machine']['cpu_model']}, "
          f"{report['machine']['memory_gib']} GiB. Written {out.relative_to(run.BENCH.parent)}")


if __name__ == "__main__":
    main()
