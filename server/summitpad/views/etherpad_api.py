"""The Etherpad-compatible API: GET or POST /api/<version>/<function>, and GET /api.

    GET  /api                          {"currentVersion": "1.2.15"}, for clients that ask
    GET  /api/1.2.15/getText?apikey=...&padID=...
    POST /api/1.2.15/setText           apikey, padID, text in the form (or the query)

Every answer is Etherpad's `{"code", "message", "data"}` with Etherpad's HTTP status: 200 for
codes 0 and 1, 500 for 2, 404 for 3 and 401 for 4 (src/node/hooks/express/openapi.ts). The key
is the `etherpad-api-key` setting; with none set, every call answers code 4. The security
middleware leaves these paths alone: no cookie is read or set, and no CSRF token is asked for
(the key is what a cross-site page cannot know). See etherpad_api.py for the functions.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from ..app_keys import PRESENCE, REGISTRY, RULES, SETTINGS, STORE, SUMMITS
from ..errors import SummitpadError
from ..etherpad_api import (
    API_VERSION,
    ApiError,
    EtherpadApi,
    WrongParameters,
    api_author,
    check_key,
    find,
)
from ..web_security import SECRET

log = logging.getLogger(__name__)

_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/api", current_version, name="etherpad_api_version")
    router.add_get("/api/{version}/{function}", call, name="etherpad_api")
    router.add_post("/api/{version}/{function}", call)
    router.add_route("*", "/api/{rest:.*}", no_such_function)


def answer(code: int, message: str, data: Any = None, *, status: int = 200) -> web.Response:
    return web.json_response(
        {"code": code, "message": message, "data": data},
        status=status,
        headers={"Cache-Control": "no-store"},
    )


async def current_version(request: web.Request) -> web.Response:
    return web.json_response({"currentVersion": API_VERSION})


async def no_such_function(request: web.Request) -> web.Response:
    return answer(3, "no such function", status=404)


async def call(request: web.Request) -> web.Response:
    app = request.app
    name = request.match_info["function"]
    api = EtherpadApi(
        client=app[STORE].client,
        store=app[STORE],
        registry=app[REGISTRY],
        rules=app[RULES],
        presence=app[PRESENCE],
        summits=app[SUMMITS],
        prefix=app[SETTINGS].key_prefix,
        author=api_author(app[SECRET]),
    )
    try:
        function = find(request.match_info["version"], name)
        fields = await _fields(request)
        key = fields.get("apikey") or fields.get("api_key") or request.headers.get(
            "Authorization")
        check_key(app[SETTINGS].etherpad_api_key, key)
        data = await function(api, fields)
    except ApiError as exc:
        return answer(exc.code, exc.message, status=exc.status)
    except SummitpadError as exc:
        if exc.status < 500:
            return answer(1, str(exc))
        log.warning("etherpad api %s: %s", name, exc)
        return answer(2, "internal error", status=500)
    except Exception:
        log.exception("etherpad api %s failed", name)
        return answer(2, "internal error", status=500)
    return answer(0, "ok", data)


async def _fields(request: web.Request) -> dict[str, str]:
    """The parameters: the query's, then the form body's over them (as Etherpad merges them);
    the first value of a parameter given twice."""
    fields: dict[str, str] = {}
    for name, value in request.query.items():
        fields.setdefault(name, value)
    if request.method != "POST" or not request.body_exists:
        return fields
    body: dict[str, str] = {}
    try:
        if request.content_type in _FORMS:
            for name, item in (await request.post()).items():
                if isinstance(item, str):
                    body.setdefault(name, item)
        elif request.content_type == "application/json":
            body = _json_fields(await request.json())
    except (ValueError, LookupError) as exc:
        raise WrongParameters(f"the request body cannot be read: {exc}"[:200]) from exc
    fields.update(body)
    return fields


def _json_fields(parsed: Any) -> dict[str, str]:
    """A JSON object's string and whole-number members, as form fields."""
    if not isinstance(parsed, dict):
        return {}
    return {
        str(name): str(value) for name, value in parsed.items()
        if isinstance(value, str | int) and not isinstance(value, bool)
    }
