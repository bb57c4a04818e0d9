"""A pad's chat on the real app and a real Valkey: stored, live on every node, limited per
participant, plain text whatever it holds, closed to read-only connections."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis
from summitpad import chat, protocol
from summitpad.app_keys import REGISTRY
from summitpad.chat import ChatEntry, read_chat
from summitpad.client import PadClient
from summitpad.errors import CLOSE_BAD_MESSAGE, CLOSE_FORBIDDEN
from summitpad.keys import pad_keys

from .chat_clients import ChatConnection, participant
from .support import RunningApp, ValkeyProcess, eventually, on_both_stores
from .test_read_only import ro_id_of

StartApp = Callable[..., Awaitable[RunningApp]]
MARKUP = '<img src=x onerror="window.__xss=1"><script>alert(1)</script> & &amp;'


async def stored(client: aioredis.Redis, prefix: str, pad_id: str) -> list[ChatEntry]:
    return await read_chat(client, pad_keys(prefix, pad_id))


async def test_a_message_is_stored_and_reaches_everyone_who_joined(
    app: RunningApp, http: aiohttp.ClientSession, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    async with participant(app) as ann, participant(app) as bob:
        on_ann = await ann.connect("talk")
        on_bob = await bob.connect("talk")
        # A stock y-websocket client that never joined the chat.
        stock = ChatConnection(PadClient(http, app.ws_url, "talk"))
        await stock.client.connect()
        await asyncio.wait_for(stock.client.synced.wait(), 10)

        before = int(time.time() * 1000)
        await on_ann.say("hello, room", name="Ann", color="#1D4ED8")
        await eventually(lambda: on_bob.texts == ["hello, room"])
        await eventually(lambda: on_ann.texts == ["hello, room"])  # echoed to the sender too
        message = on_bob.messages[0]
        assert message["author"] == await ann.participant_id()
        assert message["name"] == "Ann" and message["color"] == "#1d4ed8"
        assert before - 2_000 <= message["time"] <= int(time.time() * 1000) + 2_000
        assert message["time"] == int(message["id"].split("-")[0])

        [entry] = await stored(redis_client, key_prefix, "talk")
        assert entry.to_json() == message
        await asyncio.sleep(0.2)
        assert stock.chat_frames == []  # nothing it would not understand
        await stock.client.close()


async def test_a_joiner_gets_the_last_200_messages_oldest_first(
    app: RunningApp, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    keys = pad_keys(key_prefix, "long")
    for i in range(205):
        body = {"author": "someone", "name": "Sam", "color": "#0f766e", "text": f"m{i}"}
        await redis_client.xadd(keys.chat, {"m": json.dumps(body)})
    async with participant(app) as ann:
        conn = await ann.connect("long", join=False)
        history = await conn.join()
    assert [m["text"] for m in history] == [f"m{i}" for i in range(5, 205)]
    assert history[0]["name"] == "Sam" and history[0]["color"] == "#0f766e"


async def test_the_flood_limit_is_per_participant_not_per_connection_or_address(
    app: RunningApp, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    async with participant(app) as ann, participant(app) as bob:
        tab_1 = await ann.connect("flood")
        tab_2 = await ann.connect("flood")
        assert tab_1.client is not tab_2.client
        for i in range(chat.FLOOD_LIMIT):
            await (tab_1 if i % 2 else tab_2).say(f"ann {i}")
        await eventually(lambda: len(tab_1.messages) == chat.FLOOD_LIMIT)
        await tab_1.say("one too many")
        await tab_2.say("and another")
        await eventually(lambda: tab_1.of_kind("refused") and tab_2.of_kind("refused"))
        refusal = tab_1.of_kind("refused")[0]
        assert refusal["reason"] == "flood"
        assert 0 < refusal["retry_after"] <= chat.FLOOD_WINDOW_MS

        # Bob, from the same address, is another participant: he may talk.
        on_bob = await bob.connect("flood")
        await on_bob.say("bob here")
        await eventually(lambda: "bob here" in tab_1.texts)
        assert on_bob.of_kind("refused") == []

        # The limit is per pad: Ann may still talk elsewhere.
        elsewhere = await ann.connect("flood-elsewhere")
        await elsewhere.say("other pad")
        await eventually(lambda: elsewhere.texts == ["other pad"])

    texts = [e.text for e in await stored(redis_client, key_prefix, "flood")]
    assert sorted(texts) == sorted([f"ann {i}" for i in range(chat.FLOOD_LIMIT)] + ["bob here"])


async def test_empty_and_over_long_messages_are_refused(
    app: RunningApp, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    async with participant(app) as ann:
        conn = await ann.connect("sizes")
        await conn.say("x" * (chat.MAX_TEXT + 1))
        await conn.say(" \n\t\x00 ")
        await eventually(lambda: len(conn.of_kind("refused")) == 2)
        assert [r["reason"] for r in conn.of_kind("refused")] == ["too-long", "empty"]
        longest = "é" * chat.MAX_TEXT  # characters, not bytes
        await conn.say("  " + longest + "  ")
        await eventually(lambda: conn.texts == [longest])
    assert [e.text for e in await stored(redis_client, key_prefix, "sizes")] == [longest]


async def test_markup_names_and_colours_are_kept_as_plain_text(
    app: RunningApp, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    async with participant(app) as ann:
        conn = await ann.connect("plain")
        body = {
            "kind": "send", "text": MARKUP + "\x07\u2028end\ud800",  # a lone surrogate too
            "name": "<b>Ann</b>\n" + "n" * 60, "color": "red; background: url(x)",
            "author": "forged", "time": 1, "id": "1-1",  # the server's to say, not the client's
        }
        escaped = json.dumps(body).encode()  # \\ud800 can only be sent escaped
        await conn.client.send(bytes((100,)) + protocol.write_varbytes(escaped))
        await eventually(lambda: conn.messages)
        await conn.send_chat({"kind": "send", "text": "no name", "name": 42})
        await eventually(lambda: len(conn.messages) == 2)
    first, second = conn.messages
    assert first["text"] == MARKUP + " end"
    assert first["name"] == ("<b>Ann</b> " + "n" * 60)[: chat.MAX_NAME]
    assert first["color"] == chat.NEUTRAL_COLOR
    assert first["author"] == await ann.participant_id() and first["id"] != "1-1"
    assert second["name"] == chat.ANONYMOUS
    [entry, _] = await stored(redis_client, key_prefix, "plain")
    assert entry.text == MARKUP + " end"


async def test_malformed_chat_messages_close_the_connection(app: RunningApp) -> None:
    async with participant(app) as ann:
        for bad in ({"kind": "send", "text": 5}, {"kind": "shout"}):
            conn = await ann.connect("malformed")
            await conn.send_chat(bad)
            assert await conn.closed_with() == CLOSE_BAD_MESSAGE
        conn = await ann.connect("malformed")
        await conn.client.send(bytes((100, 3)) + b"{x}")
        assert await conn.closed_with() == CLOSE_BAD_MESSAGE
        # The pad and the chat carry on for everybody else.
        other = await ann.connect("malformed")
        await other.say("still here")
        await eventually(lambda: other.texts == ["still here"])


async def test_a_read_only_connection_may_not_chat(
    app: RunningApp, http: aiohttp.ClientSession, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    ro_id = await ro_id_of(http, app, "/p/guarded-chat/ro")
    async with participant(app) as ann:
        writer = await ann.connect("guarded-chat")
        for body in ({"kind": "send", "text": "from a viewer"}, {"kind": "join"}):
            viewer = ChatConnection(PadClient(http, app.ws_url + "/ro", ro_id))
            await viewer.client.connect()
            await asyncio.wait_for(viewer.client.synced.wait(), 10)
            await viewer.send_chat(body)
            assert await viewer.closed_with() == CLOSE_FORBIDDEN
            assert viewer.chat_frames == []
        await writer.say("writers carry on")
        await eventually(lambda: writer.texts == ["writers carry on"])
    assert [e.text for e in await stored(redis_client, key_prefix, "guarded-chat")] == [
        "writers carry on"
    ]


async def test_a_locked_pad_takes_no_chat(
    app: RunningApp, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    async with participant(app) as ann:
        conn = await ann.connect("locked-chat")
        await conn.say("before")
        await eventually(lambda: conn.texts == ["before"])
        pad = next(p for p in app.app[REGISTRY] if p.pad_id == "locked-chat")
        pad.set_read_only(True)
        await conn.say("after")
        await eventually(lambda: conn.of_kind("refused"))
        assert conn.of_kind("refused")[0]["reason"] == "read-only"
        assert [m["text"] for m in await conn.join()] == ["before"]  # still readable
        pad.set_read_only(False)
        await conn.say("reopened")
        await eventually(lambda: conn.texts == ["before", "reopened"])
        assert not conn.client.ws.closed


@on_both_stores
async def test_a_message_sent_on_one_node_arrives_live_on_another(
    start_app: StartApp, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    node_a, node_b = await start_app(), await start_app()
    async with participant(node_a) as ann, participant(node_b) as bob:
        on_a = await ann.connect("across")
        on_b = await bob.connect("across")
        await on_a.say(MARKUP, name="Ann")
        await eventually(lambda: on_b.texts == [MARKUP])
        await on_b.say("answer from B", name="Bob", color="#b42318")
        await eventually(lambda: on_a.texts == [MARKUP, "answer from B"])
        assert on_a.messages == on_b.messages
        assert on_b.messages[0]["author"] == await ann.participant_id()
        assert on_a.messages[1]["color"] == "#b42318"
        late = await bob.connect("across", join=False)
        assert await late.join() == on_a.messages
    assert len(await stored(redis_client, key_prefix, "across")) == 2


async def test_a_message_that_cannot_be_stored_is_refused_and_never_shown(
    tmp_path: Path, start_app: StartApp
) -> None:
    valkey = ValkeyProcess(tmp_path / "valkey")
    valkey.start()
    try:
        app = await start_app(redis_url=valkey.url)
        async with participant(app) as ann, participant(app) as bob:
            on_ann = await ann.connect("outage-chat")
            on_bob = await bob.connect("outage-chat")
            valkey.kill()
            await on_ann.say("not stored")
            await eventually(lambda: on_ann.of_kind("refused"), within=15)
            assert on_ann.of_kind("refused")[0]["reason"] == "unavailable"
            assert on_ann.messages == on_bob.messages == []

            valkey.start()
            await on_ann.say("stored again")
            await eventually(lambda: on_bob.texts == ["stored again"], within=20)
    finally:
        valkey.stop()
