"""Keeping live pads in step with their summit: read-only when the schedule or a moderator
says so, and their text handed to search a few seconds after it changes."""

from __future__ import annotations

import asyncio
import logging

from .errors import NotFound, StoreUnavailable
from .live_pad import LivePad
from .pad_rules import PadRules
from .pads import PadRegistry
from .schedule import parse_session_pad_id
from .summit_store import SummitStore

log = logging.getLogger(__name__)

RULES_INTERVAL = 1.0  # how soon a lock, a reopen or a grace period's end reaches live pads
TEXT_INTERVAL = 5.0  # how stale the search text of a pad being edited may be


async def save_text(summits: SummitStore, pad: LivePad) -> None:
    """Record a session pad's text for the summit's search; bare pads have none."""
    found = parse_session_pad_id(pad.pad_id)
    if found is None:
        return
    slug, session_id = found
    try:
        data = await summits.load(slug)
    except NotFound:
        return  # not a summit (any more): a bare pad with a dotted name
    except StoreUnavailable as exc:
        log.warning("pad %s: search text not saved: %s", pad.pad_id, exc)
        return
    except Exception:
        log.exception("pad %s: search text not saved", pad.pad_id)
        return
    if session_id in data.sessions and not pad.gone:  # a deleted pad's text left search
        await summits.save_text(slug, session_id, pad.text())


async def keep_pads_in_step(
    registry: PadRegistry, rules: PadRules, summits: SummitStore, stop: asyncio.Event
) -> None:
    """Run until `stop` is set (or cancelled)."""
    since_text = 0.0
    while not stop.is_set():
        await asyncio.sleep(RULES_INTERVAL)
        pads = list(registry)
        try:
            # A pad missing from the answer keeps what it has, until the store answers.
            terms = await rules.terms_of_each(pad.pad_id for pad in pads)
        except Exception:
            log.exception("cannot work out the live pads' terms")
            terms = {}
        for pad in pads:
            if pad.pad_id in terms:
                pad.set_read_only(terms[pad.pad_id].read_only)
        since_text += RULES_INTERVAL
        if since_text >= TEXT_INTERVAL:
            since_text = 0.0
            for pad in registry:
                if pad.text_changed:
                    pad.text_changed = False
                    try:
                        await save_text(summits, pad)
                    except Exception:
                        log.exception("pad %s: search text not saved", pad.pad_id)
