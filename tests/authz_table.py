"""Who may do what: every route of the app, with the role it needs (test_authorization.py).

Each guarded route has at least one `Action`: a concrete request, the role that may make it and
whether doing it changes Valkey. Every other route is in `OPEN_READS`, with the reason anyone
may read it. A test walks the app's router and fails on a route in neither, so a new route gets
a decision (and the sweep's attempts) before it lands.

Roles, weakest first: anyone; a participant (any browser, with the CSRF token of its pages, and
for pad writes a pad that is not read-only); the moderator of the session (or an organizer); an
organizer. Scripts use an account's API token instead of cookies (the pages take it too, as
`Authorization: Bearer`); the JSON API takes nothing else; the Etherpad-compatible API takes
only its key. Organizers are organizers of every summit and API tokens have no scopes: a token
acts as its account.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from aiohttp import web

from .summit_fixtures import PASSWORD


class Need(StrEnum):
    PARTICIPANT = "participant"  # any browser, with its CSRF token
    MODERATOR = "moderator"  # of the session (s1: bob), or an organizer
    ORGANIZER = "organizer"
    ACCOUNT_TOKEN = "account token"  # /api/v1: any account's API token
    ORGANIZER_TOKEN = "organizer token"  # /api/v1: an organizer's API token
    ETHERPAD_KEY = "etherpad key"  # /api/<version>/<function>
    NOBODY = "nobody"  # answers "no such function" to everyone


class Surface(StrEnum):
    PAGES = "pages"  # cookies and CSRF, or an API token; error pages or their JSON
    API_V1 = "api v1"  # an API token only; {"error": {"code", "message"}}
    ETHERPAD = "etherpad"  # the key only; {"code": 4, ...}


# Who makes the successful request that ends each sweep: the weakest role allowed.
ALLOWED = {
    Need.PARTICIPANT: "anonymous",
    Need.MODERATOR: "bob",
    Need.ORGANIZER: "olga",
    Need.ACCOUNT_TOKEN: "token:mallory",
    Need.ORGANIZER_TOKEN: "token:olga",
    Need.ETHERPAD_KEY: "key",
}

# The bare pad and the session (moderated by bob) the actions aim at; both hold notes.
BARE = "kept"
SESSION_PAD = "osd.s1"
# A free room and slot of the summit (room B from 10:00 to 10:40 on its first day, Berlin).
FREE_SLOT = "room-b|2026-05-04T08:00:00+00:00|2026-05-04T08:40:00+00:00"
SCHEDULE = (b"id,title,room,start,end\n"
            b"added,Added by file,Room B,2026-05-05 11:00,2026-05-05 11:40\n")
SUMMIT_FORM = {
    "name": "Open Storage Days", "start_date": "2026-05-04", "end_date": "2026-05-06",
    "timezone": "Europe/Berlin", "template": "# Changed\n",
    "rooms": "room-a | Room A\nroom-b | Room B",
    "tracks": "storage | Storage | #1d4ed8\nha | High Availability | #b91c1c",
}


@dataclass(frozen=True)
class Action:
    name: str
    method: str
    route: str  # the route's template, as the router names it
    path: str
    need: Need
    form: Mapping[str, str] = field(default_factory=dict)  # form, JSON body or API parameters
    upload: bytes | None = None  # a multipart form with this as the file `file`
    writes: bool = True  # the allowed request changes Valkey
    by: str | None = None  # who makes the allowed request, if not ALLOWED[need]

    @property
    def surface(self) -> Surface:
        if self.route.startswith("/api/v1/"):
            return Surface.API_V1
        if self.route.startswith("/api/"):
            return Surface.ETHERPAD
        return Surface.PAGES

    @property
    def allowed(self) -> str:
        return self.by or ALLOWED[self.need]

    @property
    def takes_csrf(self) -> bool:
        """A cookie-authenticated form: refused without the browser's CSRF token."""
        return self.surface is Surface.PAGES and self.method not in ("GET", "HEAD")


def _pad_writes(base: str, pad: str) -> list[Action]:
    """Import, save a revision and restore one, at a pad's two kinds of address."""
    return [
        Action(f"import {pad}", "POST", f"{base}/import", path(base, pad) + "/import",
               Need.PARTICIPANT, {"text": "imported", "format": "txt", "mode": "cursor"}),
        Action(f"save a revision of {pad}", "POST", f"{base}/revisions",
               path(base, pad) + "/revisions", Need.PARTICIPANT, {"label": "agreed"}),
        Action(f"restore {pad}", "POST", f"{base}/history/restore",
               path(base, pad) + "/history/restore", Need.PARTICIPANT, {"rev": "1"}),
    ]


def path(base: str, pad: str) -> str:
    return f"/p/{pad}" if base.startswith("/p/") else "/" + pad.replace(".", "/")


def _etherpad(name: str, method: str, function: str, form: Mapping[str, str],
              writes: bool = True) -> Action:
    return Action(name, method, "/api/{version}/{function}", f"/api/1.2.15/{function}",
                  Need.ETHERPAD_KEY, form, writes=writes)


ACTIONS: tuple[Action, ...] = (
    # accounts
    Action("log in", "POST", "/login", "/login", Need.PARTICIPANT,
           {"login": "olga", "password": PASSWORD, "next": "/"}),
    Action("log out", "POST", "/logout", "/logout", Need.PARTICIPANT, by="olga"),
    # summits
    Action("new summit form", "GET", "/new", "/new", Need.ORGANIZER, writes=False),
    Action("create a summit", "POST", "/new", "/new", Need.ORGANIZER,
           {**SUMMIT_FORM, "slug": "fresh"}),
    Action("summit admin page", "GET", "/{summit}/admin", "/osd/admin", Need.ORGANIZER,
           writes=False),
    Action("save the summit", "POST", "/{summit}/admin", "/osd/admin", Need.ORGANIZER,
           SUMMIT_FORM),
    Action("load a schedule", "POST", "/{summit}/admin/schedule", "/osd/admin/schedule",
           Need.ORGANIZER, upload=SCHEDULE),
    Action("add a session", "POST", "/{summit}/admin/session", "/osd/admin/session",
           Need.ORGANIZER, {"id": "extra", "title": "Added by hand"}),
    Action("download the archive", "GET", "/{summit}/archive.zip", "/osd/archive.zip",
           Need.ORGANIZER, writes=False),
    Action("place a proposal", "POST", "/{summit}/unconference/{session}/place",
           "/osd/unconference/idea/place", Need.ORGANIZER, {"slot": FREE_SLOT}),
    Action("propose a session", "POST", "/{summit}/unconference", "/osd/unconference",
           Need.PARTICIPANT, {"title": "Open space", "name": "Eve"}),
    # sessions
    Action("session form", "GET", "/{summit}/{session}/edit", "/osd/s1/edit", Need.MODERATOR,
           writes=False),
    Action("edit a session", "POST", "/{summit}/{session}/edit", "/osd/s1/edit",
           Need.MODERATOR, {"title": "Renamed", "description": "New words"}),
    Action("lock a pad", "POST", "/{summit}/{session}/lock", "/osd/s1/lock", Need.MODERATOR,
           {"lock": "locked"}),
    # /admin
    Action("admin page", "GET", "/admin", "/admin", Need.ORGANIZER, writes=False),
    Action("delete form", "GET", "/admin/pads/{pad_id}/delete", f"/admin/pads/{BARE}/delete",
           Need.ORGANIZER, writes=False),
    Action("delete a pad", "POST", "/admin/pads/{pad_id}/delete", f"/admin/pads/{BARE}/delete",
           Need.ORGANIZER, {"confirm": BARE}),
    Action("send a notice", "POST", "/admin/notices", "/admin/notices", Need.ORGANIZER,
           {"summit": "osd", "text": "Lunch is served"}),
    # pads
    *_pad_writes("/p/{pad_id}", BARE),
    *_pad_writes("/{summit}/{session}", SESSION_PAD),
    # the JSON API
    Action("api: archive", "GET", "/api/v1/summits/{summit}/archive",
           "/api/v1/summits/osd/archive", Need.ORGANIZER_TOKEN, writes=False),
    Action("api: list pads", "GET", "/api/v1/pads", "/api/v1/pads", Need.ORGANIZER_TOKEN,
           writes=False),
    Action("api: create a pad", "POST", "/api/v1/pads", "/api/v1/pads", Need.ACCOUNT_TOKEN,
           {"id": "fresh-pad", "text": "new"}),
    Action("api: replace the text", "PUT", "/api/v1/pads/{pad}/text",
           f"/api/v1/pads/{BARE}/text", Need.ACCOUNT_TOKEN, {"text": "replaced"}),
    Action("api: append", "POST", "/api/v1/pads/{pad}/append", f"/api/v1/pads/{BARE}/append",
           Need.ACCOUNT_TOKEN, {"text": " appended"}),
    Action("api: chat", "POST", "/api/v1/pads/{pad}/chat", f"/api/v1/pads/{BARE}/chat",
           Need.ACCOUNT_TOKEN, {"text": "hello"}),
    # the Etherpad-compatible API: every function needs the key, reads too
    _etherpad("etherpad: createPad", "POST", "createPad", {"padID": "fresh-pad", "text": "x"}),
    _etherpad("etherpad: setText by GET", "GET", "setText", {"padID": BARE, "text": "over"}),
    _etherpad("etherpad: appendText", "POST", "appendText", {"padID": BARE, "text": " more"}),
    _etherpad("etherpad: deletePad", "POST", "deletePad", {"padID": BARE}),
    _etherpad("etherpad: getText", "GET", "getText", {"padID": BARE}, writes=False),
    _etherpad("etherpad: listAllPads", "GET", "listAllPads", {}, writes=False),
    Action("etherpad: no such function", "DELETE", "/api/{rest}", "/api/1.2.15/setText/x",
           Need.NOBODY, {"padID": BARE, "text": "x"}, writes=False),
)

# Routes anyone may use, and why. Only reads: an unsafe method here fails the route test.
OPEN_READS: Mapping[tuple[str, str], str] = {
    ("GET", "/"): "the list of summits",
    ("GET", "/healthz"): "probe",
    ("GET", "/readyz"): "probe",
    ("GET", "/metrics"): "figures of this node, no pad content (the proxy may keep it in)",
    ("GET", "/login"): "the login form",
    ("GET", "/static"): "assets",
    ("GET", "/p"): "redirects to the pad named",
    ("GET", "/p/{pad_id}"): "a pad's page: whoever knows a pad id may read and write it",
    ("GET", "/ws/{pad_id}"): "a pad's websocket: writes only while the pad is writable (tested "
                             "over raw websockets)",
    ("GET", "/p/{pad_id}/ro"): "hands out the read-only link of a pad whose id one knows",
    ("GET", "/{summit}/{session}/ro"): "the same for a session's pad",
    ("GET", "/ro/{ro_id}"): "a read-only page: never names the pad (tested)",
    ("GET", "/ws/ro/{ro_id}"): "a read-only websocket: takes no edits (tested)",
    ("GET", "/ro/{ro_id}/authors.json"): "who wrote a pad, by its read-only id",
    ("GET", "/p/{pad_id}/export.{fmt}"): "exports: read-only and locked pads stay readable",
    ("GET", "/{summit}/{session}/export.{fmt}"): "exports of a session's pad",
    ("GET", "/p/{pad_id}/history"): "the timeslider",
    ("GET", "/p/{pad_id}/history.json"): "one revision",
    ("GET", "/{summit}/{session}/history"): "the timeslider of a session's pad",
    ("GET", "/{summit}/{session}/history.json"): "one revision of a session's pad",
    ("GET", "/p/{pad_id}/authors.json"): "who wrote a pad",
    ("GET", "/{summit}/{session}/authors.json"): "who wrote a session's pad",
    ("GET", "/{summit}"): "a summit's board",
    ("GET", "/{summit}/search"): "searching a summit's (public) session notes",
    ("GET", "/{summit}/activity.json"): "who is in which pad of the board",
    ("GET", "/{summit}/tracks.css"): "track colours",
    ("GET", "/{summit}/schedule.ics"): "the calendar feed",
    ("GET", "/{summit}/unconference"): "the unconference board",
    ("GET", "/{summit}/rooms/{room}"): "a room's signage",
    ("GET", "/{summit}/rooms/{room}/now.json"): "a room's signage feed",
    ("GET", "/{summit}/{session}"): "a session's page",
    ("GET", "/{summit}/{session}/projector"): "a session's projector view",
    ("GET", "/api"): "the Etherpad API's version",
    ("GET", "/api/v1/openapi.json"): "the JSON API's description",
    ("GET", "/api/v1/summits"): "summits, as on the front page",
    ("GET", "/api/v1/summits/{summit}"): "a summit, as on its board",
    ("GET", "/api/v1/summits/{summit}/sessions"): "its sessions, as on the board",
    ("GET", "/api/v1/summits/{summit}/sessions/{session}"): "a session, as on its page",
    ("GET", "/api/v1/pads/{pad}"): "a pad's details: whoever knows its id may read it",
    ("GET", "/api/v1/pads/{pad}/text"): "a pad's text",
    ("GET", "/api/v1/pads/{pad}/revisions"): "its revisions",
    ("GET", "/api/v1/pads/{pad}/revisions/{rev}"): "one revision",
    ("GET", "/api/v1/pads/{pad}/chat"): "its chat, as everyone in the pad sees it",
    ("GET", "/api/v1/pads/{pad}/export.{fmt}"): "its exports",
}

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE", "*"})


def routes_of(app: web.Application) -> set[tuple[str, str]]:
    """Every (method, route template) of the app and its sub-applications; HEAD goes with
    GET."""
    return {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }
