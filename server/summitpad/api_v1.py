"""The JSON API, /api/v1: what requests may say and what the answers look like.

Plain functions over summitpad's model, no routes (views/api_v1.py has those; api_v1_openapi.py
describes both). Every time is ISO 8601 in UTC ("2026-05-04T07:10:00Z", or with an offset for a
session's start and end), every URL absolute (from the `public-url` setting).

Who asks: `Authorization: Bearer <token>` with the API token of an account (`summitpad user
token <login>`). Writes need one (an organizer's to list pads or take the archive); reads need
none, and follow the pad's own visibility: whoever knows a pad's id may read it. A token that is
given but wrong is refused everywhere. The API takes and sets no cookies, so it needs no CSRF
token.

Request bodies are JSON objects (`Content-Type: application/json`) of at most MAX_BODY bytes,
with only the members each operation names.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from . import urls
from .accounts import AccountStore, User
from .api_v1_errors import ApiError, invalid, unauthorized
from .chat import ChatEntry
from .lifecycle import is_read_only, phase
from .pad_export import PadContent, to_markdown, to_text
from .pad_export_html import pad_blocks
from .pad_operations import FoundPad, Writer
from .schedule import Session, Summit
from .summit_store import SummitData
from .timeslider import author_json, iso

MAX_BODY = 1 << 20  # bytes of a request body
PAGE_DEFAULT, PAGE_MAX = 100, 1000  # revisions per page
TEXT_FORMATS = ("text", "markdown", "html", "json")
_NUMBER = re.compile(r"[0-9]{1,12}")
_JSON_TYPES = ("application/json",)

Authors = Mapping[str, Mapping[str, str]]


# -- who asks -----------------------------------------------------------------------------------


def bearer_token(request: web.Request) -> str | None:
    """The token of the `Authorization` header, None without one; 401 for another scheme or
    an empty token."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("send the API token as `Authorization: Bearer <token>`",
                           invalid_token=True)
    return token.strip()


async def token_user(request: web.Request, accounts: AccountStore) -> User | None:
    """The account of the request's token; None without a token, 401 for a wrong one."""
    token = bearer_token(request)
    if token is None:
        return None
    user = await accounts.user_for_api_token(token)
    if user is None:
        raise unauthorized("that API token is not valid: it was revoked or mistyped",
                           invalid_token=True)
    return user


def need_user(user: User | None) -> User:
    if user is None:
        raise unauthorized("this needs an API token: `Authorization: Bearer <token>` "
                           "(`summitpad user token <login>` makes one)")
    return user


def need_organizer(user: User | None) -> User:
    found = need_user(user)
    if not found.is_organizer:
        raise ApiError(403, "forbidden", "only an organizer's token may do this")
    return found


def writer_of(secret: bytes, user: User) -> Writer:
    """The author an account's API edits and chat messages are by: the same id on every node
    and for every token of the account, named after its login."""
    digest = hmac.new(secret, f"api-user:{user.login}".encode(), hashlib.sha256).digest()[:12]
    return Writer(base64.urlsafe_b64encode(digest).decode(), user.login)


# -- what requests say --------------------------------------------------------------------------


def _number(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if not _NUMBER.fullmatch(raw):
        raise invalid(f"{name} must be a whole number, 0 or more (not {raw[:20]!r})")
    return int(raw)


def revision_param(request: web.Request) -> int | None:
    """`?rev=`: a revision number, None for the pad as it is now."""
    return _number(request, "rev")


def bounded_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    value = _number(request, name)
    if value is None:
        return default
    if not low <= value <= high:
        raise invalid(f"{name} must be {low} to {high:,}")
    return value


def format_param(request: web.Request) -> str:
    fmt = request.query.get("format", "text")
    if fmt not in TEXT_FORMATS:
        raise invalid(f"format must be one of {', '.join(TEXT_FORMATS)}")
    return fmt


def revision_path(value: str) -> int:
    if not _NUMBER.fullmatch(value):
        raise invalid(f"{value[:20]!r} is not a revision: revisions are 0, 1, 2, ...")
    return int(value)


async def json_body(
    request: web.Request, fields: Mapping[str, type], required: Iterable[str] = ()
) -> dict[str, Any]:
    """The request's JSON object, with only `fields` (name -> type) and every `required` one;
    400, 413 or 415 otherwise."""
    if not request.body_exists:
        raise invalid("this needs a JSON object as the request body")
    if request.content_type not in _JSON_TYPES:
        raise ApiError(415, "unsupported_media_type",
                       "send the body as JSON, with `Content-Type: application/json`")
    if (request.content_length or 0) > MAX_BODY:
        raise _too_large()
    raw = bytearray()
    while len(raw) <= MAX_BODY:
        chunk = await request.content.read(MAX_BODY + 1 - len(raw))
        if not chunk:
            break
        raw += chunk
    if len(raw) > MAX_BODY:
        raise _too_large()
    try:
        parsed = json.loads(bytes(raw).decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise invalid(f"the body is not JSON: {exc}"[:200]) from None
    if not isinstance(parsed, dict):
        raise invalid("the body must be a JSON object")
    for name, value in parsed.items():
        kind = fields.get(name)
        if kind is None:
            raise invalid(f"unknown member {name[:40]!r}: this takes {', '.join(fields)}")
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise invalid(f"{name} must be a {_TYPE_NAMES.get(kind, kind.__name__)}")
    for name in required:
        if name not in parsed:
            raise invalid(f"{name} is missing")
    return parsed


_TYPE_NAMES = {str: "string", int: "whole number", bool: "boolean"}


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _too_large() -> ApiError:
    return ApiError(413, "body_too_large", f"the body is over {MAX_BODY:,} bytes")


# -- answers ------------------------------------------------------------------------------------


def summit_json(summit: Summit, public_url: str, *, full: bool = False) -> dict[str, Any]:
    """A summit as listed; `full`: with its template, tracks and rooms."""
    body: dict[str, Any] = {
        "slug": summit.slug,
        "name": summit.name,
        "start_date": summit.start_date.isoformat(),
        "end_date": summit.end_date.isoformat(),
        "timezone": summit.timezone,
    }
    links = {
        "page": urls.absolute(public_url, urls.summit(summit.slug)),
        "api": urls.absolute(public_url, urls.api_summit(summit.slug)),
    }
    if full:
        whole = summit.to_json()
        body.update(template=whole["template"], tracks=whole["tracks"], rooms=whole["rooms"])
        links["sessions"] = links["api"] + "/sessions"
    body["urls"] = links
    return body


def session_json(
    data: SummitData, session: Session, public_url: str, now: datetime, grace: timedelta
) -> dict[str, Any]:
    """A session with its pad, where it stands now and its URLs."""
    slug = data.summit.slug
    pad_id = data.summit.pad_id(session.id)
    body = session.to_json()
    body.update(
        summit=slug,
        pad=pad_id,
        phase=phase(session, now, grace).value,
        read_only=is_read_only(session, now, grace),
        urls={
            "page": urls.absolute(public_url, urls.session(slug, session.id)),
            "projector": urls.absolute(public_url, urls.projector(slug, session.id)),
            "api": urls.absolute(public_url, urls.api_session(slug, session.id)),
            "pad": urls.absolute(public_url, urls.api_pad(pad_id)),
        },
    )
    return body


def sessions_in_order(sessions: Iterable[Session]) -> list[Session]:
    """Scheduled sessions by start, then the others; ties by id."""
    return sorted(sessions, key=lambda s: (s.start is None, s.start.isoformat() if s.start
                                           else "", s.id))


def pad_json(
    found: FoundPad, public_url: str, *, revisions: int, last_edited_ms: int | None, users: int
) -> dict[str, Any]:
    pad_id = found.keys.pad_id
    session = None
    page = urls.pad(pad_id)
    history = urls.pad_history(pad_id)
    if found.summit is not None and found.session is not None:
        slug = found.summit.summit.slug
        session = {"summit": slug, "id": found.session.id, "title": found.session.title}
        page = urls.session(slug, found.session.id)
        history = urls.session_history(slug, found.session.id)
    return {
        "id": pad_id,
        "session": session,
        "read_only": found.terms.read_only,
        "revisions": revisions,
        "last_edited": iso(last_edited_ms) if last_edited_ms is not None else None,
        "users": users,
        "urls": {
            "page": urls.absolute(public_url, page),
            "history": urls.absolute(public_url, history),
            "api": urls.absolute(public_url, urls.api_pad(pad_id)),
        },
    }


def delta_json(content: PadContent) -> dict[str, Any]:
    """The pad's runs as a Quill delta: {"ops": [{"insert", "attributes"?}, ...]}."""
    ops = []
    for run in content.runs:
        op: dict[str, Any] = {"insert": run.insert}
        if run.attributes:
            op["attributes"] = dict(run.attributes)
        ops.append(op)
    return {"ops": ops}


def shown_as(content: PadContent, fmt: str) -> Any:
    """The pad in one of TEXT_FORMATS: its text as the .txt export has it, Markdown, HTML
    blocks (escaped, no page around them), or a Quill delta."""
    if fmt == "text":
        return to_text(content)
    if fmt == "markdown":
        return to_markdown(content)
    if fmt == "html":
        return pad_blocks(content, {}, {})
    return delta_json(content)


def text_json(pad_id: str, rev: int | None, fmt: str, content: Any) -> dict[str, Any]:
    return {"pad": pad_id, "rev": rev, "format": fmt, "content": content}


def author_item(author: str, authors: Authors) -> dict[str, Any] | None:
    """Who wrote a revision; None for nobody (a session's template, or text from before the
    pad's history was kept)."""
    return author_json(author, authors) if author else None


def revision_item(number: int, author: str, time_ms: int, authors: Authors) -> dict[str, Any]:
    return {"rev": number, "time": iso(time_ms), "author": author_item(author, authors)}


def chat_json(entry: ChatEntry) -> dict[str, Any]:
    return {"id": entry.id, "author": entry.author, "name": entry.name, "color": entry.color,
            "text": entry.text, "time": iso(entry.time)}
