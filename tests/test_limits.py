"""Every limit of docs/limits.md on the real app and a real Valkey: hitting it gets its close
code or error, the connections and participants around it carry on, and nothing of what was
refused reaches the pad log."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from pycrdt import Doc, Text
from summitpad import chat, errors, protocol
from summitpad.api_v1 import MAX_BODY
from summitpad.app_keys import REGISTRY, SUMMITS
from summitpad.client import PadClient
from summitpad.errors import (
    CLOSE_MESSAGE_TOO_BIG,
    CLOSE_PAD_TOO_LARGE,
    CLOSE_RATE_LIMITED,
    CLOSE_SLOW_CONSUMER,
    CLOSE_TOO_MANY_CONNECTIONS,
)
from summitpad.keys import pad_keys
from summitpad.pad_import import MAX_BYTES as IMPORT_MAX_BYTES
from summitpad.pad_size import PadSize
from summitpad.protocol import SyncType
from summitpad.schedule_import import MAX_BYTES as SCHEDULE_MAX_BYTES
from summitpad.settings import Settings
from summitpad.web_security import ACCOUNTS

from .chat_clients import participant
from .summit_fixtures import Browser, add_people, seed_summit, stored_text
from .support import ROOT, RunningApp, eventually

StartApp = Callable[..., Awaitable[RunningApp]]
Connect = Callable[..., Awaitable[PadClient]]
LIMITS_DOC = ROOT / "docs" / "limits.md"


async def closed_with(ws: aiohttp.ClientWebSocketResponse) -> tuple[int | None, str]:
    """Read until the server closes `ws` (within 10 s): its close code and reason."""
    reason = ""
    async with asyncio.timeout(10):
        while True:
            msg = await ws.receive()
            if msg.type is aiohttp.WSMsgType.CLOSE:
                reason = str(msg.extra or "")
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                            aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.ERROR):
                break
    await ws.close()
    return ws.close_code, reason


async def step2s(ws: aiohttp.ClientWebSocketResponse, count: int) -> None:
    """Read until `count` sync step 2s came: the server has handled the step 1s before."""
    seen = 0
    async with asyncio.timeout(10):
        while seen < count:
            msg = await ws.receive()
            assert msg.type is aiohttp.WSMsgType.BINARY, msg
            decoded = protocol.decode_message(msg.data)
            if isinstance(decoded, protocol.SyncMessage) and decoded.kind is SyncType.STEP2:
                seen += 1


async def log_entries(client: aioredis.Redis, prefix: str, pad_id: str) -> list[bytes]:
    """The updates in the pad's log, as stored."""
    entries = await client.xrange(pad_keys(prefix, pad_id).log)
    return [bytes(fields[b"u"]) for _, fields in entries]


async def raw_socket(
    http: aiohttp.ClientSession, app: RunningApp, pad_id: str
) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(f"{app.ws_url}/{pad_id}", max_msg_size=0)
    await ws.send_bytes(protocol.encode_step1(b"\x00"))
    return ws


def update_inserting(text: str) -> bytes:
    """A Yjs update that inserts `text` into an empty pad, from a client of its own."""
    doc: Doc[Any] = Doc()
    doc.get("content", type=Text).insert(0, text)
    return doc.get_update()


@pytest.fixture
async def browsers() -> AsyncIterator[Callable[[RunningApp], Awaitable[Browser]]]:
    opened: list[Browser] = []

    async def open_browser(app: RunningApp) -> Browser:
        browser = Browser(app.http_url)
        opened.append(browser)
        await browser.get("/")  # the participant cookie
        return browser

    yield open_browser
    for browser in opened:
        await browser.close()


async def post_import(browser: Browser, pad_id: str, text: str) -> tuple[int, Any]:
    form = aiohttp.FormData()
    form.add_field("csrf", await browser.csrf())
    form.add_field("mode", "cursor")
    form.add_field("text", text)
    form.add_field("format", "txt")
    async with browser.http.post(f"{browser.url}/p/{pad_id}/import", data=form,
                                 headers={"Accept": "application/json"}) as response:
        return response.status, await response.json()


# -- per connection ---------------------------------------------------------------------------


async def test_a_message_over_max_message_size_closes_1009_and_spares_the_pad(
    start_app: StartApp, http: aiohttp.ClientSession, connect: Connect,
    redis_client: aioredis.Redis, key_prefix: str,
) -> None:
    app = await start_app(max_message_size=10_000)
    bystander = await connect(app.ws_url, "big-message")
    ws = await raw_socket(http, app, "big-message")
    await ws.send_bytes(protocol.encode_update(update_inserting("<big>" + "x" * 20_000)))
    code, _ = await closed_with(ws)
    assert code == CLOSE_MESSAGE_TOO_BIG
    await bystander.edit(lambda t: t.insert(0, "unaffected"))
    await eventually(lambda: bystander.saved)
    assert not any(b"<big>" in u for u in await log_entries(redis_client, key_prefix,
                                                             "big-message"))


async def test_a_connection_over_its_rate_closes_4529_naming_the_connection(
    start_app: StartApp, http: aiohttp.ClientSession, connect: Connect,
) -> None:
    app = await start_app(messages_per_second=0.01, message_burst=20)
    calm = await connect(app.ws_url, "conn-rate")
    ws = await raw_socket(http, app, "conn-rate")  # its step 1 is the first of 20 messages
    for _ in range(30):
        await ws.send_bytes(protocol.encode_awareness(b"\x00"))
    code, reason = await closed_with(ws)
    assert code == CLOSE_RATE_LIMITED
    assert "per-connection" in reason
    await calm.edit(lambda t: t.insert(0, "calm"))
    await eventually(lambda: calm.saved)


async def test_a_client_that_never_reads_is_closed_4508(
    start_app: StartApp, connect: Connect, caplog: pytest.LogCaptureFixture,
) -> None:
    app = await start_app(send_buffer_limit=64 * 1024, message_burst=10_000)
    writer = await connect(app.ws_url, "never-reads")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", app.server.port))
    step1 = protocol.encode_step1(b"\x00")
    sock.sendall(
        b"GET /ws/never-reads HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
        + bytes((0x82, 0x80 | len(step1))) + b"\0\0\0\0" + step1  # masked with a zero mask
    )
    caplog.set_level(logging.WARNING, logger="summitpad")
    chunk = "x" * 20_000
    for _ in range(300):
        await writer.edit(lambda t: t.insert(0, chunk))
        if any("send queue over" in r.message for r in caplog.records):
            break
        await asyncio.sleep(0.001)
    await eventually(lambda: any("send queue over" in r.message for r in caplog.records))

    # Everything queued before it, then the close frame: 4508, "too slow".
    close_frame = b"\x88" + bytes((2 + len(b"too slow"),)) + CLOSE_SLOW_CONSUMER.to_bytes(2, "big")
    sock.setblocking(False)
    received = bytearray()

    def drained() -> bool:
        try:
            while data := sock.recv(1 << 20):
                received.extend(data)
            return True
        except BlockingIOError:
            return close_frame + b"too slow" in received
        except ConnectionResetError:
            return True

    await eventually(drained, within=4)  # the connection is cut 5 s after the close frame
    sock.close()
    assert close_frame + b"too slow" in received
    await writer.edit(lambda t: t.insert(0, "after"))
    await eventually(lambda: writer.saved)


# -- per participant --------------------------------------------------------------------------


async def test_one_participant_over_its_rate_closes_4529_whatever_its_connections(
    start_app: StartApp, connect: Connect, redis_client: aioredis.Redis, key_prefix: str,
) -> None:
    # A participant's bucket holds 16 messages and hardly refills; a connection's is large.
    app = await start_app(
        participant_messages_per_second=0.01, participant_message_burst=16,
        messages_per_second=100.0, message_burst=1000,
    )
    other = await connect(app.ws_url, "pp-rate-a")  # no cookie: a participant of its own
    async with participant(app) as ann:
        # Three tabs on two pads: each connection costs 2 messages (its step 1, its step 2).
        tabs = [await ann.connect(pad, join=False)
                for pad in ("pp-rate-a", "pp-rate-a", "pp-rate-b")]
        clients = [tab.client for tab in tabs]
        for n in range(10):  # 6 + 10 = 16: every one of these goes in, 3 or 4 per connection
            client = clients[n % 3]
            await client.edit(lambda t, n=n: t.insert(len(t), f"<ok{n}>"))
            await eventually(lambda client=client: client.saved)
        refused = clients[10 % 3]
        await refused.edit(lambda t: t.insert(len(t), "<refused>"))
        await eventually(lambda: refused.ws.closed)
        assert refused.ws.close_code == CLOSE_RATE_LIMITED
        assert all(not c.ws.closed for c in clients if c is not refused)

        # Another participant on the same pad and node is not touched.
        await other.edit(lambda t: t.insert(0, "<other>"))
        await eventually(lambda: other.saved)

    logged = b"".join(await log_entries(redis_client, key_prefix, "pp-rate-a"))
    logged += b"".join(await log_entries(redis_client, key_prefix, "pp-rate-b"))
    assert b"<refused>" not in logged
    assert all(f"<ok{n}>".encode() in logged for n in range(10))
    assert b"<other>" in logged


async def test_the_participant_rate_reason_names_the_participant(
    start_app: StartApp,
) -> None:
    app = await start_app(participant_messages_per_second=0.01, participant_message_burst=10)
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.get(f"{app.http_url}/p/pp-reason") as page:
            assert page.status == 200
        first = await raw_socket(http, app, "pp-reason")
        second = await raw_socket(http, app, "pp-reason")
        await step2s(second, 1)
        for _ in range(8):  # with the two step 1s, the participant's 10 messages
            await first.send_bytes(protocol.encode_step1(b"\x00"))
        await step2s(first, 9)
        await second.send_bytes(protocol.encode_step1(b"\x00"))  # its second message only
        code, reason = await closed_with(second)
        assert code == CLOSE_RATE_LIMITED
        assert "per-participant" in reason
        assert not first.closed
        await first.close()


async def test_a_participant_past_its_connections_is_refused_4429(
    start_app: StartApp, connect: Connect,
) -> None:
    app = await start_app(max_connections_per_participant=3)
    async with participant(app) as ann, participant(app) as bob:
        tabs = [await ann.connect(pad, join=False) for pad in ("conns-a", "conns-a", "conns-b")]
        one_too_many = await ann.http.ws_connect(f"{app.ws_url}/conns-b")
        code, reason = await closed_with(one_too_many)
        assert code == CLOSE_TOO_MANY_CONNECTIONS
        assert "connections open on this node" in reason
        assert all(not tab.client.ws.closed for tab in tabs)

        # Another participant (another cookie) still connects, and so does a client without
        # any cookie, each time as a participant of its own: the load generator's clients.
        on_bob = await bob.connect("conns-a", join=False)
        cookieless = [await connect(app.ws_url, "conns-a") for _ in range(5)]
        await cookieless[-1].edit(lambda t: t.insert(0, "still open"))
        await eventually(lambda: str(on_bob.client.text) == "still open")

        # A closed tab frees its place.
        await tabs[0].client.close()
        again = await ann.connect("conns-b", join=False)
        assert not again.client.ws.closed


async def test_many_tabs_and_a_projector_of_one_browser_fit_the_default() -> None:
    settings = Settings()
    assert settings.max_connections_per_participant >= 10
    assert settings.participant_messages_per_second >= 3 * settings.messages_per_second
    assert settings.participant_message_burst >= 3 * settings.message_burst


# -- per pad ----------------------------------------------------------------------------------


async def test_an_update_past_max_pad_size_closes_4413_and_is_not_logged(
    start_app: StartApp, connect: Connect, http: aiohttp.ClientSession,
    redis_client: aioredis.Redis, key_prefix: str, browsers: Callable[..., Awaitable[Browser]],
) -> None:
    app = await start_app(max_pad_size=30_000)
    bystander = await connect(app.ws_url, "full")
    writer = await connect(app.ws_url, "full")
    n = 0
    while not writer.ws.closed and n < 20:
        await writer.edit(lambda t, n=n: t.insert(len(t), f"<chunk{n}>" + "x" * 4000))
        await eventually(lambda: writer.saved or writer.ws.closed)
        n += 1
    assert writer.ws.closed and writer.ws.close_code == CLOSE_PAD_TOO_LARGE
    refused = f"<chunk{n - 1}>".encode()
    logged = b"".join(await log_entries(redis_client, key_prefix, "full"))
    assert refused not in logged
    assert f"<chunk{n - 2}>".encode() in logged
    pad = app.app[REGISTRY].live("full")
    assert pad is not None and pad.size.bytes <= 30_000

    # The others stay connected and see nothing of it.
    assert not bystander.ws.closed
    await asyncio.sleep(0.1)
    assert refused.decode() not in str(bystander.text)

    # An import that would take the pad past the limit: 413, nothing imported.
    browser = await browsers(app)
    status, body = await post_import(browser, "full", "<imported>" + "y" * 20_000)
    assert status == 413
    assert "limit" in body["error"]["detail"]
    logged = b"".join(await log_entries(redis_client, key_prefix, "full"))
    assert b"<imported>" not in logged
    await asyncio.sleep(0.1)
    assert "<imported>" not in str(bystander.text) and not bystander.ws.closed

    # Deleting goes in at the limit; once the pad is measured again, so does new text.
    await bystander.edit(lambda t: t.__delitem__(slice(0, len(t))))
    await eventually(lambda: bystander.saved)
    await asyncio.sleep(1.1)  # the writer measures a pad at most once a second
    await bystander.edit(lambda t: t.insert(0, "room again"))
    await eventually(lambda: bystander.saved)
    assert not bystander.ws.closed
    status, _ = await post_import(browser, "full", "<small import>")
    assert status == 200
    text = await stored_text(redis_client, key_prefix, "full")
    assert "room again" in text and "<small import>" in text and "<imported>" not in text


async def test_the_pad_size_is_tracked_not_encoded_per_update() -> None:
    size = PadSize(limit=1000)
    encodes: list[int] = []

    def encode() -> bytes:
        encodes.append(1)
        return b"x" * 100

    for _ in range(9):  # fits by the estimate: never measured
        size.refresh(100, encode)
        size.grew(100)
    assert encodes == [] and size.bytes == 900
    size.refresh(200, encode)  # over by the estimate: measured once
    assert encodes == [1] and size.bytes == 100
    size.grew(950)
    size.refresh(200, encode)  # measured less than a second ago: the estimate stands
    assert encodes == [1] and not size.fits(200)
    assert size.admits(update_inserting("x"), pending=0) is False
    deletes_only = b"\x00\x01\x01\x05\x00"  # no structs; deletes client 1, clock 5, length 0
    assert size.admits(deletes_only, pending=0) is True


# -- per request ------------------------------------------------------------------------------


async def test_chat_past_its_flood_limit_is_refused_per_participant(app: RunningApp) -> None:
    async with participant(app) as ann, participant(app) as bob:
        tab = await ann.connect("chat-flood")
        for i in range(chat.FLOOD_LIMIT):
            await tab.say(f"ann {i}")
        await eventually(lambda: len(tab.messages) == chat.FLOOD_LIMIT)
        await tab.say("one too many")
        await eventually(lambda: tab.of_kind("refused"))
        assert tab.of_kind("refused")[0]["reason"] == "flood"
        assert not tab.client.ws.closed  # a refusal, not a close
        on_bob = await bob.connect("chat-flood")
        await on_bob.say("bob here")
        await eventually(lambda: "bob here" in tab.texts)


async def test_an_import_past_its_size_is_413(
    app: RunningApp, browsers: Callable[..., Awaitable[Browser]],
    redis_client: aioredis.Redis, key_prefix: str,
) -> None:
    browser = await browsers(app)
    form = aiohttp.FormData()
    form.add_field("csrf", await browser.csrf())
    form.add_field("file", b"x" * (IMPORT_MAX_BYTES + 1), filename="big.txt",
                   content_type="text/plain")
    async with browser.http.post(f"{app.http_url}/p/big-import/import", data=form,
                                 headers={"Accept": "application/json"}) as response:
        assert response.status == 413
        assert "can be imported at once" in (await response.json())["error"]["detail"]
    assert await log_entries(redis_client, key_prefix, "big-import") == []


async def test_a_schedule_file_past_its_size_is_413(
    start_app: StartApp, browsers: Callable[..., Awaitable[Browser]],
) -> None:
    app = await start_app()
    await seed_summit(app.app[SUMMITS])
    await add_people(app.app[ACCOUNTS])
    before = await app.app[SUMMITS].load("osd")
    olga = await browsers(app)
    await olga.log_in("olga")
    page = await olga.upload("osd", "big.csv", b"title\n" + b"x" * SCHEDULE_MAX_BYTES)
    assert page.status == 413
    assert "larger than 5 MiB" in page.text
    assert (await app.app[SUMMITS].load("osd")).version == before.version


async def test_an_api_body_past_its_size_is_413(
    start_app: StartApp, http: aiohttp.ClientSession,
) -> None:
    app = await start_app()
    await add_people(app.app[ACCOUNTS])
    token = await app.app[ACCOUNTS].create_api_token("olga")
    body = b'{"text": "' + b"x" * MAX_BODY + b'"}'
    async with http.post(f"{app.http_url}/api/v1/pads", data=body, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json",
    }) as response:
        assert response.status == 413
        assert (await response.json())["error"]["code"] == "body_too_large"


# -- the document -----------------------------------------------------------------------------


def test_docs_limits_names_every_limit_setting_and_close_code() -> None:
    doc = LIMITS_DOC.read_text()
    for setting in ("max_message_size", "messages_per_second", "message_burst",
                    "send_buffer_limit", "participant_messages_per_second",
                    "participant_message_burst", "max_connections_per_participant",
                    "max_pad_size", "client_timeout"):
        assert f"`{setting}`" in doc, setting
        default = getattr(Settings(), setting)
        assert re.search(rf"`{setting}`[^|]*\|[^|]*{_shown(default)}", doc), (setting, default)
    readme = (ROOT / "README.md").read_text()
    for code in websocket_close_codes():
        assert f"| {code} |" in doc, code
        assert f"| {code} |" in readme, code
    for code in (413, 429):
        assert str(code) in doc


def websocket_close_codes() -> set[int]:
    """Every code a node may close a websocket with: the CLOSE_ constants and the codes of
    the errors (but Unauthorized's, which only HTTP answers use), and 1006, which aiohttp
    closes a silent client with."""
    codes = {int(v) for k, v in vars(errors).items() if k.startswith("CLOSE_")}

    def subclasses(cls: type[errors.SummitpadError]) -> Iterator[type[errors.SummitpadError]]:
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    codes |= {int(c.close_code) for c in subclasses(errors.SummitpadError)
              if c is not errors.Unauthorized}
    return codes | {1006}


def _shown(value: Any) -> str:
    """How docs/limits.md writes a default: 2 MiB, 100, 300."""
    if isinstance(value, int) and value >= 1024 * 1024 and value % (1024 * 1024) == 0:
        return f"{value // (1024 * 1024)} MiB"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)

