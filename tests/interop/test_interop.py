"""The stock y-websocket client (Node) against real `summitpad serve` processes on a real Valkey.

Each Node script in this folder drives stock `WebsocketProvider`s and prints one JSON line of
results; these tests start and kill the servers around them and check what the clients saw.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import queue
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
from summitpad.web_security import PARTICIPANT_COOKIE

from ..support import TRACES, free_port, on_both_stores, subprocess_env, summitpad_command

HERE = Path(__file__).resolve().parent
NODE = shutil.which("node") or "node"
TRACE = TRACES / "seph-blog1.json.gz"

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(
        shutil.which("node") is None, reason="node is not on PATH (the interop tests need Node 20)"
    ),
    pytest.mark.skipif(
        not (HERE / "node_modules" / "y-websocket").is_dir(),
        reason="tests/interop/node_modules is missing: run `cd tests/interop && npm ci`",
    ),
]


class ServerProcess:
    """One `summitpad serve` process on a loopback port, its output in a log file."""

    def __init__(self, redis_url: str, key_prefix: str, log_dir: Path, name: str,
                 extra: list[str]) -> None:
        self.redis_url = redis_url
        self.key_prefix = key_prefix
        self.name = name
        self.extra = extra
        self.port = free_port()
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self) -> ServerProcess:
        command = [
            *summitpad_command(), "serve",
            "--redis-url", self.redis_url,
            "--key-prefix", self.key_prefix,
            "--port", str(self.port),
            "--host", "127.0.0.1",
            "--node-id", self.name,
            *self.extra,
        ]
        with self.log_path.open("ab") as log:
            log.write(f"--- {' '.join(command)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                command, env=subprocess_env(), stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n"
                                     + self.log_tail())
            try:
                with urllib.request.urlopen(self.http_url + "/", timeout=1):
                    return self
            except urllib.error.HTTPError:
                return self  # it answers: it is listening, and listens only once it is ready
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"{self.name} did not answer on {self.http_url}:\n" + self.log_tail())

    def kill(self) -> None:
        """SIGKILL: no drain, no goodbye."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        """SIGTERM, then wait for the orderly shutdown; returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"{self.name} ignored SIGTERM:\n" + self.log_tail()) from None
        return self.process.returncode

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


class Servers:
    """Starts `summitpad serve` processes sharing one Valkey (or cluster) and key prefix; kills
    leftovers."""

    def __init__(self, redis_url: str, key_prefix: str, log_dir: Path) -> None:
        self.redis_url = redis_url
        self.key_prefix = key_prefix
        self.log_dir = log_dir
        self.started: list[ServerProcess] = []

    def __call__(self, *extra: str, name: str | None = None) -> ServerProcess:
        server = ServerProcess(self.redis_url, self.key_prefix, self.log_dir,
                               name or f"node{len(self.started)}", list(extra))
        self.started.append(server)
        return server.start()

    def kill_all(self) -> None:
        for server in self.started:
            if server.process is not None and server.process.poll() is None:
                server.process.kill()
                server.process.wait()


@pytest.fixture
def servers(redis_url: str, key_prefix: str, tmp_path: Path) -> Iterator[Servers]:
    started = Servers(redis_url, key_prefix, tmp_path)
    yield started
    started.kill_all()


def _logs(servers: list[ServerProcess]) -> str:
    return "\n".join(f"--- log of {s.name} (port {s.port}):\n{s.log_tail()}" for s in servers)


def _parse(script: str, stdout: str, stderr: str, returncode: int | None,
           servers: list[ServerProcess]) -> dict[str, Any]:
    lines = [line for line in stdout.splitlines() if line.strip()]
    result: dict[str, Any] | None = None
    if lines:
        try:
            result = json.loads(lines[-1])
        except json.JSONDecodeError:
            result = None
    if returncode != 0 or result is None or not result.get("ok"):
        shown = json.dumps(result, indent=1)[:6000] if result is not None else stdout[-3000:]
        pytest.fail(
            f"{script} failed (exit {returncode}):\n{shown}\n--- stderr:\n{stderr[-3000:]}\n"
            + _logs(servers),
            pytrace=False,
        )
    return result


def run_node(script: str, *args: str, servers: list[ServerProcess], timeout: float = 60,
             ) -> dict[str, Any]:
    """Run one script to its end; its JSON line, or a failure showing it and the server logs."""
    try:
        done = subprocess.run(
            [NODE, str(HERE / script), *args],
            cwd=HERE, capture_output=True, text=True, timeout=timeout, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{script} outlived its own hard timeout ({timeout} s): {exc.stdout!r}\n"
                    + _logs(servers), pytrace=False)
    return _parse(script, done.stdout, done.stderr, done.returncode, servers)


def read_pad(server: ServerProcess, pad: str, all_servers: list[ServerProcess]) -> dict[str, Any]:
    return run_node("read.mjs", "--url", server.ws_url, "--pad", pad, servers=all_servers,
                    timeout=30)


def check_converged(result: dict[str, Any], clients: int) -> None:
    text = result["text"]
    assert len(result["clients"]) == clients
    for name, markers in result["markers"].items():
        assert markers, f"{name} inserted no marker (counts {result['counts'][name]})"
        for marker in markers:
            assert text.count(marker) == 1, f"{marker} of {name} is not in the text exactly once"
    counts = result["counts"].values()
    edits = sum(c["insert"] + c["delete"] + c["marker"] for c in counts)
    assert edits > 50 * clients, f"too few edits made: {result['counts']}"
    for client in result["clients"]:
        assert client["terminal"] is None, f"{client['name']} was refused for good: {client}"
        server_closes = [c for c in client["closes"] if c is not None]
        assert not server_closes, f"the server closed {client['name']}: {server_closes}"


@on_both_stores
def test_concurrent_stock_clients_converge(servers: Servers) -> None:
    server = servers()
    result = run_node("edit.mjs", "--url", server.ws_url, "--pad", "concurrent",
                      "--clients", "4", "--seconds", "4", servers=servers.started)
    check_converged(result, 4)
    assert len(result["text"]) > 0

    fresh = read_pad(server, "concurrent", servers.started)
    assert fresh["text"] == result["text"]


def test_offline_client_edits_merge_on_reconnect(servers: Servers) -> None:
    server = servers()
    result = run_node("edit.mjs", "--url", server.ws_url, "--pad", "offline", "--clients", "3",
                      "--seconds", "4", "--offline-client", "0", servers=servers.started)
    check_converged(result, 3)
    offline = result["counts"]["c0"]["offline"]
    assert offline > 10, f"the offline client made only {offline} edits while offline"
    offline_markers = [m for m in result["markers"]["c0"] if m.endswith("off>")]
    assert offline_markers, "no marker was inserted while offline"
    # The offline client's local disconnect shows as a local close (null), not a server close.
    assert None in result["clients"][0]["closes"]

    fresh = read_pad(server, "offline", servers.started)
    assert fresh["text"] == result["text"]


# Lifts the per-connection and per-participant flood limits, for clients that send far more
# messages a second than a person types.
UNLIMITED_MESSAGES = (
    "--messages-per-second", "1000000", "--message-burst", "1000000",
    "--participant-messages-per-second", "1000000", "--participant-message-burst", "1000000",
)


def _read_lines(stream: Any, lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def test_echoed_edits_survive_kill_9(servers: Servers, tmp_path: Path) -> None:
    # The typist sends about a thousand updates a second, so that some are in flight when the
    # server dies: the flood limits are lifted for this.
    first = servers(*UNLIMITED_MESSAGES, name="doomed")
    stderr_path = tmp_path / "durability.stderr"
    with stderr_path.open("w") as stderr_file:
        typist = subprocess.Popen(
            [NODE, str(HERE / "durability.mjs"), "--url", first.ws_url, "--pad", "kill9",
             "--interval-ms", "2", "--burst", "5", "--ready-tokens", "300"],
            cwd=HERE, stdout=subprocess.PIPE, stderr=stderr_file, text=True,
        )
    try:
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_read_lines, args=(typist.stdout, lines), daemon=True).start()
        try:
            ready_line = lines.get(timeout=20)
        except queue.Empty:
            ready_line = None
        if ready_line is None or not json.loads(ready_line).get("ready"):
            typist.kill()
            typist.wait()
            stderr = stderr_path.read_text()
            pytest.fail(f"durability.mjs never got ready: {ready_line!r}\n{stderr[-3000:]}\n"
                        + _logs(servers.started), pytrace=False)
        first.kill()  # while the typist keeps typing
        typist.wait(timeout=30)
        rest = []
        while (line := lines.get(timeout=5)) is not None:
            rest.append(line)
        result = _parse("durability.mjs", "".join(rest), stderr_path.read_text(),
                        typist.returncode, servers.started)
    finally:
        if typist.poll() is None:
            typist.kill()
            typist.wait()

    second = servers(name="restarted")
    stored = read_pad(second, "kill9", servers.started)["text"]
    tokens = result["tokens"]
    assert tokens["watched"] >= 300 and tokens["echoed"] >= 300, tokens
    # The typist only ever appends, so every view is a prefix of the next:
    # what was echoed or watched <= what Valkey holds <= what was typed.
    assert stored.startswith(result["watched"]), (
        f"edits seen by the watcher were lost: watched {tokens['watched']} tokens, "
        f"stored {stored[-80:]!r}"
    )
    assert stored.startswith(result["echoed"]), (
        f"edits echoed to the typist were lost: echoed {tokens['echoed']} tokens, "
        f"stored {stored[-80:]!r}"
    )
    assert result["typed"].startswith(stored)


@pytest.mark.skipif(not TRACE.is_file(), reason=f"the editing trace {TRACE} is not there "
                    "(the shared data folder ../shared is absent)")
@on_both_stores
def test_recorded_editing_trace(servers: Servers) -> None:
    trace = json.loads(gzip.decompress(TRACE.read_bytes()))
    expected = trace["endContent"]
    digest = hashlib.sha256(expected.encode()).hexdigest()
    # A replay sends one message per recorded keystroke, thousands a second: far above what a
    # person types, so the flood limits are lifted for this test.
    limits = UNLIMITED_MESSAGES
    first = servers(*limits, name="typed-into")
    result = run_node("trace.mjs", "--url", first.ws_url, "--pad", "trace", "--trace", str(TRACE),
                      servers=servers.started, timeout=70)
    assert result["transactions"] == len(trace["txns"])
    assert (result["length"], result["sha256"]) == (len(expected), digest)

    assert first.stop() == 0, first.log_tail()
    second = servers(*limits, name="restarted")
    stored = read_pad(second, "trace", servers.started)
    assert (stored["length"], stored["sha256"]) == (len(expected), digest)
    assert stored["text"] == expected


@on_both_stores
def test_two_server_processes_converge(servers: Servers) -> None:
    a, b = servers(name="node-a"), servers(name="node-b")
    result = run_node("edit.mjs", "--url", f"{a.ws_url},{b.ws_url}", "--pad", "two-nodes",
                      "--clients", "4", "--seconds", "4", servers=servers.started)
    check_converged(result, 4)
    assert {c["url"] for c in result["clients"]} == {a.ws_url, b.ws_url}

    for server in (a, b):
        fresh = read_pad(server, "two-nodes", servers.started)
        assert fresh["text"] == result["text"], f"a fresh client on {server.name} differs"


def test_awareness_between_stock_clients(servers: Servers) -> None:
    server = servers()
    result = run_node("awareness.mjs", "--url", server.ws_url, "--pad", "awareness",
                      servers=servers.started, timeout=40)
    assert "carol removed after she left" in result["steps"]


@on_both_stores
def test_awareness_across_two_server_processes(servers: Servers) -> None:
    """Names, colours and departures cross nodes, with the pad already live on both."""
    a, b = servers(name="node-a"), servers(name="node-b")
    result = run_node("awareness.mjs", "--url", a.ws_url, "--url2", b.ws_url, "--warm",
                      "--pad", "awareness", servers=servers.started, timeout=40)
    assert "carol removed after she left" in result["steps"]


def test_joiner_on_another_node_gets_current_awareness(
    servers: Servers,
) -> None:
    """Alice is on node A; Bob is the first client of the pad on node B: he must see her."""
    a, b = servers(name="node-a"), servers(name="node-b")
    result = run_node("awareness.mjs", "--url", a.ws_url, "--url2", b.ws_url,
                      "--pad", "awareness", servers=servers.started, timeout=40)
    assert "carol removed after she left" in result["steps"]


def _participant(server: ServerProcess, pad: str) -> tuple[str, str]:
    """A new browser's participant: (its Cookie header, its author id), from the pad page."""
    with urllib.request.urlopen(f"{server.http_url}/p/{pad}", timeout=10) as response:
        cookies = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookies.load(header)
        page = response.read().decode()
    value = cookies[PARTICIPANT_COOKIE].value
    author_id = value.split(".", 1)[0]
    assert f'data-author-id="{author_id}"' in page
    return f"{PARTICIPANT_COOKIE}={value}", author_id


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_stock_clients_edits_are_attributed_and_attribution_is_kept(servers: Servers) -> None:
    server = servers()
    pad = "attributed"
    writer_cookie, writer = _participant(server, pad)
    thief_cookie, thief = _participant(server, pad)
    assert writer != thief
    result = run_node("authorship.mjs", "--url", server.ws_url, "--pad", pad,
                      "--writer-cookie", writer_cookie, "--thief-cookie", thief_cookie,
                      servers=servers.started, timeout=40)
    # The stock client sent plain text; the server gave every run of it the writer's id.
    typed = [op["insert"] for op in result["writer"]]
    assert "".join(typed) == "Plain text from a stock client.\nA second line.\n"
    for op in result["writer"]:
        if op["insert"].strip("\n"):
            assert op["attributes"]["author"] == writer, op
    assert not [c for c in result["writerCloses"] if c is not None]
    # Re-attributing it closed the other client for good, and the text kept its author.
    assert {"code": 4403, "reason": "an edit may not change who wrote the text"} in (
        result["thiefCloses"]
    )
    assert result["thiefTerminal"]["code"] == 4403
    assert result["reader"] == result["writer"]

    # What the server holds, as the JSON export and authors.json read it.
    exported = _get_json(f"{server.http_url}/p/{pad}/export.json")
    authors = {
        (run["attributes"] or {}).get("author") for run in exported["runs"]
        if run["insert"].strip("\n")
    }
    assert authors == {writer}
    listed = _get_json(f"{server.http_url}/p/{pad}/authors.json")["authors"]
    assert listed == [
        {"id": writer, "name": "anonymous", "color": "#475467", "chars": len(
            "Plain text from a stock client.A second line."
        )}
    ]
