"""Opening a pad that no node holds: what its first joiners get, and what the node catches up.

A pad stored as one update (written once, or compacted) is sent to fresh joiners as stored;
a pad with a snapshot and a log tail is encoded from the document. The node subscribes to the
pad's channel once the pad is loaded, and reads from the log whatever was written meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp
import pytest
import redis.asyncio as aioredis
from pycrdt import Doc, Text, merge_updates
from summitpad import protocol
from summitpad.connection import frame
from summitpad.errors import StoreUnavailable
from summitpad.fanout import CATCH_UP_INTERVAL, Fanout
from summitpad.keys import PadKeys, pad_keys
from summitpad.live_pad import LivePad
from summitpad.pads import PadRegistry
from summitpad.protocol import SyncMessage, SyncType
from summitpad.read_batch import MAX_BATCH
from summitpad.store import PadState, PadStore, connect

from .support import RunningApp, eventually, free_port, on_both_stores

# Well before the fan-out's regular catch-up: only the catch-up after subscribing is this fast.
SOON = CATCH_UP_INTERVAL / 3
CATCH_UP_DELAY = 2.0


def typed(client_id: int, *changes: Callable[[Text], None], base: bytes | None = None) -> bytes:
    """The edits `changes` make, one transaction each, as the one update merge_updates gives:
    not the bytes a document holding it encodes (that merges the runs of one client)."""
    doc = Doc(client_id=client_id)
    text = doc.get("content", type=Text)
    if base is not None:
        doc.apply_update(base)
    updates: list[bytes] = []
    subscription = doc.observe(lambda event: updates.append(event.update))
    for change in changes:
        change(text)
    doc.unobserve(subscription)
    return merge_updates(*updates)


HELLO = typed(5, lambda t: t.insert(0, "hello "), lambda t: t.insert(6, "world"))


def text_of(*updates: bytes) -> str:
    doc = Doc()
    for update in updates:
        doc.apply_update(update)
    return str(doc.get("content", type=Text))


def encoded_again(update: bytes) -> bytes:
    doc = Doc()
    doc.apply_update(update)
    return doc.get_update()


async def first_step2(
    http: aiohttp.ClientSession, app: RunningApp, pad_id: str, state_vector: bytes = b"\x00"
) -> bytes:
    """Join `pad_id` as the stock client does, with `state_vector`: the step 2 payload."""
    ws = await http.ws_connect(f"{app.ws_url}/{pad_id}")
    try:
        await ws.send_bytes(protocol.encode_step1(state_vector))
        async for frame in ws:
            message = protocol.decode_message(frame.data)
            if isinstance(message, SyncMessage) and message.kind is SyncType.STEP2:
                return message.payload
        raise AssertionError(f"closed without a step 2 ({ws.close_code})")
    finally:
        await ws.close()


async def compact(store: PadStore, keys: PadKeys, snapshot: bytes) -> None:
    """Fold the pad's log into `snapshot`, as a node holding the pad would."""
    state = await store.read(keys)
    assert state.last_id is not None and await store.try_lease(keys)
    assert await store.compact(keys, snapshot, state.last_id)


def test_the_stored_update_is_not_what_a_document_encodes():
    # What the tests below tell apart: the pad as stored, and the pad encoded again.
    assert encoded_again(HELLO) != HELLO
    assert text_of(HELLO) == text_of(encoded_again(HELLO)) == "hello world"


def test_only_update_is_the_state_when_it_is_one_update():
    assert PadState(None, None, [("1-0", HELLO)]).only_update == HELLO
    assert PadState(HELLO, "1-0", []).only_update == HELLO
    assert PadState(HELLO, "1-0", [("2-0", b"x")]).only_update is None
    assert PadState(None, None, [("1-0", HELLO), ("2-0", b"x")]).only_update is None
    assert PadState(None, None, []).only_update is None


async def test_a_fresh_joiner_of_a_pad_written_once_gets_it_as_stored(
    app, http, redis_client, key_prefix
):
    assert await PadStore(redis_client, "elsewhere").seed(pad_keys(key_prefix, "once"), HELLO)
    assert await first_step2(http, app, "once") == HELLO
    assert await first_step2(http, app, "once") == HELLO  # the pad is live now: the same


async def test_a_fresh_joiner_of_a_compacted_pad_gets_the_snapshot(
    app, http, redis_client, key_prefix
):
    keys = pad_keys(key_prefix, "folded")
    store = PadStore(redis_client, "elsewhere")
    assert await store.seed(keys, typed(9, lambda t: t.insert(0, "draft")))
    await compact(store, keys, HELLO)
    assert (await store.read(keys)).only_update == HELLO
    assert await first_step2(http, app, "folded") == HELLO


async def test_a_pad_with_a_snapshot_and_a_log_tail_is_sent_whole(
    app, http, redis_client, key_prefix
):
    keys = pad_keys(key_prefix, "tail")
    store = PadStore(redis_client, "elsewhere")
    assert await store.seed(keys, HELLO)
    await compact(store, keys, HELLO)
    later = typed(6, lambda t: t.insert(11, "!"), base=HELLO)
    await store.append(keys, later)

    fresh = await first_step2(http, app, "tail")
    assert text_of(fresh) == "hello world!"
    assert fresh not in (HELLO, later)

    # A joiner that holds the snapshot gets only what it lacks.
    holder = Doc()
    holder.apply_update(HELLO)
    lacking = await first_step2(http, app, "tail", holder.get_state())
    assert b"hello" not in lacking
    holder.apply_update(lacking)
    assert str(holder.get("content", type=Text)) == "hello world!"


async def test_edits_to_a_loaded_pad_are_still_checked_and_attributed(
    app, connect, redis_client, key_prefix
):
    """Loading applies the stored pad with nothing observing the document; a client's edit
    afterwards is recorded as before: attributed to its author."""
    assert await PadStore(redis_client, "elsewhere").seed(pad_keys(key_prefix, "typed"), HELLO)
    writer = await connect(app.ws_url, "typed")
    await writer.edit(lambda t: t.insert(0, "Say "))
    await eventually(lambda: writer.saved)
    runs = [(chunk, (attrs or {}).get("author")) for chunk, attrs in writer.text.diff()]
    assert runs[0][0] == "Say " and runs[0][1], runs
    assert runs[1:] == [("hello world", None)]


# -- reads of many pads at once --------------------------------------------------------------


async def connections_received(client: aioredis.Redis) -> int:
    return int((await client.info("stats"))["total_connections_received"])


def pad_text(state: PadState) -> str:
    return text_of(*([state.snapshot] if state.snapshot else []), *(u for _, u in state.updates))


@on_both_stores
async def test_pads_read_together_each_get_their_own_state(redis_client, key_prefix):
    store = PadStore(redis_client, "this-node")
    keys = [pad_keys(key_prefix, f"many-{i}") for i in range(20)]
    for i, pad in enumerate(keys):
        assert await store.seed(pad, typed(i + 1, lambda t, i=i: t.insert(0, f"pad {i}")))
    states = await asyncio.gather(*(store.read(pad) for pad in keys))
    assert [pad_text(state) for state in states] == [f"pad {i}" for i in range(20)]
    after = [state.last_id for state in states]
    caught_up = await asyncio.gather(*(store.read(k, a) for k, a in zip(keys, after, strict=True)))
    assert all(state.updates == [] and state.snapshot is None for state in caught_up)


@pytest.mark.parametrize("pads", [30, MAX_BATCH + 20])
async def test_pads_read_together_share_a_connection_per_batch(redis_url, key_prefix, pads):
    seeding = connect(redis_url)
    fresh = connect(redis_url)  # a pool with no connection yet, as a node that just started
    try:
        keys = [pad_keys(key_prefix, f"burst-{i}") for i in range(pads)]
        seeder = PadStore(seeding, "seed")
        for i, pad in enumerate(keys):
            assert await seeder.seed(pad, typed(i + 1, lambda t, i=i: t.insert(0, f"{i}")))
        before = await connections_received(seeding)
        store = PadStore(fresh, "node")
        states = await asyncio.gather(*(store.read(pad) for pad in keys))
        assert [pad_text(state) for state in states] == [f"{i}" for i in range(pads)]
        # One connection per pipeline of at most MAX_BATCH reads, not one per read.
        opened = await connections_received(seeding) - before
        assert opened == -(-pads // MAX_BATCH), opened
    finally:
        await seeding.aclose()
        await fresh.aclose()


async def test_a_batch_the_server_has_no_script_for_is_answered(redis_client, key_prefix):
    store = PadStore(redis_client, "this-node")
    keys = [pad_keys(key_prefix, f"flushed-{i}") for i in range(5)]
    for pad in keys:
        assert await store.seed(pad, HELLO)
    await store.read(keys[0])
    await redis_client.script_flush()  # as after a restart of Valkey without persistence
    states = await asyncio.gather(*(store.read(pad) for pad in keys))
    assert [pad_text(state) for state in states] == ["hello world"] * 5


async def test_reads_together_from_a_store_that_is_away_each_fail_as_unavailable(key_prefix):
    away = connect(f"redis://127.0.0.1:{free_port()}")  # nothing listens there
    try:
        store = PadStore(away, "this-node")
        reads = [store.read(pad_keys(key_prefix, f"away-{i}")) for i in range(5)]
        results = await asyncio.gather(*reads, return_exceptions=True)
        assert all(isinstance(result, StoreUnavailable) for result in results), results
    finally:
        await away.aclose()


async def test_a_cancelled_read_leaves_the_others_of_its_batch_answered(redis_client, key_prefix):
    store = PadStore(redis_client, "this-node")
    keys = [pad_keys(key_prefix, f"cancel-{i}") for i in range(3)]
    for pad in keys:
        assert await store.seed(pad, HELLO)
    reads = [asyncio.ensure_future(store.read(pad)) for pad in keys]
    await asyncio.sleep(0)  # all three asked for
    reads[1].cancel()
    done = await asyncio.gather(*reads, return_exceptions=True)
    assert isinstance(done[1], asyncio.CancelledError)
    assert [pad_text(done[0]), pad_text(done[2])] == ["hello world"] * 2


# -- listening to a pad once it is loaded -----------------------------------------------------


class WrittenRightAfterRead(PadStore):
    """A real store: right after this node's first read of a pad, another node writes to the
    pad (and publishes it), before this node listens to the pad's channel."""

    written = False

    async def read(self, keys: PadKeys, after: str | None = None) -> PadState:
        state = await super().read(keys, after)
        if after is None and not self.written:
            self.written = True
            await PadStore(self.client, "other-node").append(
                keys, typed(8, lambda t: t.insert(0, "from the other node "))
            )
        return state


class SlowToCatchUp(PadStore):
    """A real store whose reads are slow: a pad's first read a little (long enough for this
    node to listen to the pad's channel meanwhile, had it asked to first), a catch-up read
    (`after` a log id) much more."""

    async def read(self, keys: PadKeys, after: str | None = None) -> PadState:
        await asyncio.sleep(0.2 if after is None else CATCH_UP_DELAY)
        return await super().read(keys, after)


class Joiner:
    """What a live pad needs of a connection, keeping the framed messages it is sent."""

    def __init__(self) -> None:
        self.closed = False
        self.read_only = False
        self.author_id = "joiner"
        self.awareness_ids: set[int] = set()
        self.step2 = asyncio.Event()

    def send(self, framed: bytes) -> None:
        header = 4 if framed[1] == 126 else 10 if framed[1] == 127 else 2
        if framed[header : header + 2] == b"\x00\x01":
            self.step2.set()

    def send_message(self, message: bytes) -> None:
        self.send(frame(message))

    def close(self, error: Exception) -> None:
        raise AssertionError(f"the joiner was closed: {error}")


async def test_the_first_joiners_step2_does_not_wait_for_the_catch_up(redis_client, key_prefix):
    """The catch-up that follows listening to the pad's channel comes after the joiners who
    waited for the load have their step 2, not in front of them."""
    assert await PadStore(redis_client, "elsewhere").seed(pad_keys(key_prefix, "first"), HELLO)
    fanout = Fanout(redis_client, "this-node")
    await fanout.start()
    registry = PadRegistry(
        SlowToCatchUp(redis_client, "this-node"), fanout,
        key_prefix=key_prefix, compact_after=1000, unload_delay=60,
    )
    try:
        pad = await registry.acquire("first")
        joiner = Joiner()
        pad.join(joiner)
        pad.receive(joiner, SyncMessage(SyncType.STEP1, b"\x00"))
        await asyncio.wait_for(joiner.step2.wait(), CATCH_UP_DELAY / 2)
        registry.release(pad)
    finally:
        await registry.close()
        await fanout.stop()


def live_text(pad: LivePad) -> str:
    return str(pad.doc.get("content", type=Text))


async def test_what_is_written_while_a_pad_loads_arrives_once_it_listens(
    redis_client, key_prefix
):
    fanout = Fanout(redis_client, "this-node")
    await fanout.start()
    registry = PadRegistry(
        WrittenRightAfterRead(redis_client, "this-node"), fanout,
        key_prefix=key_prefix, compact_after=1000, unload_delay=60,
    )
    try:
        pad = await registry.acquire("meanwhile")
        assert live_text(pad) == ""  # the read came before the other node's write
        await eventually(lambda: live_text(pad) == "from the other node ", within=SOON)
        registry.release(pad)
    finally:
        await registry.close()
        await fanout.stop()


async def test_a_pad_reloaded_while_its_channel_is_still_listened_to_catches_up(
    redis_client, key_prefix
):
    """A pad unloaded and loaded again before the listener has left its channel: the new
    live pad is listening at once, and reads what was written since its load."""
    keys = pad_keys(key_prefix, "again")
    store = PadStore(redis_client, "this-node")
    fanout = Fanout(redis_client, "this-node")
    await fanout.start()
    old = LivePad("again", keys, store, compact_after=1000, publish_awareness=lambda *_: None)
    new = LivePad("again", keys, store, compact_after=1000, publish_awareness=lambda *_: None)
    try:
        await old.load()
        fanout.subscribe(old)
        await eventually(lambda: fanout.connected)
        await new.load()
        await PadStore(redis_client, "other-node").append(
            keys, typed(8, lambda t: t.insert(0, "written since"))
        )
        await eventually(lambda: live_text(old) == "written since")  # the channel is live
        fanout.unsubscribe(old)  # unloaded; the listener leaves the channel later
        fanout.subscribe(new)
        await eventually(lambda: live_text(new) == "written since", within=SOON)
    finally:
        await fanout.stop()
        await old.close()
        await new.close()
