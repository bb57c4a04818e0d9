"""The JSON API /api/v1, on the real app and a real Valkey.

Every answer the tests get goes through ApiClient, which checks it against the OpenAPI document
for its path, method and status; one test walks every documented operation and checks that each
answered with success.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from openapi_spec_validator import validate as validate_spec
from pycrdt import Doc, Text
from summitpad.accounts import Role, User
from summitpad.api_v1 import MAX_BODY, writer_of
from summitpad.api_v1_errors import CODES
from summitpad.app_keys import SETTINGS, STORE, SUMMITS
from summitpad.chat import FLOOD_LIMIT
from summitpad.client import PadClient
from summitpad.clock import SetClock
from summitpad.history_store import HistoryStore
from summitpad.keys import pad_keys
from summitpad.pad_export import FORMATS
from summitpad.pad_import import MAX_CHARS
from summitpad.read_only import ReadOnlyIds
from summitpad.schedule import Lock
from summitpad.views.api_v1 import create_api
from summitpad.web_security import ACCOUNTS, SECRET

from .api_v1_client import DOC, DOCUMENTED, ApiClient, check_schema
from .chat_clients import participant
from .summit_fixtures import XSS, add_people, berlin, seed_summit
from .support import RunningApp, ValkeyProcess, eventually

StartApp = Callable[..., Awaitable[RunningApp]]
Connect = Callable[..., Awaitable[PadClient]]
TEMPLATE_TEXT = "Agenda\n\nNotes\n"  # the summit's "# Agenda\n\n# Notes\n", as the pad holds it
PEOPLE = {"olga": User("olga", "Olga Organizer", Role.ORGANIZER),
          "bob": User("bob", "Bob Builder", Role.MODERATOR),
          "mallory": User("mallory", "Mallory", Role.MODERATOR)}


@pytest.fixture
async def site(start_app: StartApp) -> RunningApp:
    """09:10 on the summit's first day: sessions s1 and s2 are on, s3 is next."""
    running = await start_app(clock=SetClock(berlin(4, 9, 10)))
    await seed_summit(running.app[SUMMITS])
    await add_people(running.app[ACCOUNTS])
    return running


@pytest.fixture
async def tokens(site: RunningApp) -> dict[str, str]:
    accounts = site.app[ACCOUNTS]
    return {login: await accounts.create_api_token(login) for login in PEOPLE}


@pytest.fixture
def api(http: aiohttp.ClientSession, site: RunningApp) -> ApiClient:
    return ApiClient(http, site)


def author_id(site: RunningApp, login: str) -> str:
    return writer_of(site.app[SECRET], PEOPLE[login]).id


# -- the document -------------------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_1_and_names_every_route() -> None:
    validate_spec(DOC)
    assert DOC["openapi"].startswith("3.1")
    routes = {
        (route.resource.canonical, route.method)
        for route in create_api().router.routes()
        if route.method != "HEAD" and route.resource is not None
    }
    assert routes == DOCUMENTED
    check_schema("/components/schemas/Error",
                 {"error": {"code": "pad_not_found", "message": "no"}})
    documented_codes = {
        code
        for ops in DOC["paths"].values() for op in ops.values()
        for status, answer in op["responses"].items() if status != "default"
        for schema in [answer["content"].get("application/json", {}).get("schema", {})]
        for part in schema.get("allOf", [])[1:]
        for code in part["properties"]["error"]["properties"]["code"]["enum"]
    }
    assert documented_codes <= set(CODES)
    assert {"invalid_request", "unauthorized", "forbidden", "read_only", "pad_not_found",
            "summit_not_found", "session_not_found", "revision_not_found", "pad_exists",
            "body_too_large", "unsupported_media_type", "rate_limited",
            "store_unavailable"} <= documented_codes


# -- every operation ----------------------------------------------------------------------------


async def test_every_operation_answers_as_documented(
    site: RunningApp, api: ApiClient, tokens: dict[str, str]
) -> None:
    olga, bob = tokens["olga"], tokens["bob"]
    assert (await api.get("/openapi.json")).json == DOC

    summits = (await api.get("/summits")).json["summits"]
    assert [s["slug"] for s in summits] == ["osd"]
    public = site.app[SETTINGS].public_url
    assert summits[0]["urls"] == {"page": f"{public}/osd", "api": f"{public}/api/v1/summits/osd"}
    summit = (await api.get("/summits/osd")).json
    assert [r["id"] for r in summit["rooms"]] == ["room-a", "room-b"]
    assert [t["name"] for t in summit["tracks"]] == ["Storage", "High Availability"]
    sessions = (await api.get("/summits/osd/sessions")).json["sessions"]
    assert [s["id"] for s in sessions] == ["s1", "s2", "s3", "s4", "idea"]
    s1 = (await api.get("/summits/osd/sessions/s1")).json
    assert (s1["pad"], s1["phase"], s1["read_only"], s1["moderator"]) == (
        "osd.s1", "live", False, "Bob Builder")
    assert s1["urls"]["pad"] == f"{public}/api/v1/pads/osd.s1"
    assert s1["urls"]["projector"] == f"{public}/osd/s1/projector"
    assert [s["phase"] for s in sessions] == ["live", "live", "scheduled", "scheduled",
                                              "unscheduled"]

    created = await api.post("/pads", token=bob, json={"id": "notes", "text": "Hello\n"})
    assert created.status == 201
    assert created.headers["Location"] == f"{public}/api/v1/pads/notes"
    assert created.json["revisions"] == 1 and created.json["session"] is None
    assert (await api.get("/pads", token=olga)).json == {"pads": ["notes"]}
    pad = (await api.get("/pads/notes")).json
    assert (pad["id"], pad["read_only"], pad["users"]) == ("notes", False, 0)
    replaced = await api.put("/pads/notes/text", token=bob, json={"text": "# Agenda\n"})
    assert replaced.json == {"pad": "notes", "rev": None, "format": "text",
                             "content": "# Agenda"}
    appended = await api.post("/pads/notes/append", token=olga, json={"text": "\n*more*"})
    assert appended.json["content"] == "# Agenda\n*more*"
    shown = {fmt: (await api.get("/pads/notes/text", params={"format": fmt})).json["content"]
             for fmt in ("text", "markdown", "html", "json")}
    assert shown["text"] == "# Agenda\n*more*"
    assert shown["markdown"] == "\\# Agenda\n\n\\*more\\*\n"  # text, never markup
    assert shown["html"] == "<p># Agenda</p>\n<p>*more*</p>"
    assert "".join(op["insert"] for op in shown["json"]["ops"]) == "# Agenda\n*more*"

    revisions = (await api.get("/pads/notes/revisions")).json
    assert revisions["count"] == len(revisions["revisions"]) >= 2
    assert revisions["revisions"][-1]["author"]["name"] == "olga"
    first = (await api.get("/pads/notes/revisions/1")).json
    assert first["author"]["name"] == "bob" and first["rev"] == 1

    message = await api.post("/pads/notes/chat", token=olga, json={"text": "Hi <b>all</b>"})
    assert message.status == 201 and message.json["name"] == "olga"
    chat = (await api.get("/pads/notes/chat")).json["messages"]
    assert [m["text"] for m in chat] == ["Hi <b>all</b>"]

    for fmt, content_type in FORMATS.items():
        exported = await api.get(f"/pads/notes/export.{fmt}")
        assert exported.status == 200 and exported.headers["Content-Type"] == content_type
        assert exported.headers["Content-Disposition"] == f'attachment; filename="notes.{fmt}"'
    old = await api.get("/pads/notes/export.txt", params={"rev": "1"})
    assert old.raw == b"# Agenda" and "notes-r1.txt" in old.headers["Content-Disposition"]

    archive = await api.get("/summits/osd/archive", token=olga)
    assert archive.headers["Content-Type"] == "application/zip"
    assert zipfile.ZipFile(io.BytesIO(archive.raw)).namelist()

    assert api.succeeded == DOCUMENTED


# -- writes, live -------------------------------------------------------------------------------


async def test_a_write_is_seen_by_a_connected_client_at_once_and_attributed(
    site: RunningApp, api: ApiClient, tokens: dict[str, str], connect: Connect,
    redis_client: aioredis.Redis,
) -> None:
    reader = await connect(site.ws_url, "osd.s1")
    assert str(reader.text) == TEMPLATE_TEXT
    assert (await api.get("/pads/osd.s1")).json["users"] == 1
    await api.put("/pads/osd.s1/text", token=tokens["bob"], json={"text": "Decisions\n"})
    await eventually(lambda: str(reader.text) == "Decisions", within=2)
    await api.post("/pads/osd.s1/append", token=tokens["mallory"], json={"text": ": none"})
    await eventually(lambda: str(reader.text) == "Decisions: none", within=2)
    assert reader.text.diff() == [
        ("Decisions", {"author": author_id(site, "bob")}),
        (": none", {"author": author_id(site, "mallory")}),
    ]
    keys_authors = f"{site.app[SETTINGS].key_prefix}:{{pad:osd.s1}}:authors"
    named = json.loads(await redis_client.hget(keys_authors, author_id(site, "bob")))
    assert named["name"] == "bob"
    exported = await api.get("/pads/osd.s1/export.txt")
    assert exported.raw == b"Decisions: none"  # durable: the export reads the store


async def test_a_chat_message_reaches_the_pads_chat_at_once(
    site: RunningApp, api: ApiClient, tokens: dict[str, str]
) -> None:
    async with participant(site) as person:
        conn = await person.connect("osd.s2")
        await conn.say("from a browser")
        await eventually(lambda: conn.texts == ["from a browser"])
        sent = await api.post("/pads/osd.s2/chat", token=tokens["bob"],
                              json={"text": "  from a script\n"})
        assert sent.json["text"] == "from a script"
        await eventually(lambda: conn.texts == ["from a browser", "from a script"], within=2)
        assert conn.messages[-1]["name"] == "bob"
        assert conn.messages[-1]["author"] == author_id(site, "bob")
    listed = (await api.get("/pads/osd.s2/chat", params={"last": "1"})).json["messages"]
    assert [m["text"] for m in listed] == ["from a script"]


async def test_chat_has_the_chats_limits(
    site: RunningApp, api: ApiClient, tokens: dict[str, str]
) -> None:
    token = tokens["olga"]
    too_long = await api.post("/pads/osd.s1/chat", token=token, json={"text": "x" * 1001})
    assert (too_long.status, too_long.code) == (413, "body_too_large")
    empty = await api.post("/pads/osd.s1/chat", token=token, json={"text": " \n "})
    assert (empty.status, empty.code) == (400, "invalid_request")
    for i in range(FLOOD_LIMIT):
        assert (await api.post("/pads/osd.s1/chat", token=token,
                               json={"text": f"m{i}"})).status == 201
    flood = await api.post("/pads/osd.s1/chat", token=token, json={"text": "one more"})
    assert (flood.status, flood.code) == (429, "rate_limited")
    assert 1 <= int(flood.headers["Retry-After"]) <= 10
    other = await api.post("/pads/osd.s1/chat", token=tokens["bob"], json={"text": "mine"})
    assert other.status == 201  # the limit is per account


# -- who may do what ----------------------------------------------------------------------------


async def test_writes_need_a_token_and_some_things_an_organizers(
    site: RunningApp, api: ApiClient, tokens: dict[str, str]
) -> None:
    for reply in (
        await api.post("/pads", json={"id": "x"}),
        await api.put("/pads/osd.s1/text", json={"text": "x"}),
        await api.post("/pads/osd.s1/append", json={"text": "x"}),
        await api.post("/pads/osd.s1/chat", json={"text": "x"}),
        await api.get("/pads"),
        await api.get("/summits/osd/archive"),
    ):
        assert (reply.status, reply.code) == (401, "unauthorized")
        assert reply.headers["WWW-Authenticate"].startswith("Bearer ")
    wrong = "spt_" + "A" * 43
    for reply in (
        await api.get("/summits", token=wrong),  # a wrong token is refused on reads too
        await api.put("/pads/osd.s1/text", token=wrong, json={"text": "x"}),
        await api.get("/pads", headers={"Authorization": f"Basic {tokens['olga']}"}),
        await api.get("/pads", headers={"Authorization": "Bearer "}),
    ):
        assert (reply.status, reply.code) == (401, "unauthorized")
        assert 'error="invalid_token"' in reply.headers["WWW-Authenticate"]
    for path in ("/pads", "/summits/osd/archive"):
        refused = await api.get(path, token=tokens["bob"])
        assert (refused.status, refused.code) == (403, "forbidden")
    written = await api.put("/pads/osd.s1/text", token=tokens["mallory"], json={"text": "ok"})
    assert written.status == 200  # any account writes to pads
    await site.app[ACCOUNTS].revoke_api_token(tokens["mallory"])
    revoked = await api.put("/pads/osd.s1/text", token=tokens["mallory"], json={"text": "no"})
    assert revoked.status == 401


async def test_a_login_cookie_is_no_credential_here(
    site: RunningApp, api: ApiClient
) -> None:
    login = await site.app[ACCOUNTS].start_login(PEOPLE["olga"])
    reply = await api.get("/pads", headers={"Cookie": f"sp_login={login}"})
    assert (reply.status, reply.code) == (401, "unauthorized")


# -- bad requests -------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "content_type", "status", "code"), [
    ({"text": 5}, "application/json", 400, "invalid_request"),
    ({"text": None}, "application/json", 400, "invalid_request"),
    ({"text": True}, "application/json", 400, "invalid_request"),
    ({"text": ["x"]}, "application/json", 400, "invalid_request"),
    ({}, "application/json", 400, "invalid_request"),
    ({"text": "x", "extra": 1}, "application/json", 400, "invalid_request"),
    (b'{"text": ', "application/json", 400, "invalid_request"),
    (b'["text"]', "application/json", 400, "invalid_request"),
    (b'{"text": NaN}', "application/json", 400, "invalid_request"),
    (b'{"text": "\xff"}', "application/json", 400, "invalid_request"),
    (b"", "application/json", 400, "invalid_request"),
    ({"text": "x"}, "text/plain", 415, "unsupported_media_type"),
    (b"text=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ({"text": "x" * MAX_BODY}, "application/json", 413, "body_too_large"),
    ({"text": "x" * (MAX_CHARS + 1)}, "application/json", 413, "body_too_large"),
])
async def test_a_bad_body_is_refused_and_changes_nothing(
    site: RunningApp, api: ApiClient, tokens: dict[str, str], body: Any,
    content_type: str, status: int, code: str,
) -> None:
    for path, method in (("/pads/osd.s1/text", "PUT"), ("/pads/osd.s1/append", "POST"),
                         ("/pads/osd.s1/chat", "POST"), ("/pads", "POST")):
        sent = body
        if isinstance(body, dict):  # a new pad's body, with its id, goes wrong the same way
            sent = json.dumps({"id": "new", **body} if path == "/pads" and body else body)
        reply = await api.call(method, path, token=tokens["olga"], data=sent,
                               content_type=content_type)
        assert (reply.status, reply.code) == (status, code), (method, path, reply.json)
    assert (await api.get("/pads/osd.s1/text")).json["content"] == TEMPLATE_TEXT
    assert (await api.get("/pads/osd.s1/chat")).json["messages"] == []
    assert (await api.get("/pads", token=tokens["olga"])).json["pads"] == []


async def test_a_pad_never_grows_past_its_limit(
    site: RunningApp, api: ApiClient, tokens: dict[str, str]
) -> None:
    token = tokens["olga"]
    full = "x" * MAX_CHARS
    assert (await api.put("/pads/osd.s1/text", token=token, json={"text": full})).status == 200
    more = await api.post("/pads/osd.s1/append", token=token, json={"text": "y"})
    assert (more.status, more.code) == (413, "body_too_large")
    assert len((await api.get("/pads/osd.s1/text")).json["content"]) == MAX_CHARS


@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("GET", "/pads/nowhere", 404, "pad_not_found"),
    ("GET", "/pads/nowhere/text", 404, "pad_not_found"),
    ("GET", "/pads/a%20b", 404, "pad_not_found"),
    ("GET", "/pads/osd.nope", 404, "session_not_found"),
    ("GET", "/pads/osd.nope/chat", 404, "session_not_found"),
    ("GET", "/pads/osd.s1/text?rev=99", 404, "revision_not_found"),
    ("GET", "/pads/osd.s1/text?rev=x", 400, "invalid_request"),
    ("GET", "/pads/osd.s1/text?rev=-1", 400, "invalid_request"),
    ("GET", "/pads/osd.s1/text?format=pdf", 400, "invalid_request"),
    ("GET", "/pads/osd.s1/revisions/99", 404, "revision_not_found"),
    ("GET", "/pads/osd.s1/revisions/x", 400, "invalid_request"),
    ("GET", "/pads/osd.s1/revisions?limit=0", 400, "invalid_request"),
    ("GET", "/pads/osd.s1/revisions?after=y", 400, "invalid_request"),
    ("GET", "/pads/osd.s1/chat?last=0", 400, "invalid_request"),
    ("GET", "/pads/osd.s1/export.pdf", 404, "not_found"),
    ("GET", "/pads/osd.s1/export.txt?rev=99", 404, "revision_not_found"),
    ("GET", "/pads/nowhere/export.txt", 404, "pad_not_found"),
    ("GET", "/summits/nope", 404, "summit_not_found"),
    ("GET", "/summits/Not_A_Slug", 404, "summit_not_found"),
    ("GET", "/summits/nope/sessions", 404, "summit_not_found"),
    ("GET", "/summits/osd/sessions/nope", 404, "session_not_found"),
    ("GET", "/nothing", 404, "not_found"),
    ("GET", "/pads/osd.s1/text/more", 404, "not_found"),
    ("GET", "", 404, "not_found"),
    ("DELETE", "/pads/osd.s1", 405, "method_not_allowed"),
    ("POST", "/summits", 405, "method_not_allowed"),
    ("PATCH", "/pads/osd.s1/text", 405, "method_not_allowed"),
])
async def test_what_is_not_there_gets_its_code(
    site: RunningApp, api: ApiClient, method: str, path: str, status: int, code: str
) -> None:
    reply = await api.call(method, path)
    assert (reply.status, reply.code) == (status, code), reply.json
    if status == 405:
        assert "GET" in reply.headers["Allow"]


async def test_writes_to_what_is_not_there(
    site: RunningApp, api: ApiClient, tokens: dict[str, str]
) -> None:
    token = tokens["olga"]
    for path, method, code in (
        ("/pads/nowhere/text", "PUT", "pad_not_found"),  # a bare pad is created first
        ("/pads/nowhere/append", "POST", "pad_not_found"),
        ("/pads/nowhere/chat", "POST", "pad_not_found"),
        ("/pads/osd.nope/text", "PUT", "session_not_found"),
    ):
        reply = await api.call(method, path, token=token, json={"text": "x"})
        assert (reply.status, reply.code) == (404, code)
    bad_id = await api.post("/pads", token=token, json={"id": "a/b"})
    assert (bad_id.status, bad_id.code) == (400, "invalid_request")
    no_session = await api.post("/pads", token=token, json={"id": "osd.nope", "text": "x"})
    assert (no_session.status, no_session.code) == (404, "session_not_found")


async def test_a_read_only_id_is_not_a_pad_id(
    site: RunningApp, api: ApiClient, tokens: dict[str, str]
) -> None:
    await api.post("/pads", token=tokens["olga"], json={"id": "notes", "text": "secret"})
    ro_id = await ReadOnlyIds(site.app[STORE].client, site.app[SETTINGS].key_prefix).for_pad(
        "notes")
    for path in (f"/pads/{ro_id}", f"/pads/{ro_id}/text", f"/pads/{ro_id}/export.txt"):
        reply = await api.get(path)
        assert (reply.status, reply.code) == (404, "pad_not_found")


# -- pads ---------------------------------------------------------------------------------------


async def test_a_pad_is_created_once(
    site: RunningApp, api: ApiClient, tokens: dict[str, str], connect: Connect
) -> None:
    token = tokens["bob"]
    assert (await api.post("/pads", token=token, json={"id": "once"})).status == 201
    again = await api.post("/pads", token=token, json={"id": "once", "text": "second"})
    assert (again.status, again.code) == (409, "pad_exists")
    assert (await api.get("/pads/once/text")).json["content"] == ""
    typed = await connect(site.ws_url, "typed")  # written by a browser: it exists too
    await typed.edit(lambda t: t.insert(0, "hi"))
    await eventually(lambda: typed.saved)
    assert (await api.post("/pads", token=token, json={"id": "typed"})).code == "pad_exists"
    session_pad = await api.post("/pads", token=token, json={"id": "osd.s3"})
    assert session_pad.json["session"] == {"summit": "osd", "id": "s3",
                                           "title": "Storage quotas"}
    assert (await api.get("/pads/osd.s3/text")).json["content"] == TEMPLATE_TEXT
    assert (await api.post("/pads", token=token, json={"id": "osd.s3"})).status == 409
    # Named like a session of a summit that does not exist (yet): its summit's, not anybody's.
    lookalike = await api.post("/pads", token=token, json={"id": "nosummit.s1", "text": "x"})
    assert (lookalike.status, lookalike.code) == (404, "session_not_found")
    assert (await api.get("/pads", token=tokens["olga"])).json["pads"] == [
        "once", "osd.s3", "typed"]


async def test_a_session_pad_is_readable_before_anybody_writes(
    site: RunningApp, api: ApiClient
) -> None:
    pad = (await api.get("/pads/osd.s4")).json
    assert (pad["revisions"], pad["last_edited"], pad["read_only"]) == (0, None, False)
    assert pad["urls"]["page"].endswith("/osd/s4")
    assert (await api.get("/pads/osd.s4/text")).json["content"] == TEMPLATE_TEXT
    assert (await api.get("/pads/osd.s4/text", params={"rev": "0"})).json["content"] == ""
    listed = (await api.get("/pads/osd.s4/revisions")).json
    assert (listed["count"], listed["revisions"], listed["next_after"]) == (0, [], None)


async def test_a_read_only_pad_takes_no_writes(
    site: RunningApp, api: ApiClient, tokens: dict[str, str], connect: Connect
) -> None:
    token = tokens["olga"]
    reader = await connect(site.ws_url, "osd.s1")
    await site.app[SUMMITS].change_session("osd", "s1", lock=Lock.LOCKED)
    for method, path in (("PUT", "/pads/osd.s1/text"), ("POST", "/pads/osd.s1/append"),
                         ("POST", "/pads/osd.s1/chat")):
        reply = await api.call(method, path, token=token, json={"text": "sneaked in"})
        assert (reply.status, reply.code) == (403, "read_only"), (method, path)
    assert (await api.get("/pads/osd.s1")).json["read_only"] is True
    session = (await api.get("/summits/osd/sessions/s1")).json
    assert (session["lock"], session["read_only"]) == ("locked", True)
    await site.app[SUMMITS].change_session("osd", "s2", lock=Lock.LOCKED)
    refused = await api.post("/pads", token=token, json={"id": "osd.s2", "text": "sneaked"})
    assert (refused.status, refused.code) == (403, "read_only")
    assert (await api.post("/pads", token=token, json={"id": "osd.s2"})).status == 201
    assert str(reader.text) == TEMPLATE_TEXT
    assert (await api.get("/pads/osd.s1/chat")).json["messages"] == []


async def test_the_text_in_every_format_escapes_what_people_wrote(
    site: RunningApp, api: ApiClient, tokens: dict[str, str]
) -> None:
    text = f"{XSS}\n[link](javascript:alert(1))\r\nbell\x07 tab\t"
    await api.put("/pads/osd.s1/text", token=tokens["olga"], json={"text": text})
    shown = {fmt: (await api.get("/pads/osd.s1/text", params={"format": fmt})).json["content"]
             for fmt in ("text", "markdown", "html")}
    assert shown["text"] == f"{XSS}\n[link](javascript:alert(1))\nbell tab\t"
    assert "<script" not in shown["html"] and "&lt;script&gt;" in shown["html"]
    assert "\\<script\\>" in shown["markdown"]  # escaped: Markdown takes no raw HTML
    assert "\\[link\\](javascript" in shown["markdown"]  # and makes no link of it
    page = await api.get("/pads/osd.s1/export.html")
    assert "<script>alert" not in page.raw.decode()
    assert "sandbox" in page.headers["Content-Security-Policy"]
    state = await api.get("/pads/osd.s1/export.yjs")
    doc: Doc[Any] = Doc()
    doc.apply_update(state.raw)
    assert str(doc.get("content", type=Text)) == shown["text"]


async def test_an_export_is_the_pad_pages_export(
    site: RunningApp, api: ApiClient, tokens: dict[str, str], http: aiohttp.ClientSession
) -> None:
    await api.put("/pads/osd.s1/text", token=tokens["olga"], json={"text": "# Notes\n*a*"})
    await api.post("/pads/osd.s1/chat", token=tokens["olga"], json={"text": "hello"})
    for fmt in FORMATS:
        for query in ({}, {"rev": "1"}):
            mine = await api.get(f"/pads/osd.s1/export.{fmt}", params=query)
            async with http.get(f"{site.http_url}/osd/s1/export.{fmt}", params=query) as page:
                assert page.status == 200
                assert await page.read() == mine.raw, (fmt, query)
                assert page.headers["Content-Type"] == mine.headers["Content-Type"]


# -- history ------------------------------------------------------------------------------------


async def test_revisions_come_a_page_at_a_time(
    site: RunningApp, api: ApiClient, tokens: dict[str, str]
) -> None:
    await api.post("/pads", token=tokens["olga"], json={"id": "notes", "text": "one"})
    for login, part in (("bob", " two"), ("olga", " three"), ("bob", " four")):
        await api.post("/pads/notes/append", token=tokens[login], json={"text": part})
    page = (await api.get("/pads/notes/revisions", params={"limit": "2"})).json
    assert page["count"] == 4 and page["next_after"] == 2
    assert [(r["rev"], r["author"]["name"]) for r in page["revisions"]] == [
        (1, "olga"), (2, "bob")]
    rest = (await api.get("/pads/notes/revisions",
                          params={"after": str(page["next_after"]), "limit": "2"})).json
    assert [r["rev"] for r in rest["revisions"]] == [3, 4] and rest["next_after"] is None
    assert (await api.get("/pads/notes/revisions", params={"after": "4"})).json[
        "revisions"] == []
    two = (await api.get("/pads/notes/revisions/2")).json
    assert (two["text"], two["author"]["id"], two["count"]) == (
        "one two", author_id(site, "bob"), 4)
    zero = (await api.get("/pads/notes/revisions/0")).json
    assert (zero["text"], zero["time"], zero["author"]) == ("", None, None)
    at_three = await api.get("/pads/notes/text", params={"rev": "3", "format": "markdown"})
    assert at_three.json["rev"] == 3 and at_three.json["content"] == "one two three\n"


async def test_saved_revisions_are_listed_and_an_ended_session_is_read_only(
    start_app: StartApp, http: aiohttp.ClientSession
) -> None:
    clock = SetClock(berlin(4, 9, 10))
    site = await start_app(clock=clock)
    await seed_summit(site.app[SUMMITS])
    await add_people(site.app[ACCOUNTS])
    token = await site.app[ACCOUNTS].create_api_token("bob")
    api = ApiClient(http, site)
    await api.put("/pads/osd.s1/text", token=token, json={"text": "outcome"})
    keys = pad_keys(site.app[SETTINGS].key_prefix, "osd.s1")
    await HistoryStore(site.app[STORE].client).save(
        keys, label="decided", author=author_id(site, "bob"), name="Bob", time_ms=1)
    listed = (await api.get("/pads/osd.s1/revisions")).json
    assert [(s["rev"], s["label"], s["name"]) for s in listed["saved"]] == [
        (listed["count"], "decided", "Bob")]
    clock.set(berlin(4, 23))  # long after the session and its grace period
    session = (await api.get("/summits/osd/sessions/s1")).json
    assert (session["phase"], session["read_only"]) == ("read-only", True)
    late = await api.post("/pads/osd.s1/append", token=token, json={"text": " late"})
    assert (late.status, late.code) == (403, "read_only")


# -- the store ----------------------------------------------------------------------------------


async def test_a_store_outage_is_503(
    tmp_path: Path, start_app: StartApp, http: aiohttp.ClientSession
) -> None:
    valkey = ValkeyProcess(tmp_path / "valkey")
    valkey.start()
    try:
        site = await start_app(redis_url=valkey.url)
        api = ApiClient(http, site)
        assert (await api.get("/summits")).status == 200
        valkey.kill()
        for reply in (await api.get("/summits"), await api.get("/pads/notes"),
                      await api.get("/pads/osd.s1/text"),
                      await api.post("/pads", token="spt_" + "A" * 43, json={"id": "x"})):
            assert (reply.status, reply.code) == (503, "store_unavailable")
    finally:
        valkey.stop()
