"""The unconference board: anyone proposes a session; organizers place proposals into a free
room and slot, after which they are sessions like any other (their pad included)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from .. import urls
from ..app_keys import CLOCK, SUMMITS
from ..errors import InvalidInput, RateLimited, StoreUnavailable
from ..lifecycle import by_room
from ..rendering import read_form, render
from ..schedule import (
    DESCRIPTION_MAX,
    NAME_MAX,
    TITLE_MAX,
    Origin,
    Room,
    Session,
    Summit,
    check_session_id,
)
from ..store import UNAVAILABLE
from ..summit_store import SessionChange, SummitData
from ..web_security import PARTICIPANT_ID, current_user, require_organizer
from .summits import SLUG, load_summit


class TooManyProposals(RateLimited):
    title = "Too many proposals"


MAX_PROPOSALS = 500
PROPOSALS_PER_PARTICIPANT = 10
PROPOSAL_WINDOW = 24 * 3600
MAX_FREE_SLOTS = 300


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(f"/{SLUG}/unconference", board, name="unconference")
    router.add_post(f"/{SLUG}/unconference", propose)
    router.add_post(
        f"/{SLUG}/unconference/{urls.SESSION}/place",
        place,
        name="place_proposal",
    )


@dataclass(frozen=True, slots=True)
class FreeSlot:
    room: Room
    start: datetime
    end: datetime

    @property
    def value(self) -> str:
        return f"{self.room.id}|{self.start.isoformat()}|{self.end.isoformat()}"


def free_slots(summit: Summit, data: SummitData, after: datetime) -> list[FreeSlot]:
    """Every (room, slot) still to come in which the room is free. The slots are the
    schedule's own: each distinct start and end of a scheduled session."""
    sessions = list(data.sessions.values())
    slots = sorted({(s.start, s.end) for s in sessions if s.scheduled})
    rooms = by_room(sessions)
    free = []
    for start, end in slots:
        if end <= after:  # type: ignore[operator]
            continue
        for room in summit.rooms:
            taken = any(
                s.start < end and start < s.end  # type: ignore[operator]
                for s in rooms.get(room.id, [])
            )
            if not taken:
                free.append(FreeSlot(room, start, end))  # type: ignore[arg-type]
                if len(free) >= MAX_FREE_SLOTS:
                    return free
    return free


async def board(request: web.Request) -> web.Response:
    data = await load_summit(request)
    now = request.app[CLOCK].now()
    proposals = sorted(
        (s for s in data.sessions.values() if not s.scheduled),
        key=lambda s: (s.origin is not Origin.PROPOSAL, s.title.casefold()),
    )
    placed = sorted(
        (s for s in data.sessions.values() if s.scheduled and s.origin is Origin.PROPOSAL),
        key=lambda s: s.start,  # type: ignore[arg-type, return-value]
    )
    context = {
        "summit": data.summit,
        "proposals": proposals,
        "placed": placed,
        "slots": free_slots(data.summit, data, now),
        "now": now,
    }
    return render(request, "unconference.html", context)


async def _count_proposal(request: web.Request, slug: str) -> None:
    """A participant makes a few proposals a day, not hundreds: one browser cannot fill the
    board for everyone. Organizers are not counted."""
    user = current_user(request)
    if user is not None and user.is_organizer:
        return
    key = request.app[SUMMITS].keys(slug).proposals_by(request[PARTICIPANT_ID])
    try:
        pipe = request.app[SUMMITS].client.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, PROPOSAL_WINDOW, nx=True)
        count, _ = await pipe.execute()
    except UNAVAILABLE as exc:
        raise StoreUnavailable(f"cannot take a proposal now: {exc}") from exc
    if int(count) > PROPOSALS_PER_PARTICIPANT:
        raise TooManyProposals(
            f"{PROPOSALS_PER_PARTICIPANT} proposals a day from one browser; ask an organizer"
        )


def _field(form: object, name: str, limit: int, *, required: bool = False) -> str:
    value = str(form.get(name, "")).strip()  # type: ignore[attr-defined]
    if required and not value:
        raise InvalidInput(f"{name}: required")
    if len(value) > limit:
        raise InvalidInput(f"{name}: at most {limit} characters")
    return value


async def propose(request: web.Request) -> web.StreamResponse:
    data = await load_summit(request)
    if sum(1 for s in data.sessions.values() if s.origin is Origin.PROPOSAL) >= MAX_PROPOSALS:
        raise InvalidInput("this summit has as many proposals as it can take")
    form = await read_form(request)
    proposal = Session(
        id="",
        title=_field(form, "title", TITLE_MAX, required=True),
        description=_field(form, "description", DESCRIPTION_MAX),
        proposed_by=_field(form, "name", NAME_MAX),
        moderator=_field(form, "name", NAME_MAX),
        origin=Origin.PROPOSAL,
    )
    await _count_proposal(request, data.summit.slug)  # only proposals that are well formed
    chosen: list[str] = []

    def add(current: SummitData) -> tuple[None, SessionChange]:
        session_id = "u-" + secrets.token_hex(4)
        while session_id in current.sessions:  # never take over an existing session
            session_id = "u-" + secrets.token_hex(4)
        chosen[:] = [session_id]
        return None, ([proposal.replace(id=session_id)], [])

    await request.app[SUMMITS].update(data.summit.slug, add)
    raise web.HTTPSeeOther(urls.unconference(data.summit.slug) + f"#{chosen[0]}")


async def place(request: web.Request) -> web.StreamResponse:
    require_organizer(request)
    data = await load_summit(request)
    session = data.session(check_session_id(request.match_info["session"]))
    form = await read_form(request)
    room_id, _, times = str(form.get("slot", "")).partition("|")
    start_text, _, end_text = times.partition("|")
    try:
        start = datetime.fromisoformat(start_text)
        end = datetime.fromisoformat(end_text)
    except ValueError as exc:
        raise InvalidInput("slot: choose a room and time from the list") from exc
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("slot: choose a room and time from the list")
    if data.summit.room(room_id) is None:
        raise InvalidInput(f"slot: {room_id[:40]!r} is not a room of this summit")
    # The store refuses a room that is taken by then.
    await request.app[SUMMITS].change_session(
        data.summit.slug, session.id, room=room_id, start=start, end=end
    )
    raise web.HTTPSeeOther(urls.unconference(data.summit.slug))
