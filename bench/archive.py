"""How long archiving and restoring a big summit takes, on this machine.

    .venv/bin/python bench/archive.py [--sessions 2400] [--chars 5000]

1. A private valkey-server (bench/run.py's) gets a summit of `--sessions` sessions whose pads
   hold `--chars` characters each, as the server leaves them after the sessions ended
   (bench/archive_summit.py: history, snapshot, authors, chat).
2. **Archive**: `write_archive` into a temporary file, timed, with the longest stall of the
   event loop meanwhile (a probe task that sleeps 10 ms at a time), as a server would see it
   when an organizer downloads the archive.
3. **Check** and **restore**: `check_archive` (every checksum, every record, every pad's
   revisions replayed), then `restore_archive` into an empty key prefix, each timed.
4. **Round trip**: the restored summit archived again holds the same files.

Writes bench/results/archive-<date>.json and prints the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import procstats
import redis.asyncio as aioredis
import run
from archive_summit import SLUG, write_summit
from summitpad.archive import write_archive
from summitpad.archive_check import check_archive
from summitpad.archive_restore import restore_archive
from summitpad.embedded_valkey import find_valkey_server

RESULTS = Path(__file__).resolve().parent / "results"


class StallProbe:
    """The longest the event loop took to wake a task that sleeps 10 ms at a time."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            self.longest = max(self.longest, time.perf_counter() - before - 0.01)

    def __enter__(self) -> StallProbe:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *_: Any) -> None:
        assert self._task is not None
        self._task.cancel()


def files_of(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def progress_line(label: str) -> Any:
    def show(done: int, total: int) -> None:
        if done == total or done % 200 == 0:
            print(f"\r{label}: {done}/{total}", end="\n" if done == total else "", flush=True)
    return show


async def measure(url: str, work: Path, sessions: int, chars: int) -> dict[str, Any]:
    client = aioredis.from_url(url)
    try:
        started = time.perf_counter()
        await write_summit(client, "bench", sessions, chars)
        written_s = time.perf_counter() - started
        first = work / "first.zip"
        with StallProbe() as probe:
            started = time.perf_counter()
            archived = await write_archive(client, "bench", SLUG, first,
                                           progress=progress_line("archive"))
            archive_s = time.perf_counter() - started
        started = time.perf_counter()
        checked = await asyncio.to_thread(check_archive, first)
        check_s = time.perf_counter() - started
        started = time.perf_counter()
        restored = await restore_archive(client, "restored", checked)
        restore_s = time.perf_counter() - started
        second = work / "second.zip"
        await write_archive(client, "restored", SLUG, second)
        a, b = files_of(first), files_of(second)
        differing = sorted(n for n in a.keys() | b.keys() if a.get(n) != b.get(n))
        return {
            "sessions": sessions, "chars_per_pad": chars, "pads": archived.pads,
            "files": archived.files, "zip_bytes": first.stat().st_size,
            "unpacked_bytes": archived.size, "write_summit_s": round(written_s, 1),
            "archive_s": round(archive_s, 2), "archive_longest_loop_stall_ms":
                round(probe.longest * 1000, 1),
            "check_s": round(check_s, 2), "restore_s": round(restore_s, 2),
            "restored_revisions": restored.revisions, "restored_chat": restored.chat,
            "round_trip_differing_files": differing,
        }
    finally:
        await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=2400)
    parser.add_argument("--chars", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, run.valkey(Path(tmp)) as (url, _pid):
        figures = asyncio.run(measure(url, Path(tmp), args.sessions, args.chars))
    figures["machine"] = procstats.machine(find_valkey_server())
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"archive-{dt.date.today().isoformat()}.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    for name, value in figures.items():
        if name != "machine":
            print(f"{name:32} {value}")
    print(f"written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
