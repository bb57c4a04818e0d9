"""The archive's pages: the sessions by day (index.html), one page per session, and the action
items of every session (actions.html).

Jinja2 templates in templates/archive/, autoescaped: everything people wrote is escaped. The
pages hold their styles inline and run no script; the only colours written into a style are
checked `#rrggbb` values under class names made here, never anything a participant chose.
Authorship colours are turned off and on by a checkbox and CSS sibling selectors. Nothing on a
page depends on when it was made, so two archives of the same data have the same pages.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jinja2
from markupsafe import Markup

from .archive_actions import ActionItem
from .archive_read import StoredPad
from .chat import ChatEntry
from .pad_authors import TEMPLATE, UNKNOWN, AuthorEntry, list_authors
from .pad_export import PadContent, SessionInfo, authors_of, chat_time
from .pad_export_html import pad_blocks
from .rendering import PACKAGE_DIR
from .schedule import Session, Summit
from .timeslider import iso

_COLOUR = re.compile(r"#[0-9a-f]{6}")
# The four files of a session's notes, as its page offers them.
NOTES_FILES = (("md", "Markdown"), ("txt", "plain text"), ("json", "JSON"), ("yjs", "Yjs"))


@functools.cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(PACKAGE_DIR / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _render(template: str, **context: Any) -> str:
    return environment().get_template(f"archive/{template}").render(**context)


def _colour(value: str | None) -> str | None:
    """A colour fit for a style: `#rrggbb` (lower case), or None."""
    if value is None:
        return None
    lowered = value.lower()
    return lowered if _COLOUR.fullmatch(lowered) else None


def schedule_order(sessions: Iterable[Session], summit: Summit) -> list[Session]:
    """Sessions by time (those without one last), then room, title and id."""
    def key(s: Session) -> tuple[Any, ...]:
        room = summit.room(s.room)
        never = datetime.min.replace(tzinfo=UTC)
        return (s.start is None, s.start or never, s.end or never, room.name if room else "",
                s.title.casefold(), s.id)

    return sorted(sessions, key=key)


def _track_classes(summit: Summit) -> dict[str, tuple[str, str]]:
    """Track id -> (class name, colour) for each track with a usable colour."""
    found = {}
    for index, track in enumerate(summit.tracks):
        colour = _colour(track.colour)
        if colour:
            found[track.id] = (f"t{index}", colour)
    return found


def _when(summit: Summit, session: Session) -> str:
    if session.start is None or session.end is None:
        return ""
    return f"{summit.hm(session.start)}-{summit.hm(session.end)}"


# -- a session's page ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageAuthor:
    id: str  # "" for text nobody is recorded for
    name: str
    color: str | None  # None: not highlighted
    chars: int
    css: str  # the class of their runs in the notes, "" if not highlighted


def page_authors(content: PadContent, pad: StoredPad, summit: Summit) -> list[PageAuthor]:
    """Who wrote the notes, most characters first; each coloured author gets a class."""
    entries: list[AuthorEntry] = list_authors(
        [(run.insert, run.attributes) for run in content.runs],
        pad.recorded,
        unattributed=TEMPLATE if summit.template else UNKNOWN,
    )
    authors: list[PageAuthor] = []
    coloured = 0
    for entry in entries:
        colour = _colour(entry.color) if entry.id else None
        css = f"a{coloured}" if colour else ""
        coloured += bool(colour)
        authors.append(PageAuthor(entry.id, entry.name, colour, entry.chars, css))
    return authors


def notes_html(
    content: PadContent, pad: StoredPad, summit: Summit
) -> tuple[str, list[PageAuthor]]:
    """The notes as HTML blocks (line ids L1, L2, ...) with each author's runs in their class,
    and the authors."""
    authors = page_authors(content, pad, summit)
    coloured = [author for author in authors if author.css]
    checked = authors_of({a.id: {"name": a.name, "colour": a.color} for a in coloured})
    classes = {author.id: author.css for author in coloured}
    return pad_blocks(content, checked, classes, line_ids=True), authors


def _chat_rows(chat: Sequence[ChatEntry]) -> list[dict[str, str]]:
    rows = []
    day = ""
    for entry in chat:
        when = chat_time(entry)
        shown = when[11:16] if when[:10] == day else f"{when[:10]} {when[11:16]}"
        day = when[:10]
        rows.append({"when": when, "shown": shown, "name": entry.name,
                     "color": _colour(entry.color) or "", "text": entry.text})
    return rows


def session_page(
    summit: Summit, info: SessionInfo, pad: StoredPad, content: PadContent | None
) -> str:
    """The page of one session; `content` None: no notes were taken."""
    notes, authors = (None, []) if content is None else notes_html(content, pad, summit)
    tracks = _track_classes(summit)
    track = tracks.get(pad.session.track)
    saved = [
        {"number": s.number, "label": s.label, "name": s.name, "time": iso(s.time_ms)}
        for s in pad.shown_saved
    ]
    return _render(
        "session.html",
        root="../",
        summit=summit,
        info=info,
        tracks=sorted(tracks.values()),
        track_css=track[0] if track else "",
        track_colour=track[1] if track else None,
        notes=None if notes is None else Markup(notes),  # escaped by pad_blocks
        authors=authors,
        chat=_chat_rows(pad.chat_entries),
        saved=saved,
        files=[(f"{info.id}.{ext}", label) for ext, label in NOTES_FILES],
    )


# -- the index and the action items ---------------------------------------------------------


def _days(summit: Summit, sessions: Sequence[Session]) -> list[tuple[str, list[Session]]]:
    """(day as people read it, its sessions) in order; sessions without a time last."""
    days: dict[str, list[Session]] = {}
    unscheduled = []
    for session in sessions:
        if session.start is None:
            unscheduled.append(session)
        else:
            days.setdefault(f"{summit.local(session.start):%A %d %B %Y}", []).append(session)
    listed = list(days.items())
    if unscheduled:
        listed.append(("Without a time", unscheduled))
    return listed


def _row(summit: Summit, session: Session, tracks: Mapping[str, tuple[str, str]]) -> dict[str, Any]:
    track = summit.track(session.track)
    room = summit.room(session.room)
    return {
        "id": session.id,
        "href": f"sessions/{session.id}.html",
        "title": session.title,
        "when": _when(summit, session),
        "moderator": session.moderator,
        "track": track.name if track else "",
        "track_css": tracks[session.track][0] if session.track in tracks else "",
        "room": room.name if room else "",
    }


def index_page(summit: Summit, sessions: Sequence[Session], noted: Mapping[str, bool]) -> str:
    """`sessions` in schedule order; `noted`: session id -> whether its pad holds notes."""
    tracks = _track_classes(summit)
    days = [
        (label, [{**_row(summit, s, tracks), "notes": noted.get(s.id, False)} for s in listed])
        for label, listed in _days(summit, sessions)
    ]
    return _render(
        "index.html", root="", summit=summit, days=days, count=len(sessions),
        tracks=sorted(tracks.values()),
    )


def actions_page(
    summit: Summit, sessions: Sequence[Session], actions: Mapping[str, Sequence[ActionItem]]
) -> str:
    """The action items of `sessions` (in schedule order) that have any."""
    tracks = _track_classes(summit)
    groups = []
    for session in sessions:
        items = actions.get(session.id, ())
        if items:
            row = _row(summit, session, tracks)
            groups.append({**row, "items": [
                {"line": item.line, "text": item.text, "state": item.state.value,
                 "href": f"{row['href']}#L{item.line}"}
                for item in items
            ]})
    return _render(
        "actions.html", root="", summit=summit, groups=groups,
        count=sum(len(g["items"]) for g in groups), tracks=sorted(tracks.values()),
    )
