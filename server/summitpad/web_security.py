"""Who is asking: the participant cookie, logins, API tokens and CSRF checks.

Every request gets, from `security_middleware`:

- `request[PARTICIPANT_ID]`: the browser's author id, from the signed `sp_participant`
  cookie (a new one, set on the response, when the cookie is missing or forged). Requests
  authenticated with an API token use no cookies: their id is derived from the token.
- `request[USER]`: the logged-in `User` (from the `sp_login` cookie, or from an
  `Authorization: Bearer spt_...` header), or None.

Requests to the Etherpad-compatible API (`/api`, `/api/...`) get none of this: that API checks
its own key, and sets no cookie. So does the JSON API under `/api/v1` (views/api_v1.py): it reads
its `Authorization: Bearer` token itself and takes no cookies at all, so it needs no CSRF token.
Nor do the probes and the metrics scrape (`NO_SESSION_PATHS`): they set no cookie and never
touch Valkey on a login's behalf.

Every unsafe request (POST, PUT, PATCH, DELETE) that is not token-authenticated must carry the
CSRF token of `csrf_token(request)` in the form field `csrf` or the header `X-CSRF-Token`. The
token is an HMAC of the participant id and the login, so it belongs to one browser and one login.
Views that take a form must read it with `await request.post()` (the middleware may have read
and cached it), not with `request.multipart()`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web

from . import rendering
from .accounts import LOGIN_MAX_AGE, AccountStore, User, token_digest
from .app_keys import SETTINGS
from .errors import ConfigurationError, Forbidden, StoreUnavailable, Unauthorized
from .keys import secret_key
from .schedule import Session
from .store import UNAVAILABLE

log = logging.getLogger(__name__)

ACCOUNTS = web.AppKey("accounts", AccountStore)
SECRET = web.AppKey("secret", bytes)

PARTICIPANT_COOKIE = "sp_participant"
LOGIN_COOKIE = "sp_login"
PARTICIPANT_MAX_AGE = 400 * 24 * 3600  # the longest browsers keep a cookie
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_EXEMPT_PREFIX = "/ws/"
# The Etherpad-compatible API (views/etherpad_api.py) checks its own key and takes no cookies:
# no participant cookie, no login, no CSRF token.
ETHERPAD_API_PATH = "/api"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_NO_LOGIN_LOOKUP_PREFIX = "/static/"  # assets need no user: spare Valkey a lookup per file
# Probes and the metrics scrape (views/health.py, views/monitoring.py): no participant, no
# login lookup, no cookies, no CSRF (they take GETs only).
NO_SESSION_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_AUTHOR_ID = re.compile(r"[A-Za-z0-9_-]{16}")
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")

_CSRF_BYTES = 24
USER: web.RequestKey[User | None] = web.RequestKey("user")
PARTICIPANT_ID = web.RequestKey("participant_id", str)


@dataclass(slots=True)
class _State:
    bearer: str | None  # the token of an `Authorization: Bearer` header, if there is one
    login_token: str | None = None  # the login cookie, once it has logged the request in


_STATE = web.RequestKey("summitpad_security", _State)  # this module's own per-request state


def _state(request: web.Request) -> _State:
    state = request.get(_STATE)
    return state if isinstance(state, _State) else _State(bearer=None)


async def load_secret(client: aioredis.Redis, prefix: str) -> bytes:
    """The cookie-signing key shared by every node; the first node to start creates it."""
    key = secret_key(prefix)
    try:
        await client.set(key, secrets.token_bytes(32), nx=True)
        value = await client.get(key)
    except UNAVAILABLE as exc:
        raise StoreUnavailable(f"cannot read the cookie secret from Valkey/Redis: {exc}") \
            from exc
    if not isinstance(value, bytes) or len(value) < 16:
        raise ConfigurationError(
            f"{key} must hold at least 16 bytes (a client with decode_responses=False); "
            "delete it to have a new one made"
        )
    return value


async def setup_security(app: web.Application, client: aioredis.Redis, prefix: str) -> None:
    """Put the account store and the cookie secret in the app; call it at startup."""
    app[SECRET] = await load_secret(client, prefix)
    app[ACCOUNTS] = AccountStore(client, prefix)


def _mac(secret: bytes, message: str, size: int) -> str:
    digest = hmac.new(secret, message.encode(), hashlib.sha256).digest()[:size]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def new_author_id() -> str:
    """16 random URL-safe characters."""
    return secrets.token_urlsafe(12)


def _participant_mac(secret: bytes, author_id: str) -> str:
    return _mac(secret, "participant:" + author_id, 16)


def participant_cookie_value(secret: bytes, author_id: str) -> str:
    return f"{author_id}.{_participant_mac(secret, author_id)}"


def read_participant_cookie(secret: bytes, value: str | None) -> str | None:
    """The author id of a genuine cookie value, else None."""
    if not value:
        return None
    author_id, _, mac = value.partition(".")
    if not _AUTHOR_ID.fullmatch(author_id):
        return None
    return author_id if _same(mac, _participant_mac(secret, author_id)) else None


def _bearer_token(request: web.Request) -> str | None:
    """The token of an `Authorization: Bearer` header ("" if empty), None without one."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _csrf_secret(request: web.Request) -> bytes:
    """The CSRF secret of this browser (participant cookie) and login: 24 bytes."""
    login = _state(request).login_token
    digest = token_digest(login) if login else ""
    participant = request.get(PARTICIPANT_ID, "")
    message = f"csrf:{participant}:{digest}".encode()
    return hmac.new(request.app[SECRET], message, hashlib.sha256).digest()[:_CSRF_BYTES]


def csrf_token(request: web.Request) -> str:
    """The token forms carry: the CSRF secret under a fresh random mask each time, so that a
    compressed page never repeats the same bytes (BREACH)."""
    secret = _csrf_secret(request)
    mask = secrets.token_bytes(_CSRF_BYTES)
    masked = bytes(a ^ b for a, b in zip(mask, secret, strict=True))
    return base64.urlsafe_b64encode(mask + masked).decode()


def _csrf_matches(request: web.Request, sent: str) -> bool:
    try:
        raw = base64.urlsafe_b64decode(sent.encode())
    except ValueError:
        return False
    if len(raw) != 2 * _CSRF_BYTES:
        return False
    unmasked = bytes(a ^ b for a, b in zip(raw[:_CSRF_BYTES], raw[_CSRF_BYTES:], strict=True))
    return hmac.compare_digest(unmasked, _csrf_secret(request))


async def _authenticate(request: web.Request) -> None:
    accounts = request.app[ACCOUNTS]
    state = _state(request)
    bearer = state.bearer
    if bearer is not None:
        user = await accounts.user_for_api_token(bearer)
        if user is None:
            raise Unauthorized("that API token is not valid: it was revoked or mistyped")
        request[USER] = user
        return
    token = request.cookies.get(LOGIN_COOKIE)
    if token and not request.path.startswith(_NO_LOGIN_LOOKUP_PREFIX):
        user = await accounts.user_for_login(token)
        if user is not None:
            request[USER] = user
            state.login_token = token


async def _check_csrf(request: web.Request) -> None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.content_type in _FORMS:
        value = (await rendering.read_form(request)).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not _csrf_matches(request, sent):
        raise Forbidden("missing or wrong CSRF token; reload the page and try again")


async def _checked(request: web.Request, handler: rendering.Handler) -> web.StreamResponse:
    await _authenticate(request)
    if (
        request.method not in SAFE_METHODS
        and _state(request).bearer is None
        and not request.path.startswith(CSRF_EXEMPT_PREFIX)
    ):
        await _check_csrf(request)
    return await handler(request)


@web.middleware
async def security_middleware(
    request: web.Request, handler: rendering.Handler
) -> web.StreamResponse:
    """Participant cookie, user and CSRF for every request; put it first in the list."""
    if request.path == ETHERPAD_API_PATH or request.path.startswith(ETHERPAD_API_PATH + "/"):
        request[USER] = None
        return await handler(request)
    if request.path in NO_SESSION_PATHS:
        request[USER] = None
        return await handler(request)
    secret = request.app[SECRET]
    bearer = _bearer_token(request)
    request[USER] = None
    request[_STATE] = _State(bearer=bearer)
    new_participant = None
    if bearer is not None:  # no cookies at all: a stable id per token
        request[PARTICIPANT_ID] = _mac(secret, "api:" + token_digest(bearer), 12)
    else:
        participant = read_participant_cookie(secret, request.cookies.get(PARTICIPANT_COOKIE))
        if participant is None:
            participant = new_participant = new_author_id()
        request[PARTICIPANT_ID] = participant

    async def inner(req: web.Request) -> web.StreamResponse:
        return await _checked(req, handler)

    try:
        # The one error renderer turns a refused check into the same page as a view's error.
        response = await rendering.error_pages(request, inner)
    except web.HTTPException as exc:  # redirects raised by views pass through error_pages
        _set_cookies(request, exc, new_participant)
        raise
    _set_cookies(request, response, new_participant)
    return response


def _set_cookies(
    request: web.Request, response: web.StreamResponse, new_participant: str | None
) -> None:
    if response.prepared:  # a websocket or a stream: its headers are gone already
        return
    secure = is_secure(request)
    if new_participant is not None:
        response.set_cookie(
            PARTICIPANT_COOKIE,
            participant_cookie_value(request.app[SECRET], new_participant),
            max_age=PARTICIPANT_MAX_AGE, path="/", secure=secure, httponly=True, samesite="Lax",
        )
    state = _state(request)
    stale_login = (
        state.bearer is None
        and request.cookies.get(LOGIN_COOKIE)
        and state.login_token is None
        and not request.path.startswith(_NO_LOGIN_LOOKUP_PREFIX)
    )
    if stale_login and LOGIN_COOKIE not in response.cookies:
        clear_login_cookie(request, response)


def is_secure(request: web.Request) -> bool:
    """Whether browsers reach us over https: directly, or through a proxy that terminates TLS
    for the public URL."""
    settings = request.app.get(SETTINGS)
    return request.secure or (settings is not None and settings.public_url.startswith("https:"))


def set_login_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(
        LOGIN_COOKIE, token, max_age=LOGIN_MAX_AGE, path="/", secure=is_secure(request),
        httponly=True, samesite="Lax",
    )


def clear_login_cookie(request: web.Request, response: web.StreamResponse) -> None:
    response.del_cookie(
        LOGIN_COOKIE, path="/", secure=is_secure(request), httponly=True, samesite="Lax"
    )


def login_token(request: web.Request) -> str | None:
    """The login cookie's token if it logged this request in."""
    return _state(request).login_token


def current_user(request: web.Request) -> User | None:
    user = request.get(USER)
    return user if isinstance(user, User) else None


def require_user(request: web.Request) -> User:
    user = current_user(request)
    if user is None:
        raise Unauthorized("log in as an organizer or moderator to do this")
    return user


def require_organizer(request: web.Request) -> User:
    user = require_user(request)
    if not user.is_organizer:
        raise Forbidden("only organizers may do this")
    return user


def require_moderator(request: web.Request, session: Session) -> User:
    user = require_user(request)
    if not user.can_moderate(session):
        raise Forbidden("only the session's moderator or an organizer may do this")
    return user


def template_context(request: web.Request) -> dict[str, Any]:
    """What every page gets: `user`, `csrf` (for forms) and `participant_id`."""
    return {
        "user": current_user(request),
        "csrf": csrf_token(request),
        "participant_id": request.get(PARTICIPANT_ID, ""),
    }
