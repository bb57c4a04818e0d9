"""Summits in a real Valkey: created once, changed atomically, read through a version cache."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
import redis.asyncio as aioredis
from summitpad.errors import Conflict, InvalidInput, NotFound
from summitpad.schedule import Room, Session, Summit
from summitpad.summit_store import SummitStore

T0 = datetime(2026, 5, 4, 7, 0, tzinfo=UTC)
SUMMIT = Summit("osd", "Open Summit", date(2026, 5, 4), date(2026, 5, 5), "Europe/Berlin",
                rooms=(Room("a", "Room A"), Room("b", "Room B")))


def slot(sid: str, room: str, start: int, minutes: int = 40) -> Session:
    begin = T0 + timedelta(minutes=start)
    return Session(sid, sid.upper(), room=room, start=begin, end=begin + timedelta(minutes=minutes))


@pytest.fixture
async def store(redis_client: aioredis.Redis, key_prefix: str) -> SummitStore:
    summits = SummitStore(redis_client, key_prefix)
    await summits.create(SUMMIT)
    return summits


async def test_a_slug_is_created_once(store: SummitStore) -> None:
    with pytest.raises(Conflict):
        await store.create(SUMMIT.replace(name="Another"))
    assert [s.slug for s in await store.summits()] == ["osd"]
    with pytest.raises(NotFound):
        await store.load("nope")


async def test_a_refused_change_changes_nothing(store: SummitStore) -> None:
    await store.save_session("osd", slot("s1", "a", 0))
    before = await store.load("osd")
    with pytest.raises(InvalidInput) as refused:
        await store.update("osd", lambda _: (None, ([slot("s2", "b", 0), slot("s3", "a", 20)],
                                                    [])))
    assert any("'s3'" in p and "Room A" in p for p in refused.value.problems)
    after = await store.load("osd")
    assert after.version == before.version and set(after.sessions) == {"s1"}


async def test_unknown_rooms_are_refused(store: SummitStore) -> None:
    with pytest.raises(InvalidInput, match="nothing was changed") as refused:
        await store.save_session("osd", slot("s1", "nowhere", 0))
    assert refused.value.problems == ["session 's1': room: 'nowhere' is not a room of this summit"]


async def test_another_node_sees_a_change_at_once(
    store: SummitStore, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    other = SummitStore(redis_client, key_prefix)
    assert not (await other.load("osd")).sessions
    await store.save_session("osd", slot("s1", "a", 0))
    assert set((await other.load("osd")).sessions) == {"s1"}  # the cache follows the version


async def test_concurrent_changes_all_land(store: SummitStore) -> None:
    await asyncio.gather(*(
        store.save_session("osd", slot(f"s{i}", "a" if i % 2 else "b", 60 * i)) for i in range(10)
    ))
    assert len((await store.load("osd")).sessions) == 10


async def test_search_text_goes_with_a_deleted_session(store: SummitStore) -> None:
    await store.save_session("osd", slot("s1", "a", 0))
    await store.save_text("osd", "s1", "notes")
    assert await store.texts("osd") == {"s1": "notes"}
    await store.update("osd", lambda _: (None, ([], ["s1"])))
    assert await store.texts("osd") == {}


async def test_a_node_reads_only_the_notes_that_changed(
    store: SummitStore, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    for i in range(3):
        await store.save_session("osd", slot(f"s{i}", "a", 60 * i))
        await store.save_text("osd", f"s{i}", f"Notes {i}")
    reader = SummitStore(redis_client, key_prefix)
    first = await reader.notes("osd")
    assert first.texts == {"s0": "Notes 0", "s1": "Notes 1", "s2": "Notes 2"}
    assert await reader.notes("osd") is first  # nothing changed: the same object
    await store.save_text("osd", "s1", "Ceph NOTES")
    second = await reader.notes("osd")
    assert second.texts["s1"] == "Ceph NOTES" and second.folded["s1"] == "ceph notes"
    assert second.texts["s0"] is first.texts["s0"]  # kept, not read again
    await store.update("osd", lambda _: (None, ([], ["s2"])))
    assert set((await reader.notes("osd")).texts) == {"s0", "s1"}


async def test_changing_some_fields_keeps_what_changed_meanwhile(store: SummitStore) -> None:
    await store.save_session("osd", slot("s1", "a", 0))
    stale = (await store.load("osd")).session("s1")
    await store.save_session("osd", stale.replace(room="b"))  # an import moved it meanwhile
    await store.change_session("osd", "s1", description="What we will decide")
    stored = (await store.load("osd")).session("s1")
    assert stored.room == "b" and stored.description == "What we will decide"


@pytest.mark.parametrize(("start", "end", "problem"), [
    (date(1, 1, 1), date(9999, 12, 31), "at most 31 days"),
    (date(1999, 12, 1), date(1999, 12, 2), "the year must be 2000-2100"),
    (date(2026, 5, 1), date(2026, 6, 15), "at most 31 days"),
])
def test_a_summit_has_sane_dates(start: date, end: date, problem: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        SUMMIT.replace(start_date=start, end_date=end)
    assert any(problem in p for p in refused.value.problems)
