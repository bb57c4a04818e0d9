"""The durable write path under failures: nothing echoed is lost, nothing unstored is shown."""

from __future__ import annotations

import redis.asyncio as aioredis
from pycrdt import Doc, Text
from summitpad import protocol
from summitpad.awareness_speakers import MAX_AWARENESS_IDS
from summitpad.client import PadClient
from summitpad.errors import CLOSE_BAD_MESSAGE, CLOSE_RESYNC, StoreUnavailable
from summitpad.keys import pad_keys
from summitpad.live_pad import LivePad
from summitpad.protocol import AwarenessEntry
from summitpad.store import PadState, PadStore

from .support import ValkeyProcess, eventually


def edit(client_id: int, text: str, base: bytes | None = None) -> bytes:
    doc = Doc(client_id=client_id)
    content = doc.get("content", type=Text)
    if base:
        doc.apply_update(base)
    before = doc.get_state()
    content.insert(len(str(content)), text)
    return doc.get_update(before)


def stored_text(state: PadState) -> str:
    doc = Doc()
    if state.snapshot:
        doc.apply_update(state.snapshot)
    for _, update in state.updates:
        doc.apply_update(update)
    return str(doc.get("content", type=Text))


class OneFailedRead(PadStore):
    """A real store whose next read fails, as a read during a brief outage would."""

    fail_next_read = False

    async def read(self, keys, after=None):
        if self.fail_next_read:
            self.fail_next_read = False
            raise StoreUnavailable("the read timed out")
        return await super().read(keys, after)


async def test_a_gap_that_cannot_be_read_yet_is_never_folded_away(redis_client, key_prefix):
    keys = pad_keys(key_prefix, "gap")
    node_a = OneFailedRead(redis_client, "node-a")
    pad = LivePad("gap", keys, node_a, compact_after=1, publish_awareness=lambda *_: None)
    await pad.load()
    try:
        # Node B writes; node A does not hear of it, and its read of the gap fails once.
        await PadStore(redis_client, "node-b").append(keys, edit(2, "from B. "))
        node_a.fail_next_read = True
        pad.receive(_NoConnection(), protocol.SyncMessage(protocol.SyncType.UPDATE, edit(1, "A")))
        await eventually(lambda: "from B" in str(pad.doc.get("content", type=Text)))
        await pad.drain()
        await pad.compact_now()
        stored = stored_text(await node_a.read(keys))
        assert "from B" in stored and "A" in stored
    finally:
        await pad.close()


class _NoConnection:
    """The sender of an update that arrives without a websocket (a test stands in for it)."""

    def __init__(self) -> None:
        self.closed = False
        self.read_only = False
        self.author_id = "test"
        self.awareness_ids: set[int] = set()

    def close(self, error: Exception) -> None:
        raise AssertionError(f"a valid update was refused: {error}")


async def test_writes_wait_out_store_errors_such_as_out_of_memory(
    tmp_path, start_app, connect, http
):
    valkey = ValkeyProcess(tmp_path / "valkey")
    valkey.start()
    store = aioredis.Redis.from_url(valkey.url)
    try:
        app = await start_app(redis_url=valkey.url)
        writer = await connect(app.ws_url, "oom")
        reader = await connect(app.ws_url, "oom")
        await store.config_set("maxmemory", "1")  # every write now fails with OOM
        await writer.edit(lambda t: t.insert(0, "kept while Valkey is full"))
        # A joiner meanwhile is answered only once the pad holds nothing unstored.
        joiner_while_full = await PadClient(http, app.ws_url, "oom").connect()
        await eventually(lambda: not writer.saved, within=1)
        assert str(reader.text) == "", "an edit was shown before it was stored"

        await store.config_set("maxmemory", "0")
        await eventually(lambda: writer.saved and str(reader.text) == "kept while Valkey is full")
        await eventually(lambda: str(joiner_while_full.text) == "kept while Valkey is full")
        await joiner_while_full.close()
    finally:
        await store.aclose()
        valkey.stop()


async def test_an_update_that_depends_on_missing_edits_is_refused(app, http, connect):
    watcher = await connect(app.ws_url, "pending")
    await watcher.edit(lambda t: t.insert(0, "known"))
    await eventually(lambda: watcher.saved)

    unknown_base = edit(77, "never sent to the server ")
    depends_on_it = edit(78, "after it", base=unknown_base)
    ws = await http.ws_connect(f"{app.ws_url}/pending")
    await ws.send_bytes(protocol.encode_update(depends_on_it))
    async for _ in ws:
        pass
    assert ws.close_code == CLOSE_RESYNC  # the stock client reconnects and resyncs

    late = await connect(app.ws_url, "pending")
    assert str(late.text) == "known"
    await watcher.edit(lambda t: t.insert(5, "!"))
    await eventually(lambda: str(late.text) == "known!")


async def test_a_connection_cannot_speak_for_many_awareness_clients(app, http):
    ws = await http.ws_connect(f"{app.ws_url}/crowd")
    entries = [AwarenessEntry(i, 1, b"{}") for i in range(1, MAX_AWARENESS_IDS + 2)]
    payload = protocol.encode_awareness_entries(entries)
    await ws.send_bytes(protocol.encode_awareness(payload))
    async for _ in ws:
        pass
    assert ws.close_code == CLOSE_BAD_MESSAGE
