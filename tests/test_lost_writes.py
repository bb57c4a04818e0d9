"""Valkey losing writes under a live pad (restored from an older backup, its machine crashed
under `appendfsync everysec`, keys removed): the node notices that the log ends before what it
has seen and writes the whole document again, so no pad loaded from Valkey lacks the text."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis
from summitpad.app_keys import REGISTRY
from summitpad.keys import pad_keys

from .support import eventually


async def _lose_everything(client: aioredis.Redis, prefix: str, pad_id: str) -> None:
    keys = pad_keys(prefix, pad_id)
    await client.delete(*keys.stored)


async def _lose_the_last_entry(client: aioredis.Redis, prefix: str, pad_id: str) -> None:
    keys = pad_keys(prefix, pad_id)
    (last_id, _), = await client.xrevrange(keys.log, count=1)
    await client.xdel(keys.log, last_id)


@pytest.mark.parametrize("lose", [_lose_everything, _lose_the_last_entry])
async def test_writes_valkey_lost_are_written_again(
    start_app, connect, redis_client: aioredis.Redis, key_prefix: str, lose, caplog
) -> None:
    pad_id = f"lossy-{lose.__name__.strip('_')}"
    node = await start_app()
    typist = await connect(node.ws_url, pad_id)
    for word in ("first ", "second "):
        await typist.edit(lambda text, word=word: text.insert(len(text), word))
        await eventually(lambda: typist.saved)

    await lose(redis_client, key_prefix, pad_id)
    await typist.edit(lambda text: text.insert(len(text), "third"))
    await eventually(lambda: typist.saved)

    fresh = await start_app()  # loads the pad from Valkey alone
    reader = await connect(fresh.ws_url, pad_id)
    await eventually(lambda: str(reader.text) == "first second third")
    assert "writes were lost; writing the whole document again" in caplog.text


async def test_a_pad_nobody_edits_after_valkey_lost_it_is_written_back_when_unloaded(
    start_app, connect, redis_client: aioredis.Redis, key_prefix: str, caplog
) -> None:
    node = await start_app(pad_unload_delay=0.2)
    typist = await connect(node.ws_url, "idle")
    await typist.edit(lambda text: text.insert(0, "only here"))
    await eventually(lambda: typist.saved)

    await _lose_everything(redis_client, key_prefix, "idle")
    await typist.close()  # nobody edits it again: the node unloads it
    await eventually(lambda: node.app[REGISTRY].live("idle") is None)

    reader = await connect((await start_app()).ws_url, "idle")
    assert str(reader.text) == "only here"
    assert "writes were lost; writing the whole document again" in caplog.text
