"""The Etherpad-compatible API, on the real app and a real Valkey.

Requests and answers are those of Etherpad's HTTP API, version 1.2.15: ether/etherpad-lite
doc/api/http_api.md and the examples of src/node/db/API.ts (`{code, message, data}`; code 0
"ok", 1 wrong parameters, 2 internal error, 3 no such function, 4 no or wrong API key), with
the HTTP statuses of src/node/hooks/express/openapi.ts (200 for codes 0 and 1, 404 for 3, 401
for 4) and the functions of each version in src/node/handler/APIHandler.ts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from pycrdt import Doc, Text
from summitpad import presence
from summitpad.app_keys import REGISTRY, SUMMITS
from summitpad.client import PadClient
from summitpad.clock import SetClock
from summitpad.errors import CLOSE_PAD_DELETED, ConfigurationError
from summitpad.etherpad_api import api_author
from summitpad.history_store import HistoryStore
from summitpad.keys import pad_keys, read_only_key
from summitpad.schedule import Lock
from summitpad.settings import Settings
from summitpad.store import PadStore
from summitpad.web_security import SECRET

from .summit_fixtures import XSS, berlin, seed_summit
from .support import RunningApp, eventually

KEY = "test-key-0123456789abcdef"
StartApp = Callable[..., Awaitable[RunningApp]]
Connect = Callable[..., Awaitable[PadClient]]
Answer = tuple[int, Any, Any]  # HTTP status, JSON body, headers


@pytest.fixture
async def app(start_app: StartApp) -> RunningApp:
    return await start_app(etherpad_api_key=KEY)


async def call(
    http: aiohttp.ClientSession, app: RunningApp, function: str, *, method: str = "GET",
    key: str | None = KEY, version: str = "1.2.15", **params: str,
) -> Answer:
    """One API call, with the parameters in the query (GET) or a form body (POST)."""
    url = f"{app.http_url}/api/{version}/{function}"
    if key is not None:
        params["apikey"] = key
    if method == "GET":
        request = http.get(url, params=params)
    else:
        request = http.post(url, data=params)
    async with request as response:
        return response.status, await response.json(), response.headers


def ok(data: Any = None) -> dict[str, Any]:
    return {"code": 0, "message": "ok", "data": data}


def wrong(message: str) -> dict[str, Any]:
    return {"code": 1, "message": message, "data": None}


async def text_of(http: aiohttp.ClientSession, app: RunningApp, pad_id: str) -> str:
    status, body, _ = await call(http, app, "getText", padID=pad_id)
    assert (status, body["code"]) == (200, 0), body
    text: str = body["data"]["text"]
    return text


# -- every function, as Etherpad documents it ---------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_every_function_answers_as_etherpad_does(
    app: RunningApp, http: aiohttp.ClientSession, method: str
) -> None:
    async def api(function: str, **params: str) -> Answer:
        return await call(http, app, function, method=method, **params)

    before = int(time.time() * 1000)
    assert (await api("createPad", padID="notes", text="Hello"))[:2] == (200, ok())
    assert (await api("getText", padID="notes"))[:2] == (200, ok({"text": "Hello\n"}))
    assert (await api("setText", padID="notes", text="Agenda\nitem\n"))[:2] == (200, ok())
    assert (await api("appendText", padID="notes", text="more"))[:2] == (200, ok())
    assert (await api("getText", padID="notes"))[1] == ok({"text": "Agenda\nitemmore\n"})
    status, body, headers = await api("getHTML", padID="notes")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert body == ok({"html": "<!DOCTYPE HTML><html><body><p>Agenda</p>\n<p>itemmore</p>"
                               "</body></html>"})
    status, body, _ = await api("getRevisionsCount", padID="notes")
    assert status == 200 and set(body["data"]) == {"revisions"}
    assert isinstance(body["data"]["revisions"], int) and body["data"]["revisions"] >= 1
    assert (await api("padUsersCount", padID="notes"))[1] == ok({"padUsersCount": 0})
    status, body, _ = await api("getLastEdited", padID="notes")
    assert before <= body["data"]["lastEdited"] <= int(time.time() * 1000) + 1
    assert (await api("createPad", padID="another"))[1] == ok()
    assert (await api("listAllPads"))[1] == ok({"padIDs": ["another", "notes"]})
    assert (await api("deletePad", padID="notes"))[1] == ok()
    assert (await api("listAllPads"))[1] == ok({"padIDs": ["another"]})
    assert (await api("getText", padID="notes"))[1] == wrong("padID does not exist")


async def test_what_the_api_asks_of_a_client_and_never_sets(
    app: RunningApp, http: aiohttp.ClientSession
) -> None:
    http.cookie_jar.update_cookies({"sp_login": "stale"})  # no login lookup, no cookie cleared
    status, body, headers = await call(http, app, "createPad", method="POST", padID="p")
    assert (status, body) == (200, ok())  # a POST without any CSRF token
    assert "Set-Cookie" not in headers and headers["Cache-Control"] == "no-store"
    async with http.post(f"{app.http_url}/api/1.2.15/setText",
                         json={"apikey": KEY, "padID": "p", "text": "from JSON"}) as response:
        assert await response.json() == ok()
    async with http.post(f"{app.http_url}/api/1.2.15/getText?padID=p",
                         data={"apikey": KEY, "padID": "not-this"}) as response:
        assert await response.json() == wrong("padID does not exist")  # the form's wins
    async with http.get(f"{app.http_url}/api") as response:
        assert await response.json() == {"currentVersion": "1.2.15"}
        assert "Set-Cookie" not in response.headers


# -- the key ------------------------------------------------------------------------------------

NO_KEY = (401, {"code": 4, "message": "no or wrong API Key", "data": None})


@pytest.mark.parametrize("key", [None, "", "wrong-key-0123456789abcdef", KEY[:-1], KEY + "x"])
async def test_a_missing_or_wrong_key_is_code_4(
    app: RunningApp, http: aiohttp.ClientSession, key: str | None
) -> None:
    for method in ("GET", "POST"):
        assert (await call(http, app, "listAllPads", method=method, key=key))[:2] == NO_KEY
        answer = await call(http, app, "createPad", method=method, key=key, padID="x")
        assert answer[:2] == NO_KEY
    assert (await call(http, app, "listAllPads"))[1] == ok({"padIDs": []})


async def test_the_key_may_come_as_api_key_or_in_the_authorization_header(
    app: RunningApp, http: aiohttp.ClientSession
) -> None:
    assert (await call(http, app, "listAllPads", key=None, api_key=KEY))[1]["code"] == 0
    async with http.get(f"{app.http_url}/api/1.2.15/listAllPads",
                        headers={"Authorization": KEY}) as response:
        assert await response.json() == ok({"padIDs": []})


async def test_without_a_key_set_the_api_is_off(
    start_app: StartApp, http: aiohttp.ClientSession
) -> None:
    off = await start_app()
    assert (await call(http, off, "listAllPads", key=""))[:2] == NO_KEY
    assert (await call(http, off, "listAllPads", key=KEY))[:2] == NO_KEY


@pytest.mark.parametrize("key", ["short-key", "sixteen chars ok", "0123456789abcdé0"])
def test_a_weak_or_odd_key_is_refused_at_start(key: str) -> None:
    with pytest.raises(ConfigurationError, match="at least 16 printable ASCII"):
        Settings(etherpad_api_key=key)


def test_the_key_stays_out_of_the_settings_repr() -> None:
    assert KEY not in repr(Settings(etherpad_api_key=KEY))


# -- wrong calls --------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "function", "message"), [
    ("1.2.15", "getTextPlease", "no such function"),
    ("1.2.15", "createGroup", "no such function"),  # Etherpad's, but not offered here
    ("1.2.12", "appendText", "no such function"),  # appendText came in 1.2.13
    ("1", "listAllPads", "no such function"),  # and listAllPads in 1.2.1
    ("9.9", "getText", "no such api version"),
])
async def test_an_unknown_function_is_code_3(
    app: RunningApp, http: aiohttp.ClientSession, version: str, function: str, message: str
) -> None:
    for key in (KEY, None):  # Etherpad looks at the function before the key
        status, body, _ = await call(http, app, function, version=version, key=key, padID="x")
        assert (status, body) == (404, {"code": 3, "message": message, "data": None})
    async with http.get(f"{app.http_url}/api/1.2.15") as response:
        assert response.status == 404 and (await response.json())["code"] == 3


async def test_older_api_versions_answer_the_same(
    app: RunningApp, http: aiohttp.ClientSession
) -> None:
    await call(http, app, "createPad", padID="old", text="x")
    for version in ("1", "1.1", "1.2.1", "1.2.13"):
        assert await text_of_version(http, app, version) == ok({"text": "x\n"})


async def text_of_version(http: aiohttp.ClientSession, app: RunningApp, version: str) -> Any:
    return (await call(http, app, "getText", version=version, padID="old"))[1]


@pytest.mark.parametrize(("function", "params", "message"), [
    ("getText", {}, "padID is not a string"),
    ("createPad", {}, "padID is not a string"),
    ("deletePad", {}, "padID is not a string"),
    ("padUsersCount", {}, "padID is not a string"),
    ("setText", {"padID": "here"}, "text is not a string"),
    ("appendText", {"padID": "here"}, "text is not a string"),
    ("createPad", {"padID": "a/b"}, "padID did not match requirements"),
    ("getText", {"padID": "x" * 101}, "padID did not match requirements"),
    ("getText", {"padID": ".."}, "padID did not match requirements"),
    ("getText", {"padID": "here", "rev": "two"}, "rev is not a number"),
    ("getText", {"padID": "here", "rev": "-1"}, "rev is a negative number"),
    ("getHTML", {"padID": "here", "rev": "99"}, "rev is higher than the head revision"),
])
async def test_wrong_parameters_are_code_1(
    app: RunningApp, http: aiohttp.ClientSession, function: str, params: dict[str, str],
    message: str,
) -> None:
    await call(http, app, "createPad", padID="here", text="x")
    status, body, _ = await call(http, app, function, **params)
    assert status == 200 and body["code"] == 1 and body["data"] is None
    assert body["message"].startswith(message)


@pytest.mark.parametrize("function", [
    "getText", "getHTML", "setText", "appendText", "getRevisionsCount", "getLastEdited",
    "deletePad",
])
async def test_an_unknown_pad_is_code_1(
    app: RunningApp, http: aiohttp.ClientSession, function: str
) -> None:
    status, body, _ = await call(http, app, function, padID="nowhere", text="x")
    assert (status, body) == (200, wrong("padID does not exist"))
    assert (await call(http, app, "listAllPads"))[1] == ok({"padIDs": []})


async def test_a_pad_is_created_once(
    app: RunningApp, http: aiohttp.ClientSession, connect: Connect
) -> None:
    assert (await call(http, app, "createPad", padID="once", text="first"))[1] == ok()
    answer = await call(http, app, "createPad", padID="once", text="second")
    assert answer[:2] == (200, wrong("padID does already exist"))
    assert await text_of(http, app, "once") == "first\n"
    typed = await connect(app.ws_url, "typed")  # written by a browser: it exists too
    await typed.edit(lambda t: t.insert(0, "hi"))
    await eventually(lambda: typed.saved)
    answer = await call(http, app, "createPad", padID="typed")
    assert answer[1] == wrong("padID does already exist")
    assert (await call(http, app, "listAllPads"))[1] == ok({"padIDs": ["once", "typed"]})


# -- the text, as Etherpad has it ---------------------------------------------------------------


@pytest.mark.parametrize(("sent", "stored", "shown"), [
    ("one line", "one line", "one line\n"),
    ("one line\n", "one line", "one line\n"),
    ("two\n\n", "two\n", "two\n\n"),
    ("", "", "\n"),
    ("win\r\nmac\rend", "win\nmac\nend", "win\nmac\nend\n"),
    ("bell\x07 tab\t", "bell tab\t", "bell tab\t\n"),
    ("Grüße 😀 𝄞", "Grüße 😀 𝄞", "Grüße 😀 𝄞\n"),
])
async def test_set_text_keeps_etherpads_final_newline(
    app: RunningApp, http: aiohttp.ClientSession, redis_client: aioredis.Redis,
    key_prefix: str, sent: str, stored: str, shown: str,
) -> None:
    await call(http, app, "createPad", padID="lines", text="old text")
    assert (await call(http, app, "setText", method="POST", padID="lines", text=sent))[1] == ok()
    assert await text_of(http, app, "lines") == shown
    async with http.get(f"{app.http_url}/p/lines/export.txt") as response:
        assert await response.text() == stored  # the pad itself, as Quill and the export have it
    await call(http, app, "appendText", padID="lines", text="+😀")
    assert await text_of(http, app, "lines") == stored + "+😀\n"


async def test_api_edits_are_live_durable_and_attributed(
    app: RunningApp, http: aiohttp.ClientSession, connect: Connect,
    redis_client: aioredis.Redis, key_prefix: str,
) -> None:
    reader = await connect(app.ws_url, "live")  # open before the pad exists
    assert (await call(http, app, "padUsersCount", padID="live"))[1] == ok({"padUsersCount": 1})
    await call(http, app, "createPad", padID="live", text="created")
    await eventually(lambda: str(reader.text) == "created")
    await call(http, app, "setText", method="POST", padID="live", text="Set <b>&</b>\n")
    await eventually(lambda: str(reader.text) == "Set <b>&</b>")
    await call(http, app, "appendText", padID="live", text=" and more")
    await eventually(lambda: str(reader.text) == "Set <b>&</b> and more")
    author = api_author(app.app[SECRET])
    assert reader.text.diff() == [("Set <b>&</b> and more", {"author": author})]
    async with http.get(f"{app.http_url}/p/live/export.txt") as response:
        assert await response.text() == "Set <b>&</b> and more"
    async with http.get(f"{app.http_url}/p/live/authors.json") as response:
        authors = await response.json()
    assert "Etherpad API" in json.dumps(authors) and author in json.dumps(authors)
    view = await HistoryStore(redis_client).view(pad_keys(key_prefix, "live"))
    assert {r.author for r in view.tail} == {author}


async def test_get_html_escapes_the_text(
    app: RunningApp, http: aiohttp.ClientSession
) -> None:
    await call(http, app, "createPad", padID="xss", text=f"{XSS}\n<img src=x onerror=alert(1)>")
    body = (await call(http, app, "getHTML", padID="xss"))[1]
    html = body["data"]["html"]
    assert html.startswith("<!DOCTYPE HTML><html><body>") and html.endswith("</body></html>")
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert await text_of(http, app, "xss") == f"{XSS}\n<img src=x onerror=alert(1)>\n"


async def test_revisions_and_old_text(app: RunningApp, http: aiohttp.ClientSession) -> None:
    await call(http, app, "createPad", padID="revs", text="first")
    body = (await call(http, app, "getRevisionsCount", padID="revs"))[1]
    assert body == ok({"revisions": 1})
    await call(http, app, "setText", padID="revs", text="second")
    count = (await call(http, app, "getRevisionsCount", padID="revs"))[1]["data"]["revisions"]
    assert count >= 1
    assert (await call(http, app, "getText", padID="revs", rev="0"))[1] == ok({"text": "\n"})
    assert (await call(http, app, "getText", padID="revs", rev="1"))[1]["data"]["text"] in (
        "first\n", "second\n")  # one revision per author per few seconds
    assert (await call(http, app, "getText", padID="revs", rev=str(count)))[1] == ok(
        {"text": "second\n"})
    body = (await call(http, app, "getHTML", padID="revs", rev=str(count + 1)))[1]
    assert body == wrong("rev is higher than the head revision of the pad")


# -- deleting -----------------------------------------------------------------------------------


async def test_delete_pad_removes_every_key(
    app: RunningApp, http: aiohttp.ClientSession, connect: Connect,
    redis_client: aioredis.Redis, key_prefix: str,
) -> None:
    await call(http, app, "createPad", padID="gone", text="secret notes")
    visitor = await connect(app.ws_url, "gone")
    async with http.get(f"{app.http_url}/p/gone/ro", allow_redirects=False) as response:
        ro_id = response.headers["Location"].rsplit("/", 1)[1]
    # As Etherpad's deletePad does, it closes whoever has the pad open (4410, "the pad was
    # deleted") rather than refusing while anyone does.
    assert (await call(http, app, "deletePad", padID="gone"))[1] == ok()
    await eventually(lambda: visitor.ws.closed)
    assert visitor.ws.close_code == CLOSE_PAD_DELETED
    registry = app.app[REGISTRY]
    assert registry.live("gone") is None
    gone = pad_keys(key_prefix, "gone").gone
    assert await redis_client.keys(f"{key_prefix}:{{pad:gone}}:*") == [gone.encode()]
    assert not await redis_client.exists(read_only_key(key_prefix, ro_id))
    assert (await call(http, app, "getText", padID="gone"))[1] == wrong("padID does not exist")
    assert (await call(http, app, "deletePad", padID="gone"))[1] == wrong(
        "padID does not exist")
    # A new pad of the same name knows nothing of the old one.
    await call(http, app, "createPad", padID="gone", text="fresh")
    assert (await call(http, app, "getRevisionsCount", padID="gone"))[1] == ok({"revisions": 1})
    assert (await call(http, app, "getText", padID="gone", rev="1"))[1] == ok({"text": "fresh\n"})


async def test_other_nodes_connections_count(
    start_app: StartApp, http: aiohttp.ClientSession, connect: Connect,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(presence, "REPORT_INTERVAL", 0.2)
    node_a, node_b = await start_app(etherpad_api_key=KEY), await start_app(etherpad_api_key=KEY)
    await call(http, node_a, "createPad", padID="shared", text="from a")
    reader = await connect(node_b.ws_url, "shared")
    assert str(reader.text) == "from a"
    await call(http, node_a, "appendText", padID="shared", text=", live on b")
    await eventually(lambda: str(reader.text) == "from a, live on b")

    async def users() -> Any:
        return (await call(http, node_a, "padUsersCount", padID="shared"))[1]["data"][
            "padUsersCount"]

    assert await eventually(users) == 1  # as node b last reported
    # deletePad closes the pad on the other node too, and that node forgets it.
    assert (await call(http, node_a, "deletePad", padID="shared"))[1] == ok()
    await eventually(lambda: reader.ws.closed)
    assert reader.ws.close_code == CLOSE_PAD_DELETED
    await eventually(lambda: node_b.app[REGISTRY].live("shared") is None)
    assert (await call(http, node_b, "getText", padID="shared"))[1] == wrong(
        "padID does not exist")


async def test_a_deleted_pad_is_never_written_back(
    redis_client: aioredis.Redis, key_prefix: str
) -> None:
    """A live copy left on another node folds its document into a snapshot when it unloads:
    not for a pad whose snapshot and log are gone."""
    store = PadStore(redis_client, "other-node")
    keys = pad_keys(key_prefix, "ghost")
    doc: Doc[Any] = Doc()
    doc.get("content", type=Text).insert(0, "old")
    appended = await store.append(keys, [("someone", doc.get_update())])
    await redis_client.delete(*keys.stored)
    assert await store.try_lease(keys)
    assert not await store.compact(keys, doc.get_update(), appended.entry_id)
    assert await HistoryStore(redis_client).extend(keys) == 0
    assert await redis_client.keys(f"{key_prefix}:{{pad:ghost}}:*") == []


# -- session pads -------------------------------------------------------------------------------


@pytest.fixture
async def site(start_app: StartApp) -> RunningApp:
    """09:10 on the summit's first day: session s1 is on and writable."""
    running = await start_app(clock=SetClock(berlin(4, 9, 10)), etherpad_api_key=KEY)
    await seed_summit(running.app[SUMMITS])
    return running


async def test_a_session_pad_starts_from_its_template(
    site: RunningApp, http: aiohttp.ClientSession
) -> None:
    answer = await call(http, site, "getText", padID="osd.s2")
    assert answer[1] == wrong("padID does not exist")  # never opened yet
    assert (await call(http, site, "createPad", padID="osd.s2"))[1] == ok()
    assert await text_of(http, site, "osd.s2") == "Agenda\n\nNotes\n\n"
    assert (await call(http, site, "createPad", padID="osd.s3", text="mine"))[1] == ok()
    assert await text_of(http, site, "osd.s3") == "mine\n"
    answer = await call(http, site, "createPad", padID="osd.nope", text="x")
    assert answer[1] == wrong("summit 'osd' has no session 'nope'")


async def test_a_locked_session_pad_refuses_writes(
    site: RunningApp, http: aiohttp.ClientSession, connect: Connect
) -> None:
    reader = await connect(site.ws_url, "osd.s1")
    await site.app[SUMMITS].change_session("osd", "s1", lock=Lock.LOCKED)
    for function in ("setText", "appendText"):
        status, body, _ = await call(http, site, function, padID="osd.s1", text="sneaked in")
        assert status == 200 and body["code"] == 1 and "read-only" in body["message"]
    await reader.close()
    await eventually(lambda: not site.app[REGISTRY].live("osd.s1").connections)
    body = (await call(http, site, "deletePad", padID="osd.s1"))[1]
    assert body["code"] == 1 and "read-only" in body["message"]
    await site.app[SUMMITS].change_session("osd", "s2", lock=Lock.LOCKED)
    body = (await call(http, site, "createPad", padID="osd.s2", text="sneaked in"))[1]
    assert body["code"] == 1 and "read-only" in body["message"]
    assert await text_of(http, site, "osd.s1") == "Agenda\n\nNotes\n\n"
    assert "sneaked" not in str(reader.text)
