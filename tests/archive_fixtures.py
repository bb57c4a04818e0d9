"""A summit with pads written the way the server leaves them, for the archive's tests.

Pads are written straight to the store: log entries with their authors at set times (as a
live pad appends them), part of them folded into the history (`HistoryStore.extend`), saved
revisions, chat messages, the authors' names and a read-only id. Every field a person writes
carries script payloads, so every page of the archive is tested for escaping.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import redis.asyncio as aioredis
from pycrdt import Doc, Text
from summitpad.archive import write_archive
from summitpad.history_store import HistoryStore
from summitpad.keys import PadKeys, pad_keys
from summitpad.schedule import Room, Session, Summit, Track
from summitpad.summit_store import SummitStore

from .summit_fixtures import XSS, berlin

ATTR_XSS = '"><img src=x onerror=alert(1)>'
JS_LINK = "javascript:alert(1)"
PAYLOADS = (XSS, ATTR_XSS)
RO_ID = "r" + "A" * 27
# After every session's end: each ended session has its "end of session" revision.
NOW = datetime(2026, 5, 10, 12, tzinfo=UTC)

SUMMIT = Summit(
    slug="arch",
    name=f"Archive Summit {ATTR_XSS}",
    start_date=date(2026, 5, 4),
    end_date=date(2026, 5, 5),
    timezone="Europe/Berlin",
    template="# Agenda\n\n# Notes\n",
    tracks=(Track("storage", f"Storage {XSS}", "#1d4ed8"), Track("ha", "HA", "#b91c1c")),
    rooms=(Room("room-a", f"Room {ATTR_XSS}"), Room("room-b", "Room B")),
)
SESSIONS = (
    Session("s1", f"Storage {XSS}", track="storage", room="room-a", start=berlin(4, 9),
            end=berlin(4, 9, 40), moderator=ATTR_XSS,
            description=f"{JS_LINK} {XSS}\n{ATTR_XSS}"),
    Session("s2", "HA failover", track="ha", room="room-b", start=berlin(4, 9),
            end=berlin(4, 9, 40), moderator="Carol"),
    Session("s3", "Never written", track="storage", room="room-a", start=berlin(4, 10),
            end=berlin(4, 10, 40)),
    Session("s4", "Day two", room="room-b", start=berlin(5, 9), end=berlin(5, 9, 40)),
    Session("idea", "An idea without a slot"),
)
AUTHORS = {
    "ann": {"name": "Ann", "color": "#1D4ED8"},
    "bob": {"name": ATTR_XSS, "color": "red;}</style><script>alert(1)</script>"},
    # "zed" wrote text but never announced a name: anonymous
}
CHAT = (
    ("ann", "Ann", "#1d4ed8", "hello & welcome"),
    ("bob", ATTR_XSS, "x</style><script>alert(1)</script>", XSS),
)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass
class PadWriter:
    """Types into one pad: each call is one log entry of one author at a set time."""

    client: aioredis.Redis
    keys: PadKeys
    doc: Doc[Any] = field(default_factory=lambda: Doc(client_id=7))
    pending: list[tuple[int, str, bytes]] = field(default_factory=list)

    @property
    def text(self) -> Text:
        return self.doc.get("content", type=Text)

    def type(self, at_ms: int, author: str, runs: list[tuple[str, dict[str, Any]]]) -> None:
        before = self.doc.get_state()
        with self.doc.transaction():
            for chunk, attrs in runs:
                position = len(str(self.text).encode())
                self.text.insert(position, chunk, {"author": author, **attrs})
        self.pending.append((at_ms, author, self.doc.get_update(before)))

    async def flush(self) -> None:
        for at_ms, author, update in self.pending:
            await self.client.xadd(self.keys.log, {"u": update, "a": author}, id=f"{at_ms}-0")
        self.pending.clear()


def line(text: str, **line_format: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(text, {}), ("\n", line_format)]


async def write_s1(client: aioredis.Redis, prefix: str) -> PadWriter:
    """The rich pad: headings, links, checklists, action lines, three authors; half of it in
    the written history, the rest only in the log; a saved revision; chat; a read-only id."""
    keys = pad_keys(prefix, SUMMIT.pad_id("s1"))
    pad = PadWriter(client, keys)
    start = ms(berlin(4, 9, 1))
    pad.type(start, "ann", line("Storage plan", header=1))
    pad.type(start + 5_000, "bob", [
        ("Bob writes ", {}), ("click", {"link": JS_LINK}), (" and ", {}),
        ("site", {"link": "https://example.org/?a=1&b=2"}), ("\n", {}),
    ])
    pad.type(start + 10_000, "ann", line(XSS))
    pad.type(start + 15_000, "zed", line(f"anonymous {ATTR_XSS}"))
    await pad.flush()
    saved = await HistoryStore(client).save(keys, label=f"agreed {XSS}", author="bob",
                                            name=ATTR_XSS, time_ms=start + 16_000)
    assert saved is not None and saved.number == 4
    assert await HistoryStore(client).extend(keys) == 4
    pad.type(start + 20_000, "ann", line("done thing", list="checked"))
    pad.type(start + 25_000, "bob", line("open thing", list="unchecked"))
    pad.type(start + 30_000, "ann", line("Call the vendor #action"))
    pad.type(start + 35_000, "ann", line("Also #ACTION, any case"))
    pad.type(start + 40_000, "ann", line("ACTION: write the doc"))
    pad.type(start + 45_000, "ann", line("not #actions, nor action: in lower case"))
    pad.type(ms(berlin(4, 9, 50)), "bob", line("after the end"))  # past the session's end
    await pad.flush()
    for author, found in AUTHORS.items():
        await client.hset(keys.authors, author, json.dumps(found))
    for author, name, color, text in CHAT:
        body = {"author": author, "name": name, "color": color, "text": text}
        await client.xadd(keys.chat, {"m": json.dumps(body)})
    await client.set(keys.ro, RO_ID)
    return pad


async def write_plain(client: aioredis.Redis, prefix: str, session_id: str, text: str,
                      at: datetime) -> PadWriter:
    keys = pad_keys(prefix, SUMMIT.pad_id(session_id))
    pad = PadWriter(client, keys)
    pad.type(ms(at), "ann", line(text))
    await pad.flush()
    await client.hset(keys.authors, "ann", json.dumps(AUTHORS["ann"]))
    return pad


async def seed_archive_summit(client: aioredis.Redis, prefix: str) -> dict[str, PadWriter]:
    """The summit and its pads: s1 rich, s2 and s4 one line each (s2 with action items),
    s3 and the unscheduled idea never written."""
    store = SummitStore(client, prefix)
    await store.create(SUMMIT)
    await store.update(SUMMIT.slug, lambda _: (None, (list(SESSIONS), [])))
    return {
        "s1": await write_s1(client, prefix),
        "s2": await write_plain(client, prefix, "s2", "[ ] not a checklist; ACTION: fence",
                                berlin(4, 9, 5)),
        "s4": await write_plain(client, prefix, "s4", "day two notes", berlin(5, 9, 5)),
    }


async def archive_files(
    client: aioredis.Redis, prefix: str, slug: str = SUMMIT.slug, now: datetime = NOW
) -> dict[str, bytes]:
    """The archive's files (path under the top folder -> bytes), in the zip's order."""
    buffer = io.BytesIO()
    await write_archive(client, prefix, slug, buffer, now=now)
    return unzip(buffer.getvalue(), slug)


def unzip(data: bytes, slug: str) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert all(name.startswith(f"{slug}/") for name in names), names
        return {name[len(slug) + 1:]: archive.read(name) for name in names}
