"""Accounts, logins, API tokens, the participant cookie and CSRF, against a real Valkey."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from http.cookies import SimpleCookie

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestServer
from summitpad.accounts import AccountStore, Role, User, hash_password, verify_password
from summitpad.errors import Conflict, InvalidInput
from summitpad.keys import api_token_key, login_key
from summitpad.login_throttle import MAX_FAILURES, WINDOW
from summitpad.rendering import PAGE_CONTEXT, TEMPLATES, create_environment, error_pages
from summitpad.schedule import Session
from summitpad.views import account
from summitpad.views.account import safe_next
from summitpad.web_security import (
    ACCOUNTS,
    PARTICIPANT_ID,
    csrf_token,
    current_user,
    require_moderator,
    require_organizer,
    security_middleware,
    setup_security,
    template_context,
)

from .support import free_port

PASSWORD = "correct horse battery"


@pytest.fixture
async def accounts(redis_client: aioredis.Redis, key_prefix: str) -> AccountStore:
    store = AccountStore(redis_client, key_prefix)
    await store.add_user("Alice", PASSWORD, Role.ORGANIZER, "Alice Admin")
    await store.add_user("bob", PASSWORD, "moderator", "Bob Builder")
    return store


# Accounts


def test_password_hash_format_and_verification() -> None:
    stored = hash_password(PASSWORD)
    scheme, n, r, p, salt, digest = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(digest)) == 32
    assert verify_password(PASSWORD, stored)
    assert not verify_password(PASSWORD + "!", stored)
    assert hash_password(PASSWORD) != stored  # a fresh salt every time
    for broken in ("", "scrypt$1$2$3", "md5$16384$8$1$AAAA$AAAA", stored.replace("$8$", "$x$")):
        assert not verify_password(PASSWORD, broken)


async def test_users_and_passwords(accounts: AccountStore, redis_client: aioredis.Redis) -> None:
    alice = await accounts.check_password("ALICE ", PASSWORD)
    assert alice == User("alice", "Alice Admin", Role.ORGANIZER)
    assert alice.is_organizer
    assert await accounts.check_password("alice", "wrong password!") is None
    assert await accounts.check_password("nobody", PASSWORD) is None
    assert await accounts.check_password("not a login!", PASSWORD) is None
    assert await accounts.get_user("bob") == User("bob", "Bob Builder", Role.MODERATOR)
    assert [u.login for u in await accounts.users()] == ["alice", "bob"]
    stored = await redis_client.hget(f"{accounts.prefix}:user:alice", "password")
    assert stored.startswith(b"scrypt$16384$8$1$") and PASSWORD.encode() not in stored

    with pytest.raises(Conflict):
        await accounts.add_user("alice", "another password", Role.MODERATOR)
    await accounts.add_user("alice", "another password", Role.MODERATOR, replace=True)
    assert await accounts.check_password("alice", PASSWORD) is None
    replaced = await accounts.check_password("alice", "another password")
    assert replaced == User("alice", "alice", Role.MODERATOR)  # the name defaults to the login


@pytest.mark.parametrize("login", ["", "a" * 41, "has space", "ümlaut", "semi;colon", "a/b"])
async def test_invalid_logins(accounts: AccountStore, login: str) -> None:
    with pytest.raises(InvalidInput):
        await accounts.add_user(login, PASSWORD, Role.MODERATOR)
    assert await accounts.get_user(login) is None


async def test_invalid_passwords_and_roles(accounts: AccountStore) -> None:
    with pytest.raises(InvalidInput):
        await accounts.add_user("carol", "short", Role.MODERATOR)
    with pytest.raises(InvalidInput):
        await accounts.add_user("carol", PASSWORD, "admin")
    assert await accounts.get_user("carol") is None


async def test_logins_and_api_tokens_store_only_digests(
    accounts: AccountStore, redis_client: aioredis.Redis
) -> None:
    alice = await accounts.get_user("alice")
    assert alice is not None
    token = await accounts.start_login(alice)
    assert len(token) >= 43
    assert await accounts.user_for_login(token) == alice
    keys = [k.decode() async for k in redis_client.scan_iter(f"{accounts.prefix}:login:*")]
    assert len(keys) == 1 and token not in keys[0]
    assert 13 * 86400 < await redis_client.ttl(keys[0]) <= 14 * 86400
    await accounts.end_login(token)
    assert await accounts.user_for_login(token) is None

    api = await accounts.create_api_token("bob")
    assert api.startswith("spt_")
    bob = await accounts.user_for_api_token(api)
    assert bob is not None and bob.login == "bob"
    assert await accounts.user_for_api_token(api[:-1] + "x") is None
    assert await accounts.user_for_api_token(token) is None  # a login token is no API token
    await accounts.revoke_api_token(api)
    assert await accounts.user_for_api_token(api) is None
    with pytest.raises(InvalidInput):
        await accounts.create_api_token("nobody")
    assert not await redis_client.exists(api_token_key(accounts.prefix, api))
    assert not await redis_client.exists(login_key(accounts.prefix, token))


async def test_replacing_an_account_ends_its_logins_and_tokens(accounts: AccountStore) -> None:
    user = await accounts.add_user("zed", "correct horse battery", Role.ORGANIZER)
    login = await accounts.start_login(user)
    token = await accounts.create_api_token("zed")
    assert await accounts.user_for_login(login) == user
    assert await accounts.user_for_api_token(token) == user
    await accounts.add_user("zed", "another long password", Role.ORGANIZER, replace=True)
    assert await accounts.user_for_login(login) is None
    assert await accounts.user_for_api_token(token) is None
    fresh = await accounts.start_login(user)
    assert await accounts.user_for_login(fresh) == user


def test_can_moderate() -> None:
    organizer = User("olga", "Olga Organizer", Role.ORGANIZER)
    bob = User("bob", "Bob Builder", Role.MODERATOR)
    assert organizer.can_moderate(Session(id="s1", title="Any"))
    assert bob.can_moderate(Session(id="s1", title="T", moderator="  bob "))
    assert bob.can_moderate(Session(id="s1", title="T", moderator="BOB BUILDER"))
    assert not bob.can_moderate(Session(id="s1", title="T", moderator="Alice"))
    assert not bob.can_moderate(Session(id="s1", title="T", moderator=""))
    assert not bob.can_moderate(Session(id="s1", title="T", moderator="Bob Builder Jr"))


# HTTP


@dataclass
class Site:
    url: str
    http: aiohttp.ClientSession
    accounts: AccountStore

    async def csrf(self) -> str:
        async with self.http.get(self.url + "/login") as response:
            html = await response.text()
        match = re.search(r'name="csrf" value="([^"]+)"', html)
        assert match
        return match[1]

    async def log_in(self, next_path: str = "/") -> aiohttp.ClientResponse:
        data = {"login": "alice", "password": PASSWORD, "csrf": await self.csrf(),
                "next": next_path}
        async with self.http.post(self.url + "/login", data=data,
                                  allow_redirects=False) as response:
            return response


async def whoami(request: web.Request) -> web.Response:
    user = current_user(request)
    return web.json_response({
        "user": user.login if user else None,
        "participant": request[PARTICIPANT_ID],
        "csrf": csrf_token(request),
    })


async def redirect(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/whoami")


async def organizers_only(request: web.Request) -> web.Response:
    return web.json_response({"user": require_organizer(request).login})


async def moderate(request: web.Request) -> web.Response:
    session = Session(id="s1", title="T", moderator="Bob Builder")
    return web.json_response({"user": require_moderator(request, session).login})


@pytest.fixture
async def site(
    redis_client: aioredis.Redis, key_prefix: str, accounts: AccountStore
) -> AsyncIterator[Site]:
    app = web.Application(middlewares=[security_middleware, error_pages])
    app[TEMPLATES] = create_environment()
    app[PAGE_CONTEXT] = template_context
    await setup_security(app, redis_client, key_prefix)
    account.add_routes(app.router)
    app.router.add_route("*", "/whoami", whoami)
    app.router.add_post("/organizers", organizers_only)
    app.router.add_get("/redirect", redirect)
    app.router.add_post("/moderate", moderate)
    server = TestServer(app, host="127.0.0.1", port=free_port())
    await server.start_server()
    jar = aiohttp.CookieJar(unsafe=True)  # keep cookies for 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        yield Site(str(server.make_url("")).rstrip("/"), http, app[ACCOUNTS])
    await server.close()


def set_cookies(response: aiohttp.ClientResponse) -> dict[str, str]:
    """Set-Cookie headers by cookie name."""
    found = {}
    for header in response.headers.getall("Set-Cookie", []):
        found[next(iter(SimpleCookie(header)))] = header
    return found


async def test_participant_cookie(site: Site) -> None:
    async with site.http.get(site.url + "/whoami") as response:
        first = (await response.json())["participant"]
        header = set_cookies(response)["sp_participant"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{16}", first)
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header
    assert "Max-Age=34560000" in header and "Secure" not in header
    async with site.http.get(site.url + "/whoami") as response:
        assert (await response.json())["participant"] == first
        assert "sp_participant" not in set_cookies(response)

    forged = {"sp_participant": f"{'A' * 16}.{'B' * 22}"}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as other:
        async with other.get(site.url + "/whoami", cookies=forged) as response:
            replaced = (await response.json())["participant"]
            assert replaced not in ("A" * 16, first)
            assert set_cookies(response)["sp_participant"].split("=")[1].startswith(replaced)


async def test_participant_cookie_on_raised_responses(site: Site) -> None:
    async with site.http.get(site.url + "/redirect", allow_redirects=False) as response:
        assert response.status == 303 and "sp_participant" in set_cookies(response)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as other:
        async with other.get(site.url + "/no-such-page") as response:
            assert response.status == 404 and "sp_participant" in set_cookies(response)


async def test_login_and_logout(site: Site) -> None:
    response = await site.log_in("/whoami?x=1")
    assert response.status == 303 and response.headers["Location"] == "/whoami?x=1"
    header = set_cookies(response)["sp_login"]
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Max-Age=1209600" in header
    async with site.http.get(site.url + "/whoami") as response:
        me = await response.json()
    assert me["user"] == "alice"

    async with site.http.post(site.url + "/logout", data={"csrf": me["csrf"]},
                              allow_redirects=False) as response:
        assert response.status == 303 and response.headers["Location"] == "/"
        assert "sp_login=\"\"" in set_cookies(response)["sp_login"]
    async with site.http.get(site.url + "/whoami") as response:
        assert (await response.json())["user"] is None


async def test_wrong_login_shows_the_form_again(site: Site) -> None:
    for login, password in (("alice", "wrong password"), ("nobody", PASSWORD)):
        data = {"login": login, "password": password, "csrf": await site.csrf(), "next": "/x"}
        async with site.http.post(site.url + "/login", data=data,
                                  allow_redirects=False) as response:
            assert response.status == 401
            html = await response.text()
            assert "Wrong login or password" in html and 'value="/x"' in html
            assert "sp_login" not in set_cookies(response)


async def _try_login(site: Site, login: str, password: str) -> aiohttp.ClientResponse:
    data = {"login": login, "password": password, "csrf": await site.csrf()}
    async with site.http.post(site.url + "/login", data=data,
                              allow_redirects=False) as response:
        await response.read()
        return response


async def test_guessing_a_password_is_stopped_after_ten_tries(
    site: Site, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    guesses = await asyncio.gather(*(
        _try_login(site, "alice", f"guess {n}") for n in range(MAX_FAILURES + 5)
    ))  # all at once: counted before the hash, so no more than ten get an answer
    statuses = sorted(response.status for response in guesses)
    assert statuses == [401] * MAX_FAILURES + [429] * 5
    refused = await _try_login(site, " ALICE", PASSWORD)  # even the right password, any case
    assert refused.status == 429
    assert 0 < int(refused.headers["Retry-After"]) <= WINDOW
    assert "Too many failed logins to this account: try again in 15 minutes" \
        in await refused.text()
    (key,) = [k async for k in redis_client.scan_iter(f"{key_prefix}:loginfailures:*")]
    assert b"alice" not in key and 0 < await redis_client.ttl(key) <= WINDOW
    assert (await _try_login(site, "bob", PASSWORD)).status == 303  # other accounts are fine

    await redis_client.delete(key)  # the window is over
    assert (await _try_login(site, "alice", PASSWORD)).status == 303


async def test_a_right_password_forgives_the_earlier_wrong_ones(
    site: Site, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    async def wrong_guesses(count: int) -> list[int]:
        return [response.status for response in await asyncio.gather(*(
            _try_login(site, "alice", "wrong password") for _ in range(count)))]

    assert await wrong_guesses(MAX_FAILURES - 1) == [401] * (MAX_FAILURES - 1)
    assert (await _try_login(site, "alice", PASSWORD)).status == 303
    assert [k async for k in redis_client.scan_iter(f"{key_prefix}:loginfailures:*")] == []
    assert await wrong_guesses(MAX_FAILURES) == [401] * MAX_FAILURES


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "/\\evil.example",
                                    "evil.example", "/\t/evil.example", ""])
async def test_next_never_leaves_the_site(site: Site, target: str) -> None:
    response = await site.log_in(target)
    assert response.status == 303 and response.headers["Location"] == "/"


def test_safe_next() -> None:
    assert safe_next("/summit/s1?x=1#a") == "/summit/s1?x=1#a"
    assert safe_next("///evil.example") == "/"
    assert safe_next(None) == "/"


async def test_csrf(site: Site) -> None:
    async with site.http.post(site.url + "/whoami", data={"a": "1"}) as response:
        assert response.status == 403
        assert "CSRF" in await response.text()
    token = await site.csrf()
    async with site.http.post(site.url + "/whoami", data={"csrf": token + "x"}) as response:
        assert response.status == 403
    async with site.http.post(site.url + "/whoami", data={"csrf": token}) as response:
        assert response.status == 200
    async with site.http.delete(site.url + "/whoami",
                                headers={"X-CSRF-Token": token}) as response:
        assert response.status == 200
    async with site.http.post(site.url + "/whoami", json={"csrf": token},
                              headers={"Accept": "application/json"}) as response:
        assert response.status == 403  # JSON bodies need the header
        assert (await response.json())["error"]["status"] == 403

    # Logging in changes the token: one taken before the login no longer works.
    await site.log_in()
    async with site.http.post(site.url + "/whoami", data={"csrf": token}) as response:
        assert response.status == 403
    async with site.http.post(site.url + "/whoami", data={"csrf": await site.csrf()}) as response:
        assert response.status == 200 and (await response.json())["user"] == "alice"


async def test_login_form_needs_csrf(site: Site) -> None:
    data = {"login": "alice", "password": PASSWORD}
    async with site.http.post(site.url + "/login", data=data, allow_redirects=False) as response:
        assert response.status == 403 and "sp_login" not in set_cookies(response)


async def test_api_tokens(site: Site) -> None:
    token = await site.accounts.create_api_token("alice")
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as api:
        async with api.post(site.url + "/organizers", headers=headers) as response:
            assert response.status == 200 and (await response.json())["user"] == "alice"
            assert not set_cookies(response)
        async with api.post(site.url + "/whoami", headers=headers) as response:
            first = (await response.json())["participant"]
        async with api.post(site.url + "/whoami", headers=headers) as response:
            assert (await response.json())["participant"] == first  # stable per token

        # Cookies are ignored when a token is given: a login cookie adds nothing.
        bob = await site.accounts.create_api_token("bob")
        await site.log_in()
        login_cookie = {c.key: c.value for c in site.http.cookie_jar}["sp_login"]
        async with api.post(site.url + "/organizers", cookies={"sp_login": login_cookie},
                            headers={"Authorization": f"Bearer {bob}"}) as response:
            assert response.status == 403

        await site.accounts.revoke_api_token(token)
        async with api.post(site.url + "/organizers", headers=headers) as response:
            assert response.status == 401
        async with api.get(site.url + "/whoami",
                           headers={"Authorization": "Bearer spt_nonsense"}) as response:
            assert response.status == 401


async def test_require_helpers(site: Site) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as api:
        async with api.post(site.url + "/organizers") as response:
            assert response.status == 403  # no CSRF token: refused before the view runs
        bob = {"Authorization": f"Bearer {await site.accounts.create_api_token('bob')}"}
        async with api.post(site.url + "/organizers", headers=bob) as response:
            assert response.status == 403
        async with api.post(site.url + "/moderate", headers=bob) as response:
            assert response.status == 200
    async with site.http.post(site.url + "/moderate",
                              data={"csrf": await site.csrf()}) as response:
        assert response.status == 401


async def test_stale_login_cookie_is_cleared(site: Site) -> None:
    site.http.cookie_jar.update_cookies({"sp_login": "A" * 43})
    async with site.http.get(site.url + "/whoami") as response:
        assert (await response.json())["user"] is None
        assert 'sp_login=""' in set_cookies(response)["sp_login"]
