"""A pad's chat in its exports, over HTTP on the real app: in the JSON and the HTML (escaped),
not in the plain text or the Markdown."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable

import aiohttp
from summitpad.app_keys import SUMMITS
from summitpad.clock import SetClock

from .chat_clients import participant
from .summit_fixtures import ESCAPED_XSS, XSS, berlin, seed_summit
from .support import RunningApp, eventually

MARKUP_NAME = "<img src=x onerror=alert(1)>"


async def get(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(url) as response:
        assert response.status == 200, await response.text()
        return await response.text()


async def test_the_json_and_html_exports_hold_the_chat(
    app: RunningApp, http: aiohttp.ClientSession
) -> None:
    async with participant(app) as ann:
        conn = await ann.connect("exported")
        await conn.client.edit(lambda t: t.insert(0, "the notes\n"))
        await conn.say("first & foremost", name=MARKUP_NAME, color="#0f766e")
        await conn.say(XSS, name="Ann", color="javascript:alert(1)")
        await eventually(lambda: len(conn.messages) == 2 and conn.client.saved)
        author = await ann.participant_id()

    base = app.http_url + "/p/exported/export."
    exported = json.loads(await get(http, base + "json"))
    assert [(m["name"], m["text"], m["colour"]) for m in exported["chat"]] == [
        (MARKUP_NAME, "first & foremost", "#0f766e"),
        ("Ann", XSS, "#475467"),
    ]
    assert {m["author"] for m in exported["chat"]} == {author}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m["time"])
               for m in exported["chat"])

    page = await get(http, base + "html")
    assert '<section class="chat">' in page
    assert "&lt;img src=x onerror=alert(1)&gt;</span>: first &amp; foremost" in page
    assert "</span>: " + ESCAPED_XSS in page
    assert "<img" not in page and "<script" not in page and "javascript:" not in page

    assert await get(http, base + "txt") == "the notes\n"
    assert "foremost" not in await get(http, base + "md")


async def test_a_session_export_holds_its_pads_chat(
    start_app: Callable[..., Awaitable[RunningApp]], http: aiohttp.ClientSession
) -> None:
    app = await start_app(clock=SetClock(berlin(4, 9, 10)))  # during session s1
    await seed_summit(app.app[SUMMITS])
    async with participant(app) as ann:
        conn = await ann.connect("osd.s1")
        await conn.say("see you in room A")
        await eventually(lambda: conn.texts == ["see you in room A"])
    exported = json.loads(await get(http, app.http_url + "/osd/s1/export.json"))
    assert [m["text"] for m in exported["chat"]] == ["see you in room A"]
    # A pad nobody chatted on: an empty list, and no section in the page.
    exported = json.loads(await get(http, app.http_url + "/osd/s2/export.json"))
    assert exported["chat"] == []
    assert 'class="chat"' not in await get(http, app.http_url + "/osd/s2/export.html")
