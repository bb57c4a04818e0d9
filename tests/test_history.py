"""Authorship and history: who wrote what, revisions, checkpoints, seeks and server edits."""

from __future__ import annotations

import zlib

import pytest
from pycrdt import Doc, Text
from summitpad import history, protocol
from summitpad.errors import CLOSE_FORBIDDEN, Forbidden, SummitpadError
from summitpad.history import LogEntry, group
from summitpad.history_store import HistoryStore
from summitpad.keys import pad_keys
from summitpad.live_pad import LivePad
from summitpad.store import PadStore

from .support import eventually


class Sender:
    """The sender of updates that arrive without a websocket: records how it was closed."""

    def __init__(self, author_id: str) -> None:
        self.author_id = author_id
        self.closed = False
        self.read_only = False
        self.awareness_ids: set[int] = set()
        self.closed_with: SummitpadError | None = None

    def close(self, error: SummitpadError) -> None:
        self.closed = True
        self.closed_with = error

    def send(self, _: bytes) -> None:
        pass

    def send_message(self, _: bytes) -> None:
        pass


class Typist:
    """A Yjs client of its own (a stock client's view: no authorship attributes)."""

    def __init__(self, client_id: int) -> None:
        self.doc: Doc = Doc(client_id=client_id)
        self.text = self.doc.get("content", type=Text)

    def catch_up(self, pad: LivePad) -> None:
        self.doc.apply_update(pad.doc.get_update(self.doc.get_state()))

    def change(self, edit) -> bytes:
        before = self.doc.get_state()
        edit(self.text)
        return self.doc.get_update(before)


def send(pad: LivePad, sender: Sender, update: bytes) -> None:
    pad.receive(sender, protocol.SyncMessage(protocol.SyncType.UPDATE, update))


def runs(doc: Doc) -> list[tuple[str, str | None]]:
    text = doc.get("content", type=Text)
    return [(chunk, (attrs or {}).get("author")) for chunk, attrs in text.diff()]


def append(text: Text, chunk: str) -> None:
    text.insert(len(str(text).encode()), chunk)


def entry(ms: int, seq: int, author: str, text: str) -> LogEntry:
    doc = Doc(client_id=ms * 10 + seq)
    doc.get("content", type=Text).insert(0, text)
    return LogEntry(f"{ms}-{seq}", author, doc.get_update())


# -- grouping (pure) ---------------------------------------------------------------------------


def test_one_revision_per_author_per_window():
    w = history.WINDOW_MS
    entries = [
        entry(w * 10, 0, "ann", "a"),
        entry(w * 10 + 5, 0, "ann", "b"),
        entry(w * 10 + 9, 0, "bob", "c"),
        entry(w * 10 + 20, 0, "ann", "d"),
        entry(w * 11, 0, "ann", "e"),  # the next window
    ]
    revisions = group(entries, first_number=1)
    assert [(r.number, r.author, r.upto) for r in revisions] == [
        (1, "ann", f"{w * 10 + 5}-0"),
        (2, "bob", f"{w * 10 + 9}-0"),
        (3, "ann", f"{w * 10 + 20}-0"),
        (4, "ann", f"{w * 11}-0"),
    ]


def test_a_saved_revision_ends_a_revision_and_numbering_does_not_depend_on_cuts():
    w = history.WINDOW_MS
    entries = [entry(w * 10 + i, 0, "ann", str(i)) for i in range(6)]
    whole = group(entries, first_number=1, saved={f"{w * 10 + 2}-0"})
    assert [r.upto for r in whole] == [f"{w * 10 + 2}-0", f"{w * 10 + 5}-0"]
    first = group(entries[:3], first_number=1, saved={f"{w * 10 + 2}-0"})
    rest = group(entries[3:], first_number=2, saved={f"{w * 10 + 2}-0"})
    assert [(r.number, r.upto) for r in first + rest] == [(r.number, r.upto) for r in whole]


def test_checkpoints_come_once_revisions_outweigh_the_last_one():
    assert not history.checkpoint_due(100, 10, 50_000)
    assert history.checkpoint_due(50_000, 10, 50_000)
    assert history.checkpoint_due(history.CHECKPOINT_MIN_BYTES, 1, 10)
    assert history.checkpoint_due(1, history.CHECKPOINT_EVERY, 10**9)


# -- authorship through the live pad ------------------------------------------------------------


@pytest.fixture
async def live(redis_client, key_prefix):
    pads = []

    async def make(pad_id: str = "hist", compact_after: int = 10_000) -> LivePad:
        keys = pad_keys(key_prefix, pad_id)
        pad = LivePad(
            pad_id, keys, PadStore(redis_client, "node-a"),
            compact_after=compact_after, publish_awareness=lambda *_: None,
        )
        await pad.load()
        pads.append(pad)
        return pad

    yield make
    for pad in pads:
        await pad.close()


async def test_a_clients_plain_inserts_are_attributed_to_its_participant(live):
    pad = await live()
    ann, bob = Typist(1), Typist(2)
    send(pad, Sender("ann"), ann.change(lambda t: t.insert(0, "héllo world\n")))
    await pad.drain()
    bob.catch_up(pad)
    # Bob types inside Ann's run: Yjs gives his text her attributes; the server puts his in.
    send(pad, Sender("bob"), bob.change(lambda t: t.insert(len("héllo ".encode()), "big ")))
    await pad.drain()
    assert runs(pad.doc) == [("héllo ", "ann"), ("big ", "bob"), ("world\n", "ann")]


async def test_nobody_can_change_who_wrote_text(live):
    pad = await live()
    ann, bob = Typist(1), Typist(2)
    send(pad, Sender("ann"), ann.change(lambda t: t.insert(0, "Ann's words")))
    await pad.drain()
    bob.catch_up(pad)
    thief = Sender("bob")
    send(pad, thief, bob.change(lambda t: t.format(0, 5, {"author": "bob"})))
    await pad.drain()
    assert thief.closed_with is not None and thief.closed_with.close_code == CLOSE_FORBIDDEN
    wiper = Sender("bob")
    send(pad, wiper, bob.change(lambda t: t.format(0, 5, {"author": None})))
    await pad.drain()
    assert isinstance(wiper.closed_with, Forbidden)
    await eventually(lambda: runs(pad.doc) == [("Ann's words", "ann")])
    # Formatting other people's text is fine, and keeps their name on it.
    carol = Typist(3)
    carol.catch_up(pad)
    send(pad, Sender("carol"), carol.change(lambda t: t.format(0, 5, {"bold": True})))
    await pad.drain()
    assert pad.doc.get("content", type=Text).diff()[0] == ("Ann's", {"author": "ann", "bold": True})


async def test_a_server_edit_is_durable_attributed_and_refused_on_a_read_only_pad(live):
    pad = await live()
    await pad.edit("dora", lambda t: t.insert(0, "imported", {"author": "dora"}))
    stored = await PadStore(pad.store.client, "x").read(pad.keys)
    assert stored.updates and stored.last_id == pad.last_id
    pad.set_read_only(True)
    with pytest.raises(Forbidden):
        await pad.edit("dora", lambda t: t.insert(0, "more"))
    pad.set_read_only(False)
    with pytest.raises(ZeroDivisionError):
        await pad.edit("dora", lambda t: 1 / 0)
    assert str(pad.doc.get("content", type=Text)) == "imported"


# -- revisions in Valkey ------------------------------------------------------------------------


async def test_revisions_are_read_the_same_before_and_after_they_are_written(live, redis_client):
    pad = await live("revs")
    typists = {"ann": Typist(1), "bob": Typist(2)}
    for i in range(6):
        author = "ann" if i % 3 else "bob"
        typist = typists[author]
        typist.catch_up(pad)
        send(pad, Sender(author), typist.change(lambda t, i=i: append(t, f"{i} ")))
        await pad.drain()
    hist = HistoryStore(redis_client)
    before = await hist.view(pad.keys)
    texts = [
        str((await hist.doc_at(before, n)).get("content", type=Text))
        for n in range(before.count + 1)
    ]
    assert texts[0] == "" and texts[-1] == "0 1 2 3 4 5 "
    assert [r.author for r in before.tail][:2] == ["bob", "ann"]
    assert await hist.extend(pad.keys) == before.count
    after = await hist.view(pad.keys)
    assert after.head.count == before.count and after.tail == []
    assert [
        str((await hist.doc_at(after, n)).get("content", type=Text)) for n in range(after.count + 1)
    ] == texts
    with pytest.raises(SummitpadError) as missing:
        await hist.doc_at(after, after.count + 1)
    assert missing.value.status == 404


async def test_compaction_keeps_what_the_history_lacks_and_checkpoints_bound_seeks(
    live, redis_client, monkeypatch
):
    monkeypatch.setattr(history, "CHECKPOINT_MIN_BYTES", 200)
    pad = await live("long", compact_after=5)
    ann = Typist(1)
    for i in range(40):
        send(pad, Sender(f"p{i % 4}"), ann.change(lambda t, i=i: append(t, f"line {i}\n")))
        await pad.drain()
    await pad.compact_now()
    hist = HistoryStore(redis_client)
    view = await hist.view(pad.keys)
    assert view.tail == [] and view.count == 40
    assert await redis_client.zcard(pad.keys.ckpt) >= 3
    first = (await redis_client.zrange(pad.keys.ckpt, 0, 0))[0]
    assert first[8:9] == b"\x01" and zlib.decompress(first[9:])  # stored compressed
    middle = await hist.doc_at(view, 17)
    assert str(middle.get("content", type=Text)).endswith("line 16\n")
    assert (await hist.revision(view, 17)).author == "p0"
    # The log was trimmed to what the history holds.
    assert await redis_client.xlen(pad.keys.log) <= 2


async def test_a_saved_revision_keeps_its_number(live, redis_client):
    pad = await live("saved")
    ann = Typist(1)
    send(pad, Sender("ann"), ann.change(lambda t: t.insert(0, "draft")))
    await pad.drain()
    hist = HistoryStore(redis_client)
    saved = await hist.save(pad.keys, label="<b>agreed</b>", author="ann", name="Ann", time_ms=1)
    assert saved is not None and saved.number == 1
    send(pad, Sender("ann"), ann.change(lambda t: t.insert(5, " more")))
    await pad.drain()
    view = await hist.view(pad.keys)
    assert view.count == 2
    assert [(s.number, s.label) for s in view.saved] == [(1, "<b>agreed</b>")]
    assert str((await hist.doc_at(view, 1)).get("content", type=Text)) == "draft"


async def test_saving_after_the_history_holds_the_last_edit_saves_the_last_revision(
    live, redis_client
):
    pad = await live("saved-written")
    ann = Typist(1)
    send(pad, Sender("ann"), ann.change(lambda t: t.insert(0, "draft")))
    await pad.drain()
    hist = HistoryStore(redis_client)
    assert await hist.extend(pad.keys) == 1  # the last edit is in the written history now
    saved = await hist.save(pad.keys, label="agreed", author="ann", name="Ann", time_ms=1)
    assert saved is not None and saved.number == 1
    view = await hist.view(pad.keys)
    assert [(s.number, s.label) for s in view.saved] == [(1, "agreed")]


async def test_a_pad_older_than_its_history_starts_with_its_snapshot(redis_client, key_prefix):
    keys = pad_keys(key_prefix, "older")
    store = PadStore(redis_client, "node-a")
    doc = Doc()
    doc.get("content", type=Text).insert(0, "written before history")
    appended = await store.append(keys, doc.get_update())
    # Folded and trimmed as compaction did before revisions were kept: no history at all.
    await redis_client.hset(keys.snap, mapping={"doc": doc.get_update(), "upto": appended.entry_id})
    hist = HistoryStore(redis_client)
    view = await hist.view(keys)
    assert view.count == 1 and view.tail[0].author == ""
    assert str((await hist.doc_at(view, 1)).get("content", type=Text)) == "written before history"
    assert await hist.extend(keys) == 1
    assert await redis_client.zcard(keys.ckpt) == 1  # the snapshot is the first checkpoint
    after = await hist.view(keys)
    assert after.head.count == 1 and after.tail == []
    assert str((await hist.doc_at(after, 1)).get("content", type=Text)) == "written before history"
