"""Nobody does more than their role allows, over HTTP: every guarded route of the pages, the
JSON API and the Etherpad API tried by every weaker caller; and what a moderator or a
participant may change when they are allowed in.

The table of routes and roles is authz_table.py; a test walks the router so that no route goes
without a decision. A refused request gets its surface's error (an error page or its JSON, the
JSON API's error, the Etherpad API's code 4) and changes nothing: every key under the test's
prefix is compared before and after, and the watchers in each pad hear nothing. The allowed
caller's request closes each sweep, so a sweep whose request was refused for a reason other
than the role would fail. The websockets' side is test_authorization_sockets.py.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import make_mocked_request
from pycrdt import Doc, Text
from summitpad import protocol
from summitpad.app import create_app
from summitpad.app_keys import STORE, SUMMITS
from summitpad.keys import pad_keys
from summitpad.protocol import MessageType
from summitpad.schedule import Lock, Session
from summitpad.settings import Settings
from summitpad.web_security import ACCOUNTS, CSRF_EXEMPT_PREFIX, ETHERPAD_API_PATH
from yarl import URL

from .authz_fixtures import KEY, MARKER, TITLES, Caller, RawPad, Reply, World, open_world, set_login
from .authz_table import (
    ACTIONS,
    BARE,
    OPEN_READS,
    UNSAFE,
    Action,
    Need,
    Surface,
    routes_of,
)
from .summit_fixtures import SUMMIT
from .support import RunningApp, eventually

StartApp = Callable[..., Awaitable[RunningApp]]


@pytest.fixture
async def world(
    start_app: StartApp, redis_client: aioredis.Redis, key_prefix: str
) -> AsyncIterator[World]:
    async with open_world(start_app, redis_client, key_prefix) as opened:
        yield opened


def _app() -> Any:
    return create_app(Settings(redis_url="redis://127.0.0.1:1/0"))  # never started


# -- the table covers every route -------------------------------------------------------------


def test_every_route_has_a_decision() -> None:
    routes = routes_of(_app())
    guarded = {(a.method if a.need is not Need.NOBODY else "*", a.route) for a in ACTIONS}
    undecided = routes - guarded - set(OPEN_READS)
    assert not undecided, f"routes with no decision in authz_table.py: {sorted(undecided)}"
    stale = (guarded | set(OPEN_READS)) - routes
    assert not stale, f"authz_table.py names routes the app does not have: {sorted(stale)}"
    unsafe_open = [r for r in OPEN_READS if r[0] in UNSAFE]
    assert not unsafe_open, f"unsafe routes open to anyone: {unsafe_open}"
    assert not set(OPEN_READS) & guarded


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name)
async def test_each_action_reaches_the_route_it_names(action: Action) -> None:
    app = _app()
    match = await app.router.resolve(make_mocked_request(action.method, action.path, app=app))
    assert match.http_exception is None, match.http_exception
    assert match.route.resource is not None
    assert match.route.resource.canonical == action.route


def test_no_form_of_the_pages_escapes_the_csrf_check() -> None:
    """The security middleware asks no CSRF token under /ws/ (websockets are GETs, guarded by
    their Origin) and leaves /api alone (a token or key, never a cookie): an unsafe route of
    the pages must live elsewhere."""
    for method, route in routes_of(_app()):
        if method in UNSAFE and not route.startswith(ETHERPAD_API_PATH + "/"):
            assert not route.startswith(CSRF_EXEMPT_PREFIX), (method, route)


# -- every action, every weaker caller --------------------------------------------------------


DEAD_COOKIES = ("anonymous", "expired login", "replaced login", "forged login")
DEAD_TOKENS = ("wrong token", "revoked token", "replaced token")
NO_KEYS = ("no key", "empty key", "wrong key", "key upper-cased", "key less a character",
           "key and a character", "a token as the key", "key as a bearer token",
           "olga's cookie")


def refusals(action: Action) -> list[tuple[str, int]]:
    """Every weaker caller, with the status it gets."""
    surface, need = action.surface, action.need
    if need is Need.NOBODY:
        return [(c, 404) for c in ("anonymous", "olga", "token:olga", "key")]
    if surface is Surface.ETHERPAD:
        return [(c, 401) for c in NO_KEYS]
    if surface is Surface.API_V1:
        found = [(c, 401) for c in ("no token", *DEAD_TOKENS, "basic auth",
                                    "key as a bearer token", "olga's cookie")]
        if need is Need.ORGANIZER_TOKEN:
            found += [(f"token:{c}", 403) for c in ("mallory", "carol", "bob")]
        return found
    found = [(c, 401) for c in DEAD_TOKENS]
    if need is Need.PARTICIPANT:
        return found
    others = ("mallory", "carol") if need is Need.MODERATOR else ("mallory", "carol", "bob")
    return (found + [(c, 401) for c in DEAD_COOKIES] + [(c, 403) for c in others]
            + [(f"token:{c}", 403) for c in others])


async def attempt(world: World, caller: Caller, action: Action) -> Reply:
    """`action` as `caller` would make it: a browser with its own CSRF token, a script with
    its token and asking for JSON, an Etherpad client with its key."""
    form = dict(action.form)
    if action.surface is Surface.ETHERPAD:
        if caller.apikey is not None:
            form["apikey"] = caller.apikey
        return await world.request(caller, action.method, action.path, form=form)
    if action.surface is Surface.API_V1:
        body = form if action.method != "GET" else None
        return await world.request(caller, action.method, action.path, json=body)
    if caller.browser is None:
        return await world.request(caller, action.method, action.path, form=form,
                                   upload=action.upload,
                                   headers={"Accept": "application/json"})
    token = await caller.browser.csrf() if action.takes_csrf else None
    return await world.request(caller, action.method, action.path, form=form,
                               upload=action.upload, csrf=token)


def check_refusal(action: Action, caller: Caller, reply: Reply, status: int) -> None:
    """The status, and the error in the shape the surface promises."""
    assert reply.status == status, (caller.name, reply.status, reply.text[:300])
    assert MARKER not in reply.text, caller.name
    if action.surface is Surface.ETHERPAD:
        code = 3 if status == 404 else 4
        message = "no such function" if code == 3 else "no or wrong API Key"
        assert reply.json == {"code": code, "message": message, "data": None}, caller.name
    elif action.surface is Surface.API_V1:
        error = reply.json["error"]
        assert error["code"] == {401: "unauthorized", 403: "forbidden"}[status], caller.name
        assert error["message"]
        if status == 401:
            assert reply.headers["WWW-Authenticate"].startswith("Bearer "), caller.name
    elif caller.browser is None:
        error = reply.json["error"]
        assert (error["status"], error["title"]) == (status, TITLES[status]), caller.name
    else:
        assert f"{status} · {TITLES[status]}" in reply.text, caller.name
        if status == 401:
            assert 'href="/login?next=' in reply.text


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name)
async def test_weaker_callers_are_refused_and_change_nothing(
    world: World, action: Action
) -> None:
    before, heard = await world.state(), world.heard()
    for name, status in refusals(action):
        caller = world.callers[name]
        check_refusal(action, caller, await attempt(world, caller, action), status)
        assert await world.state() == before, f"{name} changed Valkey"
    if action.need is Need.NOBODY:  # the key holder and an organizer were refused too
        assert world.heard() == heard, "a refused request reached a pad"
        return
    allowed = world.callers[action.allowed]
    if action.takes_csrf:
        before = await _without_its_csrf_token(world, action, allowed)
    assert world.heard() == heard, "a refused request reached a pad"

    reply = await attempt(world, allowed, action)  # the control: the right caller gets in
    assert reply.status < 400, (allowed.name, reply.status, reply.text[:300])
    if action.surface is Surface.ETHERPAD:
        assert reply.json["code"] == 0, reply.json
    assert (await world.state() != before) == action.writes


async def _without_its_csrf_token(
    world: World, action: Action, allowed: Caller
) -> dict[str, Any]:
    """The allowed browser, without the CSRF token of its own pages: refused, nothing done.
    Returns what Valkey holds (with the login this made)."""
    assert allowed.browser is not None
    other = await world.browser()
    tries: list[tuple[str, Caller, str | None, dict[str, str]]] = [
        ("no token", allowed, None, {}),
        ("another browser's token", allowed, await other.csrf(), {}),
        ("another browser's token as a header", allowed, None,
         {"X-CSRF-Token": await other.csrf()}),
        ("a token that is no token", allowed, "x" * 64, {}),
    ]
    if action.allowed != "anonymous":  # a token of the same browser from before it logged in
        browser = await world.browser()
        stale = await browser.csrf()
        user = await world.site.app[ACCOUNTS].get_user(action.allowed)
        set_login(browser, await world.site.app[ACCOUNTS].start_login(user))
        tries.append(("a token from before logging in", Caller("later", browser), stale, {}))
    before = await world.state()
    for what, caller, token, headers in tries:
        reply = await world.request(caller, action.method, action.path, form=action.form,
                                    upload=action.upload, csrf=token, headers=headers)
        assert reply.status == 403, (what, reply.status, reply.text[:300])
        assert "missing or wrong CSRF token" in reply.text, what
        assert await world.state() == before, what
    return before


async def test_the_etherpad_api_is_off_without_a_key(
    start_app: StartApp, http: aiohttp.ClientSession
) -> None:
    app = await start_app()
    for key in (KEY, "", None):
        params = {"padID": BARE, "text": "x", **({"apikey": key} if key is not None else {})}
        async with http.post(f"{app.http_url}/api/1.2.15/setText", data=params) as response:
            assert response.status == 401
            assert (await response.json())["code"] == 4


# -- what a role may change ---------------------------------------------------------------------


async def test_a_moderator_changes_only_what_their_session_is_about(world: World) -> None:
    bob = world.callers["bob"]
    assert bob.browser is not None
    summits = world.site.app[SUMMITS]
    was = (await summits.load("osd")).sessions["s1"]
    reply = await world.request(bob, "POST", "/osd/s1/edit", csrf=await bob.browser.csrf(), form={
        "title": "Renamed", "description": "New words", "moderator": "Mallory", "track": "ha",
        "room": "room-b", "day": "2026-05-05", "start": "11:00", "end": "11:40",
        "was_room": "room-a", "was_day": "2026-05-04", "was_start": "09:00",
        "was_end": "09:40", "lock": "open", "origin": "proposal", "id": "s9",
    })
    assert reply.status == 303
    data = await summits.load("osd")
    assert data.sessions["s1"] == was.replace(title="Renamed", description="New words")
    assert "s9" not in data.sessions
    for path in ("/osd/s2/edit", "/osd/s2/lock"):  # carol's session, not bob's
        before = await world.state()
        reply = await world.request(bob, "POST", path, csrf=await bob.browser.csrf(),
                                    form={"title": "Mine now", "lock": "locked"})
        assert reply.status == 403, path
        assert await world.state() == before


async def test_a_proposal_is_no_more_than_a_proposal(world: World) -> None:
    eve = world.callers["anonymous"]
    assert eve.browser is not None
    summits = world.site.app[SUMMITS]
    was = await summits.load("osd")
    reply = await world.request(eve, "POST", "/osd/unconference", csrf=await eve.browser.csrf(),
                                form={"title": "Take over", "name": "Eve", "id": "s1",
                                      "room": "room-a", "start": "2026-05-04T07:00:00+00:00",
                                      "end": "2026-05-04T07:40:00+00:00", "lock": "open",
                                      "moderator": "Bob Builder", "origin": "schedule"})
    assert reply.status == 303
    data = await summits.load("osd")
    assert {k: v for k, v in data.sessions.items() if k in was.sessions} == was.sessions
    (added,) = [s for k, s in data.sessions.items() if k not in was.sessions]
    assert added.id.startswith("u-") and not added.scheduled
    assert (added.title, added.moderator, added.lock) == ("Take over", "Eve", Lock.FOLLOW)


async def test_a_participant_writes_and_chats_only_as_itself(world: World) -> None:
    victim = world.callers["anonymous"].browser
    assert victim is not None
    victim_id = next(c.value for c in victim.http.cookie_jar if c.key == "sp_participant")
    author = victim_id.partition(".")[0]
    forger = await world.browser()
    forger.http.cookie_jar.clear()
    forger.http.cookie_jar.update_cookies(
        {"sp_participant": f"{author}.{'A' * 22}"}, URL(world.url))  # a MAC it cannot make
    pad = await RawPad.open(forger.http, f"{world.site.ws_url}/{BARE}")
    keys = pad_keys(world.prefix, BARE)
    entries = len(await world.client.xrange(keys.log))
    await pad.send(protocol.encode_update(pad.change(lambda t: t.insert(0, "forged "))))
    await pad.send(protocol.encode_chat({"kind": "send", "text": "as you", "name": "Victim",
                                         "author": author, "id": "1-0", "time": 0}))
    await pad.sync()
    await eventually(lambda: world.watchers[BARE].bodies(MessageType.CHAT)[-1].get("kind")
                     == "message")
    (entry,) = (await world.client.xrange(keys.log))[entries:]
    assert entry[1][b"a"].decode() not in ("", author)
    (message,) = [json.loads(m[b"m"]) for _, m in await world.client.xrange(keys.chat)]
    assert message["author"] == entry[1][b"a"].decode() != author


async def test_nobody_writes_a_sessions_pad_before_its_summit_exists(world: World) -> None:
    # Else whatever a squatter wrote there would become the session's notes once an organizer
    # creates the summit (pad_rules.py).
    squatter = await world.http.ws_connect(f"{world.site.ws_url}/later.keynote")
    closing = await squatter.receive()
    assert (closing.type, squatter.close_code) == (aiohttp.WSMsgType.CLOSE, 4404)
    assert "there is no summit 'later'" in closing.extra
    for function in ("createPad", "setText"):
        reply = await world.request(world.callers["key"], "POST", f"/api/1.2.15/{function}",
                                    form={"apikey": KEY, "padID": "later.keynote", "text": "x"})
        assert reply.json["code"] == 1, (function, reply.json)
    keys = pad_keys(world.prefix, "later.keynote")
    assert not await world.client.exists(keys.snap, keys.log)

    summits = world.site.app[SUMMITS]
    await summits.create(SUMMIT.replace(slug="later", name="Later"))
    await summits.update("later", lambda _: (None, ([Session("keynote", "Keynote")], [])))
    writer = await RawPad.open(world.http, f"{world.site.ws_url}/later.keynote")
    await writer.send(protocol.encode_update(writer.change(lambda t: t.insert(0, "Welcome"))))
    await writer.sync()
    reader = await RawPad.open(world.http, f"{world.site.ws_url}/later.keynote")
    assert str(reader.text).startswith("Welcome")


async def test_a_pad_stored_under_a_session_name_before_that_rule_stays_a_bare_pad(
    world: World,
) -> None:
    doc: Doc[Any] = Doc()
    doc.get("content", type=Text).insert(0, "Kept from before")
    await world.site.app[STORE].seed(pad_keys(world.prefix, "older.notes"), doc.get_update())
    pad = await RawPad.open(world.http, f"{world.site.ws_url}/older.notes")
    await pad.send(protocol.encode_update(pad.change(lambda t: t.insert(0, "Still open. "))))
    await pad.sync()
    reader = await RawPad.open(world.http, f"{world.site.ws_url}/older.notes")
    assert str(reader.text) == "Still open. Kept from before"
