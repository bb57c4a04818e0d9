"""CPU, run-queue wait and RSS of named processes over a run, split into windows afterwards.

procstats.CpuWindow measures fixed processes between two moments. A node that restarts has a
new pid half-way through, and the windows of a restart (before, during, after) are only known
once it is over; so `Timeline` samples every `interval` s, under names whose pids the run may
change (`timeline.pids["node A"] = (new_pid,)`), and `window(start, end)` sums what each name
used between two moments. A process that started inside a window counts from its start (its
start-up is part of the window); one that ended counts up to its last sample.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Any

from peers import now
from procstats import cpu_seconds, machine_cpu_seconds, rss_bytes, runqueue_wait_seconds

# One sample: time, {name: {pid: (cpu s, run-queue wait s, rss bytes)}}, machine cpu s by kind.
Sample = tuple[float, dict[str, dict[int, tuple[float, float, int]]], dict[str, float]]


class Timeline:
    def __init__(self, pids: dict[str, tuple[int, ...]], interval: float = 0.25) -> None:
        self.pids = pids
        self.interval = interval
        self.samples: list[Sample] = []
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> None:
        found: dict[str, dict[int, tuple[float, float, int]]] = {}
        for name, pids in self.pids.items():
            found[name] = {}
            for pid in pids:
                with contextlib.suppress(OSError):  # it has just ended
                    found[name][pid] = (
                        cpu_seconds(pid),
                        runqueue_wait_seconds(pid),
                        rss_bytes(pid),
                    )
        self.samples.append((now(), found, machine_cpu_seconds()))

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self.sample()
        self._task = asyncio.create_task(self._run(), name="timeline")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self.sample()

    def window(self, start: float, end: float) -> dict[str, Any]:
        """Per name: CPU and run-queue wait as % of one core, RSS at the end and its peak, in
        MiB; and the other processes of the machine (as procstats.CpuWindow)."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        before = [s for s in self.samples if s[0] < start]
        if before:
            inside.insert(0, before[-1])
        if len(inside) < 2:
            return {"samples": len(inside)}
        wall = inside[-1][0] - inside[0][0]

        def pct(seconds: float) -> float:
            return round(100.0 * seconds / wall, 1)

        result: dict[str, Any] = {"wall_s": round(wall, 2)}
        ours = 0.0
        for name in self.pids:
            cpu = wait = 0.0
            for (_, previous, _), (_, current, _) in itertools.pairwise(inside):
                for pid, (c, w, _) in current.get(name, {}).items():
                    c0, w0, _ = previous.get(name, {}).get(pid, (0.0, 0.0, 0))
                    cpu += c - c0
                    wait += w - w0
            rss = [sum(r for _, _, r in s[1].get(name, {}).values()) for s in inside]
            ours += cpu
            result[name] = {
                "cpu_pct": pct(cpu),
                "waiting_for_cpu_pct": pct(wait),
                "rss_mib_end": round(rss[-1] / 2**20, 1),
                "rss_mib_peak": round(max(rss) / 2**20, 1),
            }
        machine = {k: inside[-1][2][k] - inside[0][2][k] for k in inside[0][2]}
        used = sum(machine[k] for k in ("user", "nice", "system"))
        result["machine_idle_pct"] = pct(machine["idle"])
        result["other_processes_cpu_pct"] = pct(max(0.0, used - ours))
        return result

    def per_second(self, start: float, end: float, names: tuple[str, ...]) -> list[list[float]]:
        """CPU % of one core of each of `names`, second by second from `start`: a picture of
        the restart for the result file."""
        rows = []
        t = start
        while t < end:
            figures = self.window(t, min(t + 1.0, end))
            rows.append(
                [round(t - start, 1)]
                + [figures.get(n, {}).get("cpu_pct", 0.0) for n in names]
            )
            t += 1.0
        return rows
