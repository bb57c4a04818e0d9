"""Nobody does more than their role allows, over raw websockets (y-protocols frames built with
summitpad.protocol): read-only links take no edits and never name their pad, a locked pad takes
no edits from anyone (its moderator and organizers included) whether locked by hand or by the
end of its grace period, upgrades from other sites' pages are refused, and each connection
speaks for its own tab's presence only.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from summitpad import protocol
from summitpad.app_keys import REGISTRY
from summitpad.protocol import MessageType

from .authz_fixtures import KEY, MARKER, RawPad, Reply, World, open_world
from .authz_table import BARE, SESSION_PAD
from .summit_fixtures import berlin, stored_text
from .support import RunningApp, eventually

StartApp = Callable[..., Awaitable[RunningApp]]


@pytest.fixture
async def world(
    start_app: StartApp, redis_client: aioredis.Redis, key_prefix: str
) -> AsyncIterator[World]:
    async with open_world(start_app, redis_client, key_prefix) as opened:
        yield opened


# -- read-only links over raw websockets --------------------------------------------------------


async def ro_id_of(world: World, pad: str) -> str:
    """The read-only id the pad's link leads to (a session's by its session's address)."""
    reply = await world.request(world.callers["anonymous"], "GET",
                                "/osd/s1/ro" if pad == SESSION_PAD else f"/p/{pad}/ro")
    assert reply.status == 303
    return reply.headers["Location"].removeprefix("/ro/")


def pad_state(state: dict[str, Any], pad: str) -> dict[str, Any]:
    return {k: v for k, v in state.items() if f"{{pad:{pad}}}" in k}


@pytest.mark.parametrize("pad", [BARE, SESSION_PAD])
async def test_a_read_only_link_never_writes(world: World, pad: str) -> None:
    ro_id = await ro_id_of(world, pad)
    url = f"{world.site.ws_url}/ro/{ro_id}"
    viewer = await RawPad.open(world.http, url)
    assert viewer.auth == [(0, "read-only")]
    assert MARKER in str(viewer.text)
    before, heard = await world.state(), world.heard()

    # The answer to the server's step 1 is dropped, edits in it too; the viewer stays.
    await viewer.send(protocol.encode_step2(viewer.change(lambda t: t.insert(0, "STEP2 "))))
    await viewer.sync()
    assert await world.state() == before
    # A client cannot grant itself the right to write.
    await viewer.send(protocol.encode_auth_granted("read-write"))
    await viewer.sync()
    # An update is an attempt to edit: closed with 4403, nothing stored.
    await viewer.send(protocol.encode_update(viewer.change(lambda t: t.insert(0, "UPDATE "))))
    assert await viewer.closed_with() == 4403
    for message in (protocol.encode_chat({"kind": "send", "text": "hi", "name": "V"}),
                    protocol.encode_chat({"kind": "join"})):
        chatter = await RawPad.open(world.http, url)
        await chatter.send(message)
        assert await chatter.closed_with() == 4403  # a viewer has no chat at all

    assert await world.state() == before
    assert world.heard() == heard
    assert MARKER in await stored_text(world.client, world.prefix, pad)
    assert "STEP2" not in await stored_text(world.client, world.prefix, pad)
    watcher = world.watchers[pad]  # the control: the pad still takes its writers' edits
    await watcher.send(protocol.encode_update(watcher.change(lambda t: t.insert(0, "ok "))))
    await watcher.sync()
    assert await world.state() != before


async def test_a_read_only_link_cannot_be_turned_into_a_write_link(world: World) -> None:
    ro_id = await ro_id_of(world, BARE)
    olga, anonymous = world.callers["olga"], world.callers["anonymous"]
    before = pad_state(await world.state(), BARE)

    # The APIs know no pad by that name.
    token = world.callers["token:olga"]
    for method, path, body in (("PUT", f"/api/v1/pads/{ro_id}/text", {"text": "x"}),
                               ("POST", f"/api/v1/pads/{ro_id}/append", {"text": "x"}),
                               ("POST", f"/api/v1/pads/{ro_id}/chat", {"text": "x"})):
        reply = await world.request(token, method, path, json=body)
        assert (reply.status, reply.json["error"]["code"]) == (404, "pad_not_found")
    reply = await world.request(world.callers["key"], "POST", "/api/1.2.15/setText",
                                form={"apikey": KEY, "padID": ro_id, "text": "x"})
    assert reply.json == {"code": 1, "message": "padID does not exist", "data": None}

    # Nothing under /ro takes a write, whatever is added to its address.
    for tail in ("", "/import", "/revisions", "/history/restore", "/lock", "/edit"):
        reply = await world.request(olga, "POST", f"/ro/{ro_id}{tail}", form={"text": "x"},
                                    csrf=await world.csrf("olga"))
        assert reply.status in (404, 405), (tail, reply.status)
    for wrong in (BARE, ro_id.swapcase(), ro_id + "x", ro_id[:-1]):
        socket = await world.http.ws_connect(f"{world.site.ws_url}/ro/{wrong}")
        assert (await socket.receive()).type is aiohttp.WSMsgType.CLOSE
        assert socket.close_code == 4404, wrong

    # The read-only id where a pad id goes names another (empty) pad, never this one.
    elsewhere = await RawPad.open(world.http, f"{world.site.ws_url}/{ro_id}")
    assert MARKER not in str(elsewhere.text)
    await elsewhere.send(protocol.encode_update(elsewhere.change(lambda t: t.insert(0, "x"))))
    await elsewhere.sync()
    export = await world.request(anonymous, "GET", f"/p/{ro_id}/export.txt")
    assert export.status == 200 and MARKER not in export.text
    for path, form in ((f"/p/{ro_id}/import", {"text": "x", "format": "txt"}),
                       (f"/p/{ro_id}/history/restore", {"rev": "0"})):
        reply = await world.request(anonymous, "POST", path, form=form,
                                    csrf=await world.csrf("anonymous"))
        assert reply.status == 303, (path, reply.status)  # into the pad of that name

    assert pad_state(await world.state(), BARE) == before


async def test_nothing_served_under_a_read_only_id_names_the_pad(world: World) -> None:
    secret = "writable-8812"
    writer = await RawPad.open(world.http, f"{world.site.ws_url}/{secret}")
    await writer.send(protocol.encode_update(writer.change(lambda t: t.insert(0, "notes"))))
    await writer.sync()
    seen: list[str] = []
    for pad, ro_id in ((secret, await ro_id_of(world, secret)),
                       (SESSION_PAD, await ro_id_of(world, SESSION_PAD))):
        viewer = await RawPad.open(world.http, f"{world.site.ws_url}/ro/{ro_id}")
        await viewer.send(protocol.encode_notice({"kind": "join"}))
        await viewer.send(protocol.encode_query_awareness())
        await viewer.sync()
        for path in (f"/ro/{ro_id}", f"/ro/{ro_id}/authors.json"):
            reply = await world.request(world.callers["anonymous"], "GET", path)
            assert reply.status == 200
            seen.append(reply.text + repr(dict(reply.headers)))
        if pad == SESSION_PAD:
            olga = world.callers["olga"]
            await world.request(olga, "POST", "/admin/notices", csrf=await world.csrf("olga"),
                                form={"summit": "osd", "text": "Lunch"})
            await eventually(lambda v=viewer: v.bodies(MessageType.NOTICE))
        else:
            await writer.send(protocol.encode_update(writer.change(lambda t: t.insert(0, "!"))))
            await eventually(lambda v=viewer: str(v.text).startswith("!"))
        await viewer.send(protocol.encode_update(viewer.change(lambda t: t.insert(0, "x"))))
        assert await viewer.closed_with() == 4403
        frames = b"".join(viewer.frames).decode(errors="replace") + viewer.close_reason
        for text in (*seen, frames):
            assert pad not in text
            assert "/" + pad.replace(".", "/") not in text


# -- locked pads --------------------------------------------------------------------------------


async def lock(world: World, who: str, value: str) -> None:
    browser = world.callers[who].browser
    assert browser is not None
    reply = await world.request(world.callers[who], "POST", "/osd/s1/lock",
                                form={"lock": value}, csrf=await browser.csrf())
    assert reply.status == 303, reply.text[:300]


async def read_only_writes(world: World) -> list[tuple[str, Reply]]:
    """Every way to write a pad over HTTP, on s1's pad, by its moderator, an organizer, a
    participant, a token and the Etherpad key."""
    replies = []
    for who in ("anonymous", "bob", "olga"):
        caller = world.callers[who]
        assert caller.browser is not None
        for base in ("/p/osd.s1", "/osd/s1"):
            for tail, form in (("/import", {"text": "x", "format": "txt", "mode": "replace"}),
                               ("/revisions", {"label": "late"}),
                               ("/history/restore", {"rev": "0"})):
                replies.append((f"{who} {base}{tail}", await world.request(
                    caller, "POST", base + tail, form=form, csrf=await caller.browser.csrf())))
    token = world.callers["token:olga"]
    for method, tail in (("PUT", "/text"), ("POST", "/append"), ("POST", "/chat")):
        replies.append((f"api {tail}", await world.request(
            token, method, f"/api/v1/pads/osd.s1{tail}", json={"text": "x"})))
    for function in ("setText", "appendText", "deletePad"):
        replies.append((function, await world.request(
            world.callers["key"], "POST", f"/api/1.2.15/{function}",
            form={"apikey": KEY, "padID": "osd.s1", "text": "x"})))
    return replies


@pytest.mark.parametrize("how", ["its moderator locks it", "an organizer locks it",
                                 "its grace period ends"])
async def test_a_locked_pad_takes_no_writes_from_anyone(world: World, how: str) -> None:
    url = f"{world.site.ws_url}/osd.s1"
    pads = {}
    for who in ("anonymous", "bob", "olga"):  # a participant, its moderator, an organizer
        browser = world.callers[who].browser
        assert browser is not None
        pads[who] = await RawPad.open(browser.http, url)
        await pads[who].send(protocol.encode_chat({"kind": "join"}))
    if how == "its grace period ends":
        world.clock.set(berlin(4, 9, 40, 30))  # ended, in the grace period: writable
        written = await world.state()
        anonymous = pads["anonymous"]
        await anonymous.send(protocol.encode_update(anonymous.change(
            lambda t: t.insert(0, "in time "))))
        await anonymous.sync()
        assert await world.state() != written
        world.clock.set(berlin(4, 9, 41, 1))
    else:
        await lock(world, "bob" if how.startswith("its moderator") else "olga", "locked")
    for pad in pads.values():
        await eventually(lambda p=pad: p.auth[-1:] == [(0, "read-only")])

    before, heard = await world.state(), world.heard()
    for who, pad in pads.items():
        await pad.send(protocol.encode_update(pad.change(lambda t: t.insert(0, "UPDATE "))))
        await pad.send(protocol.encode_step2(pad.change(lambda t: t.insert(0, "STEP2 "))))
        await pad.send(protocol.encode_auth_granted("read-write"))  # no client grants itself
        await pad.send(protocol.encode_update(pad.change(lambda t: t.insert(0, "AGAIN "))))
        await pad.send(protocol.encode_chat({"kind": "send", "text": "late", "name": who}))
        await pad.sync()
        await eventually(lambda p=pad: [b for b in p.bodies(MessageType.CHAT)
                                        if b["kind"] == "refused"])
        refused = [b for b in pad.bodies(MessageType.CHAT) if b["kind"] == "refused"]
        assert refused[-1]["reason"] == "read-only", who
        assert not pad.ws.closed, who  # dropped quietly: the editor shows the pad read-only
    for what, reply in await read_only_writes(world):
        if reply.status == 200 and "code" in reply.json:  # the Etherpad API
            assert reply.json["code"] == 1 and "read-only" in reply.json["message"], what
        else:
            assert reply.status == 403 and "read-only" in reply.text, (what, reply.status)
    assert await world.state() == before
    assert world.heard() == heard
    text = await stored_text(world.client, world.prefix, "osd.s1")
    assert MARKER in text and "UPDATE" not in text and "AGAIN" not in text

    # The control: reopened, the pad takes the participant's edits again (on a new
    # connection: the old one's copy holds the edits that were dropped).
    world.clock.set(berlin(4, 9, 10))
    await lock(world, "olga", "open")
    for pad in pads.values():
        await eventually(lambda p=pad: p.auth[-1:] == [(1, "read-write")])
    browser = world.callers["anonymous"].browser
    assert browser is not None
    participant = await RawPad.open(browser.http, url)
    await participant.send(protocol.encode_update(participant.change(
        lambda t: t.insert(0, "reopened "))))
    await participant.sync()
    assert "reopened" in await stored_text(world.client, world.prefix, "osd.s1")


async def test_a_client_speaks_for_no_server_and_no_organizer(world: World) -> None:
    """Locking and notices are the server's messages: a client's auth message is ignored and
    its notice closes it (4400); nobody else hears either."""
    heard = world.heard()
    intruder = await RawPad.open(world.http, f"{world.site.ws_url}/osd.s1")
    await intruder.send(protocol.encode_auth_denied("read-only"))
    await intruder.sync()
    watcher = world.watchers[SESSION_PAD]
    before = await world.state()
    await watcher.send(protocol.encode_update(watcher.change(lambda t: t.insert(0, "still "))))
    await watcher.sync()
    assert await world.state() != before  # the pad is not locked
    await intruder.send(protocol.encode_notice(
        {"kind": "notice", "summit": "osd", "text": "Go home", "id": "x", "time": 0}))
    assert await intruder.closed_with() == 4400
    now = world.heard()
    assert now[SESSION_PAD][1:] == heard[SESSION_PAD][1:]  # no lock, no chat, no notice


# -- websocket origins ------------------------------------------------------------------------


# Browsers send Origin on every websocket upgrade; whose pages may open one is decided by host
# and port (behind a proxy that terminates TLS, the scheme the node sees is not the browser's).
# No Origin at all is no browser (a script, the Node client), which carries nobody's cookies.
ORIGINS = {
    "none (not a browser)": (None, True),
    "this site": ("http://{host}", True),
    "this site, path and all": ("http://{host}/p/x", True),
    "this host and port, other scheme": ("https://{host}", True),
    "null (a sandboxed frame, a file)": ("null", False),
    "empty": ("", False),
    "another port": ("http://127.0.0.1:{other}", False),
    "no port": ("http://127.0.0.1", False),
    "another name for this machine": ("http://localhost:{port}", False),
    "a name that starts like ours": ("http://{host}.evil.example", False),
    "ours as the user part": ("http://{host}@evil.example", False),
    "another site": ("https://evil.example", False),
}


@pytest.mark.parametrize("kind", ["pad", "read-only"])
@pytest.mark.parametrize("case", ORIGINS, ids=list(ORIGINS))
async def test_websocket_upgrades_by_origin(
    app: RunningApp, http: aiohttp.ClientSession, redis_client: aioredis.Redis,
    key_prefix: str, case: str, kind: str,
) -> None:
    template, accepted = ORIGINS[case]
    port = app.server.port
    headers = {} if template is None else {"Origin": template.format(
        host=f"127.0.0.1:{port}", port=port, other=port + 1)}
    pad = "osd-origin"
    if kind == "read-only":
        async with http.get(f"{app.http_url}/p/{pad}/ro", allow_redirects=False) as response:
            url = f"{app.ws_url}/ro/" + response.headers["Location"].removeprefix("/ro/")
    else:
        url = f"{app.ws_url}/{pad}"
    if accepted:
        socket = await RawPad.open(http, url, headers=headers)
        await socket.close()
        return
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(url, headers=headers)
    assert refused.value.status == 403
    assert app.app[REGISTRY].live(pad) is None  # refused before the pad was even loaded


async def test_the_public_urls_origin_is_this_site(
    start_app: StartApp, http: aiohttp.ClientSession
) -> None:
    app = await start_app(public_url="https://pads.example.org")
    own_address = f"http://127.0.0.1:{app.server.port}"  # the node's own, behind the proxy
    for origin, accepted in (("https://pads.example.org", True),
                             ("https://PADS.example.org:443", True),
                             ("http://pads.example.org", False),
                             ("http://pads.example.org:8443", False),
                             ("https://pads.example.org:8443", False),
                             ("https://pads.example.org.evil.example", False),
                             (own_address, False),
                             ("https://pads.example.org:99999", False),
                             ("null", False)):
        url = f"{app.ws_url}/public-origin"
        if accepted:
            await (await RawPad.open(http, url, headers={"Origin": origin})).close()
            continue
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(url, headers={"Origin": origin})
        assert refused.value.status == 403, origin


# -- presence: each connection speaks for its own tab -------------------------------------------


def json_state(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def announce(client_id: int, clock: int, name: str | None) -> bytes:
    state = b"null" if name is None else json_state({"user": {"name": name}})
    entry = protocol.AwarenessEntry(client_id, clock, state)
    return protocol.encode_awareness(protocol.encode_awareness_entries([entry]))


def states_heard(pad: RawPad) -> dict[int, bytes]:
    """The latest state of every client the connection was told of (removals drop it)."""
    latest: dict[int, tuple[int, bytes]] = {}
    for data in pad.of_type(MessageType.AWARENESS):
        decoded = protocol.decode_message(data)
        assert isinstance(decoded, protocol.AwarenessMessage)
        for entry in protocol.decode_awareness(decoded.payload):
            if entry.clock >= latest.get(entry.client_id, (-1, b""))[0]:
                latest[entry.client_id] = (entry.clock, entry.state)
    return {k: state for k, (_, state) in latest.items() if state != b"null"}


async def echo_what_it_heard(pad: RawPad) -> None:
    """What the stock y-websocket client does: every awareness change it applies, others'
    included, it sends on as it has it (same clock, same state)."""
    for data in pad.of_type(MessageType.AWARENESS):
        await pad.send(data)


async def test_a_crowd_of_stock_clients_each_speaks_for_itself(
    app: RunningApp, http: aiohttp.ClientSession
) -> None:
    """Every joiner repeats the states it is sent, as the stock client does: that makes none
    of them its own, so a session of many participants neither closes its joiners (a
    connection speaks for at most 8 tabs) nor loses everyone's presence when one leaves."""
    url = f"{app.ws_url}/crowd"
    crowd = []
    for n in range(1, 13):
        pad = await RawPad.open(http, url)
        await eventually(lambda p=pad, n=n: len(states_heard(p)) == n - 1)
        await echo_what_it_heard(pad)
        await pad.send(announce(n, 1, f"person {n}"))
        await pad.sync()
        crowd.append(pad)
    assert not any(p.ws.closed for p in crowd)
    await crowd[-1].close()  # the last joiner repeated everyone's state, and leaves
    await eventually(lambda: 12 not in states_heard(crowd[0]))
    late = await RawPad.open(http, url)
    await eventually(lambda: len(states_heard(late)) == 11)
    assert sorted(states_heard(late)) == list(range(1, 12))


async def test_a_participant_cannot_set_or_clear_anothers_presence(
    app: RunningApp, http: aiohttp.ClientSession
) -> None:
    url = f"{app.ws_url}/presence"
    browser = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with browser.get(f"{app.http_url}/p/presence") as page:
        assert page.status == 200  # the victim's participant cookie
    victim = await RawPad.open(browser, url)
    await victim.send(announce(7, 1, "Victim"))
    await victim.sync()
    mallory = await RawPad.open(http, url)  # another participant (no cookie: a new one)
    await eventually(lambda: 7 in states_heard(mallory))
    await mallory.send(announce(7, 5, "Mallory was here"))
    await mallory.send(announce(7, 6, None))
    await mallory.send(announce(99, 1, "Mallory"))  # its own: taken
    await mallory.sync()
    observer = await RawPad.open(http, url)
    await eventually(lambda: 99 in states_heard(observer))
    assert states_heard(observer)[7] == json_state({"user": {"name": "Victim"}})
    await mallory.close()
    await eventually(lambda: 99 not in states_heard(observer))
    assert 7 in states_heard(observer)  # leaving took only Mallory's own state along

    # The same browser on a new connection (a tab that reconnects before the server noticed
    # its old one drop) speaks for its client id from then on.
    victim_again = await RawPad.open(browser, url)
    await victim_again.send(announce(7, 2, "Victim, reconnected"))
    await victim_again.sync()
    reconnected = json_state({"user": {"name": "Victim, reconnected"}})
    await eventually(lambda: states_heard(observer).get(7) == reconnected)
    await victim.close()
    await victim_again.sync()
    assert states_heard(await RawPad.open(http, url)).get(7) == reconnected
    await browser.close()


INTEROP = Path(__file__).resolve().parent / "interop"


@pytest.mark.interop
@pytest.mark.skipif(shutil.which("node") is None
                    or not (INTEROP / "node_modules" / "y-websocket").is_dir(),
                    reason="needs Node and tests/interop/node_modules (`npm ci` there)")
async def test_a_crowd_of_real_stock_clients_stays(app: RunningApp) -> None:
    process = await asyncio.create_subprocess_exec(
        "node", "crowd.mjs", "--url", app.ws_url, "--pad", "crowd", "--count", "12",
        cwd=INTEROP, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    result = json.loads(out.decode().strip().splitlines()[-1]) if out.strip() else {}
    assert result.get("ok"), (result, err.decode()[-2000:])
