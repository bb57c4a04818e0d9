"""The full app's form and cookie handling: unreadable forms, masked CSRF tokens, Secure
cookies behind a TLS-terminating proxy."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable

import aiohttp
from summitpad.app_keys import SUMMITS
from summitpad.schedule import Room, Session, Summit

from .support import RunningApp

StartApp = Callable[..., Awaitable[RunningApp]]


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match[1]


async def test_an_unreadable_form_is_a_clear_400(app: RunningApp) -> None:
    async with aiohttp.ClientSession() as http:
        for content_type, body in [
            ("multipart/form-data", b"--x\r\nno boundary given"),
            ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data; nam"),
            ("application/x-www-form-urlencoded; charset=bogus", b"csrf=1"),
        ]:
            async with http.post(app.http_url + "/login", data=body,
                                 headers={"Content-Type": content_type}) as response:
                assert response.status in (400, 403), content_type
                assert "Something went wrong" not in await response.text()


async def test_csrf_tokens_differ_on_every_page_and_each_one_works(app: RunningApp) -> None:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.get(app.http_url + "/login") as page:
            first = csrf_of(await page.text())
        async with http.get(app.http_url + "/login") as page:
            second = csrf_of(await page.text())
        assert first != second  # masked afresh: a compressed page never repeats its bytes
        for token in (first, second):
            form = {"login": "nobody", "password": "wrong password!", "csrf": token}
            async with http.post(app.http_url + "/login", data=form) as response:
                assert response.status == 401  # past the CSRF check, refused as a login
        tampered = first[:-2] + ("AA" if not first.endswith("AA") else "BB")
        form = {"login": "nobody", "password": "wrong password!", "csrf": tampered}
        async with http.post(app.http_url + "/login", data=form) as response:
            assert response.status == 403


async def test_cookies_are_secure_when_the_public_url_is_https(start_app: StartApp) -> None:
    app = await start_app(public_url="https://pads.example.org")
    async with aiohttp.ClientSession() as http, http.get(app.http_url + "/") as page:
        cookie = page.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


async def test_join_links_use_the_address_people_came_to_when_no_public_url_is_set(
    start_app: StartApp,
) -> None:
    app = await start_app()
    store = app.app[SUMMITS]
    await store.create(Summit("osd", "OSD", dt.date(2030, 1, 7), dt.date(2030, 1, 7),
                              rooms=(Room("a", "A"),)))
    await store.save_session("osd", Session("s1", "One"))
    async with aiohttp.ClientSession() as http, http.get(
        app.http_url + "/osd/s1/projector", headers={"Host": "pads.venue.lan:8080"}
    ) as page:
        html = await page.text()
    assert "pads.venue.lan:8080/osd/s1" in html
    assert "127.0.0.1" not in html


async def test_an_unreadable_form_behind_a_good_csrf_header_is_a_400_too(app: RunningApp) -> None:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.get(app.http_url + "/login") as page:
            token = csrf_of(await page.text())
        for content_type in ("multipart/form-data", "application/x-www-form-urlencoded; "
                             "charset=bogus"):
            headers = {"Content-Type": content_type, "X-CSRF-Token": token}
            async with http.post(app.http_url + "/login", data=b"x=1",
                                 headers=headers) as response:
                assert response.status == 400, content_type
                assert "the form cannot be read" in await response.text()


async def test_a_strange_host_header_never_reaches_a_link(start_app: StartApp) -> None:
    app = await start_app()
    store = app.app[SUMMITS]
    await store.create(Summit("osd", "OSD", dt.date(2030, 1, 7), dt.date(2030, 1, 7),
                              rooms=(Room("a", "A"),)))
    await store.save_session("osd", Session("s1", "One"))
    async with aiohttp.ClientSession() as http:
        for host in ("x" * 3000, "evil.example/x?y#"):
            async with http.get(app.http_url + "/osd/s1/projector",
                                headers={"Host": host}) as page:
                assert page.status == 200
                html = await page.text()
            assert "evil.example" not in html and "x" * 300 not in html
            assert "127.0.0.1:8080/osd/s1" in html  # the configured default instead
