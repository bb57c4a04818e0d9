"""A big summit, written to Valkey the way the server leaves it after the sessions ended.

Used by bench/archive.py. Every session's pad is typed by three participants in turns of about
a hundred characters, two seconds apart during the session, until it holds `chars` characters,
with a few checklist items and `ACTION:` lines among them. The log entries are what a live pad
records (each participant's update with its `author` attribution); then the pad is folded as
compaction does it (`HistoryStore.extend`, then `PadStore.compact` under the lease), so the keys
are the ones the server makes. Each pad also gets names for its authors and a few chat messages.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import redis.asyncio as aioredis
from pycrdt import Doc, Text
from summitpad.authorship import AUTHOR
from summitpad.history_store import HistoryStore
from summitpad.keys import PadKeys
from summitpad.pad_export import TEXT_NAME
from summitpad.schedule import Room, Session, Summit, Track
from summitpad.store import PadStore
from summitpad.summit_store import SummitStore

SLUG = "bench-summit"
DAYS = 5
SLOTS_PER_DAY = 8
SESSION_MINUTES = 40
WORDS = (
    "quota scheduler placement cells nova neutron keystone upgrade rolling release cycle "
    "api microversion deprecation policy review gate tempest devstack region federation "
    "token cache latency migration database schema backlog priority milestone"
).split()
AUTHORS = (("a-ana", "Ana", "#e11d48"), ("a-bo", "Bo", "#2563eb"), ("a-chen", "Chen", "#16a34a"))


def schedule(sessions: int) -> tuple[Summit, list[Session]]:
    """`sessions` sessions of 40 minutes, in as many rooms as they need over five days."""
    rooms_needed = -(-sessions // (DAYS * SLOTS_PER_DAY))
    rooms = tuple(Room(f"room-{r:03d}", f"Room {r:03d}") for r in range(rooms_needed))
    tracks = tuple(Track(f"track-{t}", f"Track {t}", "#64748b") for t in range(12))
    first = date(2026, 5, 4)
    summit = Summit(SLUG, "Benchmark Summit", first, first + timedelta(days=DAYS - 1),
                    tracks=tracks, rooms=rooms)
    made = []
    for n in range(sessions):
        day, rest = divmod(n, SLOTS_PER_DAY * len(rooms))
        slot, room = divmod(rest, len(rooms))
        start = datetime(2026, 5, 4, 9, tzinfo=UTC) + timedelta(days=day, minutes=50 * slot)
        made.append(Session(
            id=f"s{n:05d}", title=f"Session {n}: {' '.join(random.sample(WORDS, 3))}",
            track=tracks[n % len(tracks)].id, room=rooms[room].id, start=start,
            end=start + timedelta(minutes=SESSION_MINUTES), moderator=f"Moderator {n % 97}",
        ))
    return summit, made


def _chunk(rng: random.Random, n: int) -> tuple[str, dict[str, Any] | None]:
    """About a hundred characters of notes: a plain line, a checklist item or an ACTION."""
    words = " ".join(rng.choice(WORDS) for _ in range(14))
    if n % 10 == 3:
        return f"ACTION: {words[:80]}\n", None
    if n % 10 == 7:
        return f"{words[:90]}\n", {"list": "unchecked" if n % 20 else "checked"}
    return f"{words} ", None


def pad_entries(start_ms: int, chars: int, seed: int) -> list[tuple[str, str, bytes]]:
    """(log id, author, update) of a pad typed up to `chars` characters."""
    rng = random.Random(seed)
    docs = [Doc() for _ in AUTHORS]
    for doc in docs:
        doc.get(TEXT_NAME, type=Text)
    entries = []
    n = 0
    length = 0  # characters (all ASCII here, so also bytes)
    while length < chars:
        who = n % len(AUTHORS)
        doc = docs[who]
        text = doc.get(TEXT_NAME, type=Text)
        before = doc.get_state()
        chunk, line_format = _chunk(rng, n)
        chunk = chunk[: max(1, chars - length)]
        text.insert(length, chunk, {AUTHOR: AUTHORS[who][0]})
        if line_format is not None and chunk.endswith("\n"):
            text.format(length + len(chunk) - 1, length + len(chunk), line_format)
        update = doc.get_update(before)
        for other in docs:
            if other is not doc:
                other.apply_update(update)
        length += len(chunk)
        entries.append((f"{start_ms + 2_000 * n}-0", AUTHORS[who][0], update))
        n += 1
    return entries


async def write_pad(client: aioredis.Redis, keys: PadKeys, session: Session, chars: int,
                    seed: int) -> None:
    assert session.start is not None
    entries = pad_entries(int(session.start.timestamp() * 1000), chars, seed)
    async with client.pipeline(transaction=False) as pipe:
        for entry_id, author, update in entries:
            pipe.xadd(keys.log, {"u": update, "a": author}, id=entry_id)
        for author, name, colour in AUTHORS:
            pipe.hset(keys.authors, author, json.dumps({"name": name, "color": colour}))
        for m in range(5):
            author, name, colour = AUTHORS[m % len(AUTHORS)]
            body = {"author": author, "name": name, "color": colour,
                    "text": f"message {m} about {WORDS[(seed + m) % len(WORDS)]}"}
            chat_id = f"{int(session.start.timestamp() * 1000) + 60_000 * (m + 1)}-0"
            pipe.xadd(keys.chat, {"m": json.dumps(body)}, id=chat_id)
        await pipe.execute()
    await HistoryStore(client).extend(keys)
    doc: Doc[Any] = Doc()
    doc.get(TEXT_NAME, type=Text)
    for _, _, update in entries:
        doc.apply_update(update)
    store = PadStore(client, "bench-archive")
    assert await store.try_lease(keys)
    assert await store.compact(keys, doc.get_update(), entries[-1][0])


async def write_summit(
    client: aioredis.Redis, prefix: str, sessions: int, chars: int,
    progress: Callable[[int], None] = lambda _: None,
) -> Summit:
    random.seed(7)
    summit, made = schedule(sessions)
    store = SummitStore(client, prefix)
    await store.create(summit)
    await store.update(SLUG, lambda _: (None, (made, [])))
    bound = asyncio.Semaphore(16)

    async def one(n: int, session: Session) -> None:
        async with bound:
            await write_pad(client, PadKeys(prefix, summit.pad_id(session.id)), session, chars, n)
        progress(1)

    await asyncio.gather(*(one(n, s) for n, s in enumerate(made)))
    return summit
