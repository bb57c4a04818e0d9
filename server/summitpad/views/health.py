"""Probes for load balancers and orchestrators.

    GET /healthz   200 "ok" while the process serves requests; asks nothing of Valkey
    GET /readyz    200 "ready" when Valkey answers a PING within READY_TIMEOUT seconds and the
                   node is not shutting down; 503 with the reason otherwise

Both answer in plain text and are never cached.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from ..app_keys import SHUTTING_DOWN, STORE
from ..errors import StoreUnavailable

READY_TIMEOUT = 1.0
_HEADERS = {"Cache-Control": "no-store"}


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/healthz", healthz, name="healthz")
    router.add_get("/readyz", readyz, name="readyz")


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n", headers=_HEADERS)


async def readyz(request: web.Request) -> web.Response:
    if request.app[SHUTTING_DOWN].is_set():
        return _not_ready("shutting down")
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            await request.app[STORE].ping()
    except (StoreUnavailable, TimeoutError) as exc:
        return _not_ready(f"Valkey/Redis does not answer: {exc}" if str(exc) else
                          f"Valkey/Redis does not answer within {READY_TIMEOUT:g} s")
    return web.Response(text="ready\n", headers=_HEADERS)


def _not_ready(reason: str) -> web.Response:
    return web.Response(status=503, text=f"not ready: {reason}\n", headers=_HEADERS)
