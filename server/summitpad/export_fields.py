"""What a pad's exports hold besides its text: its session's details, the names and colours of
its authors, and its history's revisions and saved revisions.

Shared by the export views (one pad, over HTTP) and the archive (every pad of a summit).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .history_store import HistoryStore, HistoryView
from .pad_export import SessionInfo
from .schedule import Session
from .summit_store import SummitData
from .timeslider import revisions_json, saved_json, saved_revisions


def session_info(data: SummitData, session: Session) -> SessionInfo:
    """What an export shows of `session`: names of its track and room, its time as the
    summit's clocks show it."""
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


def export_authors(recorded: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """`read_authors`'s map as the exporters take it (id -> {name, colour}), by author id."""
    return {
        author_id: {"name": found["name"], "colour": found["color"]}
        for author_id, found in sorted(recorded.items())
    }


async def history_fields(
    history: HistoryStore, view: HistoryView, rev: int | None, ended: datetime | None
) -> dict[str, Any]:
    """What the JSON export says of the pad's history, up to revision `rev` (None: all of it);
    `ended`: when the pad's session ended, for its "end of session" saved revision."""
    upto = view.count if rev is None else rev
    revisions, omitted = await revisions_json(history, view, upto)
    saved = await saved_revisions(history, view, ended=ended)
    return {
        "revision": rev,
        "revisions": revisions,
        "revisions_omitted": omitted,
        "saved": [saved_json(s) for s in saved if (s.number or 0) <= upto],
    }
