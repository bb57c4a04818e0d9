"""The application factory: `create_app(settings)`, used by the CLI, the tests and deploy."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from . import protocol
from .app_keys import REGISTRY, SETTINGS, SHUTTING_DOWN, STORE
from .connection import frame
from .embedded_valkey import EmbeddedValkey
from .errors import ShuttingDown, StoreUnavailable
from .fanout import Fanout
from .keys import PAD_ID_PATTERN
from .pads import PadRegistry
from .rendering import STATIC_DIR, TEMPLATES, create_environment, error_pages
from .settings import Settings
from .store import PadStore, connect
from .views import pad_socket, pages

log = logging.getLogger(__name__)

SHUTDOWN_DRAIN_TIMEOUT = 10.0


def create_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[error_pages], client_max_size=settings.max_message_size)
    app[SETTINGS] = settings
    app[SHUTTING_DOWN] = asyncio.Event()
    app[TEMPLATES] = create_environment()
    app.cleanup_ctx.append(_store)
    app.cleanup_ctx.append(_live_pads)
    app.cleanup_ctx.append(_keepalive)
    app.on_shutdown.append(_close_connections)

    pad = f"{{pad_id:{PAD_ID_PATTERN}}}"
    app.router.add_get("/", pages.index, name="index")
    app.router.add_get("/p", pages.open_pad, name="open_pad")
    app.router.add_get(f"/p/{pad}", pages.pad_page, name="pad")
    app.router.add_get("/p/{pad_id:[^/]+}", pages.pad_page)  # invalid ids: a clear 404 page
    app.router.add_get("/ws/{pad_id:[^/]+}", pad_socket.pad_socket, name="pad_socket")
    app.router.add_static("/static", STATIC_DIR, name="static")
    return app


async def _store(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    embedded = None
    url = settings.redis_url
    if not url:
        embedded = EmbeddedValkey(settings.data_path, appendfsync=settings.appendfsync)
        await embedded.start()
        url = embedded.url
    client = connect(url)
    try:
        store = PadStore(client, settings.node_id)
        try:
            await store.ping()
        except StoreUnavailable as exc:
            raise StoreUnavailable(f"cannot reach Valkey/Redis at {url}: {exc.__cause__}") from exc
        app[STORE] = store
        yield
    finally:
        await client.aclose()
        if embedded is not None:
            await embedded.stop()


async def _live_pads(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    store = app[STORE]
    fanout = Fanout(store.client, settings.node_id)
    await fanout.start()
    app[REGISTRY] = PadRegistry(
        store,
        fanout,
        key_prefix=settings.key_prefix,
        compact_after=settings.compact_after,
        unload_delay=settings.pad_unload_delay,
    )
    yield
    await app[REGISTRY].close()
    await fanout.stop()


async def _keepalive(app: web.Application) -> AsyncIterator[None]:
    """Send a harmless message to every connection that has heard nothing for a while."""
    interval = app[SETTINGS].keepalive_interval / 2
    framed = frame(protocol.KEEPALIVE)

    async def run() -> None:
        while True:
            await asyncio.sleep(interval)
            for pad in app[REGISTRY]:
                for conn in list(pad.connections):
                    if not conn.sent_recently:
                        conn.send(framed)
                    conn.sent_recently = False

    task = asyncio.create_task(run(), name="keepalive")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _close_connections(app: web.Application) -> None:
    """On shutdown: write out everything received, then tell clients to go elsewhere."""
    app[SHUTTING_DOWN].set()
    registry: PadRegistry = app[REGISTRY]
    pads = list(registry)
    try:
        await asyncio.wait_for(
            asyncio.gather(*(pad.drain() for pad in pads)), SHUTDOWN_DRAIN_TIMEOUT
        )
    except TimeoutError:
        log.error("shutdown: some edits could not be written to Valkey in time")
    for pad in pads:
        for conn in list(pad.connections):
            conn.close(ShuttingDown("server shutting down"))
