"""Download a pad: /p/<pad-id>/export.<fmt> and /<summit>/<session>/export.<fmt>.

The pad is read from the store (snapshot + log), never from this node's live pad: an export
holds exactly what is durable, and every node gives the same answer for the same pad. A session
pad that nobody has opened yet exports as its summit's template, which is what it shows when
first opened; a bare pad never written exports as empty. The JSON and HTML exports hold the
names and colours of the pad's authors and its chat as well.

`?rev=<n>` exports the pad at revision n of its history instead (0 is the empty pad), as
`<pad>-r<n>.<fmt>`; a revision that does not exist, or a `rev` that is not a whole number, is a
404. The JSON export lists the time and author of every revision up to the one exported (the
latest 10,000 of them, with `revisions_omitted` saying how many earlier ones are left out) and
the saved revisions up to it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pycrdt import Doc

from .. import urls
from ..app_keys import CLOCK, RULES, SETTINGS, STORE, SUMMITS
from ..author_names import read_authors
from ..chat import ChatEntry, read_chat
from ..errors import NotFound
from ..history_store import HistoryStore, HistoryView
from ..keys import PAD_ID_PATTERN, PadKeys, check_pad_id, pad_keys
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
from ..timeslider import (
    parse_revision,
    revisions_json,
    saved_json,
    saved_revisions,
    session_end,
)
from .summits import SLUG, load_summit

FMT = "{fmt:[A-Za-z0-9]+}"


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(f"/p/{{pad_id:{PAD_ID_PATTERN}}}/export.{FMT}", pad_export, name="pad_export")
    router.add_get(f"/{SLUG}/{urls.SESSION}/export.{FMT}", session_export,
                   name="session_export")


async def pad_export(request: web.Request) -> web.Response:
    pad_id = check_pad_id(request.match_info["pad_id"])
    fmt = _format(request)
    info = session = None
    found = parse_session_pad_id(pad_id)
    if found is not None:
        try:
            data = await request.app[SUMMITS].load(found[0])
        except NotFound:
            data = None  # a bare pad whose name only looks like a session's
        if data is not None:
            session = data.session(found[1])
            info = session_info(data, session)
    return await _export(request, pad_id, fmt, info, session)


async def session_export(request: web.Request) -> web.Response:
    fmt = _format(request)
    data = await load_summit(request)
    session = data.session(check_session_id(request.match_info["session"]))
    pad_id = data.summit.pad_id(session.id)
    return await _export(request, pad_id, fmt, session_info(data, session), session)


def _format(request: web.Request) -> str:
    fmt = request.match_info["fmt"]
    if fmt not in FORMATS:
        raise NotFound(f"no export format {fmt[:20]!r}: use one of {', '.join(FORMATS)}")
    parse_revision(request.query.get("rev"))  # NotFound for a malformed one, before any reading
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


async def _chat(request: web.Request, pad_id: str) -> list[ChatEntry]:
    keys = pad_keys(request.app[SETTINGS].key_prefix, pad_id)
    return await read_chat(request.app[STORE].client, keys)


async def _history_fields(
    request: web.Request, view: HistoryView, rev: int | None, session: Session | None
) -> dict[str, Any]:
    """What the JSON export says of the pad's history, up to the revision exported."""
    history = HistoryStore(request.app[STORE].client)
    upto = view.count if rev is None else rev
    revisions, omitted = await revisions_json(history, view, upto)
    ended = session_end(session, request.app[CLOCK].now())
    saved = await saved_revisions(history, view, ended=ended)
    return {
        "revision": rev,
        "revisions": revisions,
        "revisions_omitted": omitted,
        "saved": [saved_json(s) for s in saved if (s.number or 0) <= upto],
    }


async def _authors(request: web.Request, keys: PadKeys) -> dict[str, dict[str, str]]:
    """The pad's authors as the exporters take them: id -> {name, colour}."""
    found = await read_authors(request.app[STORE].client, keys)
    return {aid: {"name": a["name"], "colour": a["color"]} for aid, a in found.items()}


async def _export(
    request: web.Request,
    pad_id: str,
    fmt: str,
    info: SessionInfo | None,
    session: Session | None = None,
) -> web.Response:
    rev = parse_revision(request.query.get("rev"))
    keys = pad_keys(request.app[SETTINGS].key_prefix, pad_id)
    view = None
    if rev is None:
        state = await _state(request, pad_id)
    else:
        await request.app[RULES].terms(pad_id)  # NotFound for a session that does not exist
        history = HistoryStore(request.app[STORE].client)
        view = await history.view(keys)
        state = await history.doc_at(view, rev)  # NotFound for a revision that does not exist
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
            if view is None:
                view = await HistoryStore(request.app[STORE].client).view(keys)
            body = to_json(content, pad_id=pad_id, exported_at=now, session=info,
                           authors=await _authors(request, keys),
                           chat=await _chat(request, pad_id),
                           **await _history_fields(request, view, rev, session))
        else:
            stamp = now.isoformat(timespec="seconds").replace("+00:00", "Z")
            body = to_html(content, title=info.title if info else pad_id, session=info,
                           authors=await _authors(request, keys), exported_at=stamp,
                           chat=await _chat(request, pad_id))
    name = pad_id if rev is None else f"{pad_id}-r{rev}"
    response = web.Response(
        body=body.encode() if isinstance(body, str) else body,
        headers={
            "Content-Type": FORMATS[fmt],
            "Content-Disposition": f'attachment; filename="{name}.{fmt}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )
    if fmt == "html":  # opened in the browser anyway: no scripts, nothing fetched
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; sandbox"
        )
    return response
