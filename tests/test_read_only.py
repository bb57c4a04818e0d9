"""Read-only links: an unguessable second id per pad, a page and a websocket that follow the pad
live, take no edits and never name the writable pad."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from summitpad import protocol
from summitpad.app_keys import REGISTRY, SETTINGS, STORE, SUMMITS
from summitpad.client import PadClient
from summitpad.clock import SetClock
from summitpad.protocol import MessageType
from summitpad.read_only import ReadOnlyIds

from .summit_fixtures import berlin, seed_summit, stored_text, tags
from .support import RunningApp, eventually

StartApp = Callable[..., Awaitable[RunningApp]]
Connect = Callable[..., Awaitable[PadClient]]
RO_ID = re.compile(r"r[A-Za-z0-9_-]{20,}")


async def ro_id_of(http: aiohttp.ClientSession, app: RunningApp, path: str) -> str:
    """Follow a read-only link (`/p/<pad>/ro`, `/<summit>/<session>/ro`) to its id."""
    async with http.get(app.http_url + path, allow_redirects=False) as response:
        assert response.status == 303, await response.text()
        location = response.headers["Location"]
    assert location.startswith("/ro/")
    return location.removeprefix("/ro/")


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with http.get(url, allow_redirects=False) as response:
        return response.status, await response.text()


@pytest.fixture
async def site(start_app: StartApp) -> RunningApp:
    """An app at 09:10 on the summit's first day: session s1 is on and writable."""
    running = await start_app(clock=SetClock(berlin(4, 9, 10)))
    await seed_summit(running.app[SUMMITS])
    return running


# -- the id -------------------------------------------------------------------------------------


async def test_the_read_only_id_is_stable_and_unguessable(app: RunningApp, http) -> None:
    first = await ro_id_of(http, app, "/p/notes-1/ro")
    assert RO_ID.fullmatch(first)
    assert "notes" not in first
    assert await ro_id_of(http, app, "/p/notes-1/ro") == first
    other = await ro_id_of(http, app, "/p/notes-2/ro")
    assert other != first and RO_ID.fullmatch(other)


async def test_two_nodes_asking_at_once_hand_out_one_id(start_app: StartApp, http) -> None:
    one, two = await start_app(), await start_app()
    found = await asyncio.gather(
        *(ro_id_of(http, node, "/p/raced/ro") for _ in range(10) for node in (one, two))
    )
    assert len(set(found)) == 1
    ids = ReadOnlyIds(one.app[STORE].client, one.app[SETTINGS].key_prefix)
    assert await ids.pad_of(found[0]) == "raced"
    assert await ids.pad_of("r" + "x" * 27) is None
    assert await ids.pad_of("not-an-id") is None


# -- the websocket ------------------------------------------------------------------------------


async def test_a_viewer_follows_the_writers_live(app: RunningApp, http, connect: Connect) -> None:
    writer = await connect(app.ws_url, "live-notes")
    await writer.edit(lambda t: t.insert(0, "before. "))
    ro_id = await ro_id_of(http, app, "/p/live-notes/ro")
    viewer = await connect(app.ws_url + "/ro", ro_id)
    assert str(viewer.text) == "before. "

    await writer.edit(lambda t: t.insert(len(t), "after."))
    await eventually(lambda: str(viewer.text) == "before. after.")


async def test_a_viewer_on_another_node_follows_too(
    start_app: StartApp, http, connect: Connect
) -> None:
    one, two = await start_app(), await start_app()
    writer = await connect(one.ws_url, "across")
    viewer = await connect(two.ws_url + "/ro", await ro_id_of(http, two, "/p/across/ro"))
    await writer.edit(lambda t: t.insert(0, "hello"))
    await eventually(lambda: str(viewer.text) == "hello")


async def test_a_viewer_is_told_it_is_read_only_and_never_granted(
    app: RunningApp, http
) -> None:
    ro_id = await ro_id_of(http, app, "/p/told/ro")
    viewer = PadClient(http, app.ws_url + "/ro", ro_id)
    frames: list[bytes] = []
    viewer.on_message = frames.append
    await viewer.connect()
    try:
        await asyncio.wait_for(viewer.synced.wait(), 10)
        assert frames[0] == protocol.encode_auth_denied("read-only")
        # The pad is locked and reopened: writers hear "read-write", the viewer nothing.
        pad = next(p for p in app.app[REGISTRY] if p.pad_id == "told")
        pad.set_read_only(True)
        pad.set_read_only(False)
        await eventually(lambda: len([f for f in frames if f[0] == MessageType.AUTH]) == 2)
        await asyncio.sleep(0.1)
        auth = [f for f in frames if f[0] == MessageType.AUTH]
        assert auth == [protocol.encode_auth_denied("read-only")] * 2
    finally:
        await viewer.close()


async def test_an_update_from_a_viewer_is_refused_and_changes_nothing(
    app: RunningApp, http, connect: Connect, redis_client, key_prefix: str
) -> None:
    writer = await connect(app.ws_url, "guarded")
    await writer.edit(lambda t: t.insert(0, "original"))
    await eventually(lambda: writer.saved)
    viewer = await connect(app.ws_url + "/ro", await ro_id_of(http, app, "/p/guarded/ro"))

    await viewer.edit(lambda t: t.insert(0, "VANDAL "))
    await eventually(lambda: viewer.ws.closed)
    assert viewer.ws.close_code == 4403

    await writer.edit(lambda t: t.insert(len(t), "!"))  # the pad carries on for writers
    await eventually(lambda: writer.saved)
    assert str(writer.text) == "original!"
    assert await stored_text(redis_client, key_prefix, "guarded") == "original!"


async def test_a_viewers_sync_step_2_is_dropped_quietly(
    app: RunningApp, http, connect: Connect, redis_client, key_prefix: str
) -> None:
    """A viewer that comes back with edits of its own offers them in its step 2: they are not
    taken, and the viewer stays connected (the stock client sends a step 2 on every join)."""
    writer = await connect(app.ws_url, "offline")
    await writer.edit(lambda t: t.insert(0, "kept"))
    await eventually(lambda: writer.saved)
    offline = PadClient(http, app.ws_url, "elsewhere")
    offline.text.insert(0, "smuggled ")
    viewer = await connect(
        app.ws_url + "/ro", await ro_id_of(http, app, "/p/offline/ro"), doc=offline.doc
    )
    await writer.edit(lambda t: t.insert(len(t), "."))
    await eventually(lambda: "kept." in str(viewer.text))
    assert not viewer.ws.closed
    assert await stored_text(redis_client, key_prefix, "offline") == "kept."


async def test_an_unknown_read_only_id_is_not_found(app: RunningApp, http) -> None:
    for path in ("/ro/r" + "A" * 27, "/ro/nonsense", "/ro/osd.s1"):
        status, page = await get(http, app.http_url + path)
        assert status == 404, path
        assert "no pad has this read-only link" in page
    for ro_id in ("r" + "A" * 27, "nonsense"):
        async with http.ws_connect(f"{app.ws_url}/ro/{ro_id}") as ws:
            message = await ws.receive()
            assert message.type is aiohttp.WSMsgType.CLOSE
            assert ws.close_code == 4404


# -- the page -----------------------------------------------------------------------------------


async def test_the_page_of_a_bare_pad_never_names_it(
    app: RunningApp, http, connect: Connect
) -> None:
    pad_id = "writable-secret-77"
    writer = await connect(app.ws_url, pad_id)
    await writer.edit(lambda t: t.insert(0, "notes"))
    ro_id = await ro_id_of(http, app, f"/p/{pad_id}/ro")
    status, page = await get(http, f"{app.http_url}/ro/{ro_id}")
    assert status == 200
    assert pad_id not in page
    main = tags(page, "main", id="pad")[0]
    assert main["data-pad-id"] == ro_id
    assert main["data-ws-url"] == "/ws/ro"
    assert main["data-read-only"] == "true"
    # The writable page offers the link.
    status, writable = await get(http, f"{app.http_url}/p/{pad_id}")
    assert tags(writable, "a", href=f"/p/{pad_id}/ro")

    # Nothing the websocket sends names the pad either.
    viewer = PadClient(http, app.ws_url + "/ro", ro_id)
    frames: list[bytes] = []
    viewer.on_message = frames.append
    await viewer.connect()
    try:
        await asyncio.wait_for(viewer.synced.wait(), 10)
        await writer.edit(lambda t: t.insert(len(t), " more"))
        await eventually(lambda: str(viewer.text) == "notes more")
        assert not any(pad_id.encode() in f for f in frames)
    finally:
        await viewer.close()


async def test_a_sessions_read_only_page_shows_the_session_but_not_its_pad(
    site: RunningApp, http, connect: Connect
) -> None:
    ro_id = await ro_id_of(http, site, "/osd/s1/ro")
    assert await ro_id_of(http, site, "/p/osd.s1/ro") == ro_id
    status, page = await get(http, f"{site.http_url}/ro/{ro_id}")
    assert status == 200
    assert "Storage roadmap" in page and "Room A" in page and "09:00" in page
    assert "osd.s1" not in page
    assert "/osd/s1" not in page  # no link to the session page, its projector or exports
    assert tags(page, "main", id="pad", data_pad_id=ro_id, data_read_only="true")

    writer = await connect(site.ws_url, "osd.s1")
    viewer = await connect(site.ws_url + "/ro", ro_id)
    await writer.edit(lambda t: t.insert(0, "decided: "))
    await eventually(lambda: str(viewer.text).startswith("decided: "))

    status, session_page = await get(http, f"{site.http_url}/osd/s1")
    assert tags(session_page, "a", href="/osd/s1/ro")


async def test_a_session_that_does_not_exist_has_no_read_only_link(
    site: RunningApp, http
) -> None:
    for path in ("/osd/nope/ro", "/p/osd.nope/ro", "/nosummit/s1/ro"):
        status, _ = await get(http, site.http_url + path)
        assert status == 404, path
