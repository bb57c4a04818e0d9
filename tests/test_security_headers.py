"""Security headers on every response of the real app: every GET route (walked from the router,
so a new route is covered without a word here) with its path filled by real objects, the error
answers, the framing setting both ways, and the checks of that setting."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDict
from summitpad.app_keys import SUMMITS
from summitpad.client import PadClient
from summitpad.clock import SetClock
from summitpad.errors import ConfigurationError
from summitpad.read_only import ReadOnlyIds
from summitpad.security_headers import (
    SecurityHeaders,
    check_frame_ancestors,
    complete_policy,
)
from summitpad.settings import Settings
from summitpad.web_security import ACCOUNTS

from .summit_fixtures import Browser, add_people, berlin, browsers, seed_summit
from .support import RunningApp, eventually

StartApp = Callable[..., Awaitable[RunningApp]]
Connect = Callable[..., Awaitable[PadClient]]

API_KEY = "0123456789abcdef0123456789abcdef"
PAD = "notes-1"
WIKI = "https://wiki.example.org"

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# The HTML export's own policy (pad_export_file.py), completed with what it leaves open.
EXPORT_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; sandbox; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
COMMON = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
UPGRADE = {  # a websocket handshake
    "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
}

# Answers that are not a success, and why; every other GET route must answer 2xx or 3xx, so
# that the headers are seen on what the route is for, not on an error page.
NOT_SUCCESS = {
    "/ws/{pad_id}": 400,  # a plain GET where a websocket upgrade belongs
    "/ws/ro/{ro_id}": 400,
    "/api/{rest}": 404,  # the Etherpad API's answer to a path it does not have
}
# The query a route needs to do its work.
QUERIES = {"/p": {"pad": PAD}, "/{summit}/search": {"q": "notes"}}


@pytest.fixture
async def site(start_app: StartApp, connect: Connect) -> RunningApp:
    """The summit "osd" with its people; session s1 is on (09:10 on its first day); the pad
    `PAD` has text; the Etherpad API is on."""
    running = await start_app(clock=SetClock(berlin(4, 9, 10)), etherpad_api_key=API_KEY)
    await seed_summit(running.app[SUMMITS])
    await add_people(running.app[ACCOUNTS])
    writer = await connect(running.ws_url, PAD)
    await writer.edit(lambda text: text.insert(0, "notes"))
    await eventually(lambda: writer.saved)
    return running


@pytest.fixture
async def organizer(site: RunningApp) -> AsyncIterator[Browser]:
    async with browsers(site) as open_browser:
        yield await open_browser("olga")


def fill(canonical: str, values: dict[str, str]) -> str:
    """`canonical` (/p/{pad_id}/history) with its parameters filled in."""
    def value(match: re.Match[str]) -> str:
        name = match[1]
        if name not in values:
            pytest.fail(f"route {canonical}: give the test a value for {{{name}}}")
        return values[name]

    return re.sub(r"\{(\w+)\}", value, canonical)


def get_routes(app: web.Application) -> list[str]:
    """The path (canonical form) of every route that answers a GET, sub-apps included."""
    seen: dict[str, None] = {}
    for route in app.router.routes():
        if route.method in ("GET", "*") and route.resource is not None:
            seen.setdefault(route.resource.canonical, None)
    return list(seen)


def expect_headers(path: str, headers: Any, policy: str = POLICY) -> None:
    assert headers.get("Content-Security-Policy") == policy, path
    assert headers.getall("Content-Security-Policy") == [policy], path
    for name, value in COMMON.items():
        assert headers.get(name) == value, f"{path}: {name}"
    assert headers.get("X-Frame-Options") == "DENY", path


async def test_every_get_route_answers_with_the_headers(
    site: RunningApp, organizer: Browser, http: aiohttp.ClientSession
) -> None:
    accounts = site.app[ACCOUNTS]
    values = {
        "summit": "osd",
        "session": "s1",
        "room": "room-a",
        "pad_id": PAD,
        "pad": PAD,
        "ro_id": await ReadOnlyIds(site.app[SUMMITS].client, site.app[SUMMITS].prefix)
        .for_pad(PAD),
        "fmt": "html",
        "rev": "0",
        "version": "1.2.15",
        "function": "getText",
        "rest": "nothing-here",
        "filename": "site.css",
    }
    token = await accounts.create_api_token("olga")
    routes = get_routes(site.app)
    assert len(routes) > 40  # the walk found the app's routes, sub-app included
    answers: dict[str, int] = {}
    kwargs: dict[str, Any]
    for canonical in routes:
        path = fill(canonical if canonical != "/static" else "/static/{filename}", values)
        if canonical.startswith("/api/v1/"):
            session, kwargs = http, {"headers": {"Authorization": f"Bearer {token}"}}
        elif canonical.startswith("/api/"):
            session, kwargs = http, {"params": {"apikey": API_KEY, "padID": PAD}}
        else:
            session, kwargs = organizer.http, {"params": QUERIES.get(canonical, {})}
        async with session.get(site.http_url + path, allow_redirects=False, **kwargs) as response:
            status, headers = response.status, response.headers
        answers[canonical] = status
        export = canonical.endswith("export.{fmt}")
        expect_headers(path, headers, EXPORT_POLICY if export else POLICY)
    failed = {
        canonical: status for canonical, status in answers.items()
        if status >= 400 and NOT_SUCCESS.get(canonical) != status
    }
    assert not failed, f"routes that did not answer with what they are for: {failed}"


async def test_error_answers_have_the_headers_too(
    site: RunningApp, organizer: Browser, http: aiohttp.ClientSession
) -> None:
    async def answer(method: str, path: str, **kwargs: Any) -> int:
        async with http.request(method, site.http_url + path, allow_redirects=False,
                                **kwargs) as response:
            expect_headers(f"{method} {path}", response.headers)
            return response.status

    assert await answer("GET", "/no/such/page/here") == 404
    assert await answer("GET", "/p/not%20a%20pad") == 404  # the route of invalid pad ids
    assert await answer("GET", "/no/such/page", headers={"Accept": "application/json"}) == 404
    assert await answer("DELETE", "/api") == 405  # (elsewhere the CSRF check comes first)
    assert await answer("POST", "/login", data={"login": "olga"}) == 403  # no CSRF token
    assert await answer("GET", "/admin") == 401  # not logged in
    assert await answer("GET", "/api/v1/pads") == 401  # no token
    assert await answer("GET", "/api/v1/nothing") == 404
    assert await answer("HEAD", "/osd") == 200
    other_site = {**UPGRADE, "Origin": "https://evil.example"}
    assert await answer("GET", f"/ws/{PAD}", headers=other_site) == 403
    page = await organizer.get("/osd/s1/export.html")  # the export keeps its own policy
    expect_headers("export", page.headers, EXPORT_POLICY)


async def test_the_websocket_handshake_has_them(
    site: RunningApp, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{site.http_url}/ws/{PAD}", headers=UPGRADE) as response:
        assert response.status == 101
        expect_headers("handshake", response.headers)


async def test_framing_by_the_origins_of_the_setting(
    start_app: StartApp, http: aiohttp.ClientSession
) -> None:
    site = await start_app(frame_ancestors=f" {WIKI}  http://[::1]:8080 ")
    allowed = f"frame-ancestors {WIKI} http://[::1]:8080"
    for path in ("/", "/static/site.css", "/nothing/here", f"/p/{PAD}/export.html"):
        async with http.get(site.http_url + path) as response:
            policy = response.headers["Content-Security-Policy"]
            assert policy.endswith(f"; {allowed}"), path
            assert policy.count("frame-ancestors") == 1, path
            assert "X-Frame-Options" not in response.headers, path  # it cannot name an origin
            assert response.headers["Referrer-Policy"] == "same-origin", path


async def test_with_a_public_url_its_websocket_origin_is_allowed_and_https_is_kept_to(
    start_app: StartApp, http: aiohttp.ClientSession
) -> None:
    for public, listed in (("https://pads.example.org/", "wss://pads.example.org"),
                           ("http://10.0.0.5:8080", "ws://10.0.0.5:8080")):
        site = await start_app(public_url=public)
        async with http.get(site.http_url + "/") as response:
            policy = response.headers["Content-Security-Policy"]
            hsts = response.headers.get("Strict-Transport-Security")
        assert f"; connect-src 'self' {listed};" in policy
        # Served over TLS (a proxy in front): browsers keep to it for a year.
        assert hsts == ("max-age=31536000" if public.startswith("https") else None), public


# -- the pieces -------------------------------------------------------------------------------


def test_a_view_keeps_its_own_headers_and_its_policy_only_gets_stricter() -> None:
    setter = SecurityHeaders(Settings(frame_ancestors=WIKI))
    headers: CIMultiDict[str] = CIMultiDict({
        "X-Frame-Options": "SAMEORIGIN",
        "Referrer-Policy": "no-referrer",
        "content-security-policy": "default-src 'none'; base-uri 'none';",
    })
    setter.apply(headers)
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers.getall("Content-Security-Policy") == [
        f"default-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {WIKI}"
    ]


def test_complete_policy_leaves_a_whole_policy_alone() -> None:
    policy = "default-src 'none'; FRAME-ANCESTORS 'none'; base-uri 'none'; form-action 'none'"
    assert complete_policy(policy, POLICY) == policy


def test_framing_is_off_by_default() -> None:
    headers: CIMultiDict[str] = CIMultiDict()
    SecurityHeaders(Settings()).apply(headers)
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Content-Security-Policy"] == POLICY
    assert "Strict-Transport-Security" not in headers  # plain HTTP: browsers would ignore it


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("", ""),
        ("   ", ""),
        (WIKI, WIKI),
        ("https://wiki.example.org:8443\thttp://127.0.0.1", "https://wiki.example.org:8443 "
         "http://127.0.0.1"),
        ("http://[2001:db8::1]:80  https://a-b.example",
         "http://[2001:db8::1]:80 https://a-b.example"),
    ],
)
def test_frame_ancestors_that_are_origins(raw: str, kept: str) -> None:
    assert check_frame_ancestors(raw) == kept
    assert Settings(frame_ancestors=raw).frame_ancestors == kept


@pytest.mark.parametrize(
    "origin",
    [
        "wiki.example.org", "https://", "https://wiki.example.org/", "https://wiki.example.org/x",
        "https://*.example.org", "*", "'self'", "'none'", "https:", "data:",
        "javascript://x", "https://user@wiki.example.org", "https://wiki.example.org?x",
        "https://a.org;script-src", "https://a.org,https://b.org", "https://a.org'",
        "https://a.org:", "https://a.org:http", "https://a.org:0", "https://a.org:99999",
        "https://-a.org", "https://a..org", "HTTPS://a.org",
    ],
)
def test_frame_ancestors_that_are_not_origins_are_refused(origin: str) -> None:
    with pytest.raises(ConfigurationError, match="is not an origin: give scheme://host") as caught:
        Settings(frame_ancestors=f"{WIKI} {origin}")
    assert repr(origin) in str(caught.value)
