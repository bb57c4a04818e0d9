"""summitpad through Sentinel: pads on the primary, writes confirmed by a replica, failovers.

The failover tests type on two nodes all along, kill or demote the primary, and then check
that every word a client saw come back from the server (its own, echoed, or another's,
broadcast) is in the final document and in the store. Nothing may be lost: not what was
echoed, and, as the nodes stay up and hold back what they could not store, not what was typed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
import redis
import redis.asyncio as aioredis
from pycrdt import Text
from summitpad import replica_wait
from summitpad.app_keys import SETTINGS
from summitpad.client import PadClient
from summitpad.keys import pad_keys
from summitpad.replica_wait import NotReplicated
from summitpad.sentinel import BlockingSentinelConnectionPool, SentinelPrimary, recheck_primary
from summitpad.store import PadStore
from summitpad.store import connect as connect_store

from .support import RunningApp, eventually
from .test_write_path import stored_text
from .valkey_cluster import _ask
from .valkey_sentinel import ValkeySentinel


@pytest.fixture
async def store_client(deployment: ValkeySentinel) -> AsyncIterator[aioredis.Redis]:
    client = connect_store(deployment.url)
    yield client
    await client.aclose()


def log_length(port: int, key: str) -> int:
    """The length of a pad log on the server of `port` itself, primary or replica."""
    with redis.Redis(host="127.0.0.1", port=port, socket_timeout=2) as server:
        return int(server.xlen(key))


def subscribers(port: int, channel: str) -> int:
    """How many connections listen to a pad's channel on the server of `port`."""
    with redis.Redis(host="127.0.0.1", port=port, socket_timeout=2) as server:
        _, count = server.execute_command("PUBSUB", "SHARDNUMSUB", channel)
        return int(count)


def words(text: str) -> set[str]:
    return set(text.split())


# -- basics ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("redis_url", ["sentinel"], indirect=True)
async def test_a_pad_works_through_a_sentinel_url(
    valkey_sentinel, start_app, connect, redis_client, key_prefix
) -> None:
    assert isinstance(redis_client, SentinelPrimary)
    assert isinstance(redis_client.connection_pool, BlockingSentinelConnectionPool)
    node = await start_app()
    assert node.app[SETTINGS].redis_wait_replicas == 1  # the default through Sentinel
    writer = await connect(node.ws_url, "through-sentinel")
    for i in range(5):
        await writer.edit(lambda t, i=i: t.insert(len(t), f"line {i}\n"))
    await eventually(lambda: writer.saved)
    expected = "".join(f"line {i}\n" for i in range(5))
    late = await connect((await start_app()).ws_url, "through-sentinel")
    assert str(late.text) == expected

    # Written to the primary, and (each batch confirmed before it was echoed) on the replica.
    keys = pad_keys(key_prefix, "through-sentinel")
    primary = valkey_sentinel.primary_port()
    (replica,) = valkey_sentinel.replicas_of(primary)
    assert log_length(replica, keys.log) == log_length(primary, keys.log) >= 1
    assert stored_text(await PadStore(redis_client, "reader").read(keys)) == expected


async def test_an_edit_no_replica_confirms_is_held_back_until_one_does(
    deployment, start_app, connect, store_client, key_prefix
) -> None:
    node = await start_app(redis_url=deployment.url)
    alice = await connect(node.ws_url, "held")
    bob = await connect(node.ws_url, "held")
    await alice.edit(lambda t: t.insert(0, "confirmed "))
    await eventually(lambda: alice.saved and str(bob.text) == "confirmed ")
    keys = pad_keys(key_prefix, "held")
    primary = deployment.primary_port()
    (replica,) = deployment.replicas_of(primary)
    written = log_length(primary, keys.log)

    deployment.stop_server(replica)
    await alice.edit(lambda t: t.insert(len(t), "waiting"))
    # The primary has it (it is up and took the write)...
    await eventually(lambda: log_length(primary, keys.log) == written + 1)
    # ...but no replica confirmed it: not echoed, not shown, for several WAIT timeouts.
    await asyncio.sleep(2.5)
    assert not alice.saved, "an edit no replica holds was echoed"
    assert str(bob.text) == "confirmed ", "an edit no replica holds was shown"
    # Every retry confirmed the same entry rather than writing the edit again.
    assert log_length(primary, keys.log) == written + 1

    deployment.start_server(replica, replica_of=primary)
    await eventually(lambda: alice.saved and str(bob.text) == "confirmed waiting", within=20)
    assert log_length(primary, keys.log) == written + 1  # written once, in the end
    assert log_length(replica, keys.log) == written + 1
    state = await PadStore(store_client, "reader").read(keys)
    assert stored_text(state) == "confirmed waiting"


async def test_a_retry_confirms_what_it_wrote_or_writes_it_anew(
    redis_client, key_prefix, monkeypatch
) -> None:
    # The session's Valkey has no replica: no write is ever confirmed on it.
    monkeypatch.setattr(replica_wait, "WAIT_TIMEOUT_MS", 100)
    keys = pad_keys(key_prefix, "retried")
    store = PadStore(redis_client, "node-a", wait_replicas=1)
    batch = [("alice", b"update 1"), ("bob", b"update 2")]
    with pytest.raises(NotReplicated) as first:
        await store.append(keys, batch)
    attempt = first.value.unconfirmed
    assert len(attempt.entry_ids) == 2 and await redis_client.xlen(keys.log) == 2

    # A retry that names the attempt finds its entries and does not write them again.
    with pytest.raises(NotReplicated) as second:
        await store.append(keys, batch, unconfirmed=attempt)
    assert second.value.unconfirmed == attempt
    assert await redis_client.xlen(keys.log) == 2

    # Entries gone (as after a failover that lost them) are written anew.
    await redis_client.xdel(keys.log, *attempt.entry_ids)
    with pytest.raises(NotReplicated) as third:
        await store.append(keys, batch, unconfirmed=attempt)
    assert set(third.value.unconfirmed.entry_ids).isdisjoint(attempt.entry_ids)
    entries = await redis_client.xrange(keys.log)
    assert [fields[b"u"] for _, fields in entries] == [b"update 1", b"update 2"]

    # Not waiting for replicas, the same store writes and publishes in one script.
    assert (await PadStore(redis_client, "node-a").append(keys, b"update 3")).log_length == 3


# -- failovers ------------------------------------------------------------------------------------


async def test_a_connection_in_use_when_the_primary_moves_does_not_go_back_to_it(
    deployment, store_client
) -> None:
    # As a write waiting for its replicas holds one while the fan-out asks the sentinels.
    for port in deployment.sentinel_ports:  # the default periods: a late demotion
        _ask(port, "SENTINEL", "DEBUG", "info-period", "10000", "publish-period", "2000")
    pool = store_client.connection_pool
    connection = await pool.get_connection()
    old_primary = deployment.primary_port()
    assert connection.port == old_primary
    deployment.failover()
    await eventually(lambda: deployment.primary_port() != old_primary, within=30)
    new_primary = deployment.primary_port()

    async def moved() -> bool:
        return await recheck_primary(store_client) == ("127.0.0.1", new_primary)

    await eventually(moved, within=10)
    await pool.release(connection)
    assert not connection.is_connected
    # The next command goes to the new primary, though the old one still answers.
    assert int((await store_client.config_get("port"))["port"]) == new_primary
    assert deployment.role(old_primary) == "master"


@dataclass
class Typist:
    """A client that types a word every few milliseconds until told to stop."""

    name: str
    client: PadClient
    typed: list[str] = field(default_factory=list)

    async def type_until(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            word = f"{self.name}{len(self.typed)}"
            self.typed.append(word)
            await self.client.edit(lambda t, word=word: t.insert(len(t), word + " "))
            await asyncio.sleep(0.02)

    def echoed(self) -> set[str]:
        """Every word this client has seen come from the server (the server's copy only
        grows: nothing here deletes)."""
        return words(str(self.client.confirmed.get("content", type=Text)))

    def echoed_own(self) -> int:
        return len(self.echoed() & set(self.typed))


async def type_through(
    deployment: ValkeySentinel,
    start_app: Callable[..., Awaitable[RunningApp]],
    connect: Callable[..., Awaitable[PadClient]],
    store_client: aioredis.Redis,
    key_prefix: str,
    fail: Callable[[int], Awaitable[None]],
) -> dict[str, float]:
    """Two nodes, a typist on each, `fail(primary port)` in the middle; checks that nothing
    echoed (nor typed) is lost, and returns the times it measured."""
    pad = "failover"
    node_a = await start_app(redis_url=deployment.url, compact_after=50)
    node_b = await start_app(redis_url=deployment.url, compact_after=50)
    alice = Typist("alice", await connect(node_a.ws_url, pad))
    bob = Typist("bob", await connect(node_b.ws_url, pad))
    stop = asyncio.Event()
    typing = [asyncio.create_task(t.type_until(stop)) for t in (alice, bob)]
    try:
        # Before: both type, and see their words and each other's come back.
        await eventually(lambda: alice.echoed_own() >= 30 and bob.echoed_own() >= 30)
        await eventually(lambda: len(alice.echoed() & set(bob.typed)) >= 10)
        before = alice.echoed() | bob.echoed()
        old_primary = deployment.primary_port()
        failed_at = time.monotonic()
        await fail(old_primary)
        new_primary = deployment.primary_port()
        assert new_primary != old_primary
        # Both nodes' fan-out listens on the new primary (found through the sentinels).
        channel = pad_keys(key_prefix, pad).channel
        await eventually(lambda: subscribers(new_primary, channel) == 2, within=20)
        # After: typing goes on, and both nodes echo and share it again.
        mark = (len(alice.typed), len(bob.typed))
        await eventually(
            lambda: set(alice.typed[mark[0]:mark[0] + 20]) <= bob.echoed()
            and set(bob.typed[mark[1]:mark[1] + 20]) <= alice.echoed(),
            within=40,
        )
        recovered_in = time.monotonic() - failed_at
    finally:
        stop.set()
        await asyncio.gather(*typing)
    await eventually(
        lambda: alice.client.saved and bob.client.saved
        and str(alice.client.text) == str(bob.client.text),
        within=30,
    )

    # The clients stayed connected all along: the nodes held their edits back.
    assert not alice.client.ws.closed and not bob.client.ws.closed
    echoed = alice.echoed() | bob.echoed()
    typed = set(alice.typed) | set(bob.typed)
    assert before <= echoed
    # A fresh client on a fresh node, and the store itself, hold every word.
    late = await connect((await start_app(redis_url=deployment.url)).ws_url, pad)
    final = words(str(late.text))
    keys = pad_keys(key_prefix, pad)
    stored = words(stored_text(await PadStore(store_client, "reader").read(keys)))
    lost = sorted(echoed - final)
    assert not lost, f"{len(lost)} echoed words were lost in the failover: {lost[:20]}"
    assert typed <= final, f"typed words lost: {sorted(typed - final)[:20]}"
    assert stored == final == typed
    assert str(late.text) == str(alice.client.text)
    return {"recovered_in": recovered_in, "words": len(typed)}


async def test_nothing_echoed_is_lost_when_the_primary_is_killed(
    deployment, start_app, connect, store_client, key_prefix
) -> None:
    async def kill(primary: int) -> None:
        deployment.kill_server(primary)
        await eventually(lambda: deployment.primary_port() != primary, within=30)
        # The old primary comes back empty; the sentinels make it the new one's replica,
        # and writes are confirmed again.
        deployment.start_server(primary)
        new_primary = deployment.primary_port()
        await eventually(lambda: deployment.replicas_of(new_primary) == [primary], within=30)

    measured = await type_through(deployment, start_app, connect, store_client, key_prefix, kill)
    print(f"killed primary: typing echoed on both nodes again {measured['recovered_in']:.1f} s "
          f"after the kill; {measured['words']} words, none lost")


async def test_nothing_echoed_is_lost_in_a_graceful_failover(
    deployment, start_app, connect, store_client, key_prefix
) -> None:
    async def failover(primary: int) -> None:
        deployment.failover()
        await eventually(lambda: deployment.primary_port() != primary, within=30)
        await eventually(lambda: deployment.role(primary) == "slave", within=30)

    measured = await type_through(
        deployment, start_app, connect, store_client, key_prefix, failover
    )
    print(f"graceful failover: typing echoed on both nodes again {measured['recovered_in']:.1f} "
          f"s after SENTINEL FAILOVER; {measured['words']} words, none lost")
