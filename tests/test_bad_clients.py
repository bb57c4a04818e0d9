"""Clients that misbehave at the socket level: each is cut within a bounded time, the node's
memory stays bounded, and nobody else notices.

- a client that reads, but more slowly than its pad sends: its send queue overflows (4508);
- a client that begins a websocket frame and never finishes it, or trickles its bytes in:
  cut `client_timeout` after its last whole frame (1006);
- a client that is idle but answers pings is never cut;
- TCP connections that never finish an HTTP request are closed after `http_idle_timeout`,
  and meanwhile do not keep the node from serving;
- hundreds of clients that never read, on the pad one person types into: the node's memory
  grows by far less than connections x send_buffer_limit, and falls back once they are cut.

(A client that never reads at all is in test_bad_input.py.) Run with `-s` for the figures.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from summitpad import protocol
from summitpad.client import PadClient

from .support import (
    RunningApp,
    ValkeyProcess,
    eventually,
    free_port,
    subprocess_env,
    summitpad_command,
)

StartApp = Callable[..., Awaitable[RunningApp]]
Connect = Callable[..., Awaitable[PadClient]]

UPGRADE = (
    "GET /ws/{pad} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def client_frame(message: bytes) -> bytes:
    """A masked binary frame from a client (a zero mask leaves the payload as it is)."""
    if len(message) < 126:
        header = bytes((0x82, 0x80 | len(message)))
    else:
        header = bytes((0x82, 0x80 | 126)) + len(message).to_bytes(2, "big")
    return header + b"\0\0\0\0" + message


def half_frame(announced: int = 1000, sent: int = 10) -> bytes:
    """The start of a frame announcing `announced` payload bytes, with `sent` of them."""
    return bytes((0x82, 0x80 | 126)) + announced.to_bytes(2, "big") + b"\0\0\0\0" + b"\0" * sent


def upgraded(port: int, pad: str, *, rcvbuf: int | None = None) -> socket.socket:
    """A raw socket that has asked for the websocket of `pad` and sent its sync step 1."""
    sock = socket.socket()
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(("127.0.0.1", port))
    sock.sendall(UPGRADE.format(pad=pad).encode() + client_frame(protocol.encode_step1(b"\x00")))
    sock.setblocking(False)
    return sock


def gone(sock: socket.socket) -> bool:
    """Whether the server has closed `sock` (reading whatever it sent before)."""
    try:
        while data := sock.recv(1 << 20):
            del data
        return True
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


async def cut_within(sock: socket.socket, within: float) -> float:
    """Seconds until the server closed `sock`; fails after `within`."""
    started = time.monotonic()
    await eventually(lambda: gone(sock), within=within, interval=0.05)
    return time.monotonic() - started


def logged(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return any(text in record.getMessage() for record in caplog.records)


# -- frames begun and never finished -----------------------------------------------------------

CLIENT_TIMEOUT = 2.0


async def test_a_frame_begun_and_never_finished_is_cut(
    start_app: StartApp, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="summitpad")
    app = await start_app(client_timeout=CLIENT_TIMEOUT)
    bystander = await connect(app.ws_url, "half")
    sock = upgraded(app.server.port, "half")
    await asyncio.sleep(0.2)
    sock.send(half_frame())  # 10 bytes of 1000, then nothing: no ping is answered either
    took = await cut_within(sock, CLIENT_TIMEOUT + 3)
    sock.close()
    print(f"\na frame begun and never finished: cut after {took:.1f} s")
    assert logged(caplog, "(1006)")
    await bystander.edit(lambda t: t.insert(0, "unaffected"))
    await eventually(lambda: bystander.saved)


async def test_a_frame_trickling_in_is_cut(
    start_app: StartApp, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    """A byte every 0.2 s: the node always hears something, so it never pings, but no frame
    ever ends."""
    caplog.set_level(logging.INFO, logger="summitpad")
    app = await start_app(client_timeout=CLIENT_TIMEOUT)
    bystander = await connect(app.ws_url, "trickle")
    sock = upgraded(app.server.port, "trickle")
    await asyncio.sleep(0.2)
    sock.send(half_frame(announced=60_000))
    started = time.monotonic()
    while not gone(sock):
        assert time.monotonic() - started < CLIENT_TIMEOUT + 3, "a trickling frame holds on"
        try:
            sock.send(b"\0")
        except (BrokenPipeError, ConnectionResetError):
            break
        await asyncio.sleep(0.2)
    sock.close()
    print(f"\na frame trickling in: cut after {time.monotonic() - started:.1f} s")
    assert logged(caplog, f"no whole message or pong in {CLIENT_TIMEOUT:g} s (1006)")
    await bystander.edit(lambda t: t.insert(0, "unaffected"))
    await eventually(lambda: bystander.saved)


async def test_an_idle_client_that_answers_pings_stays(
    start_app: StartApp, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    """Sending nothing at all for twice client_timeout is fine while pongs come back
    (browsers answer pings by themselves; so does this client). A longer timeout than the
    other tests': a pong has a third of it to come back, through the event loop this test
    shares with the node."""
    caplog.set_level(logging.INFO, logger="summitpad")
    app = await start_app(client_timeout=2 * CLIENT_TIMEOUT)
    idle = await connect(app.ws_url, "idle")
    other = await connect(app.ws_url, "idle")
    await asyncio.sleep(2 * 2 * CLIENT_TIMEOUT)
    assert not idle.ws.closed and not other.ws.closed
    assert not logged(caplog, "(1006)")
    await idle.edit(lambda t: t.insert(0, "still here"))
    await eventually(lambda: idle.saved and str(other.text) == "still here")


# -- a client that reads too slowly ------------------------------------------------------------


async def test_a_client_that_reads_too_slowly_is_cut(
    start_app: StartApp, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    """It reads 2 KB every 50 ms (40 KB/s) while the pad sends ten times that."""
    caplog.set_level(logging.WARNING, logger="summitpad")
    app = await start_app(send_buffer_limit=64 * 1024, message_burst=10_000)
    writer = await connect(app.ws_url, "slow-reader")
    sock = upgraded(app.server.port, "slow-reader", rcvbuf=4096)
    read = 0

    async def read_slowly() -> None:
        nonlocal read
        while True:
            await asyncio.sleep(0.05)
            try:
                data = sock.recv(2048)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                return
            if not data:
                return
            read += len(data)

    reader = asyncio.create_task(read_slowly())
    started = time.monotonic()
    chunk = "x" * 20_000
    while not logged(caplog, "send queue over"):
        assert time.monotonic() - started < 20, "a slow reader is never cut"
        await writer.edit(lambda t: t.insert(0, chunk))
        await asyncio.sleep(0.05)
    took = time.monotonic() - started
    reader.cancel()
    await cut_within(sock, 10)  # what the kernel holds read fast, then the end of the stream
    sock.close()
    print(f"\na client reading 40 KB/s of a pad sending 400 KB/s: cut after {took:.1f} s, "
          f"having read {read // 1024} KiB")
    await eventually(lambda: writer.saved, within=20)


# -- HTTP connections that never send a request ------------------------------------------------


async def test_connections_that_never_send_a_request_are_closed(
    start_app: StartApp, connect: Connect, http: aiohttp.ClientSession
) -> None:
    """A connection that sends no whole request is closed after http_idle_timeout (without
    it, aiohttp would hold it for an hour); meanwhile such connections cost a socket each
    and the node serves everybody else as usual."""
    app = await start_app(http_idle_timeout=3.0)
    loop = asyncio.get_running_loop()
    idle = []
    for n in range(200):
        sock = socket.socket()
        sock.setblocking(False)
        idle.append(sock)
        await loop.sock_connect(sock, ("127.0.0.1", app.server.port))
        if n % 2:
            await loop.sock_sendall(sock, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    try:
        async with http.get(app.http_url + "/healthz") as response:
            assert response.status == 200
        alice = await connect(app.ws_url, "slowloris")
        bob = await connect(app.ws_url, "slowloris")
        await alice.edit(lambda t: t.insert(0, "served"))
        await eventually(lambda: alice.saved and str(bob.text) == "served")
        await eventually(lambda: all(gone(sock) for sock in idle), within=10, interval=0.2)
    finally:
        for sock in idle:
            sock.close()


# -- many clients that never read, on one pad ----------------------------------------------------

NEVER_READING = 300
SEND_LIMIT = 256 * 1024
NODE_CLIENT_TIMEOUT = 8.0


def tcp_kernel_kib() -> int:
    """The memory the kernel holds for every TCP socket of the machine (socket buffers)."""
    for line in Path("/proc/net/sockstat").read_text().splitlines():
        if line.startswith("TCP:"):
            fields = line.split()
            return int(fields[fields.index("mem") + 1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    raise AssertionError("no TCP line")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture
def node(tmp_path: Path, valkey: ValkeyProcess, key_prefix: str) -> Iterator[tuple[int, int]]:
    """A `summitpad serve` process on the session's Valkey: (pid, port)."""
    port = free_port()
    log = tmp_path / "serve.log"
    process = subprocess.Popen(
        [*summitpad_command(), "serve", "--port", str(port), "--redis-url", valkey.url,
         "--key-prefix", key_prefix, "--send-buffer-limit", str(SEND_LIMIT),
         "--client-timeout", str(NODE_CLIENT_TIMEOUT)],
        env=subprocess_env(), stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
        yield process.pid, port
    finally:
        process.terminate()
        process.wait(timeout=30)
        print(f"\nnode log: {log.read_text().count('send queue over')} connections closed as slow")


async def open_websockets(http: aiohttp.ClientSession, port: int) -> float:
    """The node's own count of its open websockets (its /metrics)."""
    async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
        for line in (await response.text()).splitlines():
            if line.startswith("summitpad_connections "):
                return float(line.split()[1])
    raise AssertionError("no summitpad_connections in /metrics")


async def test_hundreds_of_clients_that_never_read_leave_memory_bounded(
    node: tuple[int, int], connect: Connect, http: aiohttp.ClientSession
) -> None:
    """They answer no ping: each is cut NODE_CLIENT_TIMEOUT after it connected, or sooner if
    its send queue overflows, while one person pastes 80 KiB a second into their pad."""
    pid, port = node
    ws_url = f"ws://127.0.0.1:{port}/ws"
    writer = await connect(ws_url, "crowd")
    await writer.edit(lambda t: t.insert(0, "start"))
    await eventually(lambda: writer.saved)
    at_start = rss_kib(pid)
    crowd = [upgraded(port, "crowd", rcvbuf=4096) for _ in range(NEVER_READING)]
    opened = time.monotonic()
    try:

        async def all_open() -> bool:
            return await open_websockets(http, port) == NEVER_READING + 1

        await eventually(all_open, within=NODE_CLIENT_TIMEOUT / 2)
        connected = rss_kib(pid)
        peak, kernel = connected, tcp_kernel_kib()
        chunk = "y" * 4096
        typed = 0
        # Type 4 KiB and take it away again: the pad stays small, each connection is sent
        # the 4 KiB.
        while await open_websockets(http, port) > 1:  # (reading the sockets would drain them)
            assert time.monotonic() - opened < NODE_CLIENT_TIMEOUT + 10, "never cut"
            await writer.edit(lambda t: t.insert(0, chunk))
            await writer.edit(lambda t: t.__delitem__(slice(0, len(chunk))))
            typed += len(chunk)
            await asyncio.sleep(0.05)
            peak = max(peak, rss_kib(pid))
            kernel = max(kernel, tcp_kernel_kib())
        took = time.monotonic() - opened
        await eventually(lambda: writer.saved, within=20)
        assert not writer.ws.closed
        await asyncio.sleep(1.0)
        after = rss_kib(pid)
    finally:
        for sock in crowd:
            sock.close()
    worst = NEVER_READING * SEND_LIMIT // 1024
    print(
        f"\n{NEVER_READING} clients that never read, one writer ({typed // 1024} KiB typed, "
        f"sent to each): node RSS {at_start / 1024:.0f} MiB at start, "
        f"{connected / 1024:.0f} MiB with them connected, peak {peak / 1024:.0f} MiB, "
        f"{after / 1024:.0f} MiB once all were cut, {took:.1f} s after they connected "
        f"(connections x send_buffer_limit: {worst // 1024} MiB); the machine's TCP buffers "
        f"in the kernel peaked at {kernel / 1024:.0f} MiB"
    )
    assert peak - at_start < worst // 4
