"""Summits and their sessions in Valkey/Redis.

    <prefix>:summits                      set of summit slugs
    <prefix>:{summit:<slug>}:meta         JSON of the summit (with its tracks and rooms)
    <prefix>:{summit:<slug>}:sessions     hash: session id -> JSON of the session
    <prefix>:{summit:<slug>}:version      counter, bumped by every change
    <prefix>:{summit:<slug>}:text         hash: session id -> plain text of its pad (search)

Every change is a read-check-write under WATCH: it is validated against the whole schedule as
it stands (unknown rooms, overlaps in a room) and either all of it lands or none of it. Pages
read through a per-process cache that is checked against the version counter, so the board of a
large summit does not parse every session on every request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio as aioredis
from redis import exceptions as redis_errors

from .errors import Conflict, InvalidInput, NotFound, StoreUnavailable
from .keys import SummitKeys, summit_index_key
from .schedule import Session, Summit, check_session, check_slug, overlaps
from .store import UNAVAILABLE, as_text

log = logging.getLogger(__name__)

_RETRIES = 20

# KEYS: text, text version, text changes. ARGV: session id[, text]. Writes (or, without a text,
# deletes) a session's search text and records which version changed it, so that readers can
# fetch just what changed since the version they hold.
_SAVE_TEXT = """
local version = redis.call('INCR', KEYS[2])
if ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
redis.call('ZADD', KEYS[3], version, ARGV[1])
return version
"""


@dataclass(frozen=True, slots=True)
class SummitData:
    """One consistent read of a summit and its sessions."""

    summit: Summit
    sessions: Mapping[str, Session]
    version: int

    def session(self, session_id: str) -> Session:
        session = self.sessions.get(session_id)
        if session is None:
            raise NotFound(f"summit {self.summit.slug!r} has no session {session_id[:80]!r}")
        return session


@dataclass(frozen=True, slots=True)
class Notes:
    """The stored text of a summit's pads, and the same case-folded for matching."""

    texts: Mapping[str, str]
    folded: Mapping[str, str]
    version: int


# A change to the sessions: the new or changed sessions, and the ids to delete.
SessionChange = tuple[list[Session], list[str]]


def check_schedule(summit: Summit, sessions: Mapping[str, Session]) -> list[str]:
    """Every problem of a whole schedule: each session's own, and rooms booked twice."""
    problems: list[str] = []
    for session in sessions.values():
        problems.extend(f"session {session.id!r}: {p}" for p in check_session(summit, session))
    for before, after in overlaps(list(sessions.values())):
        room = summit.room(before.room)
        problems.append(
            f"session {after.id!r}: room {room.name if room else before.room!r} is taken by "
            f"session {before.id!r} until {summit.hm(before.end)}"
        )
    return problems


class SummitStore:
    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._cache: dict[str, SummitData] = {}
        self._notes: dict[str, Notes] = {}
        self._save_text = client.register_script(_SAVE_TEXT)

    def keys(self, slug: str) -> SummitKeys:
        return SummitKeys(self.prefix, check_slug(slug))

    # -- reading ------------------------------------------------------------------------------

    async def slugs(self) -> list[str]:
        try:
            members = await self.client.smembers(summit_index_key(self.prefix))
        except UNAVAILABLE as exc:
            raise StoreUnavailable(f"cannot read the summits: {exc}") from exc
        return sorted(as_text(m) for m in members)

    async def summits(self) -> list[Summit]:
        found = []
        for slug in await self.slugs():
            try:
                found.append((await self.load(slug)).summit)
            except NotFound:
                continue  # deleted meanwhile
            except InvalidInput as exc:  # stored by an older version with other rules
                log.error("summit %s cannot be read: %s", slug, exc)
        return sorted(found, key=lambda s: (s.start_date, s.name))

    async def load(self, slug: str) -> SummitData:
        """The summit and its sessions: from the cache if nothing changed since."""
        keys = self.keys(slug)
        try:
            raw_version = await self.client.get(keys.version)
        except UNAVAILABLE as exc:
            raise StoreUnavailable(f"cannot read summit {slug!r}: {exc}") from exc
        version = int(raw_version or 0)
        cached = self._cache.get(slug)
        if cached is not None and cached.version == version:
            return cached
        try:
            pipe = self.client.pipeline(transaction=True)
            pipe.get(keys.version)
            pipe.get(keys.meta)
            pipe.hgetall(keys.sessions)
            raw_version, meta, raw_sessions = await pipe.execute()
        except UNAVAILABLE as exc:
            raise StoreUnavailable(f"cannot read summit {slug!r}: {exc}") from exc
        if meta is None:
            self._cache.pop(slug, None)
            raise NotFound(f"there is no summit {slug!r}")
        data = SummitData(
            summit=Summit.from_json(json.loads(meta)),
            sessions={
                as_text(k): Session.from_json(json.loads(v)) for k, v in raw_sessions.items()
            },
            version=int(raw_version or 0),
        )
        self._cache[slug] = data
        return data

    # -- changing -----------------------------------------------------------------------------

    async def create(self, summit: Summit) -> None:
        keys = self.keys(summit.slug)
        try:
            if not await self.client.set(keys.meta, json.dumps(summit.to_json()), nx=True):
                raise Conflict(f"there is already a summit {summit.slug!r}")
            await self.client.incr(keys.version)
            await self.client.sadd(summit_index_key(self.prefix), summit.slug)
        except UNAVAILABLE as exc:
            raise StoreUnavailable(f"cannot create summit {summit.slug!r}: {exc}") from exc
        log.info("summit %s created", summit.slug)

    async def update(
        self,
        slug: str,
        change: Callable[[SummitData], tuple[Summit | None, SessionChange]],
    ) -> SummitData:
        """Apply `change` to the summit as stored, atomically; retried if another change lands
        in between. `change` returns the new summit (None: unchanged) and the sessions to write
        and delete. The whole result is checked first: InvalidInput and nothing changes."""
        keys = self.keys(slug)
        for _ in range(_RETRIES):
            try:
                async with self.client.pipeline(transaction=True) as pipe:
                    await pipe.watch(keys.meta, keys.sessions)
                    meta = await pipe.get(keys.meta)
                    if meta is None:
                        raise NotFound(f"there is no summit {slug!r}")
                    raw = await pipe.hgetall(keys.sessions)
                    current = SummitData(
                        Summit.from_json(json.loads(meta)),
                        {as_text(k): Session.from_json(json.loads(v)) for k, v in raw.items()},
                        0,
                    )
                    new_summit, (written, deleted) = change(current)
                    summit = new_summit or current.summit
                    sessions = dict(current.sessions)
                    for session_id in deleted:
                        sessions.pop(session_id, None)
                    for session in written:
                        sessions[session.id] = session
                    problems = check_schedule(summit, sessions)
                    if problems:
                        raise InvalidInput("the change was refused; nothing was changed", problems)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if new_summit is not None:
                        pipe.set(keys.meta, json.dumps(summit.to_json()))
                    if written:
                        pipe.hset(keys.sessions, mapping={
                            s.id: json.dumps(s.to_json()) for s in written
                        })
                    if deleted:
                        pipe.hdel(keys.sessions, *deleted)
                    pipe.incr(keys.version)
                    results = await pipe.execute()
                    for session_id in deleted:
                        await self._touch_text(keys, session_id, None)
                    return SummitData(summit, sessions, int(results[-1]))
            except redis_errors.WatchError:
                continue
            except UNAVAILABLE as exc:
                raise StoreUnavailable(f"cannot change summit {slug!r}: {exc}") from exc
        raise Conflict(f"summit {slug!r} changed too often to apply this change; try again")

    async def save_session(self, slug: str, session: Session) -> SummitData:
        """Write `session` whole (a new one, or one that the caller read in full)."""
        return await self.update(slug, lambda _: (None, ([session], [])))

    async def change_session(self, slug: str, session_id: str, **changes: Any) -> SummitData:
        """Change some fields of a session as it is stored when the change lands, so that
        changes to other fields meanwhile (an import, a lock) are kept."""
        return await self.update(
            slug, lambda current: (None, ([current.session(session_id).replace(**changes)], []))
        )

    async def save_summit(self, summit: Summit) -> SummitData:
        return await self.update(summit.slug, lambda _: (summit, ([], [])))

    # -- search text --------------------------------------------------------------------------

    async def save_text(self, slug: str, session_id: str, text: str) -> None:
        """Record the plain text of a session's pad for search (best effort)."""
        try:
            await self._touch_text(self.keys(slug), session_id, text)
        except UNAVAILABLE as exc:
            log.warning("search text of %s.%s not saved: %s", slug, session_id, exc)

    async def forget_text(self, slug: str, session_id: str) -> None:
        """Take a session's pad text out of search (the pad was deleted)."""
        try:
            await self._touch_text(self.keys(slug), session_id, None)
        except UNAVAILABLE as exc:
            raise StoreUnavailable(f"cannot change the notes of summit {slug!r}: {exc}") from exc

    async def _touch_text(self, keys: SummitKeys, session_id: str, text: str | None) -> None:
        args = [session_id] if text is None else [session_id, text]
        await self._save_text(keys=[keys.text, keys.text_version, keys.text_changes], args=args)

    async def texts(self, slug: str) -> dict[str, str]:
        return dict((await self.notes(slug)).texts)

    async def notes(self, slug: str) -> Notes:
        """The pads' text of every session, as stored for search: from a per-process cache
        while nothing changed (a summit's notes are megabytes)."""
        keys = self.keys(slug)
        try:
            version = int(await self.client.get(keys.text_version) or 0)
            cached = self._notes.get(slug)
            if cached is not None and cached.version == version:
                return cached
            if cached is not None and cached.version < version:
                return await self._refresh_notes(slug, cached)
            # Nothing cached, or the counter went back (keys deleted, a restore): read it all.
            pipe = self.client.pipeline(transaction=True)
            pipe.get(keys.text_version)
            pipe.hgetall(keys.text)
            raw_version, raw = await pipe.execute()
        except UNAVAILABLE as exc:
            raise StoreUnavailable(f"cannot read the notes of summit {slug!r}: {exc}") from exc
        texts = {as_text(k): as_text(v) for k, v in raw.items()}
        notes = Notes(texts, {k: v.casefold() for k, v in texts.items()}, int(raw_version or 0))
        self._notes[slug] = notes
        return notes

    async def _refresh_notes(self, slug: str, cached: Notes) -> Notes:
        """Read only the texts that changed since `cached` (one pad edited: one field)."""
        keys = self.keys(slug)
        changed = cast(list[tuple[bytes, float]], await self.client.zrangebyscore(
            keys.text_changes, f"({cached.version}", "+inf", withscores=True
        ))
        if not changed:
            return cached
        ids = [as_text(member) for member, _ in changed]
        values = await self.client.hmget(keys.text, ids)
        texts, folded = dict(cached.texts), dict(cached.folded)
        for session_id, value in zip(ids, values, strict=True):
            if value is None:
                texts.pop(session_id, None)
                folded.pop(session_id, None)
            else:
                texts[session_id] = as_text(value)
                folded[session_id] = texts[session_id].casefold()
        notes = Notes(texts, folded, max(int(score) for _, score in changed))
        self._notes[slug] = notes
        return notes
