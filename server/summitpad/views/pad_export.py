"""Download a pad: /p/<pad-id>/export.<fmt> and /<summit>/<session>/export.<fmt>.

The pad is read from the store (snapshot + log), never from this node's live pad: an export
holds exactly what is durable, and every node gives the same answer for the same pad. A session
pad that nobody has opened yet exports as its summit's template, which is what it shows when
first opened; a bare pad never written exports as empty. The author map is empty for now: no
author names are stored with a pad yet (runs keep their `author` ids either way).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pycrdt import Doc

from .. import urls
from ..app_keys import CLOCK, RULES, SETTINGS, STORE, SUMMITS
from ..errors import NotFound
from ..keys import PAD_ID_PATTERN, check_pad_id, pad_keys
from ..pad_export import (
    FORMATS,
    SessionInfo,
    doc_from_updates,
    pad_content,
    to_json,
    to_markdown,
    to_text,
    to_yjs,
)
from ..pad_export_html import to_html
from ..schedule import Session, check_session_id, parse_session_pad_id
from ..summit_store import SummitData
from .summits import SLUG, load_summit

FMT = "{fmt:[A-Za-z0-9]+}"


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(f"/p/{{pad_id:{PAD_ID_PATTERN}}}/export.{FMT}", pad_export, name="pad_export")
    router.add_get(f"/{SLUG}/{urls.SESSION}/export.{FMT}", session_export,
                   name="session_export")


async def pad_export(request: web.Request) -> web.Response:
    pad_id = check_pad_id(request.match_info["pad_id"])
    fmt = _format(request)
    info = None
    found = parse_session_pad_id(pad_id)
    if found is not None:
        try:
            data = await request.app[SUMMITS].load(found[0])
        except NotFound:
            data = None  # a bare pad whose name only looks like a session's
        if data is not None:
            info = session_info(data, data.session(found[1]))
    return await _export(request, pad_id, fmt, info)


async def session_export(request: web.Request) -> web.Response:
    fmt = _format(request)
    data = await load_summit(request)
    session = data.session(check_session_id(request.match_info["session"]))
    pad_id = data.summit.pad_id(session.id)
    return await _export(request, pad_id, fmt, session_info(data, session))


def _format(request: web.Request) -> str:
    fmt = request.match_info["fmt"]
    if fmt not in FORMATS:
        raise NotFound(f"no export format {fmt[:20]!r}: use one of {', '.join(FORMATS)}")
    if "rev" in request.query:
        raise NotFound("revisions are not kept yet: only the current pad can be exported")
    return fmt


def session_info(data: SummitData, session: Session) -> SessionInfo:
    summit = data.summit
    track = summit.track(session.track)
    room = summit.room(session.room)
    when = ""
    if session.start and session.end:
        start, end = summit.local(session.start), summit.local(session.end)
        when = f"{start:%a %d %b %Y %H:%M}-{end:%H:%M} ({summit.timezone})"
    return SessionInfo(
        summit=summit.slug,
        summit_name=summit.name,
        id=session.id,
        title=session.title,
        track=track.name if track else "",
        room=room.name if room else "",
        start=session.start.isoformat() if session.start else None,
        end=session.end.isoformat() if session.end else None,
        when=when,
        moderator=session.moderator,
        description=session.description,
    )


async def _state(request: web.Request, pad_id: str) -> Doc[Any]:
    """The pad as stored; a session pad never written: its template."""
    terms = await request.app[RULES].terms(pad_id, with_template=True)  # NotFound: no session
    prefix = request.app[SETTINGS].key_prefix
    stored = await request.app[STORE].read(pad_keys(prefix, pad_id))
    updates = ([stored.snapshot] if stored.snapshot else []) + [u for _, u in stored.updates]
    return doc_from_updates(updates or [terms.template or b""])


async def _export(
    request: web.Request, pad_id: str, fmt: str, info: SessionInfo | None
) -> web.Response:
    state = await _state(request, pad_id)
    now = request.app[CLOCK].now()
    body: str | bytes
    if fmt == "yjs":
        body = to_yjs(state)
    else:
        content = pad_content(state)
        if fmt == "txt":
            body = to_text(content)
        elif fmt == "md":
            body = to_markdown(content)
        elif fmt == "json":
            body = to_json(content, pad_id=pad_id, exported_at=now, session=info, authors={})
        else:
            stamp = now.isoformat(timespec="seconds").replace("+00:00", "Z")
            body = to_html(content, title=info.title if info else pad_id, session=info,
                           authors={}, exported_at=stamp)
    response = web.Response(
        body=body.encode() if isinstance(body, str) else body,
        headers={
            "Content-Type": FORMATS[fmt],
            "Content-Disposition": f'attachment; filename="{pad_id}.{fmt}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )
    if fmt == "html":  # opened in the browser anyway: no scripts, nothing fetched
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; sandbox"
        )
    return response
