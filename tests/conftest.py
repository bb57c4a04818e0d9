"""Real parts for every test: a Valkey per test session, the real app on a loopback port."""

from __future__ import annotations

import asyncio
import os
import pathlib
import secrets
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer
from summitpad.app import create_app
from summitpad.client import PadClient
from summitpad.clock import Clock
from summitpad.settings import Settings
from summitpad.store import connect as connect_store

from .support import RunningApp, ValkeyProcess, free_port
from .valkey_cluster import ValkeyCluster
from .valkey_sentinel import ValkeySentinel


@pytest.fixture(scope="session")
def valkey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ValkeyProcess]:
    server = ValkeyProcess(tmp_path_factory.mktemp("valkey"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def valkey_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ValkeyCluster]:
    """A cluster of three primaries, started for the first test that asks for it."""
    cluster = ValkeyCluster(tmp_path_factory.mktemp("cluster"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def valkey_sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ValkeySentinel]:
    """A primary, its replica and three sentinels, started for the first test that asks."""
    deployment = ValkeySentinel(tmp_path_factory.mktemp("sentinel"))
    try:
        deployment.start()
        yield deployment
    finally:
        deployment.stop()


@pytest.fixture
def redis_url(request: pytest.FixtureRequest) -> str:
    """The store the app and `redis_client` use: the session's Valkey, or (parametrized
    indirectly with "cluster", see `support.on_both_stores`, or "sentinel") the cluster or
    the Sentinel deployment's primary."""
    if getattr(request, "param", "valkey") == "cluster":
        return str(request.getfixturevalue("valkey_cluster").url)
    if getattr(request, "param", "valkey") == "sentinel":
        return str(request.getfixturevalue("valkey_sentinel").url)
    return str(request.getfixturevalue("valkey").url)


@pytest.fixture
def key_prefix() -> str:
    """A prefix of its own for each test, so tests share one Valkey without meeting."""
    return "t" + secrets.token_hex(4)


@pytest.fixture
def make_settings(redis_url: str, key_prefix: str) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {"redis_url": redis_url, "key_prefix": key_prefix}
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = connect_store(redis_url)  # a cluster client for a cluster
    yield client
    await client.aclose()


@pytest.fixture
async def start_app(
    make_settings: Callable[..., Settings],
) -> AsyncIterator[Callable[..., Awaitable[RunningApp]]]:
    """Start the real app in this process on a loopback port; any number per test."""
    servers: list[TestServer] = []

    async def start(*, clock: Clock | None = None, **overrides: Any) -> RunningApp:
        """`clock`: a SetClock the test moves, for everything that depends on the time."""
        settings = make_settings(**overrides)
        app = create_app(settings, clock=clock)
        server = TestServer(app, host="127.0.0.1", port=free_port())
        await server.start_server(keepalive_timeout=settings.http_idle_timeout)
        servers.append(server)
        return RunningApp(server)

    yield start
    for server in reversed(servers):
        await asyncio.wait_for(server.close(), 10)  # a shutdown that hangs fails the test


@pytest.fixture
async def app(start_app: Callable[..., Awaitable[RunningApp]]) -> RunningApp:
    return await start_app()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def connect(
    http: aiohttp.ClientSession,
) -> AsyncIterator[Callable[..., Awaitable[PadClient]]]:
    """Connect a Python y-websocket client to a pad and wait until it is synced."""
    clients: list[PadClient] = []

    async def open_client(ws_url: str, pad_id: str, **kwargs: Any) -> PadClient:
        client = await PadClient(http, ws_url, pad_id, **kwargs).connect()
        clients.append(client)
        await asyncio.wait_for(client.synced.wait(), 10)
        return client

    yield open_client
    for client in clients:
        await client.close()


@pytest.fixture
def deployment(tmp_path: pathlib.Path) -> Iterator[ValkeySentinel]:
    """A Sentinel deployment of the test's own, for tests that kill or stop its servers.
    Ask for it before `start_app`, so that the nodes stop before it does."""
    sentinel = ValkeySentinel(tmp_path / "sentinel")
    try:
        sentinel.start()
        yield sentinel
    finally:
        sentinel.stop()


@pytest.fixture
def own_valkey(tmp_path: pathlib.Path) -> Iterator[ValkeyProcess]:
    """A Valkey of the test's own (appendfsync always), for tests that stop, freeze or kill
    it. Ask for it before `start_app`, so the nodes stop before it does."""
    valkey = ValkeyProcess(tmp_path / "valkey", appendfsync="always")
    valkey.start()
    try:
        yield valkey
    finally:
        if valkey.process is not None and valkey.process.poll() is None:
            os.kill(valkey.process.pid, signal.SIGCONT)  # in case the test stopped midway
        valkey.stop()
