"""What a pad's summit decides about it: read-only or not, and the template a new pad starts
with. A session's pad is named `<summit slug>.<session id>`; any other pad is a bare pad,
always writable and empty at first.

Those names are the summits': a pad named like a session of a summit that does not exist yet
is `unclaimed`, and is not started (else whatever anybody wrote there first would become the
session's notes once an organizer creates the summit). One stored before this rule stays a
bare pad.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from .clock import Clock
from .errors import InvalidInput, NotFound, StoreUnavailable
from .lifecycle import is_read_only
from .pad_template import template_update
from .schedule import parse_session_pad_id
from .summit_store import SummitData, SummitStore


@dataclass(frozen=True, slots=True)
class PadTerms:
    read_only: bool = False
    template: bytes | None = None  # the first update of a pad never written before
    unclaimed: str | None = None  # named like a session of this summit, which does not exist


BARE_PAD = PadTerms()


class PadRules:
    def __init__(self, summits: SummitStore, clock: Clock, grace: timedelta) -> None:
        self.summits = summits
        self.clock = clock
        self.grace = grace

    async def terms(self, pad_id: str, *, with_template: bool = False) -> PadTerms:
        """The pad's terms now; StoreUnavailable if the summit cannot be read. NotFound for
        `<summit>.<id>` of a summit without that session: nobody may write into the pad of a
        session before it exists (its template would never land)."""
        found = parse_session_pad_id(pad_id)
        if found is None:
            return BARE_PAD
        slug, session_id = found
        try:
            data = await self.summits.load(slug)
        except NotFound:
            return PadTerms(unclaimed=slug)
        return self._terms(pad_id, data, session_id, with_template)

    async def terms_of_each(self, pad_ids: Iterable[str]) -> dict[str, PadTerms]:
        """The terms of many pads, reading each summit once. Pads whose terms cannot be
        known now (the store does not answer, the session is gone) are left out."""
        summits: dict[str, SummitData | None] = {}
        unreadable: set[str] = set()
        found_terms = {}
        for pad_id in pad_ids:
            found = parse_session_pad_id(pad_id)
            if found is None:
                found_terms[pad_id] = BARE_PAD
                continue
            slug, session_id = found
            if slug in unreadable:
                continue
            if slug not in summits:
                try:
                    summits[slug] = await self.summits.load(slug)
                except NotFound:
                    summits[slug] = None
                except (StoreUnavailable, InvalidInput):
                    unreadable.add(slug)  # once per round, not once per pad
                    continue
            data = summits[slug]
            if data is None:
                found_terms[pad_id] = PadTerms(unclaimed=slug)
            elif session_id in data.sessions:
                found_terms[pad_id] = self._terms(pad_id, data, session_id, False)
        return found_terms

    def _terms(
        self, pad_id: str, data: SummitData, session_id: str, with_template: bool
    ) -> PadTerms:
        session = data.sessions.get(session_id)
        if session is None:
            raise NotFound(f"summit {data.summit.slug!r} has no session {session_id!r}")
        return PadTerms(
            read_only=is_read_only(session, self.clock.now(), self.grace),
            template=template_update(data.summit.template, pad_id) if with_template else None,
        )


def unclaimed_pad(slug: str) -> NotFound:
    return NotFound(f"there is no summit {slug!r}: its sessions' pads open once it exists")
