"""A pad's broadcasts: updates that go out in one flush are merged into one message, and a pad
with many connections flushes at most every `flush_gap`."""

from __future__ import annotations

import asyncio

from pycrdt import Doc, Text
from summitpad import protocol
from summitpad.pad_broadcast import FLUSH_GAP_PER_CONNECTION, MAX_FLUSH_GAP, flush_gap

from .support import RunningApp, eventually
from .test_pad_rebuild import updates_received

TYPISTS = 12


def test_the_gap_grows_with_the_connections_up_to_its_bound() -> None:
    assert flush_gap(0) == 0.0
    assert flush_gap(10) == 10 * FLUSH_GAP_PER_CONNECTION < 0.001
    assert flush_gap(200) == 200 * FLUSH_GAP_PER_CONNECTION
    assert flush_gap(100_000) == MAX_FLUSH_GAP


async def test_what_many_typists_send_together_reaches_a_reader_as_few_updates(
    app: RunningApp, http, connect
) -> None:
    reader = await connect(app.ws_url, "merged")
    received = updates_received(reader)
    typists = [await http.ws_connect(f"{app.ws_url}/merged") for _ in range(TYPISTS)]
    messages = []
    for n in range(TYPISTS):
        doc = Doc(client_id=100 + n)
        text = doc.get("content", type=Text)
        before = doc.get_state()
        text.insert(0, f"<{n}>")
        messages.append(protocol.encode_update(doc.get_update(before)))
    await asyncio.gather(*(ws.send_bytes(m) for ws, m in zip(typists, messages, strict=True)))
    await eventually(lambda: all(f"<{n}>" in str(reader.text) for n in range(TYPISTS)))
    # The writer stores each author's edits of a batch as an entry of their own: without the
    # merge at the flush the reader would get at least one update per typist.
    assert 1 <= len(received) < TYPISTS, len(received)
    for ws in typists:
        await ws.close()
