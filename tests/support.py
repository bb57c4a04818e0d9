"""Helpers shared by the tests: real processes, polling with a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestServer
from summitpad.embedded_valkey import find_valkey_server

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
TRACES = SHARED / "data" / "editing-traces"


# Ports for servers the tests start, below the kernel's range for outgoing connections (32768
# and up, usually): single ports from the first range, runs of consecutive ones from the second.
_SINGLE_PORTS = range(20000, 31000)
_PORT_RUNS = range(31000, 32700)
_given: set[int] = set()


def ephemeral_low() -> int:
    """The first port the kernel hands out to outgoing connections."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A loopback port that is free now, for a server started a moment later: below the ports
    the kernel gives outgoing connections (one to Valkey, say, must not take it meanwhile),
    and never one handed out before in this process."""
    return _free_run(_SINGLE_PORTS, 1)


def free_port_run(count: int) -> int:
    """The first of `count` consecutive loopback ports that are free now (see `free_port`)."""
    return _free_run(_PORT_RUNS, count)


def _free_run(ports: range, count: int) -> int:
    rng = random.Random()
    for _ in range(1000):
        base = rng.randrange(ports.start, min(ports.stop, ephemeral_low()) - count + 1)
        run = range(base, base + count)
        if _given.intersection(run):
            continue
        with contextlib.ExitStack() as stack:
            try:
                for port in run:
                    stack.enter_context(socket.socket()).bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.update(run)
        return base
    raise RuntimeError(f"no {count} free loopback ports in a row")


async def eventually(
    check: Callable[[], Any], within: float = 10.0, interval: float = 0.02
) -> Any:
    """Poll `check` until it returns something truthy (awaiting it if needed), or fail."""
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if isinstance(last, Awaitable):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met in {within} s (last value: {last!r})")


# Runs a test on the session's Valkey and on a three-primary cluster (see conftest.redis_url).
on_both_stores = pytest.mark.parametrize("redis_url", ["valkey", "cluster"], indirect=True)


class ValkeyProcess:
    """A valkey-server on a unix socket in a temporary directory."""

    def __init__(self, directory: Path, *, appendfsync: str = "always") -> None:
        self.directory = directory
        self.socket = directory / "valkey.sock"
        self.appendfsync = appendfsync
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                find_valkey_server(),
                "--port", "0",
                "--unixsocket", str(self.socket),
                "--dir", str(self.directory),
                "--appendonly", "yes",
                "--appendfsync", self.appendfsync,
                "--save", "",
                "--loglevel", "warning",
            ],
            stdout=subprocess.DEVNULL,
        )
        probe = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1)
        deadline = time.monotonic() + 20
        try:
            while time.monotonic() < deadline:
                try:
                    if probe.ping():
                        return
                except (redis.RedisError, OSError):
                    time.sleep(0.05)
        finally:
            probe.close()
        raise RuntimeError("valkey did not start")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.socket.unlink(missing_ok=True)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


class RunningApp:
    def __init__(self, server: TestServer) -> None:
        self.server = server

    @property
    def app(self) -> Any:
        """The aiohttp application, for its state (app[SUMMITS], app[CLOCK], ...)."""
        return self.server.app

    @property
    def http_url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    @property
    def ws_url(self) -> str:
        return self.http_url.replace("http", "ws", 1) + "/ws"


def summitpad_command() -> list[str]:
    return [sys.executable, "-m", "summitpad"]


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUMMITPAD_")}
    env.update(extra)
    return env
