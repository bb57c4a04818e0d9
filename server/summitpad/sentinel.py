"""The client of a Sentinel deployment's primary: it asks the sentinels where the primary is.

redis-py's `Sentinel.master_for` gives a client whose connections ask the sentinels for the
primary's address when they connect; a connection that meets a demoted primary (READONLY)
drops itself and fails the command with a ConnectionError, so the next one finds the new
primary. Two things are added here:

- a bounded pool that waits for a free connection rather than failing, as the one-server
  client's does (redis-py has none for Sentinel);
- the sentinels' own connections close with the client.

After a graceful failover the old primary keeps answering until the sentinels turn it into a
replica, seconds later: connections already open to it would go on writing there, and those
writes would be thrown away. `recheck_primary` asks the sentinels again and drops the idle
connections to an old primary; the write path calls it when replicas fail to confirm a write,
and the fan-out's listener every second, to move its pub/sub connection (see fanout.py).
"""

from __future__ import annotations

import contextlib
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection, BlockingConnectionPool
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from .redis_url import SentinelURL


class BlockingSentinelConnectionPool(SentinelConnectionPool, BlockingConnectionPool):
    """A pool of connections to the service's primary that waits, up to its `timeout`, for a
    connection to come free when `max_connections` are in use."""

    async def release(self, connection: AbstractConnection) -> None:
        """A connection that comes back connected to another server than the primary the
        sentinels last named is closed first. It was in use when the primary moved (redis-py
        closes only the idle ones then), and would take the next command to the old primary."""
        primary = self.master_address
        address = (getattr(connection, "host", None), getattr(connection, "port", None))
        if primary is not None and address != primary and connection.is_connected:
            with contextlib.suppress(RedisError, OSError):
                await connection.disconnect()
        await super().release(connection)


class SentinelPrimary(aioredis.Redis):
    """The client of the primary; closing it closes its connections to the sentinels too."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        pool = self.connection_pool
        if isinstance(pool, SentinelConnectionPool):
            await pool.sentinel_manager.aclose()


def connect_sentinel(url: SentinelURL, **connection: Any) -> aioredis.Redis:
    """A client of the primary that the sentinels of `url` watch; it asks them on first use.
    `connection`: the pool's and connections' settings (timeouts, max_connections...)."""
    sentinel_kwargs: dict[str, Any] = {
        key: value for key, value in connection.items() if key.startswith("socket_")
    }
    sentinel_kwargs.update(
        username=url.sentinel_username,
        password=url.sentinel_password,
        ssl=url.tls,
        # A sentinel that does not answer is passed over for the next one at once.
        retry=Retry(NoBackoff(), 0),
    )
    sentinel = Sentinel(url.sentinels, sentinel_kwargs=sentinel_kwargs)  # type: ignore[no-untyped-call]
    return sentinel.master_for(  # type: ignore[no-any-return]
        url.service,
        redis_class=SentinelPrimary,
        connection_pool_class=BlockingSentinelConnectionPool,
        db=url.db,
        username=url.username,
        password=url.password,
        ssl=url.tls,
        **connection,
    )


def through_sentinel(client: aioredis.Redis) -> bool:
    """Whether `client` finds its primary through sentinels (see `connect_sentinel`)."""
    return isinstance(getattr(client, "connection_pool", None), SentinelConnectionPool)


async def recheck_primary(client: aioredis.Redis) -> tuple[str, int] | None:
    """Ask the sentinels where the primary is now, and return its (host, port); if it moved,
    the pool's idle connections to the old one are closed (the next command connects to the
    new one). Does nothing (None) for a client of one server, or when no sentinel answers."""
    pool = client.connection_pool
    if isinstance(pool, SentinelConnectionPool):
        with contextlib.suppress(RedisError, OSError):
            host, port = await pool.get_master_address()  # type: ignore[no-untyped-call]
            return str(host), int(port)
    return None
