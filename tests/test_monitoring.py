"""Health, readiness, Prometheus metrics and JSON logs: what operators watch a node with."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
import subprocess
import sys

import aiohttp
import pytest
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families
from summitpad import protocol
from summitpad.errors import CLOSE_BAD_MESSAGE, CLOSE_MESSAGE_TOO_BIG
from summitpad.logs import JsonFormatter
from summitpad.metrics import Metrics

from .support import RunningApp, ValkeyProcess, eventually, free_port, subprocess_env
from .test_bad_input import close_code_after, frame_from_client, raw_socket

PROBES = ("/healthz", "/readyz", "/metrics")


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, str, aiohttp.ClientResponse]:
    async with http.get(url) as response:
        return response.status, await response.text(), response


async def scrape(http: aiohttp.ClientSession, app: RunningApp) -> dict[str, float]:
    """Every sample of /metrics, keyed `name` or `name{label="value",...}`."""
    status, text, response = await get(http, app.http_url + "/metrics")
    assert status == 200
    assert response.content_type == "text/plain"
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


# -- probes (see also test_health.py) -----------------------------------------------------------


@pytest.mark.parametrize("path", PROBES)
async def test_probes_set_no_cookie_and_need_no_csrf(app: RunningApp, path: str):
    # A fresh session each time: no participant cookie to send back, so one would be set.
    async with aiohttp.ClientSession() as fresh, fresh.get(app.http_url + path) as response:
        assert response.status == 200
        assert "Set-Cookie" not in response.headers
        assert not fresh.cookie_jar.filter_cookies(response.url)
    # A login cookie is not looked up (elsewhere a stale one is looked up, then cleared).
    stale = {"Cookie": "sp_login=stale"}
    async with aiohttp.ClientSession() as fresh, fresh.get(app.http_url + path, headers=stale) as r:
        assert r.status == 200
        assert "Set-Cookie" not in r.headers
    async with aiohttp.ClientSession() as fresh, fresh.post(app.http_url + path) as response:
        assert response.status == 405  # GET only: no form to forge


async def test_readyz_gives_valkey_a_second_to_answer(
    tmp_path, start_app, http: aiohttp.ClientSession
):
    valkey = ValkeyProcess(tmp_path / "valkey")
    valkey.start()
    pauser = aioredis.Redis(unix_socket_path=str(valkey.socket))
    try:
        app = await start_app(redis_url=valkey.url)
        await pauser.execute_command("CLIENT", "PAUSE", 1500, "ALL")  # PING hangs meanwhile
        started = asyncio.get_running_loop().time()
        status, text, _ = await get(http, app.http_url + "/readyz")
        assert (status, text) == (503, "not ready: Valkey/Redis does not answer within 1 s\n")
        assert asyncio.get_running_loop().time() - started < 2.0

        async def ready() -> bool:
            return (await get(http, app.http_url + "/readyz"))[0] == 200

        await eventually(ready, within=15)
    finally:
        await pauser.aclose()
        valkey.stop()


# -- metrics ------------------------------------------------------------------------------------


def test_each_metrics_object_has_a_registry_of_its_own():
    one, two = Metrics(), Metrics()
    one.updates_in.inc(3)
    one.closed_with(4400)
    one.closed_with(1001)  # shutting down: no error
    assert one.registry.get_sample_value("summitpad_updates_in_total") == 3
    assert two.registry.get_sample_value("summitpad_updates_in_total") == 0
    errors = "summitpad_connection_errors_total"
    assert one.registry.get_sample_value(errors, {"code": "4400"}) == 1
    assert one.registry.get_sample_value(errors, {"code": "1001"}) is None
    one.closed_with(4999)  # a code nobody bound in advance is counted all the same
    assert one.registry.get_sample_value(errors, {"code": "4999"}) == 1


async def test_metrics_count_connections_and_edits(app: RunningApp, http, connect):
    before = await scrape(http, app)
    assert before["summitpad_connections"] == 0
    assert before["summitpad_live_pads"] == 0
    assert before["summitpad_updates_in_total"] == 0

    alice = await connect(app.ws_url, "metered")
    bob = await connect(app.ws_url, "metered")
    await alice.edit(lambda t: t.insert(0, "hello"))
    await eventually(lambda: alice.saved and str(bob.text) == "hello")
    await bob.edit(lambda t: t.insert(5, " world"))
    await eventually(lambda: bob.saved and str(alice.text) == "hello world")

    after = await scrape(http, app)
    assert after["summitpad_connections"] == 2
    assert after["summitpad_live_pads"] == 1
    assert after["summitpad_updates_in_total"] == 2
    assert after["summitpad_updates_out_total"] >= 2
    assert after["summitpad_broadcast_bytes_total"] > 2 * len("hello world")
    assert after["summitpad_edit_fanout_seconds_count"] == 2
    assert 0 < after["summitpad_edit_fanout_seconds_sum"] < 10
    assert after["summitpad_valkey_write_seconds_count"] >= 2
    assert after['summitpad_edit_fanout_seconds_bucket{le="+Inf"}'] == 2

    await alice.close()
    await bob.close()

    async def gone() -> bool:
        return (await scrape(http, app))["summitpad_connections"] == 0

    await eventually(gone)


async def test_metrics_count_compactions(start_app, http, connect):
    app = await start_app(compact_after=3)
    client = await connect(app.ws_url, "folded")
    for i in range(8):
        await client.edit(lambda t, i=i: t.insert(0, str(i)))
        await eventually(lambda: client.saved)

    async def compacted() -> bool:
        return (await scrape(http, app))["summitpad_compactions_total"] >= 1

    await eventually(compacted)


async def test_a_bad_message_counts_one_error_by_its_code_and_logs_once(
    app: RunningApp, http, caplog
):
    caplog.set_level(logging.INFO, logger="summitpad")
    ws = await raw_socket(http, app, "bad-metered")
    assert await close_code_after(ws, b"\x07") == CLOSE_BAD_MESSAGE
    samples = await scrape(http, app)
    assert samples['summitpad_connection_errors_total{code="4400"}'] == 1
    assert samples["summitpad_send_queue_drops_total"] == 0
    closes = [r for r in caplog.records if "closing" in r.message or "closed" in r.message]
    assert len(closes) == 1, [r.message for r in closes]
    assert getattr(closes[0], "close_code", None) == CLOSE_BAD_MESSAGE
    assert "(4400)" in closes[0].message


async def test_an_oversized_message_counts_and_logs_once(start_app, http, caplog):
    app = await start_app(max_message_size=1000)
    caplog.set_level(logging.INFO, logger="summitpad")
    ws = await raw_socket(http, app, "too-big-metered")
    code = await close_code_after(ws, protocol.encode_update(b"\x00" * 2000))
    assert code == CLOSE_MESSAGE_TOO_BIG
    samples = await scrape(http, app)
    assert samples['summitpad_connection_errors_total{code="1009"}'] == 1
    closes = [r for r in caplog.records if "closing" in r.message or "closed" in r.message]
    assert len(closes) == 1, [r.message for r in closes]
    assert "message over 1000 bytes (1009)" in closes[0].message


async def test_a_client_too_slow_to_read_counts_as_a_send_queue_drop(start_app, http, connect):
    app = await start_app(send_buffer_limit=64 * 1024, message_burst=10_000)
    writer = await connect(app.ws_url, "slow-metered")
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", app.server.port))
        sock.sendall(
            b"GET /ws/slow-metered HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
            + frame_from_client(protocol.encode_step1(b"\x00"))
        )
        chunk = "x" * 20_000
        drops = "summitpad_send_queue_drops_total"
        for _ in range(300):  # this client never reads: its queue grows past the limit
            await writer.edit(lambda t: t.insert(0, chunk))
            if (await scrape(http, app))[drops]:
                break
        samples = await scrape(http, app)
        assert samples[drops] == 1
        assert samples['summitpad_connection_errors_total{code="4508"}'] == 1


# -- logs ---------------------------------------------------------------------------------------


def test_the_json_formatter_writes_one_object_per_record():
    logger = logging.getLogger("summitpad.test")
    record = logger.makeRecord(
        "summitpad.test", logging.WARNING, __file__, 1, "closing %s: %s", ("peer", "bad\nline"),
        None, extra={"close_code": 4400, "peer": "1.2.3.4 pad x"},
    )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "summitpad.test"
    assert entry["message"] == "closing peer: bad\nline"
    assert entry["close_code"] == 4400 and entry["peer"] == "1.2.3.4 pad x"
    assert entry["time"].endswith("+00:00")
    assert not {"args", "msg", "levelno", "pathname"} & set(entry)

    try:
        raise ValueError("boom")
    except ValueError:
        failed = logger.makeRecord(
            "summitpad.test", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    entry = json.loads(JsonFormatter().format(failed))
    assert "ValueError: boom" in entry["exception"]


async def test_serve_logs_json_lines(valkey: ValkeyProcess, key_prefix: str, tmp_path, http):
    port = free_port()
    log_file = tmp_path / "serve.log"
    with log_file.open("w") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "summitpad", "serve", "--log-format", "json",
            "--redis-url", valkey.url, "--key-prefix", key_prefix, "--port", str(port),
            env=subprocess_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:

        async def ready() -> bool:
            assert process.returncode is None, log_file.read_text()
            try:
                return (await get(http, url + "/readyz"))[0] == 200
            except aiohttp.ClientConnectionError:
                return False

        await eventually(ready, within=30)
        ws = await http.ws_connect(f"ws://127.0.0.1:{port}/ws/json-logs")
        assert await close_code_after(ws, b"\x07") == CLOSE_BAD_MESSAGE
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    entries = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert entries, "nothing logged"
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= set(entry)
    assert any(e["message"].startswith("summitpad ") for e in entries)
    (closed,) = [e for e in entries if e.get("close_code") == CLOSE_BAD_MESSAGE]
    assert closed["level"] == "INFO" and "json-logs" in closed["peer"]
    assert any(e["message"] == "shutting down" for e in entries)
