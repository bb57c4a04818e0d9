"""The files of deploy/ work as written: nginx in front of three real nodes, Valkey started with
the production valkey.conf, the systemd unit verified by systemd, and compose.yaml consistent
with both (Docker itself is not on the test machine: the compose file is checked, not run)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis
import yaml
from summitpad.embedded_valkey import find_valkey_server

from .support import ROOT, RunningApp, ValkeyProcess, eventually, free_port

DEPLOY = ROOT / "deploy"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
HAVE_NGINX = Path(NGINX).exists()
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
NODE_PORT = 8080  # the port of every node in compose.yaml and the Dockerfile
_UPSTREAM_SERVER = re.compile(r"^(\s*server\s+)(summitpad-\d+):(\d+)(.*)$", re.MULTILINE)


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def _node_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: spec for name, spec in compose["services"].items()
            if name.startswith("summitpad-")}


# -- compose.yaml ---------------------------------------------------------------------------


def test_compose_runs_three_nodes_on_one_valkey_behind_nginx() -> None:
    compose = _compose()
    nodes = _node_services(compose)
    assert sorted(nodes) == ["summitpad-1", "summitpad-2", "summitpad-3"]
    node_ids = {spec["environment"]["SUMMITPAD_NODE_ID"] for spec in nodes.values()}
    assert len(node_ids) == 3, "each node needs its own node id"
    for spec in nodes.values():
        environment = spec["environment"]
        assert environment["SUMMITPAD_REDIS_URL"].endswith("@valkey:6379/0")
        assert spec["depends_on"]["valkey"]["condition"] == "service_healthy"
        assert spec["build"]["dockerfile"] == "deploy/Dockerfile"
    valkey = compose["services"]["valkey"]
    assert "./valkey.conf:/etc/valkey/valkey.conf:ro" in valkey["volumes"]
    assert "/etc/valkey/valkey.conf" in valkey["command"]
    nginx = compose["services"]["nginx"]
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    assert sorted(nginx["depends_on"]) == sorted(nodes)


def test_nginx_sends_to_exactly_the_compose_nodes_on_their_port() -> None:
    upstreams = _UPSTREAM_SERVER.findall((DEPLOY / "nginx.conf").read_text())
    assert sorted(name for _, name, _, _ in upstreams) == sorted(_node_services(_compose()))
    assert {int(port) for _, _, port, _ in upstreams} == {NODE_PORT}
    assert f'"--port", "{NODE_PORT}"' in (DEPLOY / "Dockerfile").read_text()


# -- valkey.conf ----------------------------------------------------------------------------


@pytest.fixture
def production_valkey(tmp_path: Path) -> Iterator[redis.Redis]:
    """valkey-server started with deploy/valkey.conf; only the address and directory differ."""
    port = free_port()
    process = subprocess.Popen(
        [find_valkey_server(), str(DEPLOY / "valkey.conf"),
         "--bind", "127.0.0.1", "--port", str(port), "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_timeout=2, decode_responses=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except (redis.RedisError, OSError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("valkey-server refused deploy/valkey.conf") from None
                time.sleep(0.05)
        yield client
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=30)


def test_the_production_valkey_conf_is_durable_and_never_evicts(
    production_valkey: redis.Redis,
) -> None:
    config = production_valkey.config_get("*")
    assert config["appendonly"] == "yes"
    assert config["appendfsync"] == "always"
    assert config["maxmemory-policy"] == "noeviction"
    assert config["save"], "RDB snapshots for backups"
    assert production_valkey.info("persistence")["aof_enabled"] == 1


# -- the systemd unit -----------------------------------------------------------------------


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    """`systemd-analyze verify` warns about unknown keys and bad values (and exits 0): any
    output is a failure. The binary path is the test's own summitpad."""
    executable = shutil.which("summitpad") or str(Path(ROOT / ".venv/bin/summitpad"))
    unit = (DEPLOY / "summitpad@.service").read_text()
    assert "ExecStart=/opt/summitpad/venv/bin/summitpad serve" in unit
    unit = unit.replace("/opt/summitpad/venv/bin/summitpad", executable)
    unit = unit.replace("EnvironmentFile=/", "EnvironmentFile=-/")  # not on the test machine
    (tmp_path / "summitpad@.service").write_text(unit)
    assert SYSTEMD_ANALYZE is not None
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", str(tmp_path / "summitpad@8081.service")],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), \
        result.stdout + result.stderr


# -- nginx in front of three nodes ----------------------------------------------------------


def _local_nginx_conf(directory: Path, listen: int, nodes: list[int]) -> Path:
    """deploy/nginx.conf with the compose names replaced by loopback ports, and the paths
    nginx writes moved into `directory` (nothing else is changed)."""
    text = (DEPLOY / "nginx.conf").read_text()
    ports = iter(nodes)
    text = _UPSTREAM_SERVER.sub(lambda m: f"{m[1]}127.0.0.1:{next(ports)}{m[4]}", text)
    text = text.replace("listen 80;", f"listen 127.0.0.1:{listen};")
    text = text.replace("listen [::]:80;\n", "")
    text = text.replace("pid /var/run/nginx.pid;", f"pid {directory}/nginx.pid;")
    text = text.replace("access_log /dev/stdout;", f"access_log {directory}/access.log;")
    temp_paths = "".join(
        f"    {kind}_temp_path {directory}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    text = text.replace("http {\n", "http {\n" + temp_paths, 1)
    path = directory / "nginx.conf"
    path.write_text(text)
    return path


@pytest.fixture
async def nodes_behind_nginx(tmp_path: Path, start_app: Any) -> Any:
    async with _behind_nginx(tmp_path, start_app) as started:
        yield started


@contextlib.asynccontextmanager
async def _behind_nginx(
    tmp_path: Path, start_app: Any, **settings: Any
) -> AsyncIterator[tuple[str, list[RunningApp]]]:
    """Three nodes started with `settings`, and deploy/nginx.conf in front of them."""
    if not HAVE_NGINX:
        pytest.skip(f"{NGINX} is missing: `make nginx` installs Debian's nginx")
    listen = free_port()
    public_url = f"http://127.0.0.1:{listen}"
    nodes: list[RunningApp] = [
        await start_app(public_url=public_url, **settings) for _ in range(3)
    ]
    conf = _local_nginx_conf(tmp_path, listen, [node.server.port or 0 for node in nodes])
    process = await asyncio.create_subprocess_exec(
        NGINX, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off; user root;",
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with aiohttp.ClientSession() as probe:
            async def up() -> bool:
                try:
                    async with probe.get(public_url + "/healthz") as response:
                        return response.status == 200
                except aiohttp.ClientError:
                    assert process.returncode is None, "nginx refused deploy/nginx.conf"
                    return False
            await eventually(up, within=20, interval=0.1)
        yield public_url, nodes
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 20)


async def _connections(http: aiohttp.ClientSession, node: RunningApp) -> int:
    async with http.get(node.http_url + "/metrics") as response:
        found = re.search(r"^summitpad_connections (\S+)$", await response.text(), re.MULTILINE)
    assert found is not None
    return int(float(found[1]))


async def test_pads_sync_through_nginx_across_the_nodes(
    nodes_behind_nginx: Any, connect: Any, http: aiohttp.ClientSession,
) -> None:
    public_url, nodes = nodes_behind_nginx
    ws_url = public_url.replace("http", "ws", 1) + "/ws"
    clients = [await connect(ws_url, "through-nginx") for _ in range(6)]
    for index, client in enumerate(clients):
        await client.edit(lambda text, index=index: text.insert(len(text), f"[{index}]"))
    await eventually(lambda: all(
        all(f"[{i}]" in str(c.text) for i in range(6)) for c in clients
    ))
    held = [await _connections(http, node) for node in nodes]
    assert sum(held) == 6 and sum(1 for count in held if count) >= 2, held  # spread out
    # A browser's websocket upgrade carries the public URL as its Origin: accepted; a
    # foreign origin is refused by the node behind the proxy.
    async with http.ws_connect(ws_url + "/through-nginx",
                               headers={"Origin": public_url}) as socket:
        message = await socket.receive(timeout=10)
        assert message.type == aiohttp.WSMsgType.BINARY
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(ws_url + "/through-nginx", headers={"Origin": "https://evil.example"})
    assert refused.value.status == 403


async def test_nginx_skips_a_node_that_is_down(
    nodes_behind_nginx: Any, connect: Any, http: aiohttp.ClientSession,
) -> None:
    public_url, nodes = nodes_behind_nginx
    await asyncio.wait_for(nodes[0].server.close(), 10)
    for attempt in range(6):  # least_conn with a node refusing: every try lands elsewhere
        async with http.get(f"{public_url}/healthz?try={attempt}") as response:
            assert response.status == 200
    ws_url = public_url.replace("http", "ws", 1) + "/ws"
    first = await connect(ws_url, "node-down")
    second = await connect(ws_url, "node-down")
    await first.edit(lambda text: text.insert(0, "still here"))
    await eventually(lambda: str(second.text) == "still here")


async def test_nginx_keeps_every_node_while_valkey_is_away(
    own_valkey: ValkeyProcess, tmp_path: Path, start_app: Any, connect: Any,
    http: aiohttp.ClientSession,
) -> None:
    """The nodes answer 503 for what needs Valkey while it is away: nginx must not count that
    as a node failing (it would take every node out, and answer 502 to the browsers coming
    back with the edits they hold)."""
    async with _behind_nginx(tmp_path, start_app, redis_url=own_valkey.url) as (public_url,
                                                                                  _nodes):
        ws_url = public_url.replace("http", "ws", 1) + "/ws"
        typist = await connect(ws_url, "valkey-away")
        own_valkey.kill()
        statuses = []
        for attempt in range(9):
            async with http.get(f"{public_url}/readyz?try={attempt}") as response:
                statuses.append(response.status)
        assert statuses == [503] * 9  # each node's own answer, not nginx's 502
        async with http.get(f"{public_url}/healthz") as response:
            assert response.status == 200
        for _ in range(3):  # browsers coming back reach a node: it serves the pad if it has
            # it live, else asks them to come back later (1013); never nginx's 502
            async with http.ws_connect(ws_url + "/valkey-away") as socket:
                message = await socket.receive(timeout=10)
                assert message.type is aiohttp.WSMsgType.BINARY or (
                    message.type is aiohttp.WSMsgType.CLOSE and socket.close_code == 1013
                ), message
        await typist.edit(lambda text: text.insert(0, "held"))
        await asyncio.to_thread(own_valkey.start)
        await eventually(lambda: typist.saved, within=20)
