"""The servers the benchmark drives ("targets"), each started fresh for one step.

A target starts its processes, says where peers connect and which processes to measure, and
stops them. Four kinds:

- `summitpad`: one `summitpad serve` on the benchmark's Valkey.
- `summitpad-3`: three `summitpad serve` nodes on that one Valkey, sharing a key prefix; the
  load generator spreads the peers of every pad over the three (`loadgen.Run`).
- `y-websocket`: the Yjs project's reference server, `@y/websocket-server` on Node
  (bench/peers/node, `make bench-setup`), documents in memory.
- `pycrdt-websocket`: the Jupyter project's server on Hypercorn, in its own virtual
  environment (bench/peers/pycrdt_server.py, bench/.venv-peers, `make bench-setup`).

Peers connect to `<url>/<pad>` for one of the target's `urls`: `ws://host:port/ws` for
summitpad, `ws://host:port` for the others (their room is the whole path).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Protocol

from loadgen import tag

BENCH = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
NODE_DIR = BENCH / "peers" / "node"
NODE_SERVER = NODE_DIR / "node_modules" / "@y" / "websocket-server" / "src" / "server.js"
PEERS_PYTHON = BENCH / ".venv-peers" / "bin" / "python"
PYCRDT_SERVER = BENCH / "peers" / "pycrdt_server.py"
SUMMITPAD_ENV = {
    # High enough that the typists' 5 messages a second and the joins never meet the limit.
    "SUMMITPAD_MESSAGES_PER_SECOND": "100000",
    "SUMMITPAD_MESSAGE_BURST": "100000",
    "SUMMITPAD_LOG_LEVEL": "warning",
}
TARGETS = ("summitpad", "summitpad-3", "y-websocket", "pycrdt-websocket")
REFERENCE = "y-websocket"  # the ratio column of the table is against this target
SETUP_HINT = "run `make bench-setup` first"


class Target(Protocol):
    """One server under test, running for one step."""

    name: str
    urls: list[str]  # websocket base URLs; a peer of pad P connects to f"{url}/{P}"
    pids: dict[str, tuple[int, ...]]  # processes to measure by name; "server" is required

    def stop(self) -> dict[str, Any]:
        """Stop every process; returns exit codes and what they logged."""
        ...


def server_revision() -> str:
    """The commit of the server code that runs, marked -dirty if server/ has local changes."""
    root = str(BENCH.parent)
    head = subprocess.run(
        ["git", "-C", root, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    changed = subprocess.run(
        ["git", "-C", root, "status", "--porcelain", "--", "server", "pyproject.toml"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return (head or "unknown") + ("-dirty" if changed else "")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def raise_child_nofile() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Process:
    """One server process, its output in a log file, ready once it answers HTTP on its port."""

    def __init__(
        self, name: str, argv: list[str], env: dict[str, str], log_path: Path, port: int
    ) -> None:
        self.name = name
        self.port = port
        self.log_path = log_path
        self.argv, self.env = argv, env
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=raise_child_nofile,
        )
        self.pid = self.process.pid

    def again(self, log_path: Path) -> Process:
        """The same command started anew on the same port: the node restarted."""
        return Process(self.name, self.argv, self.env, log_path, self.port)

    def wait_ready(self, within: float = 30.0) -> None:
        deadline = time.monotonic() + within
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # an HTTP answer, even an error page: it is listening
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} did not start; see {self.log_path}") from None
                time.sleep(0.1)

    def stop(self, notable: tuple[str, ...]) -> dict[str, Any]:
        crashed = self.process.poll()
        if crashed is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        lines = self.log_path.read_text(errors="replace").splitlines()
        found = [line for line in lines if any(word in line for word in notable)]
        return {
            "died_during_run": crashed is not None,
            "exit_code": self.process.returncode,
            "warnings_and_errors": len(found),
            "first_lines": found[:5],
            "log": str(self.log_path.relative_to(BENCH.parent)),
        }


def _environment(drop_prefix: str = "SUMMITPAD_") -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(drop_prefix)}


class Summitpad:
    """`summitpad serve` on the benchmark's Valkey: one node, or several sharing a key prefix."""

    def __init__(self, redis_url: str, valkey_pid: int, log_prefix: Path, nodes: int = 1) -> None:
        self.name = "summitpad" if nodes == 1 else f"summitpad-{nodes}"
        self.revision = server_revision()
        prefix = f"bench{tag()}"
        self.key_prefix = prefix
        env = _environment()
        env.update(SUMMITPAD_ENV)
        self.nodes: list[Process] = []
        try:
            for n in range(1, nodes + 1):
                port = free_port()
                argv = [
                    str(BIN / "summitpad"),
                    "serve",
                    "--redis-url",
                    redis_url,
                    "--port",
                    str(port),
                    "--key-prefix",
                    prefix,
                    "--node-id",
                    f"bench-{n}",
                ]
                suffix = "" if nodes == 1 else f"-node{n}"
                self.nodes.append(
                    Process(self.name, argv, env, Path(f"{log_prefix}{suffix}-server.log"), port)
                )
            for node in self.nodes:
                node.wait_ready()
        except BaseException:
            self.stop()
            raise
        self.urls = [f"ws://127.0.0.1:{node.port}/ws" for node in self.nodes]
        self.pids = {"server": tuple(n.pid for n in self.nodes), "valkey": (valkey_pid,)}

    def stop(self) -> dict[str, Any]:
        words = (" WARNING ", " ERROR ", "Traceback")
        nodes = [node.stop(words) for node in self.nodes]
        return _combined(nodes, revision=self.revision)


class YWebsocket:
    """`@y/websocket-server` (the `y-websocket-server` bin) on Node; HOST and PORT from the
    environment, the room is the URL path, documents in memory (no YPERSISTENCE)."""

    name = "y-websocket"

    def __init__(self, log_prefix: Path) -> None:
        if not NODE_SERVER.exists():
            raise SystemExit(f"{NODE_SERVER.relative_to(BENCH.parent)} is missing: {SETUP_HINT}")
        port = free_port()
        env = _environment()
        env.update(HOST="127.0.0.1", PORT=str(port))
        env.pop("YPERSISTENCE", None)
        self.version = _node_package_version("@y/websocket-server")
        self.node = _peer_process(self.name, ["node", str(NODE_SERVER)], env, log_prefix, port)
        self.urls = [f"ws://127.0.0.1:{port}"]
        self.pids = {"server": (self.node.pid,)}

    def stop(self) -> dict[str, Any]:
        status = self.node.stop(("Error", "error"))
        return _combined([status], revision=f"@y/websocket-server {self.version}")


def _peer_process(
    name: str, argv: list[str], env: dict[str, str], log_prefix: Path, port: int
) -> Process:
    """A peer server started and answering on `port` (stopped again if it never does)."""
    process = Process(name, argv, env, Path(f"{log_prefix}-server.log"), port)
    try:
        process.wait_ready()
    except BaseException:
        process.stop(())
        raise
    return process


class PycrdtWebsocket:
    """pycrdt-websocket's `WebsocketServer` behind its `ASGIServer` on Hypercorn; the room is
    the URL path, documents in memory."""

    name = "pycrdt-websocket"

    def __init__(self, log_prefix: Path) -> None:
        if not PEERS_PYTHON.exists():
            raise SystemExit(f"{PEERS_PYTHON.relative_to(BENCH.parent)} is missing: {SETUP_HINT}")
        port = free_port()
        self.versions = _peers_venv_versions()
        argv = [str(PEERS_PYTHON), str(PYCRDT_SERVER), "--port", str(port)]
        self.node = _peer_process(self.name, argv, _environment(), log_prefix, port)
        self.urls = [f"ws://127.0.0.1:{port}"]
        self.pids = {"server": (self.node.pid,)}

    def stop(self) -> dict[str, Any]:
        status = self.node.stop(("ERROR", "Traceback"))
        revision = ", ".join(f"{name} {v}" for name, v in self.versions.items())
        return _combined([status], revision=revision)


def _combined(nodes: list[dict[str, Any]], revision: str) -> dict[str, Any]:
    """The stop status of a target's processes as one, with each node's when there are several."""
    status: dict[str, Any] = {
        "revision": revision,
        "died_during_run": any(n["died_during_run"] for n in nodes),
        "exit_code": next((n["exit_code"] for n in nodes if n["exit_code"]), 0) if nodes else None,
        "warnings_and_errors": sum(n["warnings_and_errors"] for n in nodes),
        "first_lines": [line for n in nodes for line in n["first_lines"]][:5],
        "log": nodes[0]["log"] if nodes else "",
    }
    if len(nodes) > 1:
        status["nodes"] = nodes
    return status


def _node_package_version(package: str) -> str:
    manifest = NODE_DIR / "node_modules" / package / "package.json"
    try:
        return str(json.loads(manifest.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return "unknown"


def start(name: str, redis_url: str, valkey_pid: int, log_prefix: Path) -> Target:
    """Start the target called `name` (one of TARGETS) and wait until it accepts connections."""
    if name == "summitpad":
        return Summitpad(redis_url, valkey_pid, log_prefix, nodes=1)
    if name == "summitpad-3":
        return Summitpad(redis_url, valkey_pid, log_prefix, nodes=3)
    if name == "y-websocket":
        return YWebsocket(log_prefix)
    if name == "pycrdt-websocket":
        return PycrdtWebsocket(log_prefix)
    raise ValueError(f"unknown target {name!r}; known: {', '.join(TARGETS)}")


def describe() -> dict[str, str]:
    """Versions of the peers' servers and runtimes, for the result files."""
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    found = {
        "node": node.stdout.strip() or "not found",
        "@y/websocket-server": _node_package_version("@y/websocket-server"),
        "yjs (node)": _node_package_version("yjs"),
        "ws (node)": _node_package_version("ws"),
    }
    found.update({f"{k} (peers venv)": v for k, v in _peers_venv_versions().items()})
    return found


def _peers_venv_versions() -> dict[str, str]:
    """Versions of pycrdt-websocket, pycrdt and Hypercorn in bench/.venv-peers."""
    names = ("pycrdt-websocket", "pycrdt", "hypercorn")
    if not PEERS_PYTHON.exists():
        return {}
    code = f"import importlib.metadata as m; print(*(m.version(p) for p in {names!r}))"
    out = subprocess.run([str(PEERS_PYTHON), "-c", code], capture_output=True, text=True)
    return dict(zip(names, out.stdout.split(), strict=False))
