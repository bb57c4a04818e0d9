"""The structural check that keeps dangerous updates away from pycrdt, and what it lets by."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Array, Doc, Map, Text, XmlElement, XmlFragment, XmlText
from summitpad import protocol
from summitpad.errors import CLOSE_UPDATE_REJECTED, UpdateRejected
from summitpad.update_check import MAX_DEPTH, check_update

from .support import RunningApp, eventually
from .test_protocol import HALF_VALID_UPDATE, deeply_nested_update

ASCII = st.characters(min_codepoint=32, max_codepoint=126)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def updates_of(build) -> list[bytes]:
    doc = Doc()
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    build(doc)
    updates.append(doc.get_update())
    return updates


@given(
    st.lists(
        st.tuples(st.integers(0, 50), st.integers(0, 5), st.text(ASCII, max_size=12)), max_size=30
    )
)
@settings(max_examples=150, deadline=None)
def test_text_edits_with_formatting_pass(edits):
    def build(doc: Doc) -> None:
        text = doc.get("content", type=Text)
        for position, length, inserted in edits:
            position = min(position, len(text))
            if length and position < len(text):
                del text[position : min(len(text), position + length)]
            text.insert(position, inserted, {"bold": True} if length % 2 else None)
            if len(text) > 2:
                text.format(0, 2, {"header": 1, "link": "https://example.org"})

    for update in updates_of(build):
        check_update(update)


@given(
    st.lists(json_values, max_size=6), st.dictionaries(st.text(max_size=8), json_values, max_size=6)
)
@settings(max_examples=150, deadline=None)
def test_arrays_maps_and_nested_values_pass(items, entries):
    def build(doc: Doc) -> None:
        doc.get("list", type=Array).extend(items)
        shared = doc.get("map", type=Map)
        for key, value in entries.items():
            shared[key] = value
        shared["nested"] = Map({"inner": Array([Text("x")])})

    for update in updates_of(build):
        check_update(update)


def test_xml_and_embeds_pass():
    def build(doc: Doc) -> None:
        fragment = doc.get("xml", type=XmlFragment)
        fragment.children.append(XmlElement("p", {"class": "x"}, [XmlText("hello")]))
        doc.get("content", type=Text).insert_embed(0, {"image": "a.png"}, {"width": 3})

    for update in updates_of(build):
        check_update(update)


def test_values_up_to_the_limit_pass_and_deeper_ones_are_refused():
    check_update(deeply_nested_update(MAX_DEPTH - 1))
    with pytest.raises(UpdateRejected, match="nests deeper"):
        check_update(deeply_nested_update(30_000))


@pytest.mark.parametrize(
    "update",
    [b"", b"\x01", b"\x01\x01\x01\x00\x04", b"\x00\x00junk", b"\x01\x01\x01\x00\x1f",
     b"\x01\x00\x01\x00\x00",
     bytes.fromhex("010107ffffffff0f040107636f6e74656e74016100"),
     bytes.fromhex("010406ffffffff0f040107636f6e74656e74016144070001614407010161440702016100")],
    ids=["empty", "truncated header", "truncated struct", "trailing bytes", "unknown content",
         "a client with no structs (Yrs panics on it)",
         "a struct past Yrs's 32-bit clocks (Yrs panics on it)",
         "structs running past Yrs's 32-bit clocks (Yrs panics on it)"],
)
def test_malformed_updates_are_refused(update):
    with pytest.raises(UpdateRejected):
        check_update(update)


async def reject(http, app: RunningApp, pad_id: str, update: bytes) -> int | None:
    ws = await http.ws_connect(f"{app.ws_url}/{pad_id}")
    await ws.send_bytes(protocol.encode_update(update))
    async for _ in ws:
        pass
    return ws.close_code


async def test_a_deeply_nested_update_is_refused_and_the_node_lives_on(app, http, connect):
    watcher = await connect(app.ws_url, "deep")
    assert await reject(http, app, "deep", deeply_nested_update(30_000)) == CLOSE_UPDATE_REJECTED
    await watcher.edit(lambda t: t.insert(0, "alive"))
    await eventually(lambda: watcher.saved)


async def test_a_half_applied_update_leaves_nothing_behind(app, http, connect):
    writer = await connect(app.ws_url, "half")
    await writer.edit(lambda t: t.insert(0, "kept"))
    await eventually(lambda: writer.saved)

    assert await reject(http, app, "half", HALF_VALID_UPDATE) == CLOSE_UPDATE_REJECTED
    # A joiner sees what is stored, not the "ab" pycrdt kept from the failed update.
    joiner = await connect(app.ws_url, "half")
    assert str(joiner.text) == "kept"
    await writer.edit(lambda t: t.insert(4, "!"))
    await eventually(lambda: str(joiner.text) == "kept!")
