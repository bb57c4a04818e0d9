"""The Etherpad HTTP API, the part scripts use: text and HTML of pads, their revisions, users
and last edit, listing, creating and deleting pads, so that Etherpad scripts work unchanged.

The shapes follow Etherpad 1.2.15 (doc/api/http_api.md; src/node/db/API.ts for each function,
src/node/handler/APIHandler.ts for versions and the key, src/node/hooks/express/openapi.ts for
the answers): every answer is `{"code", "message", "data"}`, code 0 "ok", 1 wrong parameters,
2 internal error, 3 no such function (or version), 4 no or wrong API key. Parameters come from
the query or the form body (GET and POST alike), the key as `apikey` (or `api_key`, or the raw
`Authorization` header).

The pad is the Y.Text `content` as Quill edits it. Etherpad's text always ends with a newline,
and so does Quill's, which keeps its last one out of the Y.Text: `getText` answers the pad's
text with that newline added; `setText` and `createPad` take a final newline off the text they
get (where Etherpad adds one when it is missing), and `appendText` adds to the end of the pad,
which is before that last newline, as in Etherpad. Writes are edits of the live pad,
attributed to the API's author (a stable id of this deployment, named "Etherpad API"), durable
and seen by every connected client when the answer comes; a read-only pad (a locked or ended
session) takes none.

A pad exists once something is stored for it (a snapshot or a log): a session's pad once it was
opened or written. Revisions are summitpad's (one per author per few seconds of editing, see
history.py): `getRevisionsCount` is the number of the latest, which `rev` takes (0 is the empty
pad, before any revision).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from pycrdt import Doc, Text

from .errors import NotFound, TooLarge
from .keys import PadKeys, check_pad_id
from .pad_deletion import delete_pad
from .pad_export import pad_content
from .pad_export_html import pad_blocks
from .pad_operations import (
    READ_ONLY,
    PadExists,
    PadOperations,
    ReadOnlyPad,
    RevisionNotFound,
    Writer,
    append_text,
    clean_text,
    replace_text,
    without_final_newline,
)
from .pad_rules import BARE_PAD, PadRules
from .pads import PadRegistry
from .presence import Presence
from .store import PadStore
from .summit_store import SummitStore

log = logging.getLogger(__name__)

API_VERSION = "1.2.15"
# Etherpad's API versions up to 1.2.15 (APIHandler.ts): each has every function here, except
# listAllPads (from 1.2.1) and appendText (from 1.2.13).
VERSIONS = ("1", "1.1", "1.2", "1.2.1", "1.2.7", "1.2.8", "1.2.9", "1.2.10", "1.2.11",
            "1.2.12", "1.2.13", "1.2.14", "1.2.15")
AUTHOR_NAME = "Etherpad API"
_REV = re.compile(r"\s*(-?\d{1,18})\s*")

Fields = Mapping[str, str]


class ApiError(Exception):
    """An answer other than "ok": Etherpad's code, and the HTTP status it goes out with."""

    code = 2
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class WrongParameters(ApiError):
    code = 1
    status = 200  # Etherpad answers 200 here, "to keep old behavior" (openapi.ts)


class NoSuchFunction(ApiError):
    code = 3
    status = 404


class WrongKey(ApiError):
    code = 4
    status = 401  # as Etherpad since 1.8: openapi.ts turns its 401 into code 4


def api_author(secret: bytes) -> str:
    """The author id of the API's edits: the same on every node of one deployment."""
    digest = hmac.new(secret, b"etherpad-api", hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(digest).decode()


# -- parameters ---------------------------------------------------------------------------------


def pad_id_of(fields: Fields) -> str:
    pad_id = fields.get("padID")
    if pad_id is None:
        raise WrongParameters("padID is not a string")
    try:
        return check_pad_id(pad_id)
    except NotFound:
        raise WrongParameters(
            "padID did not match requirements: 1-100 of A-Z a-z 0-9 _ . - (not . or ..)"
        ) from None


def text_of(fields: Fields) -> str | None:
    """The `text` parameter with line ends made "\\n" and control characters dropped."""
    text = fields.get("text")
    if text is None:
        return None
    try:
        return clean_text(text)
    except TooLarge as exc:
        raise WrongParameters(str(exc)) from None


def _required_text(fields: Fields) -> str:
    text = text_of(fields)
    if text is None:
        raise WrongParameters("text is not a string")
    return text


def rev_of(fields: Fields) -> int | None:
    raw = fields.get("rev")
    if raw is None or raw == "":
        return None
    match = _REV.fullmatch(raw)
    if not match:
        raise WrongParameters("rev is not a number")
    rev = int(match[1])
    if rev < 0:
        raise WrongParameters("rev is a negative number")
    return rev


# -- the pad's text as Etherpad has it ----------------------------------------------------------


def etherpad_text(text: str) -> str:
    """The pad's text as Etherpad (and Quill) show it: with its final newline."""
    return text + "\n"


def pad_text(text: str) -> str:
    """Etherpad's text as the pad holds it: without its final newline."""
    return without_final_newline(text)


def html_page(body: str) -> str:
    """Etherpad's getHTML wraps the pad's HTML like this."""
    return f"<!DOCTYPE HTML><html><body>{body}</body></html>"


# -- the functions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EtherpadApi:
    """The functions, over one deployment's store, live pads, rules and presence."""

    client: aioredis.Redis
    store: PadStore
    registry: PadRegistry
    rules: PadRules
    presence: Presence
    summits: SummitStore
    prefix: str
    author: str

    @property
    def ops(self) -> PadOperations:
        return PadOperations(self.client, self.store, self.registry, self.rules, self.presence,
                             self.prefix)

    @property
    def writer(self) -> Writer:
        return Writer(self.author, AUTHOR_NAME)

    async def _existing(self, fields: Fields) -> PadKeys:
        keys = self.ops.keys(pad_id_of(fields))
        if not await self.ops.stored(keys):
            raise WrongParameters("padID does not exist")
        return keys

    async def _doc(self, keys: PadKeys, rev: int | None) -> Doc[Any]:
        try:
            return await self.ops.state(keys, rev)
        except RevisionNotFound:
            raise WrongParameters("rev is higher than the head revision of the pad") from None

    async def _edit(self, keys: PadKeys, change: Callable[[Text], None]) -> None:
        try:
            await self.ops.edit(keys, self.writer, change)
        except ReadOnlyPad as exc:
            raise WrongParameters(READ_ONLY) from exc
        except NotFound as exc:
            raise WrongParameters(str(exc)) from exc

    async def get_text(self, fields: Fields) -> dict[str, Any]:
        rev = rev_of(fields)
        doc = await self._doc(await self._existing(fields), rev)
        return {"text": etherpad_text(pad_content(doc).text)}

    async def get_html(self, fields: Fields) -> dict[str, Any]:
        rev = rev_of(fields)
        doc = await self._doc(await self._existing(fields), rev)
        return {"html": html_page(pad_blocks(pad_content(doc), {}, {}))}

    async def set_text(self, fields: Fields) -> None:
        new = pad_text(_required_text(fields))
        keys = await self._existing(fields)
        await self._edit(keys, lambda t: replace_text(t, new, self.author))

    async def append_text(self, fields: Fields) -> None:
        text = _required_text(fields)
        keys = await self._existing(fields)
        await self._edit(keys, lambda t: append_text(t, text, self.author))

    async def create_pad(self, fields: Fields) -> None:
        """The pad as it starts when first opened (its session's template, or empty), or with
        `text`; written in one go only if nothing is stored for it yet."""
        keys = self.ops.keys(pad_id_of(fields))
        text = text_of(fields)
        try:
            await self.ops.create(keys, None if text is None else pad_text(text), self.writer)
        except ReadOnlyPad as exc:
            raise WrongParameters(READ_ONLY) from exc
        except PadExists:
            raise WrongParameters("padID does already exist") from None
        except NotFound as exc:  # the pad of a session that does not exist
            raise WrongParameters(str(exc)) from exc

    async def get_revisions_count(self, fields: Fields) -> dict[str, Any]:
        return {"revisions": await self.ops.revisions(await self._existing(fields))}

    async def get_last_edited(self, fields: Fields) -> dict[str, Any]:
        """The time of the newest log entry (the log always keeps it), in ms."""
        keys = await self._existing(fields)
        return {"lastEdited": await self.ops.last_edited(keys) or 0}

    async def pad_users_count(self, fields: Fields) -> dict[str, Any]:
        """Connections to the pad over every node (a pad open but never written has some)."""
        return {"padUsersCount": await self.ops.users(pad_id_of(fields))}

    async def list_all_pads(self, fields: Fields) -> dict[str, Any]:
        """Every pad with a snapshot or a log, found with SCAN (never KEYS)."""
        return {"padIDs": await self.ops.all_pads()}

    async def delete_pad(self, fields: Fields) -> None:
        """Delete the pad for good unless it is read-only: every key, and on every node its
        live copy, closing whoever has it open (4410), as Etherpad's deletePad kicks its users
        (see pad_deletion.py)."""
        keys = await self._existing(fields)
        try:
            terms = await self.rules.terms(keys.pad_id)
        except NotFound:
            terms = BARE_PAD  # its session is gone: the pad may go too
        if terms.read_only:
            raise WrongParameters(
                "the pad is read-only (its session is locked or over): it was not deleted"
            )
        await delete_pad(self.store, self.registry, self.summits, keys, by="etherpad api")


Function = Callable[[EtherpadApi, Fields], Awaitable[Any]]
# Etherpad's name -> (the API version it came in, the function).
FUNCTIONS: dict[str, tuple[str, Function]] = {
    "createPad": ("1", EtherpadApi.create_pad),
    "getText": ("1", EtherpadApi.get_text),
    "setText": ("1", EtherpadApi.set_text),
    "appendText": ("1.2.13", EtherpadApi.append_text),
    "getHTML": ("1", EtherpadApi.get_html),
    "getRevisionsCount": ("1", EtherpadApi.get_revisions_count),
    "getLastEdited": ("1", EtherpadApi.get_last_edited),
    "padUsersCount": ("1", EtherpadApi.pad_users_count),
    "listAllPads": ("1.2.1", EtherpadApi.list_all_pads),
    "deletePad": ("1", EtherpadApi.delete_pad),
}


def find(version: str, name: str) -> Function:
    """Function `name` of API version `version`; NoSuchFunction for either unknown. (Etherpad
    checks these first, then the key, then the function's parameters.)"""
    if version not in VERSIONS:
        raise NoSuchFunction("no such api version")
    found = FUNCTIONS.get(name)
    if found is None or VERSIONS.index(version) < VERSIONS.index(found[0]):
        raise NoSuchFunction("no such function")
    return found[1]


def check_key(configured: str, given: str | None) -> None:
    """WrongKey unless `given` is the configured key (compared in constant time); always
    when no key is configured."""
    if not configured or not given or not hmac.compare_digest(configured.encode(),
                                                              given.encode()):
        raise WrongKey("no or wrong API Key")
