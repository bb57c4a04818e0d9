"""summitpad on a Redis Cluster of three primaries: pads on every shard, nodes sharing them."""

from __future__ import annotations

import pytest
from redis.asyncio.cluster import RedisCluster
from summitpad.app_keys import REGISTRY
from summitpad.data_access import open_data
from summitpad.history_store import HistoryStore
from summitpad.keys import pad_keys
from summitpad.settings import Settings
from summitpad.store import connect, stored_pad_ids

from .support import eventually, on_both_stores

on_the_cluster = pytest.mark.parametrize("redis_url", ["cluster"], indirect=True)


@on_the_cluster
async def test_a_cluster_url_gives_a_cluster_client(redis_url, make_settings) -> None:
    client = connect(redis_url)
    try:
        assert isinstance(client, RedisCluster)
        assert await client.ping()
    finally:
        await client.aclose()
    async with open_data(make_settings()) as data:
        assert isinstance(data, RedisCluster)
    assert Settings(redis_url=redis_url.replace("redis+", "valkey+")).redis_url


@on_both_stores
async def test_nodes_share_pads_on_every_shard(
    start_app, connect, redis_client, key_prefix, valkey_cluster
) -> None:
    pads = valkey_cluster.pads_on_every_primary(key_prefix)
    node_a, node_b = await start_app(compact_after=5), await start_app(compact_after=5)
    for pad in pads:
        on_a = await connect(node_a.ws_url, pad)
        on_b = await connect(node_b.ws_url, pad)
        for i in range(12):
            await on_a.edit(lambda t, i=i: t.insert(len(t), f"a{i},"))
            await on_b.edit(lambda t, i=i: t.insert(0, f"b{i},"))
            await eventually(lambda a=on_a, b=on_b: a.saved and b.saved)  # one entry each
        await eventually(lambda a=on_a, b=on_b: str(a.text) == str(b.text)
                         and str(a.text).count(",") == 24)
        # Folded into the snapshot on the pad's shard, and its history written there too.
        keys = pad_keys(key_prefix, pad)
        await eventually(lambda keys=keys: redis_client.exists(keys.snap))
        await eventually(lambda keys=keys: redis_client.exists(keys.hist))
        view = await HistoryStore(redis_client).view(keys)
        assert view.count >= 1

    # A late joiner on a third node gets everything, from snapshot and log.
    node_c = await start_app()
    for pad in pads:
        late = await connect(node_c.ws_url, pad)
        assert sorted(str(late.text).split(",")[:-1]) == sorted(
            [f"a{i}" for i in range(12)] + [f"b{i}" for i in range(12)]
        )
    # Listing the pads scans every primary.
    assert set(pads) <= await stored_pad_ids(redis_client, key_prefix)


@on_both_stores
async def test_a_pad_reloads_after_its_nodes_unloaded_it(
    start_app, connect, key_prefix, valkey_cluster
) -> None:
    pads = valkey_cluster.pads_on_every_primary(key_prefix)
    node = await start_app(pad_unload_delay=0.2)
    for pad in pads:
        writer = await connect(node.ws_url, pad)
        await writer.edit(lambda t, pad=pad: t.insert(0, f"kept on {pad}"))
        await eventually(lambda writer=writer: writer.saved)
        await writer.close()
    await eventually(lambda: len(node.app[REGISTRY]) == 0)  # unloaded: folded and gone
    other = await start_app()
    for pad in pads:
        reader = await connect(other.ws_url, pad)
        assert str(reader.text) == f"kept on {pad}"
