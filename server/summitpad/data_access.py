"""The store for commands that read or change data (`summit load`, `user add`, ...).

They take the same settings as `serve` and work whether or not a server runs on the data
directory: with a redis URL they use it; else they use the embedded Valkey of the server that
holds the data directory, and if none does, they start the embedded Valkey for themselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis

from .embedded_valkey import DataDirInUse, EmbeddedValkey
from .errors import StoreUnavailable
from .settings import Settings
from .store import UNAVAILABLE, connect


@asynccontextmanager
async def open_data(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    embedded = None
    url = settings.redis_url
    if not url:
        embedded = EmbeddedValkey(settings.data_path, appendfsync=settings.appendfsync)
        url = embedded.url
        try:
            await embedded.start()
        except DataDirInUse:
            embedded = None  # a server runs here: use its Valkey, through its socket
    client = connect(url)
    try:
        try:
            await client.ping()
        except UNAVAILABLE as exc:
            raise StoreUnavailable(f"cannot reach Valkey/Redis at {url}: {exc}") from exc
        yield client
    finally:
        await client.aclose()
        if embedded is not None:
            await embedded.stop()
