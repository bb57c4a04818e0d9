"""Live pads through the real app and a real Valkey, with the Python y-websocket client."""

from __future__ import annotations

from pycrdt import Doc, Text

from .support import RunningApp, eventually


async def test_two_clients_converge_and_the_sender_gets_its_echo(app: RunningApp, connect):
    alice = await connect(app.ws_url, "design-1")
    bob = await connect(app.ws_url, "design-1")
    echoes: list[bytes] = []
    alice.on_message = echoes.append

    await alice.edit(lambda t: t.insert(0, "Hello from Alice. "))
    await bob.edit(lambda t: t.insert(0, "Bob here. "))

    await eventually(lambda: str(alice.text) == str(bob.text) and len(str(bob.text)) == 28)
    assert "Hello from Alice." in str(bob.text)
    assert any(frame[:2] == b"\x00\x02" for frame in echoes), "the sender saw no echo"


async def test_an_echoed_edit_is_in_valkey(app: RunningApp, connect, redis_client, key_prefix):
    writer = await connect(app.ws_url, "durable")
    await writer.edit(lambda t: t.insert(0, "kept"))
    await eventually(lambda: writer.saved)  # echoed (the text is local at once)

    entries = await redis_client.xrange(f"{key_prefix}:{{pad:durable}}:log")
    doc = Doc()
    for _, fields in entries:
        doc.apply_update(fields[b"u"])
    assert str(doc.get("content", type=Text)) == "kept"


async def test_a_restarted_node_loads_what_was_written(start_app, connect):
    first = await start_app()
    writer = await connect(first.ws_url, "restart")
    await writer.edit(lambda t: t.insert(0, "before restart"))
    await eventually(lambda: writer.saved)
    await first.server.close()

    second = await start_app()
    reader = await connect(second.ws_url, "restart")
    assert str(reader.text) == "before restart"


async def test_shutdown_writes_everything_then_sends_clients_elsewhere(start_app, connect):
    node = await start_app()
    writer = await connect(node.ws_url, "shutdown")
    for i in range(50):
        await writer.edit(lambda t, i=i: t.insert(len(t), f"{i} "))
    await eventually(lambda: "0 1 2" in str(writer.confirmed.get("content", type=Text)))
    await node.server.close()
    assert writer.ws.close_code == 1001  # going away: reconnect, to another node if any
    echoed = str(writer.confirmed.get("content", type=Text))

    again = await start_app()
    reader = await connect(again.ws_url, "shutdown")
    assert str(reader.text) == echoed  # every echoed edit was written before the shutdown
    # What was still in flight was not echoed: the client still has it and sends it again.
    await writer.close()
    await connect(again.ws_url, "shutdown", doc=writer.doc)
    await eventually(lambda: str(reader.text) == "".join(f"{i} " for i in range(50)))
