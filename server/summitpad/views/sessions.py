"""A session: its page with the pad, its projector view, and the signage of its room."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any

import segno
from aiohttp import web
from markupsafe import Markup

from .. import urls
from ..app_keys import CLOCK, SETTINGS
from ..errors import NotFound
from ..lifecycle import by_room, is_read_only, now_and_next, phase
from ..rendering import render
from ..schedule import Room, Session, Summit, check_session_id
from ..summit_store import SummitData
from .summits import SLUG, load_summit, site_url, track_css_url

SESSION = urls.SESSION
ROOM = urls.ROOM
# How far ahead the signage feed lists a room's sessions.
FEED_AHEAD = timedelta(hours=36)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(f"/{SLUG}/rooms/{ROOM}", signage, name="signage")
    router.add_get(f"/{SLUG}/rooms/{ROOM}/now.json", signage_feed, name="signage_feed")
    router.add_get(f"/{SLUG}/{SESSION}", session_page, name="session")
    router.add_get(f"/{SLUG}/{SESSION}/projector", projector, name="projector")


def _session(request: web.Request, data: SummitData) -> Session:
    return data.session(check_session_id(request.match_info["session"]))


def _room(request: web.Request, summit: Summit) -> Room:
    room = summit.room(request.match_info["room"])
    if room is None:
        raise NotFound(f"summit {summit.slug!r} has no room {request.match_info['room']!r}")
    return room


@functools.lru_cache(maxsize=1024)
def qr_svg(url: str) -> Markup:
    """A QR code of `url` as inline SVG (it scales with its box; no JavaScript needed)."""
    code = segno.make(url, error="m")
    svg = code.svg_inline(scale=1, border=2, dark="#000", light="#fff", omitsize=True)
    return Markup(svg)  # segno writes the SVG; the URL inside it is encoded as modules


def session_context(request: web.Request, data: SummitData, session: Session) -> dict[str, Any]:
    """What the session page, the projector and the signage show of a session."""
    settings = request.app[SETTINGS]
    now = request.app[CLOCK].now()
    grace = timedelta(seconds=settings.grace_period)
    summit = data.summit
    join_url = urls.absolute(site_url(request), urls.session(summit.slug, session.id))
    return {
        "summit": summit,
        "data": data,
        "session": session,
        "track": summit.track(session.track),
        "room": summit.room(session.room),
        "pad_id": summit.pad_id(session.id),
        "ws_url": "/ws",
        "now": now,
        "phase": phase(session, now, grace).value,
        "read_only": is_read_only(session, now, grace),
        "join_url": join_url,
        "join_label": urls.short(join_url),
        "track_css": track_css_url(data),
        "grace_minutes": round(grace.total_seconds() / 60),
    }


async def session_page(request: web.Request) -> web.Response:
    data = await load_summit(request)
    session = _session(request, data)
    return render(request, "session.html", session_context(request, data, session))


async def projector(request: web.Request) -> web.Response:
    data = await load_summit(request)
    session = _session(request, data)
    context = session_context(request, data, session)
    context.update(
        signage=False,
        feed_url="",
        next_session=None,
        qr_svg=qr_svg(context["join_url"]),
    )
    return render(request, "projector.html", context)


async def signage(request: web.Request) -> web.Response:
    """The projector of a room: the session on now, or the next one and when it starts."""
    data = await load_summit(request)
    room = _room(request, data.summit)
    now = request.app[CLOCK].now()
    current = now_and_next(by_room(data.sessions.values()).get(room.id, []), now)
    shown = current.now
    if shown is not None:
        context = session_context(request, data, shown)
        context["qr_svg"] = qr_svg(context["join_url"])
    else:
        context = {
            "summit": data.summit, "data": data, "session": None, "track": None,
            "pad_id": "", "ws_url": "/ws", "now": now, "phase": "", "read_only": True,
            "join_url": "", "join_label": "", "qr_svg": "",
            "track_css": track_css_url(data),
        }
    context.update(
        room=room,
        signage=True,
        feed_url=urls.signage_feed(data.summit.slug, room.id),
        next_session=current.next,
    )
    return render(request, "projector.html", context)


async def signage_feed(request: web.Request) -> web.Response:
    """The room's sessions from now on, for the signage to switch at slot boundaries by itself."""
    data = await load_summit(request)
    summit = data.summit
    room = _room(request, summit)
    settings = request.app[SETTINGS]
    now = request.app[CLOCK].now()
    grace = timedelta(seconds=settings.grace_period)
    site = site_url(request)
    sessions = [
        s for s in by_room(data.sessions.values()).get(room.id, [])
        if s.end > now and s.start < now + FEED_AHEAD  # type: ignore[operator]
    ]
    items = []
    for s in sessions:
        join_url = urls.absolute(site, urls.session(summit.slug, s.id))
        track = summit.track(s.track)
        items.append({
            "id": s.id,
            "title": s.title,
            "start": _iso(s.start),
            "end": _iso(s.end),
            "start_local": summit.hm(s.start),
            "end_local": summit.hm(s.end),
            "day_local": summit.local(s.start).strftime("%a %d %b"),  # type: ignore[arg-type]
            "moderator": s.moderator,
            "track": {"id": track.id, "name": track.name, "colour": track.colour}
            if track else None,
            "pad_id": summit.pad_id(s.id),
            "url": urls.session(summit.slug, s.id),
            "join_url": join_url,
            "join_label": urls.short(join_url),
            "qr_svg": str(qr_svg(join_url)),
            "read_only": is_read_only(s, now, grace),
        })
    body = {
        "now": _iso(now),
        "summit": {"slug": summit.slug, "name": summit.name, "timezone": summit.timezone},
        "room": {"id": room.id, "name": room.name},
        "sessions": items,
    }
    return web.json_response(body, headers={"Cache-Control": "no-store"})


def _iso(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at else None
