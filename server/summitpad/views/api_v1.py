"""The JSON API under /api/v1, a sub-application of its own: its routes, its 404 and 405, and its
middlewares (errors as JSON, the token of `Authorization: Bearer`). The shapes are api_v1.py's,
the description api_v1_openapi.py's, served at /api/v1/openapi.json.

The app's security middleware leaves /api paths alone: no cookie is read or set and no CSRF
token is asked for; a token in a header is what a cross-site page cannot send. Services are
reached through `request.config_dict` (the main app's state).
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from ..accounts import User
from ..api_v1 import (
    PAGE_DEFAULT,
    PAGE_MAX,
    author_item,
    bounded_param,
    chat_json,
    format_param,
    json_body,
    need_organizer,
    need_user,
    pad_json,
    revision_item,
    revision_param,
    revision_path,
    session_json,
    sessions_in_order,
    shown_as,
    summit_json,
    text_json,
    token_user,
    writer_of,
)
from ..api_v1_errors import ApiError, api_errors, invalid, rate_limited
from ..api_v1_openapi import openapi_document
from ..app_keys import CLOCK, REGISTRY, RULES, SETTINGS, STORE, SUMMITS
from ..author_names import read_authors
from ..chat import HISTORY, MAX_STORED, ChatWriter, Draft, read_chat
from ..errors import NotFound
from ..history_store import HistoryStore
from ..pad_export import FORMATS, pad_content, to_text
from ..pad_export_file import export_file, export_response
from ..pad_operations import (
    PadNotFound,
    PadOperations,
    ReadOnlyPad,
    RevisionNotFound,
    append_text,
    clean_text,
    replace_text,
    without_final_newline,
)
from ..rendering import Handler
from ..schedule import Session, is_session_id, is_slug
from ..summit_store import SummitData
from ..timeslider import iso, saved_json, saved_revisions, session_end
from ..web_security import ACCOUNTS, SECRET
from .archive import archive_response
from .pad_export import pad_operations

log = logging.getLogger(__name__)

API_USER: web.RequestKey[User | None] = web.RequestKey("api_user")


def create_api() -> web.Application:
    """The API as a sub-application, to be added under urls.API_V1."""
    api = web.Application(middlewares=[api_errors, _authenticate])
    r = api.router
    r.add_get("/openapi.json", openapi)
    r.add_get("/summits", list_summits)
    r.add_get("/summits/{summit}", get_summit)
    r.add_get("/summits/{summit}/sessions", list_sessions)
    r.add_get("/summits/{summit}/sessions/{session}", get_session)
    r.add_get("/summits/{summit}/archive", get_archive)
    r.add_get("/pads", list_pads)
    r.add_post("/pads", create_pad)
    r.add_get("/pads/{pad}", get_pad)
    r.add_get("/pads/{pad}/text", get_text)
    r.add_put("/pads/{pad}/text", put_text)
    r.add_post("/pads/{pad}/append", post_append)
    r.add_get("/pads/{pad}/revisions", list_revisions)
    r.add_get("/pads/{pad}/revisions/{rev}", get_revision)
    r.add_get("/pads/{pad}/chat", get_chat)
    r.add_post("/pads/{pad}/chat", post_chat)
    r.add_get("/pads/{pad}/export.{fmt}", get_export)
    return api


@web.middleware
async def _authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The account of the request's token, if it has one (401 for a wrong one)."""
    request[API_USER] = await token_user(request, request.config_dict[ACCOUNTS])
    return await handler(request)


# -- helpers ------------------------------------------------------------------------------------


def _public(request: web.Request) -> str:
    return request.config_dict[SETTINGS].public_url


def _json(body: Any, *, status: int = 200, headers: dict[str, str] | None = None
          ) -> web.Response:
    return web.json_response(body, status=status, headers=headers)


async def _summit(request: web.Request) -> SummitData:
    slug = request.match_info["summit"]
    try:
        if not is_slug(slug):
            raise NotFound(slug)
        return await request.config_dict[SUMMITS].load(slug)
    except NotFound:
        raise ApiError(404, "summit_not_found", f"there is no summit {slug[:60]!r}") from None


def _session(data: SummitData, session_id: str) -> Session:
    session = data.sessions.get(session_id) if is_session_id(session_id) else None
    if session is None:
        raise ApiError(404, "session_not_found",
                       f"summit {data.summit.slug!r} has no session {session_id[:80]!r}")
    return session


# -- summits ------------------------------------------------------------------------------------


async def openapi(request: web.Request) -> web.Response:
    return _json(openapi_document())


async def list_summits(request: web.Request) -> web.Response:
    found = await request.config_dict[SUMMITS].summits()
    return _json({"summits": [summit_json(s, _public(request)) for s in found]})


async def get_summit(request: web.Request) -> web.Response:
    data = await _summit(request)
    return _json(summit_json(data.summit, _public(request), full=True))


def _session_json(request: web.Request, data: SummitData, session: Session) -> dict[str, Any]:
    rules = request.config_dict[RULES]
    return session_json(data, session, _public(request), rules.clock.now(), rules.grace)


async def list_sessions(request: web.Request) -> web.Response:
    data = await _summit(request)
    sessions = [_session_json(request, data, s) for s in sessions_in_order(data.sessions.values())]
    return _json({"summit": data.summit.slug, "sessions": sessions})


async def get_session(request: web.Request) -> web.Response:
    data = await _summit(request)
    session = _session(data, request.match_info["session"])
    return _json(_session_json(request, data, session))


async def get_archive(request: web.Request) -> web.StreamResponse:
    """The summit's archive (docs/archive-format.md), written to a temporary file first."""
    need_organizer(request[API_USER])
    data = await _summit(request)
    return await archive_response(request, data.summit.slug)


# -- pads ---------------------------------------------------------------------------------------


async def list_pads(request: web.Request) -> web.Response:
    need_organizer(request[API_USER])
    return _json({"pads": await pad_operations(request).all_pads()})


async def _pad_answer(request: web.Request, ops: PadOperations, pad_id: str) -> dict[str, Any]:
    found = await ops.readable(pad_id)
    return pad_json(
        found, _public(request),
        revisions=await ops.revisions(found.keys),
        last_edited_ms=await ops.last_edited(found.keys),
        users=await ops.users(pad_id),
    )


async def create_pad(request: web.Request) -> web.Response:
    user = need_user(request[API_USER])
    body = await json_body(request, {"id": str, "text": str}, ["id"])
    text = body.get("text")
    text = None if text is None else without_final_newline(clean_text(text))
    ops = pad_operations(request)
    try:
        keys = ops.keys(body["id"])
    except PadNotFound as exc:
        raise invalid(f"id: {exc}") from None
    await ops.create(keys, text, writer_of(request.config_dict[SECRET], user))
    answer = await _pad_answer(request, ops, keys.pad_id)
    return _json(answer, status=201, headers={"Location": answer["urls"]["api"]})


async def get_pad(request: web.Request) -> web.Response:
    return _json(await _pad_answer(request, pad_operations(request), request.match_info["pad"]))


async def get_text(request: web.Request) -> web.Response:
    fmt = format_param(request)
    rev = revision_param(request)
    ops = pad_operations(request)
    found = await ops.readable(request.match_info["pad"])
    content = pad_content(await ops.state(found.keys, rev, template=found.terms.template))
    return _json(text_json(found.keys.pad_id, rev, fmt, shown_as(content, fmt)))


async def _write(request: web.Request, change: Any, text: str) -> web.Response:
    """Run `change(text_type, new_text, author_id)` on the pad as the token's account; answer
    the pad's text right after it."""
    user = need_user(request[API_USER])
    ops = pad_operations(request)
    found = await ops.readable(request.match_info["pad"])
    writer = writer_of(request.config_dict[SECRET], user)
    after: list[str] = []

    def edit(t: Any) -> None:
        change(t, text, writer.id)
        after.append(str(t))

    await ops.edit(found.keys, writer, edit)
    return _json(text_json(found.keys.pad_id, None, "text", after[-1]))


async def put_text(request: web.Request) -> web.Response:
    need_user(request[API_USER])
    body = await json_body(request, {"text": str}, ["text"])
    return await _write(request, replace_text, without_final_newline(clean_text(body["text"])))


async def post_append(request: web.Request) -> web.Response:
    need_user(request[API_USER])
    body = await json_body(request, {"text": str}, ["text"])
    return await _write(request, append_text, clean_text(body["text"]))


# -- history ------------------------------------------------------------------------------------


async def list_revisions(request: web.Request) -> web.Response:
    after = bounded_param(request, "after", 0, 0, 10**12)
    limit = bounded_param(request, "limit", PAGE_DEFAULT, 1, PAGE_MAX)
    ops = pad_operations(request)
    found = await ops.readable(request.match_info["pad"])
    history = HistoryStore(ops.client)
    view = await history.view(found.keys)
    authors = await ops.call(lambda: read_authors(ops.client, found.keys))
    listed = await history.summaries(view, after + 1, after + limit)
    last = after + limit
    ended = session_end(found.session, request.config_dict[CLOCK].now())
    saved = await saved_revisions(history, view, ended=ended)
    return _json({
        "pad": found.keys.pad_id,
        "count": view.count,
        "revisions": [revision_item(n, a, t, authors) for n, a, t in listed],
        "next_after": last if last < view.count else None,
        "saved": [saved_json(s) for s in saved],
    })


async def get_revision(request: web.Request) -> web.Response:
    number = revision_path(request.match_info["rev"])
    ops = pad_operations(request)
    found = await ops.readable(request.match_info["pad"])
    history = HistoryStore(ops.client)
    view = await history.view(found.keys)
    if number > view.count:
        raise RevisionNotFound(f"revision {number} does not exist (the pad has {view.count})")
    doc = await history.doc_at(view, number)
    revision = await history.revision(view, number) if number else None
    authors = await ops.call(lambda: read_authors(ops.client, found.keys))
    return _json({
        "pad": found.keys.pad_id,
        "rev": number,
        "count": view.count,
        "time": None if revision is None else iso(revision.time_ms),
        "author": None if revision is None else author_item(revision.author, authors),
        "text": to_text(pad_content(doc)),
    })


# -- chat ---------------------------------------------------------------------------------------


async def get_chat(request: web.Request) -> web.Response:
    last = bounded_param(request, "last", HISTORY, 1, MAX_STORED)
    ops = pad_operations(request)
    found = await ops.readable(request.match_info["pad"])
    entries = await read_chat(ops.client, found.keys, last=last)
    return _json({"pad": found.keys.pad_id, "messages": [chat_json(e) for e in entries]})


async def post_chat(request: web.Request) -> web.Response:
    user = need_user(request[API_USER])
    body = await json_body(request, {"text": str}, ["text"])
    ops = pad_operations(request)
    found = await ops.readable(request.match_info["pad"])
    writer = writer_of(request.config_dict[SECRET], user)
    draft = Draft.of(writer.id, {"text": body["text"], "name": writer.name})
    if draft.problem == "empty":
        raise ApiError(400, "invalid_request", "the message is empty")
    if draft.problem is not None:
        raise ApiError(413, "body_too_large", "a chat message holds at most 1,000 characters")
    if (await ops.terms(found.keys.pad_id)).read_only:
        raise ReadOnlyPad("the pad is read-only (its session is locked or over): its chat too")
    node = request.config_dict[STORE].node_id
    stored = await ops.call(lambda: ChatWriter(ops.client, found.keys, node).store(draft))
    if isinstance(stored, int):
        raise rate_limited(stored)
    live = request.config_dict[REGISTRY].live(found.keys.pad_id)
    if live is not None:  # the other nodes hear it from the store
        live.chat.receive_local(stored)
    return _json(chat_json(stored), status=201)


# -- export -------------------------------------------------------------------------------------


async def get_export(request: web.Request) -> web.Response:
    fmt = request.match_info["fmt"]
    if fmt not in FORMATS:
        raise ApiError(404, "not_found",
                       f"no export format {fmt[:20]!r}: use one of {', '.join(FORMATS)}")
    rev = revision_param(request)
    ops = pad_operations(request)
    found = await ops.readable(request.match_info["pad"])
    file = await export_file(ops, found, fmt, rev, request.config_dict[CLOCK].now())
    return export_response(file, fmt)

