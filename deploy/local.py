"""summitpad's three-node deployment on one machine, without containers.

One Valkey with AOF on, `--nodes` `summitpad serve` processes sharing it, and a small load
balancer in front of them, all on loopback ports counted from `--base-port`:

    base-port             the load balancer: http://127.0.0.1:<base-port>/ (websockets too)
    base-port + 1 ... n   the nodes, node-1 ... node-n
    base-port + n + 1     Valkey

    .venv/bin/python deploy/local.py [--base-port 8100] [--data-dir DIR]
                                     [--appendfsync always|everysec] [--nodes 3]

It prints one JSON line once everything answers (ports, pids, URLs, where the logs are), then
waits for SIGTERM or SIGINT and stops everything. It restarts nothing: a piece that dies stays
dead, so that the fault tests (tests/test_faults.py) can kill pieces and start them again
themselves, through `LocalDeployment` (this file loaded by path: deploy/ is no package).
Every child is told by the kernel to stop if this process dies (PR_SET_PDEATHSIG), as the
embedded Valkey is.

The load balancer is a TCP proxy (this file, run as `local.py balance`): each new connection
goes to the next node in turn, skipping nodes that refuse it, and its bytes are copied both
ways untouched, so websockets pass. A connection whose node dies is closed; the client
reconnects, and lands on a node that is up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import signal
import sys
import tempfile
from pathlib import Path
from typing import IO, Any

_PR_SET_PDEATHSIG = 1
_READY_TIMEOUT = 30.0
_STOP_TIMEOUT = 30.0
_CONNECT_TIMEOUT = 1.0
_CHUNK = 64 * 1024
HOST = "127.0.0.1"
THIS_FILE = Path(__file__).resolve()


def _die_with_parent() -> None:
    """Runs in each child before exec: SIGTERM it when this process dies, however it dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _append_to(log_path: Path) -> IO[bytes]:
    return open(log_path, "ab")  # a few bytes, on a local disk


async def _spawn(
    args: list[str], log_path: Path, env: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    with _append_to(log_path) as log:
        return await asyncio.create_subprocess_exec(
            *args,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            preexec_fn=_die_with_parent,
        )


async def _terminate(process: asyncio.subprocess.Process | None) -> None:
    if process is None or process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), _STOP_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()


async def _kill(process: asyncio.subprocess.Process | None) -> None:
    if process is not None and process.returncode is None:
        process.kill()
        await process.wait()


async def _wait_until(
    process: asyncio.subprocess.Process, probe: Any, what: str, log_path: Path
) -> None:
    """Poll the awaitable-returning `probe` until it is true; fail if `process` exits first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _READY_TIMEOUT
    while True:
        if process.returncode is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode}; see {log_path}")
        with contextlib.suppress(OSError, TimeoutError):
            if await asyncio.wait_for(probe(), 2.0):
                return
        if loop.time() > deadline:
            raise RuntimeError(f"{what} not ready in {_READY_TIMEOUT:.0f} s; see {log_path}")
        await asyncio.sleep(0.05)


async def _exchange(port: int, request: bytes) -> bytes:
    """Send `request` to a loopback port and read the first bytes of the answer."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(request)
        await writer.drain()
        return await reader.read(256)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _valkey_answers(port: int) -> bool:
    # +PONG once the AOF is loaded; -LOADING while it is.
    return (await _exchange(port, b"PING\r\n")).startswith(b"+PONG")


async def _node_ready(port: int) -> bool:
    request = f"GET /readyz HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n"
    return (await _exchange(port, request.encode())).startswith(b"HTTP/1.1 200")


class LocalDeployment:
    """Valkey, the nodes and the load balancer as child processes of this one."""

    def __init__(
        self,
        data_dir: Path,
        *,
        base_port: int = 8100,
        appendfsync: str = "everysec",
        nodes: int = 3,
        env: dict[str, str] | None = None,
    ) -> None:
        """`env`: the nodes' environment (default: this process's)."""
        if appendfsync not in ("always", "everysec"):
            raise ValueError("appendfsync must be always or everysec")
        self.data_dir = Path(data_dir)
        self.appendfsync = appendfsync
        self.balancer_port = base_port
        self.node_ports = [base_port + 1 + i for i in range(nodes)]
        self.valkey_port = base_port + nodes + 1
        self.valkey: asyncio.subprocess.Process | None = None
        self.nodes: list[asyncio.subprocess.Process | None] = [None] * nodes
        self.balancer: asyncio.subprocess.Process | None = None
        self.env = env

    # -- addresses ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Where users go: the load balancer."""
        return f"http://{HOST}:{self.balancer_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{HOST}:{self.balancer_port}/ws"

    @property
    def redis_url(self) -> str:
        return f"redis://{HOST}:{self.valkey_port}/0"

    def node_url(self, number: int) -> str:
        """The node named node-`number` (1 ... n), reached directly."""
        return f"http://{HOST}:{self.node_ports[number - 1]}"

    @property
    def valkey_dir(self) -> Path:
        return self.data_dir / "valkey"

    def _log(self, name: str) -> Path:
        return self.data_dir / "logs" / f"{name}.log"

    def describe(self) -> dict[str, Any]:
        """What the script prints when everything is ready."""
        def pid(process: asyncio.subprocess.Process | None) -> int | None:
            return process.pid if process is not None and process.returncode is None else None

        return {
            "url": self.url,
            "ws_url": self.ws_url,
            "balancer": {"port": self.balancer_port, "pid": pid(self.balancer)},
            "nodes": [
                {"node_id": f"node-{n}", "port": port, "url": self.node_url(n), "pid": pid(p)}
                for n, (port, p) in enumerate(zip(self.node_ports, self.nodes, strict=True), 1)
            ],
            "valkey": {
                "port": self.valkey_port,
                "url": self.redis_url,
                "pid": pid(self.valkey),
                "appendfsync": self.appendfsync,
                "dir": str(self.valkey_dir),
            },
            "logs": str(self.data_dir / "logs"),
        }

    # -- the whole deployment -----------------------------------------------------------------

    async def start(self) -> None:
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        try:
            await self.start_valkey()
            await asyncio.gather(*(self.start_node(n) for n in range(1, len(self.nodes) + 1)))
            await self.start_balancer()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """The balancer first, then the nodes (they write what they hold), then Valkey."""
        await _terminate(self.balancer)
        await asyncio.gather(*(_terminate(node) for node in self.nodes))
        await _terminate(self.valkey)

    # -- pieces -------------------------------------------------------------------------------

    async def start_valkey(self) -> None:
        """Start Valkey on its AOF (a restart reads back what it had written)."""
        from summitpad.embedded_valkey import find_valkey_server

        if self.valkey is not None and self.valkey.returncode is None:
            raise RuntimeError("valkey is running")
        self.valkey_dir.mkdir(parents=True, exist_ok=True)
        args = [
            find_valkey_server(),
            "--bind", HOST,
            "--port", str(self.valkey_port),
            "--dir", str(self.valkey_dir),
            "--daemonize", "no",
            "--appendonly", "yes",
            "--appendfsync", self.appendfsync,
            "--appendfilename", "summitpad.aof",
            "--save", "",
            "--maxmemory-policy", "noeviction",
            "--loglevel", "warning",
        ]
        log = self._log("valkey")
        self.valkey = await _spawn(args, log)
        await _wait_until(self.valkey, lambda: _valkey_answers(self.valkey_port), "valkey", log)

    async def kill_valkey(self) -> None:
        """SIGKILL Valkey: what it had not written to its AOF is gone."""
        await _kill(self.valkey)

    async def start_node(self, number: int) -> None:
        """Start node-`number` (1 ... n); it needs Valkey up (else it exits with code 3)."""
        current = self.nodes[number - 1]
        if current is not None and current.returncode is None:
            raise RuntimeError(f"node-{number} is running")
        args = [
            sys.executable, "-m", "summitpad", "serve",
            "--redis-url", self.redis_url,
            "--host", HOST,
            "--port", str(self.node_ports[number - 1]),
            "--node-id", f"node-{number}",
            "--public-url", self.url,
        ]
        log = self._log(f"node-{number}")
        process = await _spawn(args, log, self.env)
        self.nodes[number - 1] = process
        port = self.node_ports[number - 1]
        await _wait_until(process, lambda: _node_ready(port), f"node-{number}", log)

    async def kill_node(self, number: int) -> None:
        """SIGKILL node-`number` (1 ... n): its connections drop, it writes nothing more."""
        await _kill(self.nodes[number - 1])

    async def start_balancer(self) -> None:
        args = [sys.executable, str(THIS_FILE), "balance",
                "--port", str(self.balancer_port), *map(str, self.node_ports)]
        log = self._log("balancer")
        self.balancer = await _spawn(args, log)
        port = self.balancer_port
        await _wait_until(self.balancer, lambda: _node_ready(port), "the balancer", log)


# -- the load balancer ------------------------------------------------------------------------


class Balancer:
    """Round robin over `backends` per connection; a backend that refuses is skipped."""

    def __init__(self, backends: list[int]) -> None:
        self.backends = backends
        self._next = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = await self._connect()
        if upstream is None:
            writer.close()  # nothing is up: the client sees the connection end and retries
            return
        up_reader, up_writer = upstream
        client = writer.get_extra_info("peername")
        print(f"{client[0]}:{client[1]} -> {up_writer.get_extra_info('peername')[1]}", flush=True)
        # Either side ending ends both: a node that dies closes its clients' connections.
        pipes = [
            asyncio.create_task(_pipe(reader, up_writer)),
            asyncio.create_task(_pipe(up_reader, writer)),
        ]
        await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        for pipe in pipes:
            pipe.cancel()
        for side in (writer, up_writer):
            side.close()
        await asyncio.gather(*pipes, return_exceptions=True)

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        for _ in self.backends:
            port = self.backends[self._next]
            self._next = (self._next + 1) % len(self.backends)
            try:
                return await asyncio.wait_for(
                    asyncio.open_connection(HOST, port), _CONNECT_TIMEOUT
                )
            except (OSError, TimeoutError):
                continue
        return None


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while chunk := await source.read(_CHUNK):
            sink.write(chunk)
            await sink.drain()


async def _balance(port: int, backends: list[int]) -> None:
    balancer = Balancer(backends)
    server = await asyncio.start_server(balancer.handle, HOST, port, reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with server:
        await stop.wait()


# -- the script -------------------------------------------------------------------------------


async def _run(deployment: LocalDeployment) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await deployment.start()
    print(json.dumps(deployment.describe()), flush=True)
    await stop.wait()
    await deployment.stop()


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["balance"]:
        parser = argparse.ArgumentParser(prog="local.py balance")
        parser.add_argument("--port", type=int, required=True)
        parser.add_argument("backends", type=int, nargs="+", help="ports of the nodes")
        options = parser.parse_args(argv[1:])
        asyncio.run(_balance(options.port, options.backends))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-port", type=int, default=8100,
                        help="the balancer's port; the nodes' and Valkey's follow it")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="Valkey's AOF and the logs (default: a new temporary directory)")
    parser.add_argument("--appendfsync", choices=("always", "everysec"), default="everysec")
    parser.add_argument("--nodes", type=int, default=3)
    options = parser.parse_args(argv)
    data_dir = options.data_dir or Path(tempfile.mkdtemp(prefix="summitpad-local-"))
    deployment = LocalDeployment(
        data_dir, base_port=options.base_port, appendfsync=options.appendfsync,
        nodes=options.nodes,
    )
    try:
        asyncio.run(_run(deployment))
    except RuntimeError as exc:
        print(f"local.py: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
