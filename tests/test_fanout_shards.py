"""The listener of the fan-out: prompt on every shard, subscriptions that follow the live pads,
back after its connections are killed, and a quick stop."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import Any

from redis.asyncio.cluster import RedisCluster
from summitpad.app_keys import REGISTRY
from summitpad.keys import pad_keys

from .support import eventually, on_both_stores

pytestmark = on_both_stores


async def crossing_time(on_a, on_b, marker: str) -> float:
    """Seconds from an edit on `on_a` to its arrival at `on_b`."""
    started = time.perf_counter()
    await on_a.edit(lambda t: t.insert(len(t), marker))
    await eventually(lambda: marker in str(on_b.text), interval=0.001)
    return time.perf_counter() - started


async def test_an_edit_on_one_shard_does_not_wait_for_the_others(
    start_app, connect, key_prefix, valkey_cluster
) -> None:
    # Node B listens to three shards (on one server: three channels on one connection), and
    # the edits come on one of them only: none may wait while B looks at the other two.
    pads = valkey_cluster.pads_on_every_primary(key_prefix)
    node_a, node_b = await start_app(), await start_app()
    for pad in pads[1:]:
        await connect(node_b.ws_url, pad)
    on_a = await connect(node_a.ws_url, pads[0])
    on_b = await connect(node_b.ws_url, pads[0])
    await crossing_time(on_a, on_b, "warm ")
    times = []
    for i in range(30):
        times.append(await crossing_time(on_a, on_b, f"<{i}>"))
        await asyncio.sleep(0.013 * (i % 5))  # arrive at every moment of a waiting round
    # The app and the clients share this loop; a busy machine may delay some edits, but a
    # listener that waits its turn per shard delays most of them by up to 33 ms.
    prompt = sum(t < 0.015 for t in times)
    assert prompt >= 24, sorted(round(t * 1000, 1) for t in times)


async def test_subscriptions_follow_the_pads_a_node_loads_and_unloads(
    start_app, connect, redis_client, key_prefix, valkey_cluster
) -> None:
    pads = valkey_cluster.pads_on_every_primary(key_prefix)
    channels = {pad_keys(key_prefix, pad).channel.encode() for pad in pads}

    async def subscribed() -> set[bytes]:
        return set(await _on_every_primary(redis_client, "PUBSUB SHARDCHANNELS", f"{key_prefix}*"))

    async def none_subscribed() -> bool:
        return not await subscribed()

    node_a = await start_app(pad_unload_delay=0.2)
    node_b = await start_app(pad_unload_delay=0.2)
    for round_ in range(2):  # the second time, on shard connections opened anew
        on_b = [await connect(node_b.ws_url, pad) for pad in pads]
        await eventually(lambda: _equal(subscribed(), channels))
        on_a = [await connect(node_a.ws_url, pad) for pad in pads]
        for writer, reader in zip(on_a, on_b, strict=True):
            took = await crossing_time(writer, reader, f"round {round_} ")
            assert took < 0.5  # through pub/sub, not the catch-up of every few seconds
        for client in on_a + on_b:
            await client.close()
        await eventually(lambda: len(node_a.app[REGISTRY]) + len(node_b.app[REGISTRY]) == 0)
        await eventually(none_subscribed)


async def _equal(found: Awaitable[set[bytes]], wanted: set[bytes]) -> bool:
    return await found == wanted


async def test_the_listener_comes_back_after_its_connections_are_killed(
    start_app, connect, redis_client, key_prefix, valkey_cluster, caplog
) -> None:
    caplog.set_level(logging.WARNING, logger="summitpad.fanout")
    pads = valkey_cluster.pads_on_every_primary(key_prefix)
    node_a, node_b = await start_app(), await start_app()
    pairs = [(await connect(node_a.ws_url, pad), await connect(node_b.ws_url, pad)) for pad in pads]
    for writer, reader in pairs:
        await crossing_time(writer, reader, "before ")

    # Every pub/sub connection of both nodes goes, on every primary.
    await _on_every_primary(redis_client, "CLIENT", "KILL", "TYPE", "pubsub")

    # Once each pad's first edit crossed (the catch-up would bring it within seconds anyway),
    # the next ones cross at once: the listener holds its subscriptions again.
    for writer, reader in pairs:
        await crossing_time(writer, reader, "again ")
    for i in range(5):
        for writer, reader in pairs:
            assert await crossing_time(writer, reader, f"<{i}>") < 0.5
            await asyncio.sleep(0.05)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_node_stops_at_once_with_its_listener(
    start_app, connect, key_prefix, valkey_cluster, caplog
) -> None:
    caplog.set_level(logging.ERROR, logger="summitpad.fanout")
    pads = valkey_cluster.pads_on_every_primary(key_prefix)
    node = await start_app()
    for pad in pads:
        await connect(node.ws_url, pad)
    await asyncio.sleep(0.3)  # the readers wait on their connections
    started = time.perf_counter()
    await node.server.close()
    assert time.perf_counter() - started < 2.0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def _on_every_primary(client: Any, *command: str) -> Any:
    """A command run on every primary of a cluster (the replies merged), or on the one server."""
    if isinstance(client, RedisCluster):
        return await client.execute_command(*command, target_nodes=RedisCluster.PRIMARIES)
    return await client.execute_command(*command)
