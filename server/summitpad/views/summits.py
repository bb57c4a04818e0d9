"""The summits, a summit's board, its search, its track colours and its calendar feed."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime

from aiohttp import web

from .. import urls
from ..app_keys import CLOCK, PRESENCE, REGISTRY, SETTINGS, STORE, SUMMITS
from ..board import BoardDay, board_day, pick_day
from ..calendar_feed import schedule_ics
from ..errors import StoreUnavailable
from ..presence import last_edits
from ..rendering import ago, render
from ..schedule import Summit, check_slug, parse_session_pad_id
from ..search import MAX_QUERY, search
from ..summit_store import SummitData

log = logging.getLogger(__name__)

SLUG = urls.SUMMIT


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(f"/{SLUG}", board, name="board")
    router.add_get(f"/{SLUG}/search", search_page, name="search")
    router.add_get(f"/{SLUG}/activity.json", board_activity, name="board_activity")
    router.add_get(f"/{SLUG}/tracks.css", track_colours, name="track_colours")
    router.add_get(f"/{SLUG}/schedule.ics", calendar, name="schedule_ics")


async def load_summit(request: web.Request) -> SummitData:
    """The summit named in the URL, with its sessions; NotFound for anything else."""
    return await request.app[SUMMITS].load(check_slug(request.match_info["summit"]))


async def index(request: web.Request) -> web.Response:
    """The summits; during a store outage the page still offers bare pads."""
    try:
        summits = await request.app[SUMMITS].summits()
        unavailable = False
    except StoreUnavailable as exc:
        log.warning("front page without summits: %s", exc)
        summits, unavailable = [], True
    now = request.app[CLOCK].now()
    return render(request, "index.html",
                  {"summits": summits, "now": now, "unavailable": unavailable})


async def _board_day(
    request: web.Request, data: SummitData
) -> tuple[BoardDay, dict[str, int], dict[str, datetime]]:
    """The day's grid asked for, and how many are in each of its pads and when each was last
    edited (empty, not an error, while the store does not answer)."""
    summit = data.summit
    now = request.app[CLOCK].now()
    day = pick_day(summit, now, request.query.get("day"))
    grid = board_day(summit, data.sessions.values(), day, now)
    pad_ids = [
        summit.pad_id(cell.session.id)
        for row in grid.rows
        for cell in row.cells
        if cell is not None and cell.session is not None
    ]
    counts: dict[str, int] = {}
    edits: dict[str, datetime] = {}
    try:
        counts = await request.app[PRESENCE].counts(pad_ids)
        edits = await last_edits(request.app[STORE].client, summit_prefix(request), pad_ids)
    except StoreUnavailable as exc:
        log.warning("board of %s without counts: %s", summit.slug, exc)
    return grid, counts, edits


async def board(request: web.Request) -> web.Response:
    data = await load_summit(request)
    summit = data.summit
    now = request.app[CLOCK].now()
    track = request.query.get("track", "")
    if track and summit.track(track) is None:
        track = ""
    grid, counts, edits = await _board_day(request, data)
    day = grid.day
    context = {
        "summit": summit,
        "data": data,
        "grid": grid,
        "day": day,
        "track": track,
        "counts": counts,
        "edits": edits,
        "now": now,
        "is_today": summit.local(now).date() == day,
        "unscheduled": sum(1 for s in data.sessions.values() if not s.scheduled),
    }
    return render(request, "board.html", context)


async def board_activity(request: web.Request) -> web.Response:
    """What changes on a day's board while it is open: now/next, who is here, last edits."""
    data = await load_summit(request)
    summit = data.summit
    now = request.app[CLOCK].now()
    grid, counts, edits = await _board_day(request, data)
    cells = [c.session for row in grid.rows for c in row.cells if c and c.session]
    states = {c.session.id: c.state for row in grid.rows for c in row.cells
              if c and c.session and c.state}
    body = {
        "now": summit.hm(now),
        "states": states,
        "here": {s.id: counts[summit.pad_id(s.id)] for s in cells
                 if counts.get(summit.pad_id(s.id))},
        "edited": {s.id: "edited " + ago(edits[summit.pad_id(s.id)], now) for s in cells
                   if summit.pad_id(s.id) in edits},
    }
    return web.json_response(body, headers={"Cache-Control": "no-store"})


def site_url(request: web.Request) -> str:
    """The base of the links people type or scan (QR codes, calendar events): the public URL,
    or, when none is set, the address this request came to (never 127.0.0.1 to a phone)."""
    settings = request.app[SETTINGS]
    if settings.public_url_given or not _HOST.fullmatch(request.host):
        return settings.public_url
    return f"{request.scheme}://{request.host}"


# A host name or address with an optional port: nothing else from a Host header goes into a
# link, a QR code or a calendar.
_HOST = re.compile(r"(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?")


def summit_prefix(request: web.Request) -> str:
    return request.app[SUMMITS].prefix


async def search_page(request: web.Request) -> web.Response:
    data = await load_summit(request)
    query = request.query.get("q", "")[:MAX_QUERY]
    hits = []
    if query.strip():
        notes = await request.app[SUMMITS].notes(data.summit.slug)
        live = _live_texts(request, data.summit)
        texts = {**notes.texts, **live}
        folded = {**notes.folded, **{k: v.casefold() for k, v in live.items()}}
        # Megabytes of text to scan: in a thread, so the event loop keeps relaying edits.
        hits = await asyncio.to_thread(search, data.sessions.values(), texts, query, folded)
    context = {"summit": data.summit, "query": query, "hits": hits,
               "now": request.app[CLOCK].now()}
    return render(request, "search.html", context)


def _live_texts(request: web.Request, summit: Summit) -> dict[str, str]:
    """The current text of this summit's pads that are live on this node (fresher than the
    stored search text)."""
    texts = {}
    for pad in request.app[REGISTRY]:
        found = parse_session_pad_id(pad.pad_id)
        if found is not None and found[0] == summit.slug:
            texts[found[1]] = pad.text()
    return texts


async def track_colours(request: web.Request) -> web.Response:
    """Each track's colour as a CSS class: pages stay free of inline styles."""
    data = await load_summit(request)
    rules = [f".track-{t.id} {{ --track: {t.colour}; }}" for t in data.summit.tracks]
    return web.Response(
        text="\n".join(rules) + "\n",
        content_type="text/css",
        headers={"Cache-Control": "public, max-age=31536000, immutable"
                 if request.query.get("v") else "no-cache"},
    )


async def calendar(request: web.Request) -> web.Response:
    """The schedule as an iCalendar feed; every event links to its session page."""
    data = await load_summit(request)
    public_url = site_url(request)
    body = schedule_ics(
        data.summit,
        data.sessions.values(),
        lambda s: urls.absolute(public_url, urls.session(data.summit.slug, s.id)),
        generated_at=request.app[CLOCK].now(),
    )
    return web.Response(
        body=body,
        content_type="text/calendar",
        charset="utf-8",
        headers={"Content-Disposition": f'inline; filename="{data.summit.slug}.ics"'},
    )


def track_css_url(data: SummitData) -> str:
    return f"/{data.summit.slug}/tracks.css?v={data.version}"

