"""A summit with people of every role, and the ways each of them reaches the app, for
test_authorization.py.

`World` is the real app (its clock at 09:10 on the summit's first day: session s1 is on and
writable) with notes in a bare pad and in s1's pad, a watcher on each pad (a raw websocket that
joined the chat and the notices), and callers: browsers holding a participant cookie and
maybe a login, and scripts holding an API token or the Etherpad API key. Logins and tokens are
made through the account store, as `summitpad user token` makes them; the dead ones die as
they would: a login that expired in Valkey, an account replaced (a new password), a token
revoked.

`RawPad` speaks y-protocols over a bare aiohttp websocket with summitpad.protocol's encoders,
so a test controls every frame.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from pycrdt import Doc, Text
from summitpad import protocol
from summitpad.accounts import Role, token_digest
from summitpad.app_keys import SUMMITS
from summitpad.clock import SetClock
from summitpad.keys import login_key
from summitpad.protocol import MessageType, SyncMessage, SyncType
from summitpad.web_security import ACCOUNTS
from yarl import URL

from .summit_fixtures import PASSWORD, Browser, add_people, berlin, seed_summit
from .support import RunningApp, eventually

KEY = "authz-etherpad-key-0123456789"
MARKER = "Confidential minutes 4711"  # in both pads: a refused answer never shows it
TITLES = {401: "Log in first", 403: "Forbidden"}

StartApp = Callable[..., Awaitable[RunningApp]]


# -- raw websockets -----------------------------------------------------------------------------


class RawPad:
    """One websocket to a pad; keeps every frame and a copy of the pad's document."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.doc: Doc[Any] = Doc()
        self.text = self.doc.get("content", type=Text)
        self.frames: list[bytes] = []
        self.close_reason = ""
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, http: aiohttp.ClientSession, url: str, **kwargs: Any) -> RawPad:
        """Connect and sync (send step 1, wait for the server's step 2)."""
        pad = cls(await http.ws_connect(url, max_msg_size=0, **kwargs))
        await pad.sync()
        return pad

    async def _read(self) -> None:
        while True:
            msg = await self.ws.receive()
            if msg.type is aiohttp.WSMsgType.CLOSE:
                self.close_reason = str(msg.extra or "")
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING,
                            aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                return
            if msg.type is aiohttp.WSMsgType.BINARY:
                self.frames.append(msg.data)
                decoded = protocol.decode_message(msg.data)
                if isinstance(decoded, SyncMessage) and decoded.kind is not SyncType.STEP1:
                    self.doc.apply_update(decoded.payload)

    def of_type(self, kind: MessageType) -> list[bytes]:
        return [f for f in self.frames if f[:1] == bytes((kind,))]

    @property
    def step2s(self) -> int:
        return sum(1 for f in self.of_type(MessageType.SYNC) if f[1] == SyncType.STEP2)

    @property
    def updates(self) -> int:
        return sum(1 for f in self.of_type(MessageType.SYNC) if f[1] == SyncType.UPDATE)

    def bodies(self, kind: MessageType) -> list[dict[str, Any]]:
        """The JSON bodies of the chat (or notice) frames received."""
        out = []
        for data in self.of_type(kind):
            decoded = protocol.decode_message(data)
            assert isinstance(decoded, protocol.ChatMessage | protocol.NoticeMessage)
            out.append(decoded.body)
        return out

    @property
    def auth(self) -> list[tuple[int, str]]:
        """(subtype, reason) of every auth message: 0 denied, 1 granted."""
        found = []
        for data in self.of_type(MessageType.AUTH):
            decoded = protocol.decode_message(data)
            assert isinstance(decoded, protocol.AuthMessage)
            found.append((data[1], decoded.denied_reason))
        return found

    async def send(self, message: bytes) -> None:
        await self.ws.send_bytes(message)

    async def sync(self) -> None:
        """Wait until the server has handled everything sent before: it answers a step 1
        only after every earlier message of the connection."""
        seen = self.step2s
        await self.send(protocol.encode_step1(self.doc.get_state()))
        await eventually(lambda: self.step2s > seen or self.ws.closed)
        assert not self.ws.closed, f"closed with {self.ws.close_code}"

    def change(self, edit: Callable[[Text], None]) -> bytes:
        """Make an edit in the local copy; the update that carries it."""
        before = self.doc.get_state()
        edit(self.text)
        return self.doc.get_update(before)

    async def closed_with(self) -> int | None:
        await eventually(lambda: self.ws.closed)
        return self.ws.close_code

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)


# -- what Valkey holds ------------------------------------------------------------------------


# Keys a node writes by itself (who is here; the search text it saves a few seconds after an
# edit, which the pad's log already shows): left out of the comparison.
_BACKGROUND = (":presence:", ":nodes")
_BACKGROUND_SUFFIXES = (":text", ":textversion", ":textchanges")


async def valkey_state(client: aioredis.Redis, prefix: str) -> dict[str, Any]:
    """Every key under `prefix` with its type and value: to show a refused request changed
    nothing at all."""
    state: dict[str, Any] = {}
    async for raw in client.scan_iter(match=f"{prefix}:*", count=1000):
        key = raw.decode()
        if any(part in key for part in _BACKGROUND) or (
            key.startswith(f"{prefix}:{{summit:") and key.endswith(_BACKGROUND_SUFFIXES)
        ):
            continue
        kind = (await client.type(raw)).decode()
        value: Any
        if kind == "string":
            value = await client.get(raw)
        elif kind == "hash":
            value = await client.hgetall(raw)
        elif kind == "set":
            value = sorted(await client.smembers(raw))
        elif kind == "zset":
            value = await client.zrange(raw, 0, -1, withscores=True)
        elif kind == "list":
            value = await client.lrange(raw, 0, -1)
        elif kind == "stream":
            value = await client.xrange(raw)
        else:
            continue  # gone since the scan
        state[key] = (kind, value)
    return state


# -- the callers ------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: Mapping[str, str]
    text: str

    @property
    def json(self) -> Any:
        return jsonlib.loads(self.text)


@dataclass
class Caller:
    """One way of asking: a browser's cookies, or headers (a token, a key) and no cookies."""

    name: str
    browser: Browser | None = None
    headers: dict[str, str] = field(default_factory=dict)
    apikey: str | None = None  # for the Etherpad API


@dataclass
class World:
    site: RunningApp
    clock: SetClock
    client: aioredis.Redis
    prefix: str
    http: aiohttp.ClientSession  # keeps no cookies
    callers: dict[str, Caller]
    tokens: dict[str, str]
    watchers: dict[str, RawPad]
    _open: list[Browser] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.site.http_url

    async def state(self) -> dict[str, Any]:
        return await valkey_state(self.client, self.prefix)

    def heard(self) -> dict[str, Any]:
        """What the watchers heard that a change would make them hear: edits, locks, chat
        messages, notices; and whether they are still connected."""
        return {
            pad: (w.updates, w.auth,
                  [b for b in w.bodies(MessageType.CHAT) if b["kind"] != "history"],
                  w.bodies(MessageType.NOTICE), w.ws.closed)
            for pad, w in self.watchers.items()
        }

    async def csrf(self, name: str) -> str:
        """A CSRF token from a page of caller `name`'s browser."""
        browser = self.callers[name].browser
        assert browser is not None, f"{name} has no browser"
        return await browser.csrf()

    async def browser(self, login: str | None = None) -> Browser:
        """A new browser, logged in as `login` (a login the account store starts)."""
        browser = Browser(self.url)
        self._open.append(browser)
        if login is not None:
            user = await self.site.app[ACCOUNTS].get_user(login)
            token = await self.site.app[ACCOUNTS].start_login(user)
            set_login(browser, token)
        await browser.get("/login")  # the participant cookie
        return browser

    async def request(
        self, caller: Caller, method: str, path: str, *, form: Mapping[str, str] | None = None,
        json: Any = None, upload: bytes | None = None, csrf: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """One request as `caller`; `csrf` goes in the form (as a browser's page sends it)."""
        session = caller.browser.http if caller.browser is not None else self.http
        sent = {**caller.headers, **(headers or {})}
        data: Any = None
        params = None
        if upload is not None:
            data = aiohttp.FormData()
            if csrf is not None:
                data.add_field("csrf", csrf)
            data.add_field("file", upload, filename="schedule.csv",
                           content_type="application/octet-stream")
        elif json is not None:
            data = json_bytes(json)
            sent["Content-Type"] = "application/json"
        elif method == "GET":
            params = dict(form or {}) or None
        else:
            data = {**(form or {}), **({"csrf": csrf} if csrf is not None else {})}
        async with session.request(method, self.url + path, data=data, params=params,
                                   headers=sent, allow_redirects=False) as response:
            body = await response.read()
            return Reply(response.status, response.headers, body.decode(errors="replace"))

    async def close(self) -> None:
        for watcher in self.watchers.values():
            await watcher.close()
        for browser in self._open:
            await browser.close()
        await self.http.close()


def json_bytes(value: Any) -> bytes:
    return jsonlib.dumps(value).encode()


def set_login(browser: Browser, token: str) -> None:
    browser.http.cookie_jar.update_cookies({"sp_login": token}, URL(browser.url))


def cookie_header(browser: Browser) -> str:
    return "; ".join(f"{c.key}={c.value}" for c in browser.http.cookie_jar)


async def _people(world: World) -> None:
    """olga organizes; bob ("Bob Builder") moderates s1, carol s2; mallory moderates nothing.
    oscar's login and token are from before his account was replaced; rita's token is revoked;
    one of olga's logins expired."""
    accounts = world.site.app[ACCOUNTS]
    _, _, oscar, rita = await asyncio.gather(  # each hashes a password: in threads, at once
        add_people(accounts),
        accounts.add_user("carol", PASSWORD, Role.MODERATOR, "Carol"),
        accounts.add_user("oscar", PASSWORD, Role.ORGANIZER, "Oscar"),
        accounts.add_user("rita", PASSWORD, Role.ORGANIZER, "Rita"),
    )
    for login in ("olga", "bob", "carol", "mallory"):
        world.tokens[login] = await accounts.create_api_token(login)
    old_login, old_token = await accounts.start_login(oscar), await accounts.create_api_token(
        "oscar")
    await accounts.add_user("oscar", "a new password, long", Role.ORGANIZER, "Oscar",
                            replace=True)
    revoked = await accounts.create_api_token(rita.login)
    await accounts.revoke_api_token(revoked)
    olga = await accounts.get_user("olga")
    expiring = await accounts.start_login(olga)
    key = login_key(world.prefix, token_digest(expiring))
    await world.client.pexpire(key, 1)

    async def expired() -> bool:
        return await world.client.exists(key) == 0

    await eventually(expired)

    callers = world.callers
    for name in ("anonymous", "olga", "bob", "carol", "mallory"):
        callers[name] = Caller(name, await world.browser(None if name == "anonymous" else name))
    for name, token in (("expired login", expiring), ("replaced login", old_login),
                        ("forged login", secrets.token_urlsafe(32))):
        browser = await world.browser()
        set_login(browser, token)
        callers[name] = Caller(name, browser)
    for name, token in (("wrong token", "spt_" + secrets.token_urlsafe(32)),
                        ("revoked token", revoked), ("replaced token", old_token),
                        *((f"token:{login}", t) for login, t in world.tokens.items())):
        callers[name] = Caller(name, headers={"Authorization": f"Bearer {token}"})
    callers["no token"] = Caller("no token")
    callers["basic auth"] = Caller("basic auth", headers={
        "Authorization": f"Basic {world.tokens['olga']}"})
    callers["key as a bearer token"] = Caller("key as a bearer token", headers={
        "Authorization": f"Bearer {KEY}"})
    olga_browser = callers["olga"].browser
    assert olga_browser is not None
    callers["olga's cookie"] = Caller("olga's cookie", headers={
        "Cookie": cookie_header(olga_browser)})
    callers["key"] = Caller("key", apikey=KEY)
    for name, key in (("no key", None), ("empty key", ""), ("wrong key", "x" * len(KEY)),
                      ("key upper-cased", KEY.upper()), ("key less a character", KEY[:-1]),
                      ("key and a character", KEY + "0"),
                      ("a token as the key", world.tokens["olga"])):
        callers[name] = Caller(name, apikey=key)


async def _notes(world: World) -> None:
    """Notes in both pads, and a watcher on each that joined the chat and the notices."""
    for pad in ("kept", "osd.s1"):
        watcher = await RawPad.open(world.http, f"{world.site.ws_url}/{pad}")
        await watcher.send(protocol.encode_chat({"kind": "join"}))
        await watcher.send(protocol.encode_notice({"kind": "join"}))
        for words in (MARKER, " and more"):
            await watcher.send(protocol.encode_update(
                watcher.change(lambda t, w=words: t.insert(len(t), w))))
            await watcher.sync()
        await eventually(lambda w=watcher: w.bodies(MessageType.CHAT))  # the chat's history
        world.watchers[pad] = watcher


@asynccontextmanager
async def open_world(
    start_app: StartApp, client: aioredis.Redis, prefix: str, **settings: Any
) -> AsyncIterator[World]:
    clock = SetClock(berlin(4, 9, 10))
    site = await start_app(clock=clock, grace_period=60.0, etherpad_api_key=KEY,
                           pad_unload_delay=3600.0, **settings)
    await seed_summit(site.app[SUMMITS])
    world = World(site, clock, client, prefix, aiohttp.ClientSession(), {}, {}, {})
    try:
        await _people(world)
        await _notes(world)
        yield world
    finally:
        await world.close()
