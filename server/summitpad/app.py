"""The application factory: `create_app(settings)`, used by the CLI, the tests and deploy."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from aiohttp import web

from . import protocol, urls
from .admin_broadcast import Broadcaster
from .app_keys import (
    ARCHIVING,
    BROADCASTER,
    CLOCK,
    METRICS,
    PRESENCE,
    REGISTRY,
    RULES,
    SETTINGS,
    SHUTTING_DOWN,
    STORE,
    SUMMITS,
)
from .clock import Clock, SystemClock
from .connection import frame
from .embedded_valkey import EmbeddedValkey
from .errors import ShuttingDown, StoreUnavailable
from .fanout import Fanout
from .keys import PAD_ID_PATTERN
from .live_pad import LivePad
from .metrics import Metrics
from .pad_deletion import clear_leftovers
from .pad_rules import PadRules
from .pad_upkeep import keep_pads_in_step, save_text
from .pads import PadRegistry
from .participant_limits import PARTICIPANTS, ParticipantLimits
from .presence import Presence
from .rendering import PAGE_CONTEXT, STATIC_DIR, TEMPLATES, create_environment, error_pages
from .security_headers import SecurityHeaders
from .settings import Settings
from .store import PadStore, connect
from .summit_store import SummitStore
from .views import (
    account,
    admin,
    api_v1,
    archive,
    etherpad_api,
    health,
    history,
    monitoring,
    organize,
    pad_authors,
    pad_export,
    pad_import,
    pad_socket,
    pages,
    read_only,
    sessions,
    summits,
    unconference,
)
from .web_security import security_middleware, setup_security, template_context

log = logging.getLogger(__name__)

SHUTDOWN_DRAIN_TIMEOUT = 10.0


def create_app(settings: Settings, *, clock: Clock | None = None) -> web.Application:
    """The application; `clock` is for tests that set the time (the system clock otherwise)."""
    app = web.Application(
        middlewares=[security_middleware, error_pages],
        client_max_size=max(settings.max_message_size, organize.MAX_FORM),
    )
    app[SETTINGS] = settings
    app.on_response_prepare.append(SecurityHeaders(settings))  # on every response
    app[CLOCK] = clock or SystemClock()
    app[SHUTTING_DOWN] = asyncio.Event()
    app[ARCHIVING] = asyncio.Semaphore(1)
    app[PARTICIPANTS] = ParticipantLimits(
        max_connections=settings.max_connections_per_participant,
        rate=settings.participant_messages_per_second,
        burst=settings.participant_message_burst,
    )
    app[METRICS] = Metrics()
    app[TEMPLATES] = create_environment()
    app[PAGE_CONTEXT] = template_context
    app.cleanup_ctx.append(_store)
    app.cleanup_ctx.append(_live_pads)
    app.cleanup_ctx.append(_keepalive)
    app.cleanup_ctx.append(_upkeep)
    app.on_shutdown.append(_close_connections)

    pad = f"{{pad_id:{PAD_ID_PATTERN}}}"
    app.router.add_get("/", summits.index, name="index")
    health.add_routes(app.router)
    monitoring.add_routes(app.router)
    account.add_routes(app.router)
    app.router.add_get("/p", pages.open_pad, name="open_pad")
    app.router.add_get(f"/p/{pad}", pages.pad_page, name="pad")
    app.router.add_get("/p/{pad_id:[^/]+}", pages.pad_page)  # invalid ids: a clear 404 page
    app.router.add_get("/ws/{pad_id:[^/]+}", pad_socket.pad_socket, name="pad_socket")
    app.router.add_static("/static", STATIC_DIR, name="static")
    organize.add_routes(app.router)
    admin.add_routes(app.router)
    archive.add_routes(app.router)
    summits.add_routes(app.router)
    unconference.add_routes(app.router)
    read_only.add_routes(app.router)
    pad_export.add_routes(app.router)
    pad_import.add_routes(app.router)
    history.add_routes(app.router)
    pad_authors.add_routes(app.router)
    app.add_subapp(urls.API_V1, api_v1.create_api())  # JSON API: its own 404, 405, errors
    etherpad_api.add_routes(app.router)
    sessions.add_routes(app.router)  # last: /<summit>/<session> matches what the others do not
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
        store = PadStore(client, settings.node_id, wait_replicas=settings.redis_wait_replicas)
        try:
            await store.ping()
        except StoreUnavailable as exc:
            raise StoreUnavailable(f"cannot reach Valkey/Redis at {url}: {exc.__cause__}") from exc
        app[STORE] = store
        await setup_security(app, client, settings.key_prefix)
        app[SUMMITS] = SummitStore(client, settings.key_prefix)
        app[RULES] = PadRules(
            app[SUMMITS], app[CLOCK], timedelta(seconds=settings.grace_period)
        )
        app[PRESENCE] = Presence(client, settings.key_prefix, settings.node_id)
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
    summit_store = app[SUMMITS]

    async def text_sink(pad: LivePad) -> None:
        await save_text(summit_store, pad)

    async def after_delete(pad: LivePad) -> None:
        await clear_leftovers(store.client, summit_store, pad.keys)

    app[REGISTRY] = PadRegistry(
        store,
        fanout,
        key_prefix=settings.key_prefix,
        compact_after=settings.compact_after,
        max_pad_size=settings.max_pad_size,
        unload_delay=settings.pad_unload_delay,
        rules=app[RULES],
        text_sink=text_sink,
        after_delete=after_delete,
        metrics=app[METRICS],
    )
    app[METRICS].live_pads.set_function(app[REGISTRY].__len__)
    app[BROADCASTER] = Broadcaster(
        store.client, settings.key_prefix, settings.node_id, app[REGISTRY], summit_store
    )
    app[BROADCASTER].listen(fanout)
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


async def _upkeep(app: web.Application) -> AsyncIterator[None]:
    """Pads follow their summit (read-only, search text); this node reports who is here."""
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(
            keep_pads_in_step(app[REGISTRY], app[RULES], app[SUMMITS], stop), name="pad upkeep"
        ),
        asyncio.create_task(app[PRESENCE].run(app[REGISTRY], stop), name="presence"),
    ]
    yield
    stop.set()  # Python 3.11 can lose a cancellation inside redis-py: the loops check this too
    for task in tasks:
        task.cancel()
    _, pending = await asyncio.wait(tasks, timeout=5.0)
    if pending:
        log.error("upkeep tasks did not stop: %s", pending)
    with contextlib.suppress(Exception):
        async with asyncio.timeout(2):
            await app[PRESENCE].withdraw()


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
