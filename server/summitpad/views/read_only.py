"""Read-only links: `/p/<pad-id>/ro` and `/<summit>/<session>/ro` lead to `/ro/<ro-id>`, a page
that follows the pad live over `/ws/ro/<ro-id>` and takes no edits.

Nothing served under a read-only id names the writable pad: the page shows a session's title,
time and room but links to none of its writable pages, and the websocket tells the client only
the read-only id. A read-only connection's sync step 2 (the stock client's answer to the
server's step 1) is dropped; an update from it closes it with 4403 "read-only". Its awareness
is relayed, so viewers show in "who is here" like anybody else.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .. import urls
from ..app_keys import CLOCK, RULES, SETTINGS, STORE, SUMMITS
from ..errors import NotFound
from ..keys import PAD_ID_PATTERN, check_pad_id
from ..read_only import RO_ID_PATTERN, ReadOnlyIds
from ..rendering import render
from ..schedule import check_session_id, parse_session_pad_id
from ..summit_store import SummitData
from .pad_socket import serve_pad
from .summits import SLUG, load_summit, track_css_url

RO_ID = "{ro_id:" + RO_ID_PATTERN + "}"
WS_PATH = "/ws/ro"


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(f"/p/{{pad_id:{PAD_ID_PATTERN}}}/ro", pad_link, name="pad_read_only")
    router.add_get(f"/{SLUG}/{urls.SESSION}/ro", session_link, name="session_read_only")
    router.add_get(f"/ro/{RO_ID}", page, name="read_only")
    router.add_get("/ro/{ro_id:[^/]+}", page)  # anything else: the same 404 as an unknown id
    router.add_get(f"{WS_PATH}/{{ro_id:[^/]+}}", socket, name="read_only_socket")


def read_only_ids(request: web.Request) -> ReadOnlyIds:
    return ReadOnlyIds(request.app[STORE].client, request.app[SETTINGS].key_prefix)


async def pad_link(request: web.Request) -> web.Response:
    pad_id = check_pad_id(request.match_info["pad_id"])
    await request.app[RULES].terms(pad_id)  # NotFound for a session that does not exist
    raise web.HTTPSeeOther(urls.read_only(await read_only_ids(request).for_pad(pad_id)))


async def session_link(request: web.Request) -> web.Response:
    data = await load_summit(request)
    session = data.session(check_session_id(request.match_info["session"]))
    ro_id = await read_only_ids(request).for_pad(data.summit.pad_id(session.id))
    raise web.HTTPSeeOther(urls.read_only(ro_id))


async def page(request: web.Request) -> web.Response:
    ro_id = request.match_info["ro_id"]
    pad_id = await read_only_ids(request).require_pad_of(ro_id)
    context: dict[str, Any] = {"ro_id": ro_id, "ws_url": WS_PATH, "session": None}
    found = parse_session_pad_id(pad_id)
    if found is not None:
        context.update(await _session_context(request, *found))
    return render(request, "read_only.html", context)


async def _session_context(request: web.Request, slug: str, session_id: str) -> dict[str, Any]:
    """What the page shows of the session whose pad this is (nothing if it is gone)."""
    try:
        data: SummitData = await request.app[SUMMITS].load(slug)
    except NotFound:
        return {}
    session = data.sessions.get(session_id)
    if session is None:
        return {}
    summit = data.summit
    return {
        "summit": summit,
        "session": session,
        "track": summit.track(session.track),
        "room": summit.room(session.room),
        "now": request.app[CLOCK].now(),
        "track_css": track_css_url(data),
    }


async def socket(request: web.Request) -> web.StreamResponse:
    """The websocket of a read-only page; an unknown id closes it with 4404 (the stock client
    does not come back after a 44xx close, as it would after an HTTP 404)."""
    ro_id = request.match_info["ro_id"]

    async def find_pad() -> str:
        return await read_only_ids(request).require_pad_of(ro_id)

    return await serve_pad(request, find_pad, read_only=True, shown_as=ro_id[:60])
