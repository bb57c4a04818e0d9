"""Every URL of the site is built here (and the routes in app.py match these shapes)."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from .schedule import ROOM_ID_PATTERN, SESSION_ID_PATTERN, SUMMIT_SLUG_PATTERN

# The variable parts of the routes (app.py and views/), with the shapes the model allows.
SUMMIT = "{summit:" + SUMMIT_SLUG_PATTERN + "}"
SESSION = "{session:" + SESSION_ID_PATTERN + "}"
ROOM = "{room:" + ROOM_ID_PATTERN + "}"


def summit(slug: str, **query: str) -> str:
    return f"/{slug}" + (f"?{urlencode(query)}" if query else "")


def session(slug: str, session_id: str) -> str:
    return f"/{slug}/{session_id}"


def projector(slug: str, session_id: str) -> str:
    return f"/{slug}/{session_id}/projector"


def session_edit(slug: str, session_id: str) -> str:
    return f"/{slug}/{session_id}/edit"


def session_lock(slug: str, session_id: str) -> str:
    return f"/{slug}/{session_id}/lock"


def signage(slug: str, room_id: str) -> str:
    return f"/{slug}/rooms/{room_id}"


def signage_feed(slug: str, room_id: str) -> str:
    return f"/{slug}/rooms/{room_id}/now.json"


def board_activity(slug: str, day: str) -> str:
    return f"/{slug}/activity.json?day={day}"


def search(slug: str, query: str = "") -> str:
    return f"/{slug}/search" + (f"?q={quote(query)}" if query else "")


def schedule_ics(slug: str) -> str:
    return f"/{slug}/schedule.ics"


def unconference(slug: str) -> str:
    return f"/{slug}/unconference"


def place_proposal(slug: str, session_id: str) -> str:
    return f"/{slug}/unconference/{session_id}/place"


def summit_admin(slug: str) -> str:
    return f"/{slug}/admin"


def schedule_upload(slug: str) -> str:
    return f"/{slug}/admin/schedule"


def session_add(slug: str) -> str:
    return f"/{slug}/admin/session"


def summit_archive(slug: str) -> str:
    return f"/{slug}/archive.zip"


def admin(query: str = "", page: int = 1, **extra: str) -> str:
    """The organizers' list of every pad (`query`: its search), and the notice form."""
    params = {**({"q": query} if query else {}), **({"page": str(page)} if page > 1 else {}),
              **extra}
    return "/admin" + (f"?{urlencode(params)}" if params else "")


def admin_delete(pad_id: str) -> str:
    return f"/admin/pads/{pad_id}/delete"


def admin_notices() -> str:
    return "/admin/notices"


def pad(pad_id: str) -> str:
    return f"/p/{pad_id}"


def pad_read_only(pad_id: str) -> str:
    """Leads to the pad's read-only page (its read-only id is made on the first visit)."""
    return f"/p/{pad_id}/ro"


def session_read_only(slug: str, session_id: str) -> str:
    return f"/{slug}/{session_id}/ro"


def read_only(ro_id: str) -> str:
    return f"/ro/{ro_id}"


def pad_export(pad_id: str, fmt: str, rev: int | None = None) -> str:
    return f"/p/{pad_id}/export.{fmt}" + _rev(rev)


def session_export(slug: str, session_id: str, fmt: str, rev: int | None = None) -> str:
    return f"/{slug}/{session_id}/export.{fmt}" + _rev(rev)


def _rev(rev: int | None) -> str:
    return "" if rev is None else f"?rev={rev}"


# A pad's history: under /p/<pad-id> for any pad, under /<summit>/<session> for a session's.


def pad_history(pad_id: str, rev: int | None = None) -> str:
    return f"/p/{pad_id}/history" + _rev(rev)


def session_history(slug: str, session_id: str, rev: int | None = None) -> str:
    return f"/{slug}/{session_id}/history" + _rev(rev)


def pad_history_json(pad_id: str) -> str:
    return f"/p/{pad_id}/history.json"


def session_history_json(slug: str, session_id: str) -> str:
    return f"/{slug}/{session_id}/history.json"


def pad_restore(pad_id: str) -> str:
    return f"/p/{pad_id}/history/restore"


def session_restore(slug: str, session_id: str) -> str:
    return f"/{slug}/{session_id}/history/restore"


def pad_revisions(pad_id: str) -> str:
    return f"/p/{pad_id}/revisions"


def session_revisions(slug: str, session_id: str) -> str:
    return f"/{slug}/{session_id}/revisions"


EXPORT_FORMATS = ("txt", "md", "html", "json", "yjs")


def pad_import(pad_id: str) -> str:
    return f"/p/{pad_id}/import"


def session_import(slug: str, session_id: str) -> str:
    return f"/{slug}/{session_id}/import"


def pad_authors(pad_id: str) -> str:
    return f"/p/{pad_id}/authors.json"


def session_authors(slug: str, session_id: str) -> str:
    return f"/{slug}/{session_id}/authors.json"


def read_only_authors(ro_id: str) -> str:
    return f"/ro/{ro_id}/authors.json"


# The JSON API (views/api_v1.py).
API_V1 = "/api/v1"


def api_summit(slug: str) -> str:
    return f"{API_V1}/summits/{slug}"


def api_session(slug: str, session_id: str) -> str:
    return f"{API_V1}/summits/{slug}/sessions/{session_id}"


def api_pad(pad_id: str) -> str:
    return f"{API_V1}/pads/{pad_id}"


def absolute(public_url: str, path: str) -> str:
    return public_url.rstrip("/") + path


def short(absolute_url: str) -> str:
    """A URL as people type it: no scheme, no trailing slash."""
    return absolute_url.split("://", 1)[-1].rstrip("/")
