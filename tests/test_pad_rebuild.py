"""The rebuild after a refused update: the connections get only what they lack, and converge.

A refused update taints the live pad's document, which is then rebuilt from the store. The
connections already hold nearly all of the pad: what goes out to them is the difference.
"""

from __future__ import annotations

import logging

import redis.asyncio as aioredis
from pycrdt import Doc, Text
from summitpad import protocol
from summitpad.client import PadClient
from summitpad.errors import CLOSE_RESYNC, CLOSE_UPDATE_REJECTED
from summitpad.keys import pad_keys
from summitpad.store import PadStore

from .support import RunningApp, eventually

PAD_TEXT = "HEAD " + "".join(f"line {i} of a long session's notes\n" for i in range(1500))

# Client 1: clock 0 is "ab" in the root text "content"; clock 2 is "c" whose parent is the item
# 1#0, a string: Yrs integrates "ab", then refuses the rest (see test_protocol.py).
HALF_VALID_UPDATE = (
    bytes.fromhex("01 02 01 00 04 01 07")
    + b"content"
    + bytes.fromhex("02 6162  04 00 0100 0163  00")
)


def change(base: bytes, client_id: int, edit) -> bytes:
    """The update of `edit` on a document holding `base`, by Yjs client `client_id`."""
    doc = Doc(client_id=client_id)
    text = doc.get("content", type=Text)
    if base:
        doc.apply_update(base)
    before = doc.get_state()
    edit(text)
    return doc.get_update(before)


def updates_received(client: PadClient) -> list[bytes]:
    """The updates broadcast to `client` from now on."""
    received: list[bytes] = []

    def keep(data: bytes) -> None:
        message = protocol.decode_message(data)
        if isinstance(message, protocol.SyncMessage) and message.kind is protocol.SyncType.UPDATE:
            received.append(message.payload)

    client.on_message = keep
    return received


async def watching(
    app: RunningApp, connect, redis_client: aioredis.Redis, key_prefix: str, pad_id: str,
    base: bytes,
) -> PadClient:
    """A client of `pad_id` holding `base`, which another node writes once this node listens
    to the pad's fan-out (it reads the log when it subscribes: an entry written after that
    without a message stays unknown to it until something reads the log again)."""
    watcher = await connect(app.ws_url, pad_id)
    await PadStore(redis_client, "elsewhere").append(pad_keys(key_prefix, pad_id), base)
    doc = Doc()
    doc.apply_update(base)
    expected = str(doc.get("content", type=Text))
    await eventually(lambda: str(watcher.text) == expected)
    return watcher


async def echoed(client: PadClient, text: str) -> None:
    """Type `text` at the start and wait for its echo: whatever the server sent the client
    before has arrived by then."""
    await client.edit(lambda t: t.insert(0, text))
    await eventually(lambda: client.saved)


async def closed_with(app: RunningApp, http, pad_id: str, update: bytes) -> int | None:
    ws = await http.ws_connect(f"{app.ws_url}/{pad_id}")
    await ws.send_bytes(protocol.encode_update(update))
    async for _ in ws:
        pass
    return ws.close_code


async def test_a_rebuild_sends_only_what_the_connections_lack(
    app: RunningApp, http, connect, redis_client: aioredis.Redis, key_prefix: str, caplog
):
    keys = pad_keys(key_prefix, "rebuilt")
    seeded = change(b"", 10, lambda t: t.insert(0, PAD_TEXT))
    watcher = await watching(app, connect, redis_client, key_prefix, "rebuilt", seeded)
    received = updates_received(watcher)

    # Another node wrote two entries whose messages never reached this node: one only
    # deletes (deletions are in no state vector), one inserts.
    deletes = change(seeded, 11, lambda t: t.__delitem__(slice(0, 5)))
    inserts = change(seeded, 12, lambda t: t.insert(len(PAD_TEXT), "written on another node"))
    await redis_client.xadd(keys.log, {"u": deletes})
    await redis_client.xadd(keys.log, {"u": inserts})

    # A typist back from a node restart types before its offline edits reach us: 4509.
    offline = change(b"", 78, lambda t: t.insert(0, "typed offline "))
    depends_on_it = change(offline, 78, lambda t: t.insert(0, "typed at once "))
    expected = PAD_TEXT[5:] + "written on another node"
    with caplog.at_level(logging.INFO, logger="summitpad"):
        assert await closed_with(app, http, "rebuilt", depends_on_it) == CLOSE_RESYNC
        await eventually(lambda: str(watcher.text) == expected, within=3)
        await echoed(watcher, "after ")
    assert any("rebuilt from the store" in r.getMessage() for r in caplog.records)

    # What reached the watcher since it held the pad: the rebuild's update and the echo.
    assert len(seeded) > 50_000
    assert sum(map(len, received)) < 500, [len(u) for u in received]
    fresh = await connect(app.ws_url, "rebuilt")
    assert str(fresh.text) == str(watcher.text) == "after " + expected
    await echoed(fresh, "fresh ")
    await eventually(lambda: str(watcher.text) == "fresh after " + expected)


async def test_what_a_refused_update_left_behind_does_not_hide_stored_edits(
    app: RunningApp, http, connect, redis_client: aioredis.Redis, key_prefix: str
):
    """A refused update may leave part of itself in the document under ids never broadcast:
    a stored edit under the same ids still reaches the connections after the rebuild."""
    keys = pad_keys(key_prefix, "left-behind")
    base = change(b"", 10, lambda t: t.insert(0, "known. "))
    watcher = await watching(app, connect, redis_client, key_prefix, "left-behind", base)

    # Client 1's edit reached the log through another node, its message not here yet; then
    # an update naming client 1 integrates "ab" here under the same ids and is refused.
    stored = change(base, 1, lambda t: t.insert(len(t), "stored for client 1"))
    await redis_client.xadd(keys.log, {"u": stored})
    assert await closed_with(app, http, "left-behind", HALF_VALID_UPDATE) == (
        CLOSE_UPDATE_REJECTED
    )

    await eventually(lambda: str(watcher.text) == "known. stored for client 1", within=3)
    fresh = await connect(app.ws_url, "left-behind")
    assert str(fresh.text) == str(watcher.text)
