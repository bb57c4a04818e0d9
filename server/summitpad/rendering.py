"""Jinja2 set-up, static URLs with content hashes, and the error pages."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import jinja2
from aiohttp import web

from . import urls
from .errors import InvalidInput, SummitpadError
from .pad_import import ACCEPT as IMPORT_ACCEPT
from .pad_import import MAX_BYTES as IMPORT_MAX_BYTES
from .schedule import Summit

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).parent
STATIC_DIR = PACKAGE_DIR / "static"
TEMPLATES = web.AppKey("templates", jinja2.Environment)
COMPRESS_OVER = 8 * 1024  # pages larger than this go out compressed, to clients that accept it
# What every page's template gets besides its own context: the user, the CSRF token, ...
PageContext = Callable[[web.Request], dict[str, Any]]
PAGE_CONTEXT: web.AppKey[PageContext] = web.AppKey("page_context")


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
    env.globals["urls"] = urls
    env.globals["pad_import"] = {"accept": IMPORT_ACCEPT, "max_bytes": IMPORT_MAX_BYTES}
    env.filters["hm"] = _hm
    env.filters["weekday"] = _weekday
    env.filters["ago"] = ago
    for name in env.list_templates():  # compile at start, not on the first visitor's time
        env.get_template(name)
    return env


def _hm(at: datetime | None, summit: Summit) -> str:
    """A time as the summit's clocks show it: 09:30."""
    return summit.hm(at)


def _weekday(day: date) -> str:
    return day.strftime("%a %d %b")


def ago(at: datetime | None, now: datetime) -> str:
    if at is None:
        return ""
    seconds = int((now - at).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def render(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    provider = request.app.get(PAGE_CONTEXT)
    if provider is not None:
        context = {**provider(request), **context}
    html = request.app[TEMPLATES].get_template(template).render(**context)
    response = web.Response(text=html, content_type="text/html", status=status)
    if len(html) > COMPRESS_OVER:
        response.enable_compression()  # a large summit's board: 230 KiB, 21 KiB gzipped
    return response


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def read_form(request: web.Request) -> Any:
    """The request's form; InvalidInput (400) for a body that cannot be parsed as one (a
    multipart body without its boundary, cut short, an unknown charset)."""
    try:
        return await request.post()
    except (ValueError, LookupError) as exc:
        raise InvalidInput(f"the form cannot be read: {exc}"[:200]) from exc


@web.middleware
async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render every error as a page (or JSON for API clients), never as a traceback."""
    try:
        return await handler(request)
    except SummitpadError as exc:
        log.info("%s %s: %s %s", request.method, request.path, exc.status, exc)
        if isinstance(exc, InvalidInput):
            return _error_page(request, exc.status, exc.title, exc.args[0], exc.problems)
        return _error_page(request, exc.status, exc.title, str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _error_page(request, exc.status, exc.reason, "")
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return _error_page(request, 500, "Something went wrong", "The error has been logged.")


def _back_to(request: web.Request) -> str:
    """Where to return after logging in: this page, or for a refused form the page it was on."""
    if request.method == "GET":
        return request.path_qs
    referer = urlsplit(request.headers.get("Referer", ""))
    if referer.netloc == request.host and referer.path.startswith("/"):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return "/"


def _error_page(
    request: web.Request, status: int, title: str, detail: str, problems: list[str] | None = None
) -> web.Response:
    if "application/json" in request.headers.get("Accept", ""):
        error = {"status": status, "title": title, "detail": detail, "problems": problems or []}
        return web.json_response({"error": error}, status=status)
    context = {
        "status": status,
        "title": title,
        "detail": detail,
        "problems": problems or [],
        "login_url": "/login?" + urlencode({"next": _back_to(request)}),
    }
    return render(request, "error.html", context, status=status)
