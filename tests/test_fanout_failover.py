"""The fan-out through Sentinel: after a graceful failover the listener moves to the new primary
within a moment, not once the sentinels get round to demoting the old one."""

from __future__ import annotations

import logging
import time

from summitpad import fanout
from summitpad.keys import pad_keys

from .support import eventually
from .test_sentinel import subscribers
from .valkey_cluster import _ask


async def crossing_time(on_a, on_b, marker: str, within: float = 10.0) -> float:
    """Seconds from an edit on `on_a` to its arrival at `on_b`."""
    started = time.perf_counter()
    await on_a.edit(lambda t: t.insert(len(t), marker))
    await eventually(lambda: marker in str(on_b.text), within=within, interval=0.005)
    return time.perf_counter() - started


async def test_the_listeners_follow_a_graceful_failover(
    deployment, start_app, connect, key_prefix, monkeypatch, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="summitpad.fanout")
    # Only pub/sub, and the catch-up that follows a (re)subscription, carry an edit across.
    monkeypatch.setattr(fanout, "CATCH_UP_INTERVAL", 600.0)
    # The sentinels' default periods, as in production: they demote the old primary, closing
    # its pub/sub connections, only 8 to 18 s after the failover.
    for port in deployment.sentinel_ports:
        _ask(port, "SENTINEL", "DEBUG", "info-period", "10000", "publish-period", "2000")
    # Until the old primary is demoted and replicates it, the new one of this two-server
    # deployment has no replica to confirm a write: the nodes do not wait for one here, so
    # that what is measured is the fan-out alone.
    node_a = await start_app(redis_url=deployment.url, redis_wait_replicas=0)
    node_b = await start_app(redis_url=deployment.url, redis_wait_replicas=0)
    on_a = await connect(node_a.ws_url, "moved")
    on_b = await connect(node_b.ws_url, "moved")
    channel = pad_keys(key_prefix, "moved").channel
    old_primary = deployment.primary_port()
    await eventually(lambda: subscribers(old_primary, channel) == 2)
    assert await crossing_time(on_a, on_b, "before ") < 0.5

    deployment.failover()
    await eventually(lambda: deployment.primary_port() != old_primary, within=30)
    new_primary = deployment.primary_port()
    # A node started now writes to the new primary and publishes there at once; the two
    # listening on the old one hear it once they have looked where the primary is (every
    # second) and subscribed there.
    node_c = await start_app(redis_url=deployment.url, redis_wait_replicas=0)
    on_c = await connect(node_c.ws_url, "moved")
    started = time.perf_counter()
    await on_c.edit(lambda t: t.insert(len(t), "after "))
    await eventually(lambda: "after " in str(on_a.text) and "after " in str(on_b.text), 20)
    took = time.perf_counter() - started
    print(f"an edit on the new primary reached both listening nodes {took:.2f} s after it")
    assert took < 2.5, f"the first edit after the failover took {took:.1f} s to cross"
    assert deployment.role(old_primary) == "master"  # not demoted yet: it was not that
    await eventually(lambda: subscribers(new_primary, channel) == 3, within=2)
    assert subscribers(old_primary, channel) == 0
    # From then on, through pub/sub on the new primary, every way.
    for i in range(3):
        assert await crossing_time(on_a, on_b, f"<a{i}> ") < 0.5
        assert await crossing_time(on_b, on_a, f"<b{i}> ") < 0.5
        assert await crossing_time(on_c, on_b, f"<c{i}> ") < 0.5
    moved = [r for r in caplog.records if "primary moved" in r.getMessage()]
    assert len(moved) == 2, [r.getMessage() for r in moved]  # once for each of A and B
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
