"""Jinja2 set-up, static URLs with content hashes, and the error pages."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from .errors import SummitpadError

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).parent
STATIC_DIR = PACKAGE_DIR / "static"
TEMPLATES = web.AppKey("templates", jinja2.Environment)


def create_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(PACKAGE_DIR / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    hashes: dict[str, str] = {}

    def static_url(name: str) -> str:
        if name not in hashes:
            path = (STATIC_DIR / name).resolve()
            if STATIC_DIR.resolve() not in path.parents:
                raise ValueError(f"not a static file: {name}")
            hashes[name] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        return f"/static/{name}?v={hashes[name]}"

    env.globals["static_url"] = static_url
    return env


def render(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    html = request.app[TEMPLATES].get_template(template).render(**context)
    return web.Response(text=html, content_type="text/html", status=status)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render every error as a page (or JSON for API clients), never as a traceback."""
    try:
        return await handler(request)
    except SummitpadError as exc:
        log.info("%s %s: %s %s", request.method, request.path, exc.status, exc)
        return _error_page(request, exc.status, exc.title, str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _error_page(request, exc.status, exc.reason, "")
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return _error_page(request, 500, "Something went wrong", "The error has been logged.")


def _error_page(request: web.Request, status: int, title: str, detail: str) -> web.Response:
    if "application/json" in request.headers.get("Accept", ""):
        return web.json_response({"error": {"status": status, "title": title, "detail": detail}},
                                 status=status)
    context = {"status": status, "title": title, "detail": detail}
    return render(request, "error.html", context, status=status)
