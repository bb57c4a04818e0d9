"""`/admin`, for organizers: every pad (searched, a page at a time), deleting a pad for good,
and notices to everyone in a summit's pads. Forms post with a CSRF token; scripts use an API
token and get JSON when they ask for it."""

from __future__ import annotations

from aiohttp import web

from .. import urls
from ..admin_broadcast import MAX_TEXT, RATE_WINDOW_MS
from ..admin_pads import PadLister, page_number
from ..app_keys import BROADCASTER, CLOCK, PRESENCE, REGISTRY, SETTINGS, STORE, SUMMITS
from ..errors import InvalidInput
from ..keys import PAD_ID_PATTERN, check_pad_id, pad_keys
from ..pad_deletion import delete_pad
from ..rendering import read_form, render
from ..schedule import check_slug
from ..search import MAX_QUERY
from ..web_security import require_organizer
from .organize import wants_json

PAD = f"{{pad_id:{PAD_ID_PATTERN}}}"


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/admin", admin_page, name="admin")
    router.add_get(f"/admin/pads/{PAD}/delete", delete_form, name="admin_delete")
    router.add_post(f"/admin/pads/{PAD}/delete", delete)
    router.add_post("/admin/notices", send_notice, name="admin_notices")


def _lister(request: web.Request) -> PadLister:
    app = request.app
    return PadLister(app[STORE].client, app[SETTINGS].key_prefix, app[STORE], app[SUMMITS],
                     app[PRESENCE], app[REGISTRY])


async def admin_page(request: web.Request) -> web.StreamResponse:
    require_organizer(request)
    query = request.query.get("q", "")[:MAX_QUERY]
    listing = await _lister(request).listing(query, page_number(request.query.get("page")))
    if wants_json(request):
        return web.json_response(listing.to_json())
    deleted = request.query.get("deleted", "")
    return render(request, "admin.html", {
        "listing": listing,
        "summits": await request.app[SUMMITS].summits(),
        "now": request.app[CLOCK].now(),
        "deleted": deleted[:100],
        "sent": request.query.get("sent", "")[:40],
        "notice_max": MAX_TEXT,
        "notice_every": RATE_WINDOW_MS // 1000,
    })


async def delete_form(request: web.Request) -> web.Response:
    require_organizer(request)
    pad_id = check_pad_id(request.match_info["pad_id"])
    return render(request, "admin_delete.html", {
        "row": await _lister(request).row(pad_id), "now": request.app[CLOCK].now(),
    })


async def delete(request: web.Request) -> web.StreamResponse:
    """Delete a pad for good, once its id is typed again in `confirm`."""
    user = require_organizer(request)
    pad_id = check_pad_id(request.match_info["pad_id"])
    form = await read_form(request)
    if str(form.get("confirm", "")).strip() != pad_id:
        raise InvalidInput(f"type the pad id, {pad_id}, to confirm: nothing was deleted")
    await _lister(request).row(pad_id)  # NotFound for a pad that is nowhere
    app = request.app
    keys = pad_keys(app[SETTINGS].key_prefix, pad_id)
    await delete_pad(app[STORE], app[REGISTRY], app[SUMMITS], keys, by=user.login)
    if wants_json(request):
        return web.json_response({"deleted": pad_id})
    raise web.HTTPSeeOther(urls.admin(deleted=pad_id))


async def send_notice(request: web.Request) -> web.StreamResponse:
    """A notice (`text`) to everyone in summit `summit`'s pads, on every node."""
    user = require_organizer(request)
    form = await read_form(request)
    slug = check_slug(str(form.get("summit", "")))
    await request.app[SUMMITS].load(slug)  # NotFound for a summit that does not exist
    notice = await request.app[BROADCASTER].send(slug, form.get("text"), by=user.login)
    if wants_json(request):
        return web.json_response({"notice": notice.to_json()}, status=201)
    raise web.HTTPSeeOther(urls.admin(sent=slug) + "#notices")
