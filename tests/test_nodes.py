"""Several nodes on one Valkey: fan-out, gaps filled from the log, compaction."""

from __future__ import annotations

import redis.asyncio as aioredis
from pycrdt import Doc, Text
from summitpad import protocol
from summitpad.app_keys import REGISTRY
from summitpad.keys import pad_keys
from summitpad.store import PadStore

from .support import eventually, on_both_stores

pytestmark = on_both_stores


async def test_clients_on_two_nodes_converge(start_app, connect):
    node_a, node_b = await start_app(), await start_app()
    on_a = await connect(node_a.ws_url, "shared")
    on_b = await connect(node_b.ws_url, "shared")
    for i in range(20):
        await on_a.edit(lambda t, i=i: t.insert(0, f"a{i} "))
        await on_b.edit(lambda t, i=i: t.insert(len(t), f"b{i} "))
    await eventually(lambda: str(on_a.text) == str(on_b.text) and len(str(on_a.text)) > 100)
    for i in range(20):
        assert f"a{i} " in str(on_b.text) and f"b{i} " in str(on_a.text)


async def test_a_node_fills_a_gap_from_the_log(start_app, connect, redis_client, key_prefix):
    node = await start_app()
    watcher = await connect(node.ws_url, "gappy")
    keys = pad_keys(key_prefix, "gappy")

    # Another writer's entry reaches the log without its pub/sub message (as when a message
    # is lost); the next message names it as its predecessor, and the node reads it.
    lost, seen = Doc(), Doc()
    lost.get("content", type=Text).insert(0, "lost ")
    seen.get("content", type=Text).insert(0, "seen ")
    await redis_client.xadd(keys.log, {"u": lost.get_update()})
    other_node = PadStore(redis_client, "elsewhere")
    await other_node.append(keys, seen.get_update())

    await eventually(lambda: "lost" in str(watcher.text) and "seen" in str(watcher.text))


async def test_an_idle_node_catches_up_with_a_lost_message(
    start_app, connect, redis_client, key_prefix
):
    node = await start_app()
    watcher = await connect(node.ws_url, "quiet")
    lost = Doc()
    lost.get("content", type=Text).insert(0, "nobody announced this")
    await redis_client.xadd(pad_keys(key_prefix, "quiet").log, {"u": lost.get_update()})
    await eventually(lambda: str(watcher.text) == "nobody announced this", within=15)


async def test_the_log_is_folded_into_the_snapshot(start_app, connect, redis_client, key_prefix):
    node = await start_app(compact_after=10)
    writer = await connect(node.ws_url, "folded")
    for i in range(60):
        await writer.edit(lambda t, i=i: t.insert(len(t), f"{i},"))
        await eventually(lambda: writer.saved)
    keys = pad_keys(key_prefix, "folded")
    await eventually(lambda: redis_client.exists(keys.snap))
    assert await redis_client.xlen(keys.log) <= 12

    fresh = await start_app()
    reader = await connect(fresh.ws_url, "folded")
    assert str(reader.text) == ",".join(str(i) for i in range(60)) + ","


async def test_compaction_never_goes_backwards(redis_client: aioredis.Redis, key_prefix):
    keys = pad_keys(key_prefix, "lease")
    store = PadStore(redis_client, "node-1")
    doc = Doc()
    doc.get("content", type=Text).insert(0, "v1")
    first = await store.append(keys, doc.get_update())
    doc.get("content", type=Text).insert(2, " v2")
    second = await store.append(keys, doc.get_update())

    assert await store.try_lease(keys)
    assert not await PadStore(redis_client, "node-2").try_lease(keys)
    assert await store.compact(keys, doc.get_update(), second.entry_id)
    # An older snapshot arriving late is ignored, even with the lease.
    assert await store.try_lease(keys)
    assert not await store.compact(keys, b"\x00\x00", first.entry_id)
    state = await store.read(keys)
    assert state.snapshot_upto == second.entry_id and state.updates == []


async def test_awareness_reaches_the_other_node_and_is_cleared_on_close(start_app, connect):
    node_a, node_b = await start_app(), await start_app()
    alice = await connect(node_a.ws_url, "aware")
    bob = await connect(node_b.ws_url, "aware")
    await alice.set_awareness({"user": {"name": "Alice", "color": "#b42318"}})
    await eventually(lambda: bob.awareness.get(alice.doc.client_id, {}).get("user"))
    await alice.close()
    await eventually(lambda: alice.doc.client_id not in bob.awareness)


async def test_a_joiner_gets_every_awareness_state_and_query_answers(app, connect):
    alice = await connect(app.ws_url, "snapshot")
    await alice.set_awareness({"user": {"name": "Alice"}})
    await eventually(lambda: alice.doc.client_id in alice.awareness)  # echoed to the sender
    late = await connect(app.ws_url, "snapshot")
    await eventually(lambda: late.awareness.get(alice.doc.client_id) == {"user": {"name": "Alice"}})
    late.awareness.clear()
    await late.send(protocol.encode_query_awareness())
    await eventually(lambda: alice.doc.client_id in late.awareness)


async def test_silent_connections_get_keepalives(start_app, connect):
    node = await start_app(keepalive_interval=0.2)
    client = await connect(node.ws_url, "silent")
    frames: list[bytes] = []
    client.on_message = frames.append
    await eventually(lambda: protocol.KEEPALIVE in frames, within=3)


async def test_an_idle_pad_is_folded_and_unloaded(start_app, connect, redis_client, key_prefix):
    node = await start_app(pad_unload_delay=0.2)
    registry = node.server.app[REGISTRY]
    writer = await connect(node.ws_url, "idle")
    await writer.edit(lambda t: t.insert(0, "left behind"))
    await eventually(lambda: writer.saved)
    await writer.close()

    await eventually(lambda: len(registry) == 0)
    keys = pad_keys(key_prefix, "idle")
    # The pad leaves the registry first, then folds its log (and extends its history).
    assert await eventually(lambda: redis_client.hget(keys.snap, "doc"))
    reader = await connect(node.ws_url, "idle")
    assert str(reader.text) == "left behind"
