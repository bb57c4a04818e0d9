"""A client of the JSON API for the tests: every answer it gets is checked against the OpenAPI
document, for its path, method and status (the document's components serve as a `referencing`
registry for jsonschema), and it keeps which documented operations answered with success.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from summitpad.api_v1_openapi import openapi_document

from .support import RunningApp

DOC = openapi_document()
_URI = "urn:summitpad:api-v1"
_REGISTRY: Registry[Any] = Registry().with_resource(
    _URI, Resource.from_contents(DOC, default_specification=DRAFT202012)
)
# Every documented operation: (path template, method).
DOCUMENTED = frozenset((path, method.upper()) for path, ops in DOC["paths"].items()
                       for method in ops)
_NOT_GIVEN: Any = object()


def _regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


# Literal paths win over templated ones: fewer variables first.
_TEMPLATES = [(t, _regex(t)) for t in sorted(DOC["paths"], key=lambda t: (t.count("{"), t))]


def template_of(path: str) -> str | None:
    """The documented path template `path` (relative to /api/v1) falls under."""
    return next((t for t, regex in _TEMPLATES if regex.fullmatch(path)), None)


def _pointer(*parts: str) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def check_schema(pointer: str, instance: Any) -> None:
    """`instance` against the schema at JSON pointer `pointer` of the document."""
    validator = Draft202012Validator(
        {"$ref": f"{_URI}#{pointer}"}, registry=_REGISTRY,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    problems = sorted(validator.iter_errors(instance), key=str)
    assert not problems, f"{pointer}: {problems[0].message} in {json.dumps(instance)[:500]}"


@dataclass
class Reply:
    status: int
    headers: Mapping[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw)

    @property
    def code(self) -> str:
        """An error answer's code."""
        code: str = self.json["error"]["code"]
        return code


class ApiClient:
    def __init__(self, http: aiohttp.ClientSession, app: RunningApp) -> None:
        self.http = http
        self.base = app.http_url + "/api/v1"
        self.succeeded: set[tuple[str, str]] = set()  # operations that answered 2xx

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = _NOT_GIVEN,
        data: bytes | str | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Reply:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if json is not _NOT_GIVEN:
            data = _dumps(json)
            content_type = content_type or "application/json"
        if content_type is not None:
            sent["Content-Type"] = content_type
        async with self.http.request(method, self.base + path, data=data, headers=sent,
                                     params=params) as response:
            reply = Reply(response.status, response.headers, await response.read())
        self.check(method, path, reply)
        return reply

    async def get(self, path: str, **kwargs: Any) -> Reply:
        return await self.call("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Reply:
        return await self.call("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> Reply:
        return await self.call("PUT", path, **kwargs)

    def check(self, method: str, path: str, reply: Reply) -> None:
        """The answer is what the document says for this path, method and status."""
        assert "Set-Cookie" not in reply.headers
        assert reply.headers.get("Cache-Control") == "no-store"
        content_type = reply.headers.get("Content-Type", "").split(";")[0]
        template = template_of(path.partition("?")[0])
        operation = DOC["paths"].get(template, {}).get(method.lower()) if template else None
        if operation is None:  # no such route or method: the API's own 404 or 405
            assert reply.status in (404, 405), (method, path, reply.status)
            assert content_type == "application/json"
            check_schema("/components/schemas/Error", reply.json)
            return
        assert template is not None
        responses = operation["responses"]
        status = str(reply.status)
        if status not in responses:
            assert not 200 <= reply.status < 300, f"{method} {path}: {status} not documented"
            status = "default"
        spec = responses[status]
        assert content_type in spec["content"], (method, path, status, content_type)
        if content_type == "application/json":
            pointer = _pointer("paths", template, method.lower(), "responses", status,
                               "content", "application/json", "schema")
            check_schema(pointer, reply.json)
        if 200 <= reply.status < 300:
            self.succeeded.add((template, method))


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode() if not isinstance(value, bytes) else value
