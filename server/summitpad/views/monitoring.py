"""`/metrics`: this node's metrics (metrics.py) in Prometheus' text format.

Cheap to scrape: it sets no cookie and looks nobody up (web_security.NO_SESSION_PATHS).
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from ..app_keys import METRICS


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/metrics", metrics, name="metrics")


async def metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS].exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
