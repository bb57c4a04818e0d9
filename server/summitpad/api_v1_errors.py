"""Every error of the JSON API, as one JSON shape with a stable code:

    {"error": {"code": "pad_not_found", "message": "there is no pad 'x'"}}

`api_errors` is the API's middleware: whatever a handler raises (an ApiError, one of
summitpad's errors, an aiohttp HTTP error, anything else) leaves as that shape with its status,
never as a traceback or an HTML page. The codes are part of the API (api_v1_openapi.py lists
them per operation); messages are for people and may change.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping

from aiohttp import web

from .errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    SummitpadError,
    TooLarge,
    Unauthorized,
)
from .pad_operations import PadExists, PadNotFound, ReadOnlyPad, RevisionNotFound, SessionNotFound
from .rendering import Handler

log = logging.getLogger(__name__)

# The code of each status when nothing more precise is known.
STATUS_CODES: dict[int, str] = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    500: "internal_error",
    501: "not_implemented",
    503: "store_unavailable",
}
# summitpad's errors that have a code of their own; the first that matches wins.
ERROR_CODES: tuple[tuple[type[SummitpadError], str], ...] = (
    (PadNotFound, "pad_not_found"),
    (SessionNotFound, "session_not_found"),
    (RevisionNotFound, "revision_not_found"),
    (PadExists, "pad_exists"),
    (ReadOnlyPad, "read_only"),
    (TooLarge, "body_too_large"),
    (InvalidInput, "invalid_request"),
    (Unauthorized, "unauthorized"),
    (Forbidden, "forbidden"),
    (NotFound, "not_found"),
    (Conflict, "conflict"),
    (RateLimited, "rate_limited"),
)
# Every code an answer can carry.
CODES: tuple[str, ...] = tuple(sorted(
    set(STATUS_CODES.values()) | {code for _, code in ERROR_CODES}
    | {"summit_not_found"}
))
BEARER_CHALLENGE = 'Bearer realm="summitpad"'


class ApiError(Exception):
    """An answer other than success: status, stable code, message, and extra headers."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def invalid(message: str) -> ApiError:
    return ApiError(400, "invalid_request", message)


def unauthorized(message: str, *, invalid_token: bool = False) -> ApiError:
    challenge = BEARER_CHALLENGE + (', error="invalid_token"' if invalid_token else "")
    return ApiError(401, "unauthorized", message, {"WWW-Authenticate": challenge})


def rate_limited(retry_after_ms: int) -> ApiError:
    seconds = max(1, math.ceil(retry_after_ms / 1000))
    return ApiError(429, "rate_limited", f"too many messages: try again in {seconds} s",
                    {"Retry-After": str(seconds)})


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    response = web.json_response(
        {"error": {"code": code, "message": message}}, status=status, headers=headers
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def from_error(exc: SummitpadError) -> ApiError:
    """One of summitpad's errors as the API answers it."""
    status = exc.status
    code = next((c for kind, c in ERROR_CODES if isinstance(exc, kind)), None)
    if code is None:
        code = STATUS_CODES.get(status, "internal_error" if status >= 500 else "invalid_request")
    message = exc.args[0] if isinstance(exc, InvalidInput) and exc.args else str(exc)
    if isinstance(exc, Unauthorized):
        return unauthorized(message)
    return ApiError(status, code, message)


@web.middleware
async def api_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer of the API: errors as JSON, and nothing cached on the way."""
    try:
        response = await handler(request)
    except ApiError as exc:
        log.info("%s %s: %s %s", request.method, request.path, exc.status, exc.code)
        return error_response(exc.status, exc.code, exc.message, exc.headers)
    except SummitpadError as exc:
        found = from_error(exc)
        log.info("%s %s: %s %s: %s", request.method, request.path, found.status, found.code,
                 exc)
        return error_response(found.status, found.code, found.message, found.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {}
        if isinstance(exc, web.HTTPMethodNotAllowed):
            headers["Allow"] = ", ".join(sorted(exc.allowed_methods))
            message = f"{request.method} is not allowed here: use {headers['Allow']}"
        elif exc.status == 404:
            message = f"no such API path: {request.path[:200]}"
        else:
            message = exc.reason
        code = STATUS_CODES.get(exc.status, "invalid_request" if exc.status < 500
                                else "internal_error")
        return error_response(exc.status, code, message, headers)
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return error_response(500, "internal_error", "something went wrong; it was logged")
    if not response.prepared:
        response.headers.setdefault("Cache-Control", "no-store")
    return response
