"""Fuzzing what clients send: whatever the bytes, a node decodes them or refuses them with a
close code; it never crashes, hangs, allocates what a frame only claims, or logs an update
that does not apply.

Two budgets (docs/fuzzing.md). By default, and in CI, each test runs a fixed, small number of
examples: the whole file takes well under a minute on two shared cores. For a long run,
`SUMMITPAD_FUZZ_EXAMPLES=N` gives each decoder test N examples and the update-path tests a
share of N. Inputs found by earlier runs stay here as explicit examples.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import time
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import aiohttp
import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Text
from summitpad.app_keys import REGISTRY
from summitpad.author_names import announced
from summitpad.chat import Draft
from summitpad.client import PadClient
from summitpad.doc_changes import DocChanges
from summitpad.errors import (
    CLOSE_BAD_MESSAGE,
    CLOSE_FORBIDDEN,
    CLOSE_RESYNC,
    CLOSE_UPDATE_REJECTED,
    NeedsResync,
    ProtocolError,
    SummitpadError,
    UpdateRejected,
)
from summitpad.keys import pad_keys
from summitpad.protocol import (
    AwarenessMessage,
    ChatMessage,
    NoticeMessage,
    SyncMessage,
    SyncType,
    decode_awareness,
    decode_message,
    decode_state_vector,
    encode_awareness,
    encode_chat,
    encode_step1,
    encode_update,
    write_varbytes,
    write_varuint,
)
from summitpad.update_check import check_update, inspect_update

from .fuzz_strategies import (
    HUGE,
    Mutation,
    TextOp,
    awareness_payloads,
    client_ids,
    edits,
    frame_update,
    frames,
    huge_claims,
    mutated,
    mutations,
    participant_ops,
    state_vectors,
    text_ops,
)
from .support import RunningApp, eventually

# -- budgets ----------------------------------------------------------------------------------

LONG_RUN = int(os.environ.get("SUMMITPAD_FUZZ_EXAMPLES") or 0)


def budget(ci: int, share: float = 1.0) -> int:
    """`ci` examples, or a `share` of SUMMITPAD_FUZZ_EXAMPLES where that is more."""
    return max(ci, int(LONG_RUN * share))


def fuzz_settings(examples: int, deadline_ms: int | None) -> settings:
    """A budget. The fixed one is derandomized, without an example database: the suite
    tries the same inputs on every run and machine, and a failure it reports is one anybody
    can reproduce. A long run draws at random, keeping what fails in the ignored
    .hypothesis/."""
    fixed = {"database": None, "derandomize": True} if not LONG_RUN else {}
    return settings(
        max_examples=examples,
        deadline=None if deadline_ms is None else timedelta(milliseconds=deadline_ms),
        suppress_health_check=[
            HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
            HealthCheck.function_scoped_fixture, HealthCheck.large_base_example,
        ],
        print_blob=True,
        **fixed,  # type: ignore[arg-type]
    )


# A decode takes microseconds, and what the tests time is a hang, which takes forever: the
# bounds below are a thousand times what they need, so that a loaded machine never trips them.
HANG = 2.0  # seconds
DECODER = fuzz_settings(budget(400), deadline_ms=5000)
PAYLOADS = fuzz_settings(budget(250), deadline_ms=5000)
IN_DOCUMENT = fuzz_settings(budget(250, 0.2), deadline_ms=10000)
LIVE_EXAMPLES = budget(20, 0.05)
LIVE = fuzz_settings(LIVE_EXAMPLES, deadline_ms=None)  # each example waits at most STEP_TIMEOUT
STEP_TIMEOUT = 15.0

REFUSED = {CLOSE_BAD_MESSAGE, CLOSE_UPDATE_REJECTED}
# What the update path may answer an update with besides taking it: malformed (4400), does not
# apply (4422), changes who wrote the text (4403), depends on edits the node lacks (4509).
T = TypeVar("T")
UPDATE_REFUSED = {CLOSE_BAD_MESSAGE, CLOSE_UPDATE_REJECTED, CLOSE_FORBIDDEN, CLOSE_RESYNC}


def seed_updates() -> list[bytes]:
    """Real updates of a small pad: text with formatting and an emoji, a map, an array."""
    base = edits(b"", 1, [
        TextOp("insert", 0, 1, "Hello summit\n", None),
        TextOp("insert", 5, 1, "😀", {"bold": True}),
    ])
    more = edits(base[-1], 2, [
        TextOp("delete", 2, 3, "", None),
        TextOp("format", 0, 4, "", {"header": 1}),
        TextOp("map", 1, 2, "key", None),
        TextOp("array", 0, 1, "x", None),
    ])
    return base + more


SEEDS = seed_updates()


broken_updates = st.builds(
    mutated, st.sampled_from(SEEDS), st.lists(mutations, max_size=3), st.just(SEEDS)
)


KNOWN_FRAMES = [
    encode_step1(b"\x00"),
    encode_step1(b"\x02\x01\x05\xac\x02\x07"),
    encode_update(SEEDS[0]),
    frame_update(SEEDS[-1], 1),
    encode_awareness(b"\x01\x05\x01" + write_varbytes(b'{"user":{"name":"A"}}')),
    b"\x02\x00\x02no",
    encode_chat({"kind": "send", "text": "hi"}),
]

# -- the decoders -----------------------------------------------------------------------------


def serve(frame: bytes) -> None:
    """What a node does with a frame before its pad's writer takes it (views/pad_socket.py,
    LivePad.receive, chat and author names), and what the writer checks an update with."""
    message = decode_message(frame)
    if isinstance(message, SyncMessage):
        if message.kind is SyncType.STEP1:
            decode_state_vector(message.payload)
        else:
            inspect_update(message.payload)
    elif isinstance(message, AwarenessMessage):
        for entry in decode_awareness(message.payload):
            json.loads(entry.state)
            announced(entry.state)
    elif isinstance(message, ChatMessage) and message.kind == "send":
        draft = Draft.of("a-participant", message.body)
        if draft.problem is None:
            draft.to_stored()
    elif isinstance(message, NoticeMessage):
        assert isinstance(message.kind, str)


def decoded_or_refused(decode: Any, data: bytes, codes: set[int] = REFUSED) -> bool:
    """True if `decode(data)` returned, False if it raised one of our errors with a close
    code in `codes`; anything else it raises fails the test."""
    try:
        decode(data)
    except SummitpadError as exc:
        assert isinstance(exc, ProtocolError | UpdateRejected), repr(exc)
        assert exc.close_code in codes
        return False
    return True


@DECODER
@given(frames(broken_updates) | st.binary(max_size=200))
@example(b"\x00\x00" + write_varuint(2**60))  # 9 bytes: refused before any length is used
@example(b"\x01" + write_varuint(2**56 - 1) + b"\x00")
@example(b"\x01\x05\x01\x05\x00" + write_varbytes(b'{"user":{"name":"\\ud800"}}'))
@example(b"\x64" + write_varbytes(b'{"kind":"send","text":"\\udfff","name":"\\ud800"}'))
@example(b"\x01\x0a\x01\x05\x01\x05" + b"[" * 5)
def test_frames_decode_or_are_refused(frame: bytes) -> None:
    decoded_or_refused(serve, frame)


@PAYLOADS
@given(awareness_payloads())
@example(write_varuint(2**55) + b"\x01\x01\x02{}")
@example(b"\x01\x01\x01" + write_varbytes(b"[" * 100_000))
def test_awareness_payloads_decode_or_are_refused(payload: bytes) -> None:
    if decoded_or_refused(decode_awareness, payload):
        for entry in decode_awareness(payload):
            assert entry.is_removal or json.loads(entry.state) is not None


YRS_DOC: Doc[Any] = Doc()
for _update in SEEDS:
    YRS_DOC.apply_update(_update)


@PAYLOADS
@given(state_vectors() | st.binary(max_size=40))
@example(bytes.fromhex("c7abce59c5b75eb9"))  # claims 187 million clients
@example(write_varuint(2**28 - 1) + b"\x01\x01")
def test_state_vectors_decode_or_are_refused_before_yrs_sees_them(state_vector: bytes) -> None:
    """Yrs reserves room for as many clients as a state vector claims: 2**28 takes it half a
    gigabyte and most of a second. A node hands it only state vectors it decoded itself,
    whose count is bounded by their length."""
    if decoded_or_refused(decode_state_vector, state_vector):
        started = time.perf_counter()
        try:
            YRS_DOC.get_update(state_vector)
        except Exception:
            pass  # the node closes the connection with 4422 (LivePad._answer_step1)
        assert time.perf_counter() - started < 0.5  # not HANG: an unguarded 2**28 takes less


@PAYLOADS
@given(broken_updates)
def test_updates_pass_the_check_or_are_refused_and_yrs_survives_what_passes(update: bytes) -> None:
    """Applied as a node applies them: with the text and the document observed."""
    if decoded_or_refused(check_update, update):
        doc: Doc[Any] = Doc()
        doc.apply_update(SEEDS[0])
        changes = DocChanges(doc, doc.get("content", type=Text))
        with contextlib.suppress(SummitpadError):  # refused with a close code
            without_panic(changes.apply_client_update, update, "a-participant")


def peak_allocation(decode: Any, data: bytes) -> int:
    tracemalloc.start()
    try:
        decoded_or_refused(decode, data)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@DECODER
@given(huge_claims(KNOWN_FRAMES))
def test_huge_claims_are_refused_without_allocating_them(frame: bytes) -> None:
    assert peak_allocation(serve, frame) < 256 * 1024


CLAIMS = [
    ("sync payload", lambda n: b"\x00\x02" + write_varuint(n) + b"\x00\x00"),
    ("awareness payload", lambda n: b"\x01" + write_varuint(n) + b"\x00"),
    ("awareness count", lambda n: encode_awareness(write_varuint(n) + b"\x01\x01\x02{}")),
    ("awareness state", lambda n: encode_awareness(b"\x01\x01\x01" + write_varuint(n) + b"{}")),
    ("auth reason", lambda n: b"\x02\x00" + write_varuint(n) + b"no"),
    ("chat body", lambda n: b"\x64" + write_varuint(n) + b"{}"),
    ("state vector count", lambda n: encode_step1(write_varuint(n) + b"\x01\x01")),
    ("update structs", lambda n: encode_update(b"\x01" + write_varuint(n) + b"\x01\x00\x01")),
    ("update string", lambda n: encode_update(
        b"\x01\x01\x01\x00\x04\x01\x01t" + write_varuint(n) + b"ab\x00")),
    ("update any array", lambda n: encode_update(
        b"\x01\x01\x01\x00\x08\x01\x01t\x01\x75" + write_varuint(n) + b"\x7f\x00")),
    ("delete set ranges", lambda n: encode_update(b"\x00\x01\x01" + write_varuint(n) + b"\x00")),
]


@pytest.mark.parametrize("claim", HUGE, ids=str)
@pytest.mark.parametrize(("where", "build"), CLAIMS, ids=[c[0] for c in CLAIMS])
def test_a_claimed_length_fails_fast(where: str, build: Any, claim: int) -> None:
    frame = build(claim)
    started = time.perf_counter()
    assert not decoded_or_refused(serve, frame), where
    assert time.perf_counter() - started < HANG
    assert peak_allocation(serve, frame) < 64 * 1024


# -- the update path, in a document -----------------------------------------------------------

base_ops = st.lists(participant_ops, min_size=1, max_size=5)
attack_ops = st.lists(text_ops(), min_size=1, max_size=4)


def without_panic(call: Callable[..., T], *args: Any) -> T:
    """`call(*args)`, with a Rust panic (a BaseException, which Hypothesis would not shrink)
    turned into a failure that names the bytes."""
    try:
        return call(*args)
    except Exception:
        raise
    except BaseException as exc:
        shown = " ".join(a.hex() if isinstance(a, bytes) else repr(a) for a in args)
        raise AssertionError(f"Yrs panicked: {exc} on {shown}") from exc


def text_of(doc: Doc[Any]) -> list[Any]:
    return doc.get("content", type=Text).diff()


def pending_in(doc: Doc[Any], update: bytes) -> dict[int, int]:
    """The clients whose structs in `update` the document has not integrated (they wait for
    edits it lacks), with the clock they reach."""
    state = decode_state_vector(doc.get_state())
    return {c: clock for c, clock in check_update(update).items() if state.get(c, 0) < clock}


@IN_DOCUMENT
@given(base_ops, client_ids, attack_ops, st.integers(0, 2**16), st.lists(mutations, max_size=3))
def test_mutated_updates_applied_to_a_pad_document(
    base_ops: list[TextOp], client_id: int, ops: list[TextOp], pick: int, plan: list[Mutation]
) -> None:
    """DocChanges is the writer's whole check of a client update: it takes it (and returns
    what goes into the log) or refuses it with a close code; what it returns is well formed,
    applies in full to the stored pad, and gives the text the node's document holds."""
    base = edits(b"", 7, base_ops)[-1]
    candidates = [*edits(base, client_id, ops), base]
    update = mutated(candidates[pick % len(candidates)], plan, candidates)

    doc: Doc[Any] = Doc()
    doc.apply_update(base)
    before = text_of(doc)
    changes = DocChanges(doc, doc.get("content", type=Text))
    try:
        logged = without_panic(changes.apply_client_update, update, "a-participant")
    except SummitpadError as exc:
        assert exc.close_code in UPDATE_REFUSED, repr(exc)
        assert changes.tainted or text_of(doc) == before  # else the writer rebuilds the doc
        return
    if logged is None:
        assert text_of(doc) == before
        return
    check_update(logged)
    stored: Doc[Any] = Doc()
    stored.apply_update(base)
    stored.apply_update(logged)
    assert not pending_in(stored, logged)
    assert text_of(stored) == text_of(doc)


# Found by the test above: client 780's first struct, at clock 5 with nothing before it, from
# an update whose delete set names a range nobody wrote. Yrs holds the struct aside, yet shows
# its "a" in the text while no transaction update carries it: attributing that "a" logged
# formatting that depended on a struct the log never had.
GAP_BASE = bytes.fromhex(
    "01090700060107636f6e74656e74066865616465720131840700016c8107010486070506686561646572046e"
    "756c6c860706046c696e6b152268747470733a2f2f6578616d706c652e6f726722840707016c84070804696e"
    "650a86070c046c696e6b046e756c6cc4070807090a5a6fc3ab205a6fc3ab200107010204"
)
GAP_UPDATE = bytes.fromhex("01018c0605c40709070a0161017f017f808001")


def test_an_update_with_a_gap_is_dropped_whole_with_the_document_rebuilt() -> None:
    doc: Doc[Any] = Doc()
    doc.apply_update(GAP_BASE)
    changes = DocChanges(doc, doc.get("content", type=Text))
    with pytest.raises(NeedsResync):
        changes.apply_client_update(GAP_UPDATE, "a-participant")
    assert changes.tainted


# -- the update path, through a live pad ------------------------------------------------------


@pytest.fixture
async def fuzz_nodes(start_app: Any) -> tuple[RunningApp, RunningApp]:
    """Two nodes on one Valkey: clients write through the first, the second loads each pad
    from what the first stored. Pads are folded into their snapshot every few entries."""
    return await start_app(compact_after=3), await start_app(compact_after=3)


PAD_NUMBERS = itertools.count()


async def answered_or_closed(ws: aiohttp.ClientWebSocketResponse) -> int | None:
    """Read until the node answers our sync step 1 with a step 2 (everything sent before it
    was taken: the writer answers a batch's step 1 after its updates), or closes: the code."""
    async for msg in ws:
        if msg.type is aiohttp.WSMsgType.BINARY:
            message = decode_message(msg.data)
            if isinstance(message, SyncMessage) and message.kind is SyncType.STEP2:
                return None
    return ws.close_code


async def stored_pad(client: aioredis.Redis, prefix: str, pad_id: str) -> tuple[Doc[Any], int]:
    """The pad as Valkey holds it (snapshot and log, read in one transaction), checking that
    every entry is well formed and applies in full, to a fresh document and to the pad."""
    keys = pad_keys(prefix, pad_id)
    async with client.pipeline(transaction=True) as pipe:
        snapshot, entries = await pipe.hget(keys.snap, "doc").xrange(keys.log).execute()
    doc: Doc[Any] = Doc()
    updates = ([snapshot] if snapshot else []) + [
        fields[b"u"] for _, fields in entries
    ]
    for update in updates:
        check_update(update)
        Doc().apply_update(update)
        doc.apply_update(update)
    for update in updates:
        assert not pending_in(doc, update), update.hex()
    return doc, len(updates)


async def join(session: aiohttp.ClientSession, app: RunningApp, pad_id: str) -> PadClient:
    client = await PadClient(session, app.ws_url, pad_id).connect()
    await asyncio.wait_for(client.synced.wait(), STEP_TIMEOUT)
    return client


sent_updates = st.lists(
    st.tuples(st.integers(0, 2**16), st.lists(mutations, max_size=3), st.sampled_from([2, 2, 1])),
    min_size=1, max_size=3,
)


@pytest.mark.timeout(120 + LIVE_EXAMPLES * 3)
@LIVE
@given(base_ops, client_ids, attack_ops, sent_updates, st.none() | frames(broken_updates))
# Found by a long run: two updates in one batch, the first half-applied and refused (4509), the
# second building on its remains; the server's attribution of the second was logged, naming
# structs the log never got. Now a refused sender's later updates in the batch are dropped, and
# nothing more is applied before the document is rebuilt.
@example(
    base_ops=[TextOp("insert", 0, 1, "a", None)], client_id=1,
    ops=[TextOp("insert", 0, 1, "a", {"bold": True}), *[TextOp("insert", 0, 1, "a", None)] * 3],
    sent=[(0, [*[Mutation("flip", 0, 0, 1, b"\x00", (0, 0, 0))] * 2,
               Mutation("drop", 0, 1, 1, b"\x00", (0, 0, 0))], 2), (0, [], 2)],
    broken_frame=None,
)
async def test_mutated_updates_sent_to_a_live_pad(
    fuzz_nodes: tuple[RunningApp, RunningApp],
    redis_client: aioredis.Redis,
    key_prefix: str,
    base_ops: list[TextOp],
    client_id: int,
    ops: list[TextOp],
    sent: list[tuple[int, list[Mutation], int]],
    broken_frame: bytes | None,
) -> None:
    """A participant writes some text; another connection sends broken versions of real
    updates (and now and then a broken frame). The node takes or refuses each with a close
    code; the pad log holds only updates that apply; the writer, a participant who stayed,
    a joiner on another node and the log all hold the same text; and the pad takes edits."""
    node, other_node = fuzz_nodes
    pad_id = f"fuzz-{next(PAD_NUMBERS)}"
    async with aiohttp.ClientSession() as writer_session, \
            aiohttp.ClientSession() as sender_session:
        writer = await join(writer_session, node, pad_id)
        for op in base_ops:
            op.apply(writer.doc)
        await writer.flush()
        await eventually(lambda: writer.saved, within=STEP_TIMEOUT)

        base = writer.doc.get_update()
        candidates = [*edits(base, client_id, ops), base]
        messages = [
            frame_update(mutated(candidates[pick % len(candidates)], plan, candidates), kind)
            for pick, plan, kind in sent
        ]
        if broken_frame is not None:
            messages.append(broken_frame)
        sender = await sender_session.ws_connect(f"{node.ws_url}/{pad_id}", max_msg_size=0)
        for message in messages:
            await sender.send_bytes(message)
        await sender.send_bytes(encode_step1(b"\x00"))
        code = await asyncio.wait_for(answered_or_closed(sender), STEP_TIMEOUT)
        assert code is None or code in UPDATE_REFUSED, code
        await sender.close()

        live = node.app[REGISTRY].live(pad_id)
        assert live is not None
        await asyncio.wait_for(live.drain(), STEP_TIMEOUT)
        stored, _ = await stored_pad(redis_client, key_prefix, pad_id)
        assert text_of(live.doc) == text_of(stored), "the node shows text the log does not hold"
        await eventually(lambda: writer.text.diff() == text_of(stored), within=STEP_TIMEOUT)
        joiner = await join(writer_session, other_node, pad_id)
        assert joiner.text.diff() == text_of(stored)

        await writer.edit(lambda t: t.insert(0, "still here "))
        await eventually(lambda: writer.saved, within=STEP_TIMEOUT)
        await eventually(lambda: str(joiner.text).startswith("still here "), within=STEP_TIMEOUT)
        await joiner.close()
        await writer.close()



async def test_a_state_vector_claiming_millions_of_clients_is_refused_at_once(
    fuzz_nodes: tuple[RunningApp, RunningApp], connect: Any, http: aiohttp.ClientSession
) -> None:
    """Found by the state vector fuzz: Yrs reserves room for the clients a state vector
    claims, so a node decodes a sync step 1 itself before Yrs sees it."""
    node = fuzz_nodes[0]
    watcher = await connect(node.ws_url, "claims")
    ws = await http.ws_connect(f"{node.ws_url}/claims")
    started = time.perf_counter()
    await ws.send_bytes(encode_step1(write_varuint(2**28 - 1) + b"\x01\x01"))
    assert await asyncio.wait_for(answered_or_closed(ws), STEP_TIMEOUT) == CLOSE_BAD_MESSAGE
    assert time.perf_counter() - started < HANG
    await watcher.edit(lambda t: t.insert(0, "unaffected"))
    await eventually(lambda: watcher.saved)
