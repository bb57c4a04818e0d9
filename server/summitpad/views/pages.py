"""A bare pad: a pad of its own, outside any summit."""

from __future__ import annotations

from aiohttp import web

from ..app_keys import RULES
from ..keys import check_pad_id
from ..rendering import render


async def open_pad(request: web.Request) -> web.Response:
    """The front page's form: go to the pad named in `?pad=`."""
    pad_id = request.query.get("pad", "").strip()
    raise web.HTTPSeeOther(request.app.router["pad"].url_for(pad_id=check_pad_id(pad_id)))


async def pad_page(request: web.Request) -> web.Response:
    pad_id = check_pad_id(request.match_info["pad_id"])
    await request.app[RULES].terms(pad_id)  # NotFound for a session that does not exist
    ws_url = str(request.app.router["pad_socket"].url_for(pad_id="x").parent)
    return render(request, "pad.html", {"pad_id": pad_id, "ws_url": ws_url})
