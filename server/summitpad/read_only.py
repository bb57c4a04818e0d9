"""Read-only ids: a second, unguessable name for each pad that only ever shows it.

    <prefix>:{pad:<id>}:ro   the pad's read-only id
    <prefix>:ro:<ro-id>      the pad id that read-only id shows (the way back)

A pad gets its read-only id the first time anybody asks: the way-back key of a new id is
written first, then the pad's key with NX, so two nodes asking at once hand out the same one
(the loser's way-back key is removed). Each step touches one key, so this works on a Redis
Cluster too, where the two keys live in different slots. The id is random (not derived from the
pad id), so knowing it tells nothing about the writable pad.
"""

from __future__ import annotations

import re
import secrets

import redis.asyncio as aioredis

from .errors import NotFound, StoreUnavailable
from .keys import pad_keys, read_only_key
from .store import UNAVAILABLE, as_text

# "r" and 27 url-safe characters: 160 random bits. ("ro" is a reserved summit slug.)
RO_ID_BYTES = 20
RO_ID_PATTERN = r"r[A-Za-z0-9_-]{26,40}"
_RO_ID = re.compile(RO_ID_PATTERN)



def new_ro_id() -> str:
    return "r" + secrets.token_urlsafe(RO_ID_BYTES)


def is_ro_id(value: str) -> bool:
    return bool(_RO_ID.fullmatch(value))




class ReadOnlyIds:
    """Hands out and resolves read-only ids; StoreUnavailable when Valkey cannot answer."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    async def for_pad(self, pad_id: str) -> str:
        """The read-only id of `pad_id`, made now if it has none yet."""
        keys = pad_keys(self.prefix, pad_id)
        try:
            existing = await self.client.get(keys.ro)
            if existing is not None:
                return as_text(existing)
            candidate = new_ro_id()
            while not await self.client.set(read_only_key(self.prefix, candidate), pad_id,
                                            nx=True):
                candidate = new_ro_id()  # taken (never, with 160 bits): draw again
            if await self.client.set(keys.ro, candidate, nx=True):
                return candidate
            # Another node gave the pad its id first: take that one, drop ours.
            await self.client.delete(read_only_key(self.prefix, candidate))
            winner = await self.client.get(keys.ro)
            if winner is None:
                raise StoreUnavailable("the pad's read-only id vanished; try again")
            return as_text(winner)
        except UNAVAILABLE as exc:
            raise StoreUnavailable(f"Valkey/Redis cannot answer now: {exc}") from exc

    async def pad_of(self, ro_id: str) -> str | None:
        """The pad that `ro_id` shows; None for an id that is not one."""
        if not is_ro_id(ro_id):
            return None
        try:
            pad_id = await self.client.get(read_only_key(self.prefix, ro_id))
        except UNAVAILABLE as exc:
            raise StoreUnavailable(f"Valkey/Redis cannot answer now: {exc}") from exc
        return None if pad_id is None else as_text(pad_id)

    async def require_pad_of(self, ro_id: str) -> str:
        """The pad that `ro_id` shows; NotFound (without echoing anything stored) if none."""
        pad_id = await self.pad_of(ro_id)
        if pad_id is None:
            raise NotFound("no pad has this read-only link")
        return pad_id
