"""A pad's history: the timeslider page, one revision as JSON, saved revisions, restore.

    GET  <pad>/history              the timeslider at the latest revision (?rev=n: at n)
    GET  <pad>/history.json?rev=n   revision n (the latest without ?rev), see timeslider.py
    POST <pad>/revisions            save the latest revision under a label (form: label, name)
    POST <pad>/history/restore      bring the text back to revision `rev` (form field)

<pad> is /p/<pad-id> for any pad, /<summit>/<session> for a session's. A revision that does
not exist, and a `rev` that is not a whole number, is a 404. Revision 0 is the empty pad: a
session pad nobody has opened yet has no other (its template becomes revision 1 when it is
first opened). Saving and restoring take the CSRF token like every POST and are refused (403)
while the pad is read-only; read-only links (/ro/<id>) offer neither. Forms get a redirect to
the pad; clients that accept JSON get JSON.

A saved revision marks the pad's latest revision; saving the same revision again relabels it.
A restore is an edit through the live pad, so everybody connected sees it at once, and it only
adds to the history: the text before it is saved first (unless saved already) as "before
restoring revision <n>", which also keeps it a revision of its own rather than part of the
restorer's last one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from markupsafe import Markup
from pycrdt import Text

from .. import urls
from ..app_keys import CLOCK, REGISTRY, RULES, SETTINGS, STORE, SUMMITS
from ..author_names import clean_name, read_authors
from ..errors import Forbidden, InvalidInput, NotFound
from ..history_store import HistoryStore
from ..keys import PAD_ID_PATTERN, PadKeys, check_pad_id, pad_keys
from ..pad_export import TEXT_NAME
from ..rendering import read_form, render
from ..restore import restore_edits
from ..schedule import Session, check_session_id, parse_session_pad_id
from ..summit_store import SummitData
from ..timeslider import (
    clean_label,
    parse_revision,
    revision_json,
    saved_json,
    saved_revisions,
    session_end,
)
from ..web_security import PARTICIPANT_ID
from .summits import SLUG, load_summit, track_css_url

NOT_SAVED = "this pad is read-only (its session is locked or over): no revision can be saved"
NOT_RESTORED = "this pad is read-only (its session is locked or over): nothing was restored"


def add_routes(router: web.UrlDispatcher) -> None:
    for base, kind in (
        (f"/p/{{pad_id:{PAD_ID_PATTERN}}}", "pad"), (f"/{SLUG}/{urls.SESSION}", "session")
    ):
        router.add_get(f"{base}/history", history_page, name=f"{kind}_history")
        router.add_get(f"{base}/history.json", history_json, name=f"{kind}_history_json")
        router.add_post(f"{base}/revisions", save_revision, name=f"{kind}_revisions")
        router.add_post(f"{base}/history/restore", restore, name=f"{kind}_restore")


@dataclass(frozen=True, slots=True)
class PadPlace:
    """The pad a request names, and the addresses of its pages."""

    pad_id: str
    title: str
    read_only: bool
    data: SummitData | None  # the summit of a session's pad
    session: Session | None
    at: tuple[str, str] | None  # (summit, session) when named by /<summit>/<session>

    @property
    def page(self) -> str:
        return urls.session(*self.at) if self.at else urls.pad(self.pad_id)

    @property
    def history(self) -> str:
        return urls.session_history(*self.at) if self.at else urls.pad_history(self.pad_id)

    @property
    def history_json(self) -> str:
        return (urls.session_history_json(*self.at) if self.at
                else urls.pad_history_json(self.pad_id))

    @property
    def restore(self) -> str:
        return urls.session_restore(*self.at) if self.at else urls.pad_restore(self.pad_id)

    def export(self, fmt: str, rev: int | None = None) -> str:
        if self.at:
            return urls.session_export(*self.at, fmt, rev)
        return urls.pad_export(self.pad_id, fmt, rev)


async def _place(request: web.Request) -> PadPlace:
    rules = request.app[RULES]
    if "pad_id" in request.match_info:
        pad_id = check_pad_id(request.match_info["pad_id"])
        terms = await rules.terms(pad_id)  # NotFound for a session that does not exist
        data, session = await _session_of(request, pad_id)
        return PadPlace(pad_id, session.title if session else pad_id, terms.read_only,
                        data, session, None)
    data = await load_summit(request)
    session = data.session(check_session_id(request.match_info["session"]))
    pad_id = data.summit.pad_id(session.id)
    terms = await rules.terms(pad_id)
    return PadPlace(pad_id, session.title, terms.read_only, data, session,
                    (data.summit.slug, session.id))


async def _session_of(
    request: web.Request, pad_id: str
) -> tuple[SummitData | None, Session | None]:
    found = parse_session_pad_id(pad_id)
    if found is None:
        return None, None
    try:
        data = await request.app[SUMMITS].load(found[0])
    except NotFound:
        return None, None  # a bare pad whose name only looks like a session's
    return data, data.sessions.get(found[1])


def _keys(request: web.Request, place: PadPlace) -> PadKeys:
    return pad_keys(request.app[SETTINGS].key_prefix, place.pad_id)


def _history(request: web.Request) -> HistoryStore:
    return HistoryStore(request.app[STORE].client)


async def _name(request: web.Request, keys: PadKeys, author: str) -> str:
    """The name `author` last wrote under in this pad ("" if none is recorded)."""
    recorded = (await read_authors(request.app[STORE].client, keys)).get(author)
    return recorded["name"] if recorded else ""


def _now_ms(request: web.Request) -> int:
    return int(request.app[CLOCK].now().timestamp() * 1000)


def _wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


async def _shown(request: web.Request, place: PadPlace) -> dict[str, Any]:
    """The revision the request asks for (?rev=, else the latest) as timeslider.py has it."""
    wanted = parse_revision(request.query.get("rev"))
    history = _history(request)
    keys = _keys(request, place)
    view = await history.view(keys)
    ended = session_end(place.session, request.app[CLOCK].now())
    saved = await saved_revisions(history, view, ended=ended)
    authors = await read_authors(history.client, keys)
    number = view.count if wanted is None else wanted
    return await revision_json(history, view, number, authors=authors, saved=saved)


async def history_page(request: web.Request) -> web.Response:
    place = await _place(request)
    shown = await _shown(request, place)
    context = {
        "place": place,
        "shown": shown,
        "text_html": Markup(shown["html"]),  # built escaped by pad_export_html
        "summit": place.data.summit if place.data and place.session else None,
        "track_css": track_css_url(place.data) if place.data and place.session else "",
    }
    return render(request, "history.html", context)


async def history_json(request: web.Request) -> web.Response:
    place = await _place(request)
    shown = await _shown(request, place)
    return web.json_response(shown, headers={"Cache-Control": "no-store"})


async def save_revision(request: web.Request) -> web.StreamResponse:
    place = await _place(request)
    if place.read_only:
        raise Forbidden(NOT_SAVED)
    form = await read_form(request)
    label = clean_label(form.get("label"))
    author = request[PARTICIPANT_ID]
    history = _history(request)
    keys = _keys(request, place)
    name = clean_name(form.get("name")) or await _name(request, keys, author)
    saved = await history.save(
        keys, label=label, author=author, name=name, time_ms=_now_ms(request)
    )
    if saved is None:
        raise InvalidInput("the pad has no edits yet: there is no revision to save")
    if _wants_json(request):
        return web.json_response({"saved": saved_json(saved)})
    raise web.HTTPSeeOther(place.page)


async def restore(request: web.Request) -> web.StreamResponse:
    place = await _place(request)
    if place.read_only:
        raise Forbidden(NOT_RESTORED)
    form = await read_form(request)
    number = parse_revision(form.get("rev"))
    if number is None:
        raise InvalidInput("say which revision to restore: the form field rev")
    history = _history(request)
    keys = _keys(request, place)
    view = await history.view(keys)
    target = (await history.doc_at(view, number)).get(TEXT_NAME, type=Text).diff()
    author = request[PARTICIPANT_ID]
    latest = view.tail[-1].upto if view.tail else view.head.upto
    if latest and not any(s.upto == latest for s in view.saved):
        await history.save(keys, label=f"before restoring revision {number}", author=author,
                           name=await _name(request, keys, author), time_ms=_now_ms(request))
    try:
        await request.app[REGISTRY].edit(
            place.pad_id, author, lambda text: restore_edits(text, target)
        )
    except Forbidden as exc:  # locked since the check above
        raise Forbidden(NOT_RESTORED) from exc
    if _wants_json(request):
        return web.json_response({"restored": number})
    raise web.HTTPSeeOther(place.page)
