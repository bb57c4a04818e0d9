"""Valkey going away under a running node: nothing echoed until durable, nothing typed lost."""

from __future__ import annotations

import asyncio

import aiohttp
from pycrdt import Doc, Text
from summitpad import protocol
from summitpad.app_keys import REGISTRY
from summitpad.update_check import inspect_update

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


async def test_every_log_entry_builds_only_on_the_entries_before_it(
    tmp_path, start_app, connect
):
    """Edits of several participants held in one batch (Valkey away) are written in the order
    they were applied: the server's own changes (the author marks it adds) made for one of
    them never land in an entry before the edits they follow. Else a node that has applied the
    log up to such an entry holds part of it aside, and a snapshot taken then drops it."""
    valkey = ValkeyProcess(tmp_path / "valkey")
    valkey.start()
    try:
        app = await start_app(redis_url=valkey.url)
        alice = await connect(app.ws_url, "order")  # a participant each: no cookies here
        bob = await connect(app.ws_url, "order")
        valkey.kill()
        # The first is written alone (the writer waits with it); the others make one batch.
        turns = [(alice, "a0 "), (alice, "a1 "), (bob, "b1 "), (alice, "a2 "), (bob, "b2 ")]
        for typist, text in turns:
            await typist.edit(lambda t, s=text: t.insert(len(t), s))
            await asyncio.sleep(0.05)  # each applied before the next comes in
        valkey.start()
        await eventually(lambda: alice.saved and bob.saved, within=20)
        live = app.app[REGISTRY].live("order")
        state = await live.store.read(live.keys)
        assert state.snapshot is None, "folded already"
        doc: Doc = Doc()
        for entry_id, update in state.updates:
            doc.apply_update(update)
            held = protocol.decode_state_vector(doc.get_state())
            reaches = inspect_update(update).reaches
            assert all(held.get(c, 0) >= clock for c, clock in reaches.items()), (
                f"entry {entry_id} needs edits written after it"
            )
        assert str(doc.get("content", type=Text)) == str(alice.text)
    finally:
        valkey.stop()
