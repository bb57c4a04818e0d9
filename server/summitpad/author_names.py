"""The names and colours of a pad's authors, kept so that they outlive the connections.

A participant announces a name and colour in awareness (`user.name`, `user.color`); the live pad
hands every awareness state of a connection to `AuthorNames.seen`, which records the name under
the connection's author id (never an id the client claims) in the hash
`<prefix>:{pad:<id>}:authors` (author id -> JSON {name, color}). Pages and exports read it with
`read_authors`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

import redis.asyncio as aioredis

from .keys import PadKeys
from .store import UNAVAILABLE, as_text

log = logging.getLogger(__name__)

NAME_MAX = 40
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
FALLBACK_COLOR = "#475467"


def clean_name(name: Any) -> str:
    """A display name: control characters out, spaces collapsed, at most NAME_MAX long."""
    if not isinstance(name, str):
        return ""
    return " ".join(_CONTROL.sub(" ", name).split())[:NAME_MAX].strip()


def clean_color(color: Any) -> str:
    return color.lower() if isinstance(color, str) and _COLOR.fullmatch(color) else FALLBACK_COLOR


def announced(state: bytes) -> tuple[str, str] | None:
    """(name, colour) from one awareness state, if it announces a name."""
    if b'"user"' not in state:
        return None
    try:
        user = json.loads(state).get("user")
    except (ValueError, AttributeError, RecursionError):
        return None
    if not isinstance(user, dict):
        return None
    name = clean_name(user.get("name"))
    return (name, clean_color(user.get("color"))) if name else None


async def read_authors(client: aioredis.Redis, keys: PadKeys) -> dict[str, dict[str, str]]:
    """Author id -> {"name", "color"} for every author the pad has recorded."""
    return recorded_authors(await client.hgetall(keys.authors))


def recorded_authors(raw: Mapping[Any, Any]) -> dict[str, dict[str, str]]:
    """The authors hash as stored (HGETALL's reply), checked: {"name", "color"} per author id;
    a value that is not a JSON object is left out."""
    authors = {}
    for author, value in raw.items():
        try:
            data = json.loads(value)
        except (ValueError, RecursionError):
            continue
        if not isinstance(data, dict):
            continue
        authors[as_text(author)] = {
            "name": clean_name(data.get("name")) or "anonymous",
            "color": clean_color(data.get("color")),
        }
    return authors


class AuthorNames:
    """One live pad's record of names; writes only what changed, in the background."""

    def __init__(self, client: aioredis.Redis, keys: PadKeys) -> None:
        self._client = client
        self._keys = keys
        self._known: dict[str, tuple[str, str]] = {}
        self._pending: dict[str, tuple[str, str]] = {}
        self._task: asyncio.Task[None] | None = None

    def seen(self, author: str, states: Iterable[bytes]) -> None:
        if not author:
            return
        for state in states:
            found = announced(state)
            if found is not None and self._known.get(author) != found:
                self._known[author] = found
                self._pending[author] = found
        if self._pending and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._write())

    async def _write(self) -> None:
        while self._pending:
            pending, self._pending = self._pending, {}
            mapping: dict[Any, Any] = {
                a: json.dumps({"name": n, "color": c}) for a, (n, c) in pending.items()
            }
            try:
                await self._client.hset(self._keys.authors, mapping=mapping)
            except UNAVAILABLE as exc:
                log.debug("pad %s: author names not written: %s", self._keys.pad_id, exc)
                for author in pending:
                    self._known.pop(author, None)  # written again when next announced
                return

    async def close(self) -> None:
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
