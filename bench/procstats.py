"""What a process costs, read from /proc, and what machine the benchmark ran on.

CPU is utime + stime of /proc/<pid>/stat (all threads), so a delta over a window divided by the
window's wall time is the share of one core the process used. Memory is VmRSS of
/proc/<pid>/status, sampled by `RssSampler` for the peak. A name may stand for several
processes (the nodes of one server, say): its figures are their sums.
"""

from __future__ import annotations

import asyncio
import os
import platform
import re
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

_TICKS = os.sysconf("SC_CLK_TCK")
Pids = int | Sequence[int]  # one process, or several counted together


def _each(pids: Pids) -> Sequence[int]:
    return (pids,) if isinstance(pids, int) else pids


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    # The command name (field 2) may hold spaces; the fields after its closing paren do not.
    fields = stat[stat.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def runqueue_wait_seconds(pid: int) -> float:
    """Time the process's main thread was ready to run but waited for a CPU."""
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[1]) / 1e9


_STAT_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def machine_cpu_seconds() -> dict[str, float]:
    """The whole machine's CPU time so far, by kind, summed over all cores (/proc/stat)."""
    with open("/proc/stat") as f:
        values = f.readline().split()[1 : 1 + len(_STAT_FIELDS)]
    return {name: int(v) / _TICKS for name, v in zip(_STAT_FIELDS, values, strict=True)}


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status", "rb") as f:
        for line in f:
            if line.startswith(b"VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


@dataclass
class CpuWindow:
    """CPU use of some processes, and of the machine, between `start()` and `stop()`.

    All figures are percent of one core over the window's wall time: the machine's total is
    100 x the number of cores. `waiting_for_cpu` is how long each process's event-loop thread
    was runnable but not running: when it is high the processes are short of cores.
    """

    pids: dict[str, Pids]
    _cpu0: dict[str, float] = field(default_factory=dict)
    _wait0: dict[str, float] = field(default_factory=dict)
    _machine0: dict[str, float] = field(default_factory=dict)
    _wall0: float = 0.0

    def start(self) -> None:
        self._wall0 = time.monotonic()
        self._cpu0 = {name: self._cpu(pids) for name, pids in self.pids.items()}
        self._wait0 = {name: self._wait(pids) for name, pids in self.pids.items()}
        self._machine0 = machine_cpu_seconds()

    def stop(self) -> dict[str, Any]:
        wall = time.monotonic() - self._wall0

        def pct(seconds: float) -> float:
            return round(100.0 * seconds / wall, 1)

        result: dict[str, Any] = {
            name: pct(self._cpu(pids) - self._cpu0[name]) for name, pids in self.pids.items()
        }
        result["waiting_for_cpu"] = {
            name: pct(self._wait(pids) - self._wait0[name]) for name, pids in self.pids.items()
        }
        machine = machine_cpu_seconds()
        result["machine"] = {k: pct(machine[k] - self._machine0[k]) for k in machine}
        ours = sum(v for k, v in result.items() if k in self.pids)
        used = sum(result["machine"][k] for k in ("user", "nice", "system"))
        result["other_processes"] = round(max(0.0, used - ours), 1)
        result["wall_s"] = round(wall, 2)
        return result

    @staticmethod
    def _cpu(pids: Pids) -> float:
        return sum(cpu_seconds(pid) for pid in _each(pids))

    @staticmethod
    def _wait(pids: Pids) -> float:
        return sum(runqueue_wait_seconds(pid) for pid in _each(pids))


class RssSampler:
    """Samples VmRSS of some processes twice a second while it runs; keeps the peak."""

    def __init__(self, pids: dict[str, Pids], interval: float = 0.5) -> None:
        self.pids = pids
        self.interval = interval
        self.peak: dict[str, int] = dict.fromkeys(pids, 0)
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> dict[str, int]:
        now = {}
        for name, pids in self.pids.items():
            try:
                now[name] = sum(rss_bytes(pid) for pid in _each(pids))
            except OSError:
                continue
            self.peak[name] = max(self.peak[name], now[name])
        return now

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="rss sampler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self.sample()


def _cpu_model() -> str:
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    return 0.0


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _valkey_version(binary: str) -> str:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"v=(\S+)", out.stdout)
    return match.group(1) if match else out.stdout.strip()


def machine(valkey_binary: str) -> dict[str, object]:
    return {
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": _memory_gib(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "summitpad": _version("summitpad"),
        "pycrdt": _version("pycrdt"),
        "aiohttp": _version("aiohttp"),
        "redis_py": _version("redis"),
        "valkey": _valkey_version(valkey_binary),
    }
