"""Bad input over the websocket: a clear close code, a log line, and nothing else disturbed."""

from __future__ import annotations

import asyncio
import logging
import socket

import aiohttp
import pytest
from summitpad import protocol
from summitpad.errors import (
    CLOSE_BAD_MESSAGE,
    CLOSE_MESSAGE_TOO_BIG,
    CLOSE_RATE_LIMITED,
    CLOSE_UNSUPPORTED_DATA,
    CLOSE_UPDATE_REJECTED,
)

from .support import RunningApp, eventually

VALID_UPDATE_PREFIX = b"\x00\x02"


async def raw_socket(http: aiohttp.ClientSession, app: RunningApp, pad_id: str):
    ws = await http.ws_connect(f"{app.ws_url}/{pad_id}", max_msg_size=0)
    await ws.send_bytes(protocol.encode_step1(b"\x00"))
    return ws


async def close_code_after(ws: aiohttp.ClientWebSocketResponse, payload: bytes | str) -> int:
    if isinstance(payload, str):
        await ws.send_str(payload)
    else:
        await ws.send_bytes(payload)
    async for _ in ws:
        pass
    assert ws.close_code is not None
    return ws.close_code


BAD_FRAMES = {
    "empty frame": b"",
    "unknown message type": b"\x07",
    "unknown sync type": b"\x00\x05\x00",
    "truncated update": b"\x00\x02\x10abc",
    "truncated varuint": b"\x00\x02\xff",
    "trailing bytes": protocol.encode_update(b"\x00\x00") + b"junk",
    "awareness that is not JSON": protocol.encode_awareness(b"\x01\x05\x01\x03{x}"),
    "truncated awareness": protocol.encode_awareness(b"\x02\x05\x01\x02{}"),
}


@pytest.mark.parametrize("frame", BAD_FRAMES.values(), ids=BAD_FRAMES.keys())
async def test_malformed_frames_close_with_4400_and_spare_the_pad(
    app: RunningApp, http, connect, frame: bytes, caplog
):
    bystander = await connect(app.ws_url, "bad-frames")
    await bystander.edit(lambda t: t.insert(0, "still here"))
    await eventually(lambda: bystander.saved)

    caplog.set_level(logging.INFO, logger="summitpad")
    ws = await raw_socket(http, app, "bad-frames")
    assert await close_code_after(ws, frame) == CLOSE_BAD_MESSAGE
    assert any("closing" in r.message for r in caplog.records)

    await bystander.edit(lambda t: t.insert(len(t), ", and editing"))
    await eventually(lambda: bystander.saved)
    late = await connect(app.ws_url, "bad-frames")
    assert str(late.text) == "still here, and editing"


async def test_an_update_that_does_not_apply_closes_4422_and_is_not_logged(
    app: RunningApp, http, connect, redis_client, key_prefix
):
    bystander = await connect(app.ws_url, "bad-update")
    await bystander.edit(lambda t: t.insert(0, "fine"))
    await eventually(lambda: bystander.saved)
    log_key = f"{key_prefix}:{{pad:bad-update}}:log"
    entries_before = await redis_client.xlen(log_key)

    ws = await raw_socket(http, app, "bad-update")
    garbage = protocol.encode_update(b"\x01\x02garbage that is no update")
    assert await close_code_after(ws, garbage) == CLOSE_UPDATE_REJECTED

    assert await redis_client.xlen(log_key) == entries_before
    await bystander.edit(lambda t: t.insert(4, "!"))
    await eventually(lambda: bystander.saved)
    assert str(bystander.text) == "fine!"


async def test_text_frames_close_with_1003(app: RunningApp, http):
    ws = await raw_socket(http, app, "text-frames")
    assert await close_code_after(ws, "hello") == CLOSE_UNSUPPORTED_DATA


async def test_messages_over_the_size_limit_close_with_1009(start_app, http, connect):
    app = await start_app(max_message_size=10_000)
    bystander = await connect(app.ws_url, "too-big")
    ws = await raw_socket(http, app, "too-big")
    assert await close_code_after(ws, protocol.encode_update(b"\x00" * 20_000)) == (
        CLOSE_MESSAGE_TOO_BIG
    )
    await bystander.edit(lambda t: t.insert(0, "unaffected"))
    await eventually(lambda: bystander.saved)


async def test_a_flood_closes_the_flooder_only(start_app, http, connect):
    app = await start_app(messages_per_second=20.0, message_burst=40)
    calm = await connect(app.ws_url, "flood")
    flooder = await connect(app.ws_url, "flood")
    for i in range(200):
        if flooder.ws.closed:
            break
        await flooder.edit(lambda t, i=i: t.insert(0, "x"))
    await eventually(lambda: flooder.ws.closed)
    assert flooder.ws.close_code == CLOSE_RATE_LIMITED

    await calm.edit(lambda t: t.insert(0, "calm "))
    await eventually(lambda: calm.saved)
    assert str(calm.text).startswith("calm ")


@pytest.mark.parametrize("pad_id", ["a" * 101, "has space", "semi;colon", "ünicode", "a{b}"])
async def test_invalid_pad_ids_get_a_404_page(app: RunningApp, http, pad_id: str):
    async with http.get(f"{app.http_url}/p/{pad_id}") as page:
        assert page.status == 404
        body = await page.text()
        assert "not a pad id" in body and "Traceback" not in body
        assert "<script" not in body
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(f"{app.ws_url}/{pad_id}")
    assert refused.value.status == 404


async def test_cross_site_websocket_upgrades_are_refused(app: RunningApp, http):
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(f"{app.ws_url}/origin", headers={"Origin": "https://evil.example"})
    assert refused.value.status == 403
    same_site = await http.ws_connect(f"{app.ws_url}/origin", headers={"Origin": app.http_url})
    await same_site.close()


async def test_a_client_that_never_reads_is_disconnected(start_app, connect, caplog):
    app = await start_app(send_buffer_limit=64 * 1024, message_burst=10_000)
    writer = await connect(app.ws_url, "slow")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", app.server.port))
    sock.sendall(
        b"GET /ws/slow HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
        + frame_from_client(protocol.encode_step1(b"\x00"))
    )
    caplog.set_level(logging.WARNING, logger="summitpad")
    # This client never reads: the server's queue to it grows until the server gives up on it.
    chunk = "x" * 20_000
    for _ in range(300):
        await writer.edit(lambda t: t.insert(0, chunk))
        if any("send queue over" in r.message for r in caplog.records):
            break
        await asyncio.sleep(0.001)
    await eventually(lambda: any("send queue over" in r.message for r in caplog.records))
    await eventually(lambda: writer.saved, within=20)

    def connection_gone() -> bool:
        try:
            while data := sock.recv(1 << 20):
                del data
            return True  # end of stream
        except BlockingIOError:
            return False
        except ConnectionResetError:
            return True

    sock.setblocking(False)
    await eventually(connection_gone, within=15)
    sock.close()
    await writer.edit(lambda t: t.insert(0, "after"))
    await eventually(lambda: writer.saved)


def frame_from_client(message: bytes) -> bytes:
    """A masked client frame (a zero mask keeps the payload as it is)."""
    assert len(message) < 126
    return bytes((0x82, 0x80 | len(message))) + b"\0\0\0\0" + message


async def test_large_messages_count_against_the_rate_by_their_size(start_app, http, connect):
    app = await start_app(messages_per_second=1.0, message_burst=100)
    calm = await connect(app.ws_url, "heavy")
    ws = await raw_socket(http, app, "heavy")
    # Each message of ~200 KB costs 13 tokens: the ninth exceeds a burst of 100 messages.
    state = b'"' + b"x" * 200_000 + b'"'
    for clock in range(1, 21):
        if ws.closed:
            break
        entry = protocol.AwarenessEntry(4242, clock, state)
        await ws.send_bytes(protocol.encode_awareness(protocol.encode_awareness_entries([entry])))
    async for _ in ws:
        pass
    assert ws.close_code == CLOSE_RATE_LIMITED
    await calm.edit(lambda t: t.insert(0, "unaffected"))
    await eventually(lambda: calm.saved)
