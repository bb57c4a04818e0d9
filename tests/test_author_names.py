"""Author names: what a participant announces in awareness is kept under their author id."""

from __future__ import annotations

import json

from pycrdt import Text
from summitpad.author_names import announced, clean_color, clean_name, read_authors
from summitpad.keys import pad_keys
from summitpad.store import PadStore

from .support import eventually


def test_names_and_colours_are_cleaned():
    assert clean_name("  Ann \n\x00 Lee  ") == "Ann Lee"
    assert clean_name("x" * 100) == "x" * 40
    assert clean_name(42) == ""
    assert clean_color("#A1B2C3") == "#a1b2c3"
    assert clean_color("red; background:url(x)") == "#475467"


def test_only_a_named_user_state_is_an_announcement():
    assert announced(b'{"user":{"name":"<b>Ann</b>","color":"#123456"}}') == (
        "<b>Ann</b>", "#123456"
    )
    assert announced(b'{"cursor":null}') is None
    assert announced(b'{"user":{"name":"   "}}') is None
    assert announced(b'{"user":"Ann"}') is None
    assert announced(b"null") is None


async def test_the_server_records_a_name_under_the_connections_own_author_id(
    app, connect, redis_client, key_prefix
):
    # The client claims another id in its state: the name goes under its connection's id.
    client = await connect(app.ws_url, "names")
    await client.set_awareness({"user": {"name": "Ann", "color": "#1d4ed8", "id": "bob"}})
    await client.edit(lambda text: text.insert(0, "hello"))
    keys = pad_keys(key_prefix, "names")
    await eventually(lambda: _has_authors(redis_client, keys))
    authors = await read_authors(redis_client, keys)
    assert list(authors.values()) == [{"name": "Ann", "color": "#1d4ed8"}]
    (author_id,) = authors
    assert author_id != "bob"
    raw = await redis_client.hget(keys.authors, author_id)
    assert json.loads(raw) == {"name": "Ann", "color": "#1d4ed8"}

    # ... and it is the id the server wrote on the text.
    async def stored_runs():
        doc = _doc(await PadStore(redis_client, "test").read(keys))
        return doc.get("content", type=Text).diff()

    assert await eventually(stored_runs) == [("hello", {"author": author_id})]


async def _has_authors(client, keys) -> bool:
    return bool(await client.hlen(keys.authors))


def _doc(state):
    from pycrdt import Doc

    doc = Doc()
    if state.snapshot:
        doc.apply_update(state.snapshot)
    for _, update in state.updates:
        doc.apply_update(update)
    return doc
