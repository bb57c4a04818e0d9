"""/admin through the real app, on one node and on two sharing a Valkey: only organizers get
in; every pad listed and searched; deleting a pad takes it out of Valkey and off every node
and screen, with nothing written back; notices reach the clients that asked for them on every
node, as text, and no stock client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from pycrdt import Doc, Text
from summitpad import admin_pads, fanout, pad_upkeep, protocol
from summitpad.accounts import Role
from summitpad.app_keys import REGISTRY, SUMMITS
from summitpad.client import PadClient
from summitpad.clock import SetClock
from summitpad.errors import CLOSE_PAD_DELETED, PadDeleted
from summitpad.keys import PadKeys, SummitKeys, pad_keys, read_only_key
from summitpad.protocol import MessageType
from summitpad.schedule import Session
from summitpad.store import PadStore
from summitpad.web_security import ACCOUNTS

from .summit_fixtures import (
    PASSWORD,
    SUMMIT,
    XSS,
    OpenBrowser,
    add_people,
    berlin,
    browsers,
    seed_summit,
)
from .support import RunningApp, eventually, on_both_stores

StartApp = Callable[..., Awaitable[RunningApp]]
Connect = Callable[..., Awaitable[PadClient]]

TEMPLATE_TEXT = "Agenda\n\nNotes\n"
IMG = "<img src=x onerror=alert(1)>"
JSON = {"Accept": "application/json"}


# -- what a connection hears ------------------------------------------------------------------


class Ears:
    """Every frame one PadClient receives: its notices, and how many sync step 2s."""

    def __init__(self, client: PadClient) -> None:
        self.client = client
        self.types: list[int] = []
        self.notices: list[dict[str, Any]] = []
        self.step2 = 0
        client.on_message = self

    def __call__(self, data: bytes) -> None:
        self.types.append(data[0])
        message = protocol.decode_message(data)
        if isinstance(message, protocol.NoticeMessage):
            self.notices.append(message.body)
        elif isinstance(message, protocol.SyncMessage) and message.kind.name == "STEP2":
            self.step2 += 1

    async def round_trip(self) -> None:
        """Wait until the server has handled everything sent before (it answers a step 1
        only after every earlier message of the connection)."""
        seen = self.step2
        await self.client.send(protocol.encode_step1(self.client.doc.get_state()))
        await eventually(lambda: self.step2 > seen)

    async def join_notices(self) -> None:
        await self.client.send(protocol.encode_notice({"kind": "join"}))
        await self.round_trip()

    async def closed_with(self) -> int | None:
        await eventually(lambda: self.client.ws.closed)
        return self.client.ws.close_code


async def hear(connect: Connect, ws_url: str, pad_id: str, *, notices: bool = False) -> Ears:
    ears = Ears(await connect(ws_url, pad_id))
    if notices:
        await ears.join_notices()
    return ears


async def keep_typing(client: PadClient, word: str, times: int) -> None:
    """Edits sent without waiting for their echo; stops quietly once the server has closed."""
    for i in range(times):
        try:
            await client.edit(lambda t, i=i: t.insert(len(t), f" {word}{i}"))
        except (ConnectionError, RuntimeError):
            return
        await asyncio.sleep(0)


async def ro_id_of(http: aiohttp.ClientSession, app: RunningApp, path: str) -> str:
    async with http.get(app.http_url + path, allow_redirects=False) as response:
        assert response.status == 303, await response.text()
        return response.headers["Location"].removeprefix("/ro/")


# -- fixtures ---------------------------------------------------------------------------------


OTHER = SUMMIT.replace(slug="dev", name="Dev Days")
OTHER_SESSIONS = (Session("s1", "Build farm", room="room-a", start=berlin(4, 9),
                          end=berlin(4, 9, 40)),)


@pytest.fixture
def clock() -> SetClock:
    return SetClock(berlin(4, 9, 10))  # osd s1 and s2 are on and writable


@pytest.fixture
async def nodes(start_app: StartApp, clock: SetClock) -> tuple[RunningApp, RunningApp]:
    """Two nodes on one Valkey, with summits osd and dev, and olga, otto (organizers) and
    bob (a moderator). They fold their pad logs often."""
    node_a = await start_app(clock=clock, compact_after=5)
    node_b = await start_app(clock=clock, compact_after=5)
    await seed_summit(node_a.app[SUMMITS])
    await seed_summit(node_a.app[SUMMITS], OTHER, OTHER_SESSIONS)
    await add_people(node_a.app[ACCOUNTS])
    await node_a.app[ACCOUNTS].add_user("otto", PASSWORD, Role.ORGANIZER, "Otto")
    return node_a, node_b


@pytest.fixture
async def site(nodes: tuple[RunningApp, RunningApp]) -> RunningApp:
    return nodes[0]


@pytest.fixture
async def browser(site: RunningApp) -> AsyncIterator[OpenBrowser]:
    async with browsers(site) as open_browser:
        yield open_browser


# -- who gets in ------------------------------------------------------------------------------


async def test_only_organizers_get_in(
    site: RunningApp, browser: OpenBrowser, connect: Connect, redis_client: aioredis.Redis,
    key_prefix: str,
) -> None:
    writer = await connect(site.ws_url, "kept")
    await writer.edit(lambda t: t.insert(0, "still here"))
    anonymous, bob, olga = await browser(), await browser("bob"), await browser("olga")
    delete = {"confirm": "kept"}
    notice = {"summit": "osd", "text": "hello"}

    for path in ("/admin", "/admin/pads/kept/delete"):
        assert (await anonymous.get(path)).status == 401
        assert (await bob.get(path)).status == 403
        assert (await olga.get(path)).status == 200
    assert 'href="/admin"' in (await olga.get("/")).text  # the top bar leads there
    assert 'href="/admin"' not in (await bob.get("/")).text

    for who, status in ((anonymous, 401), (bob, 403)):
        assert (await who.post("/admin/pads/kept/delete", delete)).status == status
        assert (await who.post("/admin/notices", notice)).status == status
    # No CSRF token: refused before anything happens, for an organizer too.
    assert (await olga.post("/admin/pads/kept/delete", delete, csrf=False)).status == 403
    assert (await olga.post("/admin/notices", notice, csrf=False)).status == 403
    assert (await olga.post("/admin/pads/kept/delete", delete, headers=JSON)).status == 200

    keys = pad_keys(key_prefix, "kept")
    assert not await redis_client.exists(keys.snap, keys.log)
    await eventually(lambda: writer.ws.closed)
    assert writer.ws.close_code == CLOSE_PAD_DELETED


# -- the list ---------------------------------------------------------------------------------


async def test_the_list_shows_every_pad_searches_and_pages(
    site: RunningApp, browser: OpenBrowser, connect: Connect, monkeypatch: pytest.MonkeyPatch,
    redis_client: aioredis.Redis, key_prefix: str,
) -> None:
    monkeypatch.setattr(pad_upkeep, "TEXT_INTERVAL", 0.5)
    await site.app[SUMMITS].save_session("osd", Session("xss", XSS))
    notes = await connect(site.ws_url, "osd.s1")
    await notes.edit(lambda t: t.insert(len(t), "quarterly budget"))
    await connect(site.ws_url, "osd.xss")
    lobby = await connect(site.ws_url, "lobby")
    await lobby.edit(lambda t: t.insert(0, "hello from the lobby"))
    # A pad nobody has open here, written by another node: its size is read from the store.
    doc: Doc[Any] = Doc()
    doc.get("content", type=Text).insert(0, "twelve chars")
    await PadStore(redis_client, "elsewhere").append(pad_keys(key_prefix, "archive-1"),
                                                     doc.get_update())
    await eventually(lambda: redis_client.hget(SummitKeys(key_prefix, "osd").text, "s1"))
    olga = await browser("olga")

    page = await olga.get("/admin")
    assert page.status == 200
    for pad_id in ("osd.s1", "osd.xss", "lobby", "archive-1"):
        assert f'data-pad-id="{pad_id}"' in page.text
    assert "Open Storage Days \u203a Storage roadmap" in page.plain
    assert XSS not in page.text and "&lt;script&gt;" in page.text
    assert 'href="/osd/s1"' in page.text and 'href="/p/lobby"' in page.text
    assert 'href="/admin/pads/lobby/delete"' in page.text

    async def listing(**query: str) -> dict[str, Any]:
        async with olga.http.get(site.http_url + "/admin", params=query,
                                 headers=JSON) as response:
            assert response.status == 200
            return dict(await response.json())

    everything = await listing()
    rows = {row["pad_id"]: row for row in everything["pads"]}
    assert list(rows) == ["archive-1", "lobby", "osd.s1", "osd.xss"]  # by id
    assert rows["lobby"]["characters"] == len("hello from the lobby")
    assert rows["archive-1"]["characters"] == len("twelve chars")
    assert rows["osd.s1"]["characters"] == len(TEMPLATE_TEXT + "quarterly budget")
    assert rows["osd.s1"]["title"] == "Storage roadmap" and rows["osd.s1"]["url"] == "/osd/s1"
    assert rows["lobby"]["connections"] == 1 and rows["archive-1"]["connections"] == 0
    assert rows["lobby"]["last_edited"] and rows["lobby"]["title"] is None
    assert everything["stored"] == 4 and everything["pages"] == 1

    def found(answer: dict[str, Any]) -> list[str]:
        return [row["pad_id"] for row in answer["pads"]]

    assert found(await listing(q="LOBBY")) == ["lobby"]  # pad id, any case
    assert found(await listing(q="roadmap")) == ["osd.s1"]  # session title
    assert found(await listing(q="budget quarterly")) == ["osd.s1"]  # the notes, every word
    assert found(await listing(q="osd budget")) == ["osd.s1"]  # words in different places
    assert found(await listing(q="script")) == ["osd.xss"]
    assert found(await listing(q="nowhere")) == []
    assert (await listing(q="nowhere"))["matching"] == 0

    monkeypatch.setattr(admin_pads, "PAGE_SIZE", 3)
    first, second = await listing(), await listing(page="2")
    assert (first["pages"], len(first["pads"]), len(second["pads"])) == (2, 3, 1)
    assert found(second) == ["osd.xss"]
    assert (await listing(page="9"))["page"] == 2  # past the end: the last page
    page = await olga.get("/admin?page=2")
    assert 'rel="prev" href="/admin"' in page.text and "Page 2 of 2" in page.text
    assert (await olga.get("/admin?page=zero")).status == 400


# -- deleting ---------------------------------------------------------------------------------


async def test_deleting_needs_the_pad_id_typed_again(
    site: RunningApp, browser: OpenBrowser, connect: Connect, redis_client: aioredis.Redis,
    key_prefix: str,
) -> None:
    writer = await connect(site.ws_url, "careful")
    await writer.edit(lambda t: t.insert(0, "precious"))
    olga = await browser("olga")
    form = await olga.get("/admin/pads/careful/delete")
    assert form.status == 200 and 'name="confirm"' in form.text and "careful" in form.text
    for typed in ("", "carefu", "other"):
        answer = await olga.post("/admin/pads/careful/delete", {"confirm": typed})
        assert answer.status == 400 and "nothing was deleted" in answer.plain
    assert not writer.ws.closed
    assert await redis_client.exists(pad_keys(key_prefix, "careful").log)
    assert (await olga.get("/admin/pads/never-made/delete")).status == 404
    assert (await olga.post("/admin/pads/never-made/delete", {"confirm": "never-made"})
            ).status == 404

    answer = await olga.post("/admin/pads/careful/delete", {"confirm": " careful "})
    assert answer.status == 303 and answer.location == "/admin?deleted=careful"
    assert "Pad careful was deleted" in (await olga.get(answer.location)).plain.replace(
        "<code>", "").replace("</code>", "")


@on_both_stores
async def test_a_deleted_pad_is_gone_from_valkey_and_every_node(
    nodes: tuple[RunningApp, RunningApp], browser: OpenBrowser, connect: Connect,
    http: aiohttp.ClientSession, redis_client: aioredis.Redis, key_prefix: str,
) -> None:
    node_a, node_b = nodes
    pad = "osd.s1"
    keys = pad_keys(key_prefix, pad)
    writer_a = await hear(connect, node_a.ws_url, pad)
    writer_b = await hear(connect, node_b.ws_url, pad, notices=True)
    ro_id = await ro_id_of(http, node_b, "/osd/s1/ro")
    viewer_b = await hear(connect, node_b.ws_url + "/ro", ro_id, notices=True)
    await writer_b.client.set_awareness({"user": {"name": "Ann", "color": "#1d4ed8"}})
    await writer_b.client.send(protocol.encode_chat(
        {"kind": "send", "text": "secret chat", "name": "Ann", "color": "#1d4ed8"}))
    for i in range(12):  # enough for a few folds of the log into the snapshot and history
        await writer_a.client.edit(lambda t, i=i: t.insert(len(t), f" secret{i}"))
        await eventually(lambda: writer_a.client.saved)

    async def everything_stored() -> bool:
        kinds = (keys.snap, keys.hist, keys.chat, keys.authors, keys.ro)
        return int(await redis_client.exists(*kinds)) == len(kinds)

    await eventually(everything_stored)
    await node_a.app[SUMMITS].save_text("osd", "s1", "secret notes")  # as the upkeep would
    olga = await browser("olga")

    # Both writers are typing when the pad goes: their last edits are in flight.
    deletion = asyncio.create_task(olga.post(f"/admin/pads/{pad}/delete", {"confirm": pad}))
    await asyncio.gather(keep_typing(writer_a.client, "late", 30),
                         keep_typing(writer_b.client, "late", 30))
    assert (await deletion).status == 303

    for ears in (writer_a, writer_b, viewer_b):
        assert await ears.closed_with() == CLOSE_PAD_DELETED
    await eventually(lambda: all(n.app[REGISTRY].live(pad) is None for n in nodes))
    # Whatever the nodes still had under way (writes, folds, names, chat) has landed by now.
    await asyncio.sleep(1.0)
    left = [key async for key in redis_client.scan_iter(f"{key_prefix}:{{pad:{pad}}}:*")]
    # Left: counters that expire, and the tombstone that keeps late writers out for a week.
    assert [key for key in left if b":chatrate:" not in key] == [keys.gone.encode()]
    assert 0 < await redis_client.ttl(keys.gone) <= 7 * 24 * 3600
    assert not await redis_client.exists(read_only_key(key_prefix, ro_id))
    assert await redis_client.hget(SummitKeys(key_prefix, "osd").text, "s1") is None
    assert "osd.s1" not in (await olga.get("/admin")).text
    async with http.get(f"{node_b.http_url}/ro/{ro_id}") as response:
        assert response.status == 404

    # Whoever comes next gets the session's template, on either node, and nothing else.
    fresh = await connect(node_b.ws_url, pad)
    assert str(fresh.text) == TEMPLATE_TEXT
    again = await connect(node_a.ws_url, pad)
    assert str(again.text) == TEMPLATE_TEXT


@pytest.mark.parametrize("typing", [False, True], ids=["catching-up", "typing"])
@on_both_stores
async def test_a_node_that_missed_the_deletion_drops_the_pad_itself(
    start_app: StartApp, connect: Connect, redis_client: aioredis.Redis, key_prefix: str,
    monkeypatch: pytest.MonkeyPatch, typing: bool,
) -> None:
    """The pad is deleted without the message reaching the node (as in a pub/sub outage): its
    next write is refused, or its regular catch-up finds the tombstone, and it drops the pad
    as the message would have it."""
    if not typing:
        monkeypatch.setattr(fanout, "CATCH_UP_INTERVAL", 0.2)
    node = await start_app()
    ears = await hear(connect, node.ws_url, "missed")
    await ears.client.edit(lambda t: t.insert(0, "old notes"))
    await eventually(lambda: ears.client.saved)
    keys = pad_keys(key_prefix, "missed")
    await redis_client.delete(*keys.stored)
    await redis_client.set(keys.gone, "1", ex=60)  # what the deletion leaves, minus the message
    if typing:
        await ears.client.edit(lambda t: t.insert(len(t), ", and more"))
    assert await ears.closed_with() == CLOSE_PAD_DELETED
    await eventually(lambda: node.app[REGISTRY].live("missed") is None)
    left = [key async for key in redis_client.scan_iter(f"{key_prefix}:{{pad:missed}}:*")]
    assert left == [keys.gone.encode()]
    fresh = await connect(node.ws_url, "missed")
    assert str(fresh.text) == ""


async def test_a_store_that_lost_a_pad_is_no_deletion(
    start_app: StartApp, connect: Connect, redis_client: aioredis.Redis, key_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Keys gone without a tombstone (a store that lost data) close nobody: the clients keep
    their pad and their next edits are written."""
    monkeypatch.setattr(fanout, "CATCH_UP_INTERVAL", 0.2)
    node = await start_app()
    ears = await hear(connect, node.ws_url, "lost")
    await ears.client.edit(lambda t: t.insert(0, "notes"))
    await eventually(lambda: ears.client.saved)
    keys = pad_keys(key_prefix, "lost")
    await redis_client.delete(*keys.stored)
    await asyncio.sleep(0.6)  # a few rounds of catch-up
    await ears.client.edit(lambda t: t.insert(len(t), ", more"))
    await eventually(lambda: redis_client.exists(keys.log))
    assert node.app[REGISTRY].live("lost") is not None
    assert ears.client.ws.close_code is None


async def test_a_writer_that_has_not_heard_of_the_deletion_writes_nothing(
    redis_client: aioredis.Redis, key_prefix: str
) -> None:
    store = PadStore(redis_client, "late-node")
    keys = pad_keys(key_prefix, "late")
    doc: Doc[Any] = Doc()
    text = doc.get("content", type=Text)
    text.insert(0, "old")
    first = await store.append(keys, [("ann", doc.get_update())])
    await redis_client.delete(*keys.stored)
    await redis_client.set(keys.gone, "1", ex=60)
    before = doc.get_state()
    text.insert(3, " and more")
    with pytest.raises(PadDeleted):
        await store.append(keys, [("ann", doc.get_update(before))], seen=first.entry_id)
    assert await redis_client.keys(f"{key_prefix}:{{pad:late}}:*") == [keys.gone.encode()]
    # A writer that has seen nothing makes a new pad, and the tombstone goes.
    assert (await store.append(keys, doc.get_update())).previous_id == "0-0"
    assert not await redis_client.exists(keys.gone)


async def test_unknown_fan_out_messages_are_ignored(
    site: RunningApp, connect: Connect, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    one = await hear(connect, site.ws_url, "calm")
    other = await connect(site.ws_url, "calm")
    channel = pad_keys(key_prefix, "calm").channel
    for junk in (b"Zfuture-kind 1 2 3", b"", b"U", b"Cnode"):
        await redis_client.spublish(channel, junk)
    await one.client.edit(lambda t: t.insert(0, "still syncing"))
    await eventually(lambda: str(other.text) == "still syncing")
    assert not one.client.ws.closed


# -- notices ----------------------------------------------------------------------------------


@on_both_stores
async def test_a_notice_reaches_the_clients_that_asked_on_every_node(
    nodes: tuple[RunningApp, RunningApp], browser: OpenBrowser, connect: Connect,
    http: aiohttp.ClientSession, redis_client: aioredis.Redis, key_prefix: str,
) -> None:
    node_a, node_b = nodes
    on_a = await hear(connect, node_a.ws_url, "osd.s1", notices=True)
    on_b = await hear(connect, node_b.ws_url, "osd.s2", notices=True)
    viewer_b = await hear(connect, node_b.ws_url + "/ro",
                          await ro_id_of(http, node_b, "/osd/s1/ro"), notices=True)
    stock_b = await hear(connect, node_b.ws_url, "osd.s1")  # never asks
    other_summit = await hear(connect, node_b.ws_url, "dev.s1", notices=True)
    bare = await hear(connect, node_b.ws_url, "lobby", notices=True)
    olga = await browser("olga")

    text = f"Lunch is served {IMG} & \"soon\""
    answer = await olga.post("/admin/notices", {"summit": "osd", "text": text})
    assert answer.status == 303 and answer.location == "/admin?sent=osd#notices"
    for ears in (on_a, on_b, viewer_b):
        await eventually(lambda ears=ears: ears.notices)
        (notice,) = ears.notices
        assert notice["kind"] == "notice" and notice["summit"] == "osd"
        assert notice["text"] == text  # as written: pages show it as text
        assert isinstance(notice["time"], int) and notice["id"]
    assert on_a.notices == on_b.notices == viewer_b.notices
    for ears in (stock_b, other_summit, bare):
        await ears.round_trip()  # node b has handled the notice by now, for all of them
        assert MessageType.NOTICE not in ears.types
        assert not ears.client.ws.closed
    page = await olga.get(answer.location)
    assert "The notice went out to everyone in the pads of osd" in page.plain


async def test_notices_are_checked_and_limited(
    site: RunningApp, browser: OpenBrowser, connect: Connect, redis_client: aioredis.Redis,
    key_prefix: str,
) -> None:
    ears = await hear(connect, site.ws_url, "osd.s2", notices=True)
    otto = await browser("otto")

    async def send(text: str, summit: str = "osd") -> tuple[int, Any]:
        async with otto.http.post(
            site.http_url + "/admin/notices", headers={**JSON, "X-CSRF-Token": await otto.csrf()},
            data={"summit": summit, "text": text},
        ) as response:
            return response.status, await response.json()

    for bad in ("", "   \n\t ", "x" * 501, "y" * 5000):
        status, body = await send(bad)
        assert status == 400, body
    assert (await send("hello", summit="nope"))[0] == 404
    assert (await send("hello", summit="Not A Slug"))[0] == 404
    # Line breaks and control characters become spaces or go; 500 characters is the most.
    status, body = await send("line one\nline\x07 two")
    assert status == 201 and body["notice"]["text"] == "line one line two"
    status, body = await send("z" * 500)
    assert status == 429 and "try again in" in body["error"]["detail"]  # one per 5 s
    assert [n["text"] for n in ears.notices] == ["line one line two"]

    # Someone else's notice on the pad's channel that is not one (garbage, or one to another
    # summit) is ignored, and the next real one still arrives.
    channel = PadKeys(key_prefix, "osd.s2").channel
    other = {"id": "x", "summit": "other", "text": "not for osd", "time": 1}
    for junk in (b"Nnode not json", b"Nnode " + json.dumps({"id": 1}).encode(),
                 b"Nnode " + json.dumps(other).encode()):
        await redis_client.spublish(channel, junk)
    await redis_client.delete(f"{key_prefix}:broadcastrate:otto")
    assert (await send("z" * 500))[0] == 201
    await eventually(lambda: len(ears.notices) == 2)
    assert ears.notices[1]["text"] == "z" * 500
    assert not ears.client.ws.closed


async def test_a_client_may_only_ask_to_join_notices(site: RunningApp, connect: Connect) -> None:
    ears = await hear(connect, site.ws_url, "osd.s1")
    await ears.client.send(protocol.encode_notice({"kind": "send", "text": "spoof"}))
    assert await ears.closed_with() == 4400
