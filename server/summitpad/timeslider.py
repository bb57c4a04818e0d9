"""What the history pages and the exports show of a pad's history: one revision (when, who,
and its text as HTML with authorship colours), the saved revisions, and the revisions' times
and authors.

A session that has ended gets a saved revision labelled "end of session" by itself: the last
revision made at or before the session's end is listed under that label, unless somebody saved
one so labelled already. Nothing is written for it, so every ended session has one, however it
ended and whichever node is asked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .author_names import FALLBACK_COLOR
from .errors import InvalidInput, NotFound
from .history_store import HistoryStore, HistoryView, SavedRevision
from .pad_export import PadContent, authors_of, pad_content
from .pad_export_html import pad_blocks
from .schedule import Session

END_OF_SESSION = "end of session"
LABEL_MAX = 100
# An export lists the times and authors of at most this many revisions (the latest ones).
REVISIONS_LISTED_MAX = 10_000

_REVISION = re.compile(r"[0-9]{1,12}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

Authors = Mapping[str, Mapping[str, str]]  # author id -> {"name", "color"} (read_authors)


def parse_revision(value: Any) -> int | None:
    """A revision number from a query or a form, None if there is none; NotFound for anything
    but a whole number (0 or more), as for a revision that does not exist."""
    if value is None:
        return None
    if not isinstance(value, str) or not _REVISION.fullmatch(value):
        raise NotFound(f"{str(value)[:20]!r} is not a revision: revisions are 0, 1, 2, ...")
    return int(value)


def clean_label(value: Any) -> str:
    """A saved revision's label: control characters out, blanks collapsed, 1-100 long."""
    label = " ".join(_CONTROL.sub(" ", value if isinstance(value, str) else "").split())
    if not label:
        raise InvalidInput("give the revision a label: what makes it worth saving")
    if len(label) > LABEL_MAX:
        raise InvalidInput(f"a label is at most {LABEL_MAX} characters long (this has "
                           f"{len(label)})")
    return label


def iso(time_ms: int) -> str:
    """A time in ms as ISO 8601 in UTC, to the second."""
    moment = datetime.fromtimestamp(time_ms / 1000, UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def session_end(session: Session | None, now: datetime) -> datetime | None:
    """When `session` ended, if it has; None for a bare pad or a session still to end."""
    if session is None or session.end is None or now < session.end:
        return None
    return session.end


async def saved_revisions(
    history: HistoryStore, view: HistoryView, *, ended: datetime | None = None
) -> list[SavedRevision]:
    """The saved revisions in order, with "end of session" if the session `ended`."""
    listed = [s for s in view.saved if s.number is not None]
    if ended is not None and not any(s.label.casefold() == END_OF_SESSION for s in listed):
        end_ms = int(ended.timestamp() * 1000)
        number = await history.number_at(view, end_ms)
        if number:
            listed.append(SavedRevision(number, END_OF_SESSION, "", "", end_ms, ""))
            listed.sort(key=lambda s: (s.number or 0, s.time_ms))
    return listed


def saved_json(saved: SavedRevision) -> dict[str, Any]:
    return {"rev": saved.number, "label": saved.label, "name": saved.name,
            "time": iso(saved.time_ms)}


def author_json(author_id: str, authors: Authors) -> dict[str, Any]:
    """Who made a revision: "" is nobody (a session's template, or a pad's text from before
    its history was kept)."""
    known = authors.get(author_id)
    if known is not None:
        return {"id": author_id, "name": known["name"], "color": known["color"]}
    return {"id": author_id, "name": "anonymous" if author_id else "",
            "color": FALLBACK_COLOR if author_id else None}


@dataclass(frozen=True, slots=True)
class Fragment:
    """A revision's text as HTML, and its authors: each author's runs carry the class given."""

    html: str
    authors: list[dict[str, str]]


def revision_fragment(content: PadContent, authors: Authors) -> Fragment:
    """The text as escaped HTML blocks; runs of authors with a recorded name are in a span of
    class "author author-<i>" (colours are for the page to set: no inline styles)."""
    seen: dict[str, None] = {}
    for run in content.runs:
        author_id = run.attributes.get("author")
        if isinstance(author_id, str) and author_id in authors:
            seen.setdefault(author_id, None)
    known = list(seen)
    checked = authors_of({
        aid: {"name": authors[aid]["name"], "colour": authors[aid]["color"]} for aid in known
    })
    classes = {aid: f"author author-{i}" for i, aid in enumerate(known)}
    legend = [
        {"id": aid, "name": authors[aid]["name"], "color": authors[aid]["color"],
         "class": f"author-{i}"}
        for i, aid in enumerate(known)
    ]
    return Fragment(pad_blocks(content, checked, classes), legend)


async def revision_json(
    history: HistoryStore,
    view: HistoryView,
    number: int,
    *,
    authors: Authors,
    saved: list[SavedRevision],
) -> dict[str, Any]:
    """Revision `number` as the timeslider shows it (NotFound if it does not exist)."""
    doc = await history.doc_at(view, number)
    fragment = revision_fragment(pad_content(doc), authors)
    revision = await history.revision(view, number) if number else None
    return {
        "rev": number,
        "count": view.count,
        "time": iso(revision.time_ms) if revision else None,
        "author": author_json(revision.author, authors) if revision else None,
        "html": fragment.html,
        "authors": fragment.authors,
        "saved": [saved_json(s) for s in saved],
    }


async def revisions_json(
    history: HistoryStore, view: HistoryView, upto: int
) -> tuple[list[dict[str, Any]], int]:
    """The time and author of revisions 1..`upto`, at most the latest REVISIONS_LISTED_MAX,
    and how many earlier ones that leaves out."""
    first = max(1, upto - REVISIONS_LISTED_MAX + 1)
    found = await history.summaries(view, first, upto)
    listed = [{"rev": n, "time": iso(t), "author": a} for n, a, t in found]
    return listed, first - 1
