"""Valkey going away under a running node: nothing echoed until durable, nothing typed lost."""

from __future__ import annotations

import asyncio

import aiohttp

from .support import ValkeyProcess, eventually


async def test_edits_made_while_valkey_is_down_are_saved_when_it_returns(
    tmp_path, start_app, connect, http: aiohttp.ClientSession
):
    valkey = ValkeyProcess(tmp_path / "valkey", appendfsync="always")
    valkey.start()
    try:
        app = await start_app(redis_url=valkey.url)
        alice = await connect(app.ws_url, "outage")
        bob = await connect(app.ws_url, "outage")
        await alice.edit(lambda t: t.insert(0, "before "))
        await eventually(lambda: alice.saved and str(bob.text) == "before ")

        valkey.kill()
        await alice.edit(lambda t: t.insert(len(t), "during"))
        await asyncio.sleep(1.0)  # give a wrong echo every chance to happen
        assert not alice.saved, "an edit was echoed although it could not be stored"
        assert str(bob.text) == "before ", "an edit was shown before it was stored"
        async with http.get(app.http_url + "/") as page:
            assert page.status == 200  # the node stays up

        valkey.start()
        await eventually(lambda: alice.saved and str(bob.text) == "before during", within=20)
        late = await connect(app.ws_url, "outage")
        assert str(late.text) == "before during"
    finally:
        valkey.stop()


async def test_a_pad_cannot_be_opened_while_valkey_is_down(
    tmp_path, start_app, http: aiohttp.ClientSession
):
    valkey = ValkeyProcess(tmp_path / "valkey")
    valkey.start()
    try:
        app = await start_app(redis_url=valkey.url)
        valkey.kill()
        ws = await http.ws_connect(f"{app.ws_url}/not-loaded")
        async for _ in ws:
            pass
        assert ws.close_code == 1013  # try again later: the client reconnects with backoff
    finally:
        valkey.stop()
