"""What the HTTP APIs do to pads, apart from how each one is asked and answers: read a pad as
stored or at a revision, change its text through the live pad, create it, count its revisions
and visitors, list every pad.

Both the Etherpad-compatible API (etherpad_api.py) and the JSON API (api_v1.py) use these; each
turns the errors below into its own answers. A pad exists once something is stored for it (a
snapshot or a log); a session's pad exists as soon as its session does, showing its summit's
template until somebody writes to it.

Writes are edits of the live pad (PadRegistry.edit): durable and sent to every connected client
when they return, attributed to the writer's author id, whose name goes in the pad's authors
hash as a participant's does. A read-only pad (a locked or ended session) takes none.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from pycrdt import Doc, Text

from .author_names import FALLBACK_COLOR
from .authorship import AUTHOR
from .errors import Conflict, Forbidden, NotFound, StoreUnavailable, TooLarge
from .history_store import HistoryStore
from .keys import PadKeys, check_pad_id
from .pad_export import TEXT_NAME, doc_from_updates
from .pad_import import MAX_CHARS
from .pad_rules import PadRules, PadTerms, unclaimed_pad
from .pads import PadRegistry
from .presence import Presence
from .schedule import Session, parse_session_pad_id
from .store import UNAVAILABLE, PadStore, as_text, parse_id, stored_pad_ids
from .summit_store import SummitData

log = logging.getLogger(__name__)

READ_ONLY = "the pad is read-only (its session is locked or over): nothing was changed"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # tab and newline stay


class PadNotFound(NotFound):
    """No pad by that id: an id that is not one, or nothing stored for it."""


class SessionNotFound(NotFound):
    """`<summit>.<session>` of a summit that has no such session."""


class RevisionNotFound(NotFound):
    """A revision past the pad's latest."""


class PadExists(Conflict):
    """Creating a pad that something is stored for already."""


class ReadOnlyPad(Forbidden):
    """The pad takes no edits now (its session is locked or over)."""


@dataclass(frozen=True, slots=True)
class FoundPad:
    """A pad that may be read: its keys, its terms now, and its summit and session if it is a
    session's pad."""

    keys: PadKeys
    terms: PadTerms
    summit: SummitData | None
    session: Session | None


@dataclass(frozen=True, slots=True)
class Writer:
    """Who an API's edits are by: an author id, and the name it shows under."""

    id: str
    name: str
    color: str = FALLBACK_COLOR


# -- the text -----------------------------------------------------------------------------------


def clean_text(text: str) -> str:
    """`text` with line ends made "\\n", control characters other than tab and newline dropped
    and lone surrogates replaced; TooLarge past MAX_CHARS characters."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    if len(text) > MAX_CHARS:
        raise TooLarge(f"text too long: at most {MAX_CHARS:,} characters")
    return text.encode("utf-8", "replace").decode()  # a lone surrogate cannot go in a pad


def without_final_newline(text: str) -> str:
    """A whole text as the pad holds it: Quill keeps the last line's newline out of the pad."""
    return text[:-1] if text.endswith("\n") else text


def replace_text(text: Text, new: str, author: str) -> None:
    """Make the pad's text `new`, written by `author` (pycrdt offsets: UTF-8 bytes)."""
    if len(text):
        del text[0:len(text)]
    if new:
        text.insert(0, new, {AUTHOR: author})


def append_text(text: Text, new: str, author: str) -> None:
    """Add `new` at the end of the pad, by `author`; TooLarge if the pad would pass MAX_CHARS
    characters (then nothing is changed)."""
    if len(str(text)) + len(new) > MAX_CHARS:
        raise TooLarge(f"the pad would hold more than {MAX_CHARS:,} characters")
    if new:
        text.insert(len(text), new, {AUTHOR: author})


def first_update(template: bytes | None, text: str | None, author: str) -> bytes:
    """A new pad's first entry: its template (if any), replaced by `text` if one is given."""
    doc: Doc[Any] = Doc()
    content = doc.get(TEXT_NAME, type=Text)
    if template:
        doc.apply_update(template)
    if text is not None:
        with doc.transaction():
            replace_text(content, text, author)
    return doc.get_update()


# -- the operations -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PadOperations:
    """The operations, over one deployment's store, live pads, rules and presence."""

    client: aioredis.Redis
    store: PadStore
    registry: PadRegistry
    rules: PadRules
    presence: Presence
    prefix: str

    def keys(self, pad_id: str) -> PadKeys:
        """The keys of pad `pad_id`; PadNotFound for a string that is no pad id."""
        try:
            return PadKeys(self.prefix, check_pad_id(pad_id))
        except NotFound as exc:
            raise PadNotFound(str(exc)) from None

    async def call(self, operation: Callable[[], Awaitable[Any]]) -> Any:
        try:
            return await operation()
        except UNAVAILABLE as exc:
            raise StoreUnavailable(f"Valkey/Redis cannot answer now: {exc}") from exc

    async def stored(self, keys: PadKeys) -> bool:
        """Whether anything is stored for the pad (a snapshot or a log)."""
        return bool(await self.call(lambda: self.client.exists(keys.snap, keys.log)))

    async def terms(self, pad_id: str, *, with_template: bool = False) -> PadTerms:
        """The pad's terms now; SessionNotFound for the pad of a session that does not exist."""
        try:
            return await self.rules.terms(pad_id, with_template=with_template)
        except NotFound as exc:
            raise SessionNotFound(str(exc)) from exc

    async def session(self, pad_id: str) -> tuple[SummitData, Session] | None:
        """The summit and session whose pad `pad_id` is; None for a bare pad (its name may
        only look like a session's, of a summit that does not exist); SessionNotFound for a
        summit without that session."""
        found = parse_session_pad_id(pad_id)
        if found is None:
            return None
        try:
            data = await self.rules.summits.load(found[0])
        except NotFound:
            return None
        session = data.sessions.get(found[1])
        if session is None:
            raise SessionNotFound(f"summit {found[0]!r} has no session {found[1]!r}")
        return data, session

    async def readable(self, pad_id: str) -> FoundPad:
        """A pad that may be read: a session's pad of an existing session (stored or not), any
        other pad once something is stored for it. PadNotFound, SessionNotFound otherwise."""
        keys = self.keys(pad_id)
        found = await self.session(pad_id)
        if found is None and not await self.stored(keys):
            raise PadNotFound(f"there is no pad {pad_id!r}")
        terms = await self.terms(pad_id, with_template=True)
        if found is None:
            return FoundPad(keys, terms, None, None)
        return FoundPad(keys, terms, found[0], found[1])

    async def state(
        self, keys: PadKeys, rev: int | None = None, *, template: bytes | None = None
    ) -> Doc[Any]:
        """The pad as stored (rev None; `template` if nothing is), or at revision `rev` (0: the
        empty pad); RevisionNotFound past the latest."""
        if rev is None:
            stored = await self.store.read(keys)
            snapshot = [stored.snapshot] if stored.snapshot else []
            updates = snapshot + [u for _, u in stored.updates]
            return doc_from_updates(updates or [template or b""])
        history = HistoryStore(self.client)
        view = await history.view(keys)
        if rev > view.count:
            raise RevisionNotFound(
                f"revision {rev} does not exist (the pad has {view.count})"
            )
        return await history.doc_at(view, rev)

    async def name_author(self, keys: PadKeys, writer: Writer) -> None:
        """Name `writer` in the pad's author list, as a participant's name is."""
        entry = json.dumps({"name": writer.name, "color": writer.color})
        await self.call(lambda: self.client.hset(keys.authors, writer.id, entry))

    async def edit(self, keys: PadKeys, writer: Writer, change: Callable[[Text], None]) -> None:
        """Change the pad's text through its live pad, as `writer`. ReadOnlyPad while it takes
        no edits; SessionNotFound for the pad of a session that does not exist; whatever
        `change` raises (then nothing is changed)."""
        if (await self.terms(keys.pad_id)).read_only:
            raise ReadOnlyPad(READ_ONLY)
        await self.name_author(keys, writer)
        try:
            await self.registry.edit(keys.pad_id, writer.id, change)
        except Forbidden as exc:  # locked since the check above
            raise ReadOnlyPad(READ_ONLY) from exc
        except NotFound as exc:
            raise SessionNotFound(str(exc)) from exc

    async def create(self, keys: PadKeys, text: str | None, writer: Writer) -> None:
        """The pad as it starts when first opened (its session's template, or empty), or with
        `text` (as the pad holds it) by `writer`; written in one go only if nothing is stored for
        it yet: PadExists otherwise. ReadOnlyPad for a text for a read-only pad."""
        terms = await self.terms(keys.pad_id, with_template=True)
        if terms.unclaimed is not None:
            raise SessionNotFound(str(unclaimed_pad(terms.unclaimed)))
        if text is not None and terms.read_only:
            raise ReadOnlyPad(READ_ONLY)
        first = first_update(terms.template, text, writer.id)
        if not await self.store.seed(keys, first, writer.id if text is not None else ""):
            raise PadExists(f"pad {keys.pad_id!r} exists already")
        if text is not None:
            await self.name_author(keys, writer)
        live = self.registry.live(keys.pad_id)
        if live is not None:  # a node skips its own messages: read the new entry now
            live.catch_up()
        log.info("created pad %s", keys.pad_id)

    async def revisions(self, keys: PadKeys) -> int:
        """The number of the pad's latest revision (0: none yet)."""
        return (await HistoryStore(self.client).view(keys)).count

    async def last_edited(self, keys: PadKeys) -> int | None:
        """The time of the newest log entry (the log always keeps it) in ms; None if nothing
        is stored."""
        last = await self.call(lambda: self.client.xrevrange(keys.log, count=1))
        if last:
            return parse_id(as_text(last[0][0]))[0]
        upto = await self.call(lambda: self.client.hget(keys.snap, "upto"))
        return parse_id(as_text(upto))[0] if upto else None

    async def users(self, pad_id: str) -> int:
        """Connections to the pad over every node (a pad open but never written has some)."""
        live = self.registry.live(pad_id)
        here = len(live.connections) if live is not None else 0
        return int(await self.presence.connections(pad_id, here))

    async def all_pads(self) -> list[str]:
        """Every pad with a snapshot or a log, found with SCAN (never KEYS), in order."""
        return sorted(await stored_pad_ids(self.client, self.prefix))

