"""`summitpad serve` with its embedded Valkey: started, guarded, restarted, stopped."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from summitpad.cli import EXIT_CONFIGURATION, EXIT_STORE_UNAVAILABLE
from summitpad.client import PadClient

from .support import eventually, free_port, subprocess_env, summitpad_command


class Server:
    """A `summitpad serve` process with its own data directory."""

    def __init__(self, data_dir: Path, *extra: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.log = data_dir.parent / f"serve-{self.port}.log"
        self.process = subprocess.Popen(
            [
                *summitpad_command(),
                "serve",
                "--port",
                str(self.port),
                "--data-dir",
                str(data_dir),
                *extra,
            ],
            env=subprocess_env(),
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def output(self) -> str:
        return self.log.read_text()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"server exited:\n{self.output()}"
            try:
                with socket_to(self.port):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"server not ready:\n{self.output()}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=30)


def socket_to(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=1)


def valkey_pid(data_dir: Path) -> int:
    return int((data_dir / "run" / "valkey.pid").read_text())


def another_valkey_pid(data_dir: Path, old: int) -> bool:
    """Whether the pid file names a Valkey other than `old` (it may be there but not written
    yet: Valkey creates it, then writes it)."""
    try:
        return valkey_pid(data_dir) != old
    except (FileNotFoundError, ValueError):
        return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/status").read_text().find("State:\tZ") == -1


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start `summitpad serve` on the test's data directory; ready unless `wait=False`."""
    started: list[Server] = []

    def start(*extra: str, wait: bool = True) -> Server:
        server = Server(tmp_path / "data", *extra)
        started.append(server)
        if wait:
            server.wait_ready()
        return server

    yield start
    for server in started:
        server.stop(signal.SIGKILL)


async def write_and_confirm(ws_url: str, pad_id: str, text: str) -> None:
    async with aiohttp.ClientSession() as http:
        client = await PadClient(http, ws_url, pad_id).connect()
        await eventually(lambda: client.synced.is_set())
        await client.edit(lambda t: t.insert(len(t), text))
        await eventually(lambda: client.saved)
        await client.close()


async def read_text(ws_url: str, pad_id: str) -> str:
    async with aiohttp.ClientSession() as http:
        client = await PadClient(http, ws_url, pad_id).connect()
        await eventually(lambda: client.synced.is_set())
        text = str(client.text)
        await client.close()
        return text


async def test_serve_starts_a_private_valkey_on_a_unix_socket(tmp_path, serve):
    data = tmp_path / "data"
    server = serve()
    await write_and_confirm(server.ws_url, "embedded", "hello")

    run_dir = data / "run"
    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700
    assert (run_dir / "valkey.sock").is_socket()
    config = (data / "valkey" / "valkey.conf").read_text()
    assert "port 0" in config and "appendonly yes" in config and "appendfsync everysec" in config
    assert (data / "valkey" / "valkey.log").exists()  # its own log, not summitpad's output
    pid = valkey_pid(data)
    assert not _tcp_sockets_of(pid), "the embedded valkey listens on TCP"

    assert server.stop() == 0
    assert not alive(pid), "valkey outlived summitpad"
    assert any(p.name.startswith("summitpad.aof") for p in (data / "valkey").rglob("*"))


def _tcp_sockets_of(pid: int) -> list[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes and fields[3] == "0A":  # LISTEN
                listening.append(line)
    return listening


async def test_a_data_directory_in_use_is_refused(serve):
    first = serve()
    second = serve(wait=False)
    assert second.process.wait(timeout=30) == EXIT_CONFIGURATION
    assert "is in use by another summitpad" in second.output()
    await write_and_confirm(first.ws_url, "still-served", "fine")


async def test_kill_9_loses_nothing_that_was_echoed(tmp_path, serve):
    data = tmp_path / "data"
    first = serve("--appendfsync", "always")
    await write_and_confirm(first.ws_url, "kill9", "echoed before the crash")
    pid = valkey_pid(data)
    first.stop(signal.SIGKILL)
    await eventually(lambda: not alive(pid), within=15)  # it follows summitpad down

    second = serve()
    assert await read_text(second.ws_url, "kill9") == "echoed before the crash"


async def test_a_crashed_valkey_is_started_again(tmp_path, serve):
    data = tmp_path / "data"
    server = serve("--appendfsync", "always")
    await write_and_confirm(server.ws_url, "phoenix", "one ")
    old = valkey_pid(data)
    os.kill(old, signal.SIGKILL)
    await eventually(lambda: another_valkey_pid(data, old), within=20)
    await write_and_confirm(server.ws_url, "phoenix", "two")
    assert await read_text(server.ws_url, "phoenix") == "one two"
    assert "starting it again" in server.output()


def test_an_unreachable_redis_url_exits_with_a_clear_error(tmp_path):
    result = subprocess.run(
        [
            *summitpad_command(),
            "serve",
            "--port",
            str(free_port()),
            "--redis-url",
            f"redis://127.0.0.1:{free_port()}/0",
        ],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == EXIT_STORE_UNAVAILABLE
    assert "cannot reach Valkey/Redis at redis://127.0.0.1" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_settings_exit_with_a_clear_error():
    result = subprocess.run(
        [*summitpad_command(), "serve", "--redis-url", "http://example.org"],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "redis_url must start with redis://" in result.stderr
    assert "Traceback" not in result.stderr
