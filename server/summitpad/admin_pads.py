"""The organizers' list of every pad: id, session, last edit, size and who is in it now,
searched and cut into pages so that a deployment with ten thousand pads answers at once.

The list is every pad with something stored (`store.stored_pad_ids`, a SCAN), sorted by id.
A search keeps the pads where every word of the query (`search.query_words`) appears in the pad
id, in its session's title, or in its text as the summit keeps it for search (session pads
only: no text of a bare pad is kept apart, and reading them all would take too long). Only the
pads of the page shown are looked at further: their last edit, size and connections.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
from pycrdt import Text

from . import urls
from .errors import InvalidInput, NotFound, StoreUnavailable
from .keys import PadKeys
from .pad_export import TEXT_NAME, doc_from_updates
from .pads import PadRegistry
from .presence import Presence, last_edits
from .schedule import Session, Summit, parse_session_pad_id
from .search import query_words
from .store import UNAVAILABLE, PadStore, stored_pad_ids
from .summit_store import Notes, SummitData, SummitStore

PAGE_SIZE = 200


@dataclass(frozen=True, slots=True)
class PadRow:
    pad_id: str
    summit: Summit | None  # for a session's pad, while the summit and the session exist
    session: Session | None
    last_edited: datetime | None
    characters: int
    connections: int

    @property
    def url(self) -> str:
        if self.summit is not None and self.session is not None:
            return urls.session(self.summit.slug, self.session.id)
        return urls.pad(self.pad_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "pad_id": self.pad_id,
            "summit": self.summit.slug if self.summit else None,
            "session": self.session.id if self.session else None,
            "title": self.session.title if self.session else None,
            "last_edited": self.last_edited.isoformat() if self.last_edited else None,
            "characters": self.characters,
            "connections": self.connections,
            "url": self.url,
        }


@dataclass(frozen=True, slots=True)
class PadList:
    rows: list[PadRow]
    query: str
    page: int  # from 1
    pages: int
    matching: int  # pads the query keeps
    stored: int  # pads in all

    def to_json(self) -> dict[str, Any]:
        return {
            "pads": [row.to_json() for row in self.rows], "query": self.query,
            "page": self.page, "pages": self.pages, "matching": self.matching,
            "stored": self.stored, "page_size": PAGE_SIZE,
        }


def page_number(raw: str | None) -> int:
    if not raw:
        return 1
    if not raw.isdigit() or len(raw) > 6 or int(raw) < 1:
        raise InvalidInput("page: a number from 1")
    return int(raw)


class PadLister:
    """Lists one deployment's pads for the admin page."""

    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str,
        store: PadStore,
        summits: SummitStore,
        presence: Presence,
        registry: PadRegistry,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._store = store
        self._summits = summits
        self._presence = presence
        self._registry = registry
        self._loaded: dict[str, SummitData | None] = {}  # for one listing
        self._notes: dict[str, Notes] = {}

    async def _summit(self, slug: str) -> SummitData | None:
        if slug not in self._loaded:
            try:
                self._loaded[slug] = await self._summits.load(slug)
            except NotFound:
                self._loaded[slug] = None
        return self._loaded[slug]

    async def _session(self, pad_id: str) -> tuple[SummitData, Session] | None:
        found = parse_session_pad_id(pad_id)
        if found is None:
            return None
        data = await self._summit(found[0])
        if data is None or found[1] not in data.sessions:
            return None
        return data, data.sessions[found[1]]

    async def _notes_of(self, slug: str) -> Notes:
        if slug not in self._notes:
            self._notes[slug] = await self._summits.notes(slug)
        return self._notes[slug]

    async def _matches(self, pad_id: str, words: list[str]) -> bool:
        places = [pad_id.casefold()]
        found = await self._session(pad_id)
        if found is not None:
            data, session = found
            places.append(session.title.casefold())
            notes = await self._notes_of(data.summit.slug)
            places.append(notes.folded.get(session.id, ""))
        return all(any(word in place for place in places) for word in words)

    async def listing(self, query: str = "", page: int = 1) -> PadList:
        self._loaded.clear()
        self._notes.clear()
        every = sorted(await stored_pad_ids(self._client, self._prefix))
        words = query_words(query)
        chosen = [p for p in every if await self._matches(p, words)] if words else every
        pages = max(1, -(-len(chosen) // PAGE_SIZE))
        page = min(page, pages)
        shown = chosen[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        return PadList(
            await self._rows(shown), query, page, pages, len(chosen), len(every)
        )

    async def row(self, pad_id: str) -> PadRow:
        """One pad's row; NotFound if nothing is stored for it and it is not open here."""
        keys = PadKeys(self._prefix, pad_id)
        try:
            stored = await self._client.exists(keys.snap, keys.log)
        except UNAVAILABLE as exc:
            raise StoreUnavailable(f"cannot look the pad up now: {exc}") from exc
        if not stored and self._registry.live(pad_id) is None:
            raise NotFound(f"nothing is stored for pad {pad_id!r}")
        return (await self._rows([pad_id]))[0]

    async def _rows(self, pad_ids: list[str]) -> list[PadRow]:
        live = {pad_id: pad for pad_id in pad_ids if (pad := self._registry.live(pad_id))}
        here = {pad_id: len(pad.connections) for pad_id, pad in live.items()}
        counts = await self._presence.counts(pad_ids, here)
        edits = await last_edits(self._client, self._prefix, pad_ids)
        rows = []
        for pad_id in pad_ids:
            found = await self._session(pad_id)
            if pad_id in live:
                characters = len(live[pad_id].text())
            else:
                characters = await self._characters(pad_id, found)
            rows.append(PadRow(
                pad_id,
                found[0].summit if found else None,
                found[1] if found else None,
                edits.get(pad_id),
                characters,
                counts.get(pad_id, 0),
            ))
        return rows

    async def _characters(self, pad_id: str, found: tuple[SummitData, Session] | None) -> int:
        """The length of the pad's text: as its summit keeps it for search (a few seconds
        behind at most), else read from the store."""
        if found is not None:
            texts: Mapping[str, str] = (await self._notes_of(found[0].summit.slug)).texts
            if found[1].id in texts:
                return len(texts[found[1].id])
        state = await self._store.read(PadKeys(self._prefix, pad_id))
        snapshot = [state.snapshot] if state.snapshot else []
        doc = doc_from_updates(snapshot + [update for _, update in state.updates])
        return len(str(doc.get(TEXT_NAME, type=Text)))
