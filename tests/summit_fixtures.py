"""A summit, its people and a browser, for the page and organizer tests.

The summit is written straight into the store (the schedule import has its own tests); people
are made through AccountStore; `Browser` keeps cookies, logs in through the login form and posts
forms with the CSRF token the pages hand out, as a real browser does.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import redis.asyncio as aioredis
from pycrdt import Doc, Text
from summitpad import protocol
from summitpad.accounts import AccountStore, Role
from summitpad.client import PadClient
from summitpad.keys import SummitKeys, pad_keys, summit_index_key
from summitpad.protocol import MessageType, SyncMessage, SyncType
from summitpad.schedule import Room, Session, Summit, Track
from summitpad.store import PadStore
from summitpad.summit_store import SummitData, SummitStore

from .support import RunningApp, eventually

PASSWORD = "correct horse battery"
XSS = "<script>alert(1)</script>"
ESCAPED_XSS = "&lt;script&gt;alert(1)&lt;/script&gt;"
BERLIN = ZoneInfo("Europe/Berlin")


def berlin(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A wall-clock time in Berlin in May 2026 (summer time: UTC+2)."""
    return datetime(2026, 5, day, hour, minute, second, tzinfo=BERLIN)


SUMMIT = Summit(
    slug="osd",
    name="Open Storage Days",
    start_date=date(2026, 5, 4),
    end_date=date(2026, 5, 6),
    timezone="Europe/Berlin",
    template="# Agenda\n\n# Notes\n",
    tracks=(Track("storage", "Storage", "#1d4ed8"), Track("ha", "High Availability", "#b91c1c")),
    rooms=(Room("room-a", "Room A"), Room("room-b", "Room B")),
)

SESSIONS = (
    Session("s1", "Storage roadmap", track="storage", room="room-a", start=berlin(4, 9),
            end=berlin(4, 9, 40), moderator="Bob Builder", description="Where storage goes"),
    Session("s2", "HA failover", track="ha", room="room-b", start=berlin(4, 9),
            end=berlin(4, 9, 40), moderator="Carol"),
    Session("s3", "Storage quotas", track="storage", room="room-a", start=berlin(4, 10),
            end=berlin(4, 10, 40), moderator="Dave"),
    Session("s4", "Deployment day two", room="room-b", start=berlin(5, 9),
            end=berlin(5, 9, 40)),
    Session("idea", "An idea without a slot"),
)


async def seed_summit(
    store: SummitStore, summit: Summit = SUMMIT, sessions: tuple[Session, ...] = SESSIONS
) -> SummitData:
    await store.create(summit)
    return await store.update(summit.slug, lambda _: (None, (list(sessions), [])))


async def add_people(accounts: AccountStore) -> None:
    """olga organizes; bob ("Bob Builder") moderates s1; mallory moderates nothing."""
    await accounts.add_user("olga", PASSWORD, Role.ORGANIZER, "Olga Organizer")
    await accounts.add_user("bob", PASSWORD, Role.MODERATOR, "Bob Builder")
    await accounts.add_user("mallory", PASSWORD, Role.MODERATOR, "Mallory")


async def summit_state(client: aioredis.Redis, prefix: str, slug: str) -> tuple[Any, ...]:
    """Everything stored about a summit: to show that a refused change changed nothing."""
    keys = SummitKeys(prefix, slug)
    return (
        await client.get(keys.meta),
        await client.hgetall(keys.sessions),
        await client.get(keys.version),
        sorted(await client.smembers(summit_index_key(prefix))),
    )


async def stored_text(client: aioredis.Redis, prefix: str, pad_id: str) -> str:
    """A pad's text as the store holds it (snapshot and log), read without the app."""
    state = await PadStore(client, "probe").read(pad_keys(prefix, pad_id))
    doc: Doc[Any] = Doc()
    text = doc.get("content", type=Text)
    if state.snapshot is not None:
        doc.apply_update(state.snapshot)
    for _, update in state.updates:
        doc.apply_update(update)
    return str(text)


# -- pages ------------------------------------------------------------------------------------


@dataclass
class Page:
    status: int
    text: str
    headers: Any

    @property
    def plain(self) -> str:
        """The page with HTML entities decoded (for messages that hold quotes)."""
        return html.unescape(self.text)

    @property
    def location(self) -> str:
        return str(self.headers.get("Location", ""))


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {k: v or "" for k, v in attrs}))


def tags(page: str, tag: str, /, **wanted: str) -> list[dict[str, str]]:
    """The attributes of every `tag` tag whose attributes include `wanted` (use data_x for
    data-x)."""
    parser = _Tags()
    parser.feed(page)
    want = {k.replace("_", "-"): v for k, v in wanted.items()}
    return [
        attrs for found_tag, attrs in parser.found
        if found_tag == tag and all(attrs.get(k) == v for k, v in want.items())
    ]


def classes(page: str, tag: str, /, **wanted: str) -> set[str]:
    """The classes of the one `tag` tag with these attributes."""
    found = tags(page, tag, **wanted)
    assert len(found) == 1, f"{len(found)} <{tag}> tags with {wanted}"
    return set(found[0].get("class", "").split())


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, "no CSRF field on the page"
    return match[1]


class Browser:
    """One browser: its own cookies (participant, login), its own CSRF token."""

    def __init__(self, base_url: str) -> None:
        self.url = base_url
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def close(self) -> None:
        await self.http.close()

    async def get(self, path: str, **kwargs: Any) -> Page:
        async with self.http.get(self.url + path, allow_redirects=False, **kwargs) as response:
            return Page(response.status, await response.text(), response.headers)

    async def csrf(self) -> str:
        return csrf_of((await self.get("/login")).text)

    async def log_in(self, login: str) -> None:
        data = {"login": login, "password": PASSWORD, "csrf": await self.csrf(), "next": "/"}
        async with self.http.post(self.url + "/login", data=data,
                                  allow_redirects=False) as response:
            assert response.status == 303, await response.text()

    async def post(self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True,
                   **kwargs: Any) -> Page:
        form = dict(data or {})
        if csrf:
            form["csrf"] = await self.csrf()
        async with self.http.post(self.url + path, data=form, allow_redirects=False,
                                  **kwargs) as response:
            return Page(response.status, await response.text(), response.headers)

    async def upload(self, slug: str, filename: str, content: str | bytes, *,
                     csrf: bool = True) -> Page:
        """The schedule upload form: multipart, field `file`."""
        form = aiohttp.FormData()
        if csrf:
            form.add_field("csrf", await self.csrf())
        body = content.encode() if isinstance(content, str) else content
        form.add_field("file", body, filename=filename, content_type="application/octet-stream")
        async with self.http.post(f"{self.url}/{slug}/admin/schedule", data=form,
                                  allow_redirects=False) as response:
            return Page(response.status, await response.text(), response.headers)


# -- pad connections --------------------------------------------------------------------------


@dataclass
class Heard:
    """What one PadClient hears: auth messages (subtype, reason) and how many step 2s."""

    auth: list[tuple[int, str]] = field(default_factory=list)
    step2: int = 0

    def __call__(self, data: bytes) -> None:
        if data[:1] == bytes((MessageType.AUTH,)):
            message = protocol.decode_message(data)
            self.auth.append((data[1], getattr(message, "denied_reason", "")))
        elif data[:1] == bytes((MessageType.SYNC,)):
            decoded = protocol.decode_message(data)
            if isinstance(decoded, SyncMessage) and decoded.kind is SyncType.STEP2:
                self.step2 += 1

    @property
    def last_auth(self) -> tuple[int, str] | None:
        return self.auth[-1] if self.auth else None


def listen(client: PadClient) -> Heard:
    heard = Heard()
    client.on_message = heard
    return heard


async def round_trip(client: PadClient, heard: Heard) -> None:
    """Wait until the server has handled everything `client` sent before: it answers a sync
    step 1 only after every earlier message of the connection."""
    seen = heard.step2
    await client.send(protocol.encode_step1(client.doc.get_state()))
    await eventually(lambda: heard.step2 > seen)


OpenBrowser = Callable[..., Awaitable[Browser]]


@asynccontextmanager
async def browsers(site: RunningApp) -> AsyncIterator[OpenBrowser]:
    """`await open_browser(login=None, app=None)`: a cookie-keeping client of `site` (or of
    another app), logged in as `login` if given; all closed on the way out."""
    opened: list[Browser] = []

    async def open_browser(login: str | None = None, app: RunningApp | None = None) -> Browser:
        browser = Browser((app or site).http_url)
        opened.append(browser)
        if login:
            await browser.log_in(login)
        return browser

    try:
        yield open_browser
    finally:
        for browser in opened:
            await browser.close()
