"""Import into a pad over HTTP on the real app: the edit reaches connected clients at once, is
stored before the answer, lands at the Quill cursor however many bytes the text before it
takes, and is refused clearly when the pad is read-only, the upload too large or the form
forged."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from summitpad.app_keys import CLOCK, SUMMITS
from summitpad.client import PadClient
from summitpad.clock import SetClock
from summitpad.pad_import import MAX_BYTES
from summitpad.schedule import Lock

from .summit_fixtures import Browser, berlin, browsers, seed_summit, stored_text, tags
from .support import RunningApp, eventually

StartApp = Callable[..., Awaitable[RunningApp]]
Connect = Callable[..., Awaitable[PadClient]]
TEMPLATE = "Agenda\n\nNotes\n"  # the summit's template, as text


@pytest.fixture
async def site(start_app: StartApp) -> RunningApp:
    """09:10 on the summit's first day: session s1 is on and writable."""
    running = await start_app(clock=SetClock(berlin(4, 9, 10)))
    await seed_summit(running.app[SUMMITS])
    return running


@pytest.fixture
async def browser(site: RunningApp) -> AsyncIterator[Browser]:
    async with browsers(site) as open_browser:
        yield await open_browser()


async def post_import(
    browser: Browser,
    path: str,
    *,
    file: tuple[str, bytes] | None = None,
    text: str | None = None,
    fmt: str = "",
    mode: str = "cursor",
    index: int | str | None = None,
    csrf: str | None = "form",
    json: bool = True,
) -> tuple[int, Any]:
    """POST an import form as the dialog does; the CSRF token in the form, in the header, or
    not at all. Returns the status and the JSON answer (or the page's text)."""
    form = aiohttp.FormData()
    headers = {"Accept": "application/json"} if json else {}
    token = await browser.csrf()
    if csrf == "form":
        form.add_field("csrf", token)
    elif csrf == "header":
        headers["X-CSRF-Token"] = token
    form.add_field("mode", mode)
    if index is not None:
        form.add_field("index", str(index))
    if file is not None:
        form.add_field("file", file[1], filename=file[0], content_type="application/octet-stream")
    if text is not None:
        form.add_field("text", text)
        form.add_field("format", fmt or "txt")
    async with browser.http.post(browser.url + path, data=form, headers=headers,
                                 allow_redirects=False) as response:
        body = await response.json() if json else await response.text()
        return response.status, (body if json else (body, response.headers))


async def export_text(browser: Browser, path: str) -> str:
    page = await browser.get(path)
    assert page.status == 200, page.text
    return page.text


async def author_of(browser: Browser, page: str) -> str:
    found = tags((await browser.get(page)).text, "main", id="pad")
    return found[0]["data-author-id"]


def runs_of(client: PadClient) -> list[tuple[str, dict[str, Any]]]:
    return [(chunk, dict(attrs or {})) for chunk, attrs in client.text.diff()]


# -- the edit -----------------------------------------------------------------------------------


async def test_an_import_lands_at_the_cursor_live_and_stored(
    site: RunningApp, browser: Browser, connect: Connect
) -> None:
    writer = await connect(site.ws_url, "imports")
    await writer.edit(lambda t: t.insert(0, "Grüße 😀 [] end\n"))
    await eventually(lambda: writer.saved)
    watcher = await connect(site.ws_url, "imports")
    author = await author_of(browser, "/p/imports")

    # "Grüße 😀 [" is 10 UTF-16 units (the emoji takes two), 14 UTF-8 bytes.
    status, body = await post_import(browser, "/p/imports/import", text="**bold** text",
                                     fmt="md", index=10)
    assert status == 200, body
    assert body["imported"] == {"format": "md", "mode": "cursor", "index": 10, "length": 9}
    # Stored before the answer: the export reads the store, not the live pad.
    assert await export_text(browser, "/p/imports/export.txt") == "Grüße 😀 [bold text] end\n"
    await eventually(lambda: str(watcher.text) == "Grüße 😀 [bold text] end\n")
    await eventually(lambda: str(writer.text) == "Grüße 😀 [bold text] end\n")
    assert ("bold", {"bold": True, "author": author}) in runs_of(watcher)
    assert (" text", {"author": author}) in runs_of(watcher)


async def test_an_index_inside_an_emoji_goes_after_it(
    site: RunningApp, browser: Browser, connect: Connect
) -> None:
    writer = await connect(site.ws_url, "split")
    await writer.edit(lambda t: t.insert(0, "a😀b"))
    status, body = await post_import(browser, "/p/split/import", text="X", index=2)
    assert status == 200 and body["imported"]["index"] == 3
    await eventually(lambda: str(writer.text) == "a😀Xb")


async def test_replace_takes_the_whole_text(
    site: RunningApp, browser: Browser, connect: Connect
) -> None:
    writer = await connect(site.ws_url, "replaced")
    await writer.edit(lambda t: t.insert(0, "old words\nmore\n"))
    await eventually(lambda: writer.saved)
    file = ("notes.html", b"<h2>New</h2><ul><li>one</li><li>two</li></ul>")
    status, body = await post_import(browser, "/p/replaced/import", file=file, mode="replace")
    assert status == 200, body
    assert await export_text(browser, "/p/replaced/export.txt") == "New\none\ntwo\n"
    await eventually(lambda: str(writer.text) == "New\none\ntwo\n")
    formats = [attrs for chunk, attrs in runs_of(writer) if chunk == "\n"]
    assert [{k: v for k, v in f.items() if k != "author"} for f in formats] == [
        {"header": 2}, {"list": "bullet"}, {"list": "bullet"}
    ]
    markdown = await export_text(browser, "/p/replaced/export.md")
    assert markdown == "## New\n\n- one\n- two\n"


async def test_a_session_pad_imports_through_its_own_url(
    site: RunningApp, browser: Browser, redis_client: Any, key_prefix: str
) -> None:
    status, body = await post_import(browser, "/osd/s1/import", file=("a.txt", b"typed\r\n"))
    assert status == 200, body  # at the end: no index given
    assert await stored_text(redis_client, key_prefix, "osd.s1") == TEMPLATE + "typed"
    status, page = await post_import(browser, "/osd/s1/import", text="again", json=False)
    assert status == 303 and page[1]["Location"] == "/osd/s1"
    assert await stored_text(redis_client, key_prefix, "osd.s1") == TEMPLATE + "typed\nagain"
    status, body = await post_import(browser, "/osd/nope/import", text="x")
    assert status == 404


async def test_an_import_on_one_node_reaches_clients_of_another(
    start_app: StartApp, connect: Connect
) -> None:
    one, two = await start_app(), await start_app()
    watcher = await connect(two.ws_url, "across")
    async with browsers(one) as open_browser:
        browser = await open_browser()
        status, _ = await post_import(browser, "/p/across/import", text="hello")
    assert status == 200
    await eventually(lambda: str(watcher.text) == "hello")


# -- what is refused ----------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["locked", "ended"])
async def test_a_read_only_pad_refuses_imports(
    site: RunningApp, browser: Browser, connect: Connect, redis_client: Any, key_prefix: str,
    how: str,
) -> None:
    writer = await connect(site.ws_url, "osd.s1")
    if how == "locked":
        await site.app[SUMMITS].change_session("osd", "s1", lock=Lock.LOCKED)
    else:
        site.app[CLOCK].set(berlin(4, 18))
    status, body = await post_import(browser, "/osd/s1/import", text="sneaked in")
    assert status == 403
    assert "read-only" in body["error"]["detail"] and "nothing was imported" in body["error"][
        "detail"]
    status, body = await post_import(browser, "/p/osd.s1/import", text="sneaked in")
    assert status == 403
    assert await stored_text(redis_client, key_prefix, "osd.s1") == TEMPLATE
    assert "sneaked" not in str(writer.text)


async def test_a_huge_upload_gets_413_and_says_why(site: RunningApp, browser: Browser) -> None:
    big = ("big.txt", b"x" * (MAX_BYTES + 1))
    status, body = await post_import(browser, "/p/huge/import", file=big)
    assert status == 413
    detail = "the import is 1.0 MiB: at most 1.0 MiB can be imported at once"
    assert body["error"]["detail"] == detail
    status, (page, _) = await post_import(browser, "/p/huge/import", file=big, json=False)
    assert status == 413 and "at most 1.0 MiB can be imported at once" in page
    # A body far past the limit is refused on its Content-Length, before it is read.
    huge = ("huge.txt", b"x" * (3 * MAX_BYTES))
    status, body = await post_import(browser, "/p/huge/import", file=huge, csrf="header")
    assert status == 413 and "at most 1 MiB can be imported at once" in body["error"]["detail"]
    assert await export_text(browser, "/p/huge/export.txt") == ""


async def test_too_many_characters_get_413(site: RunningApp, browser: Browser) -> None:
    status, body = await post_import(browser, "/p/many/import", text="ab " * 200_000)
    assert status == 413 and "more than 500,000 characters" in body["error"]["detail"]


async def test_a_form_without_its_csrf_token_is_refused(
    site: RunningApp, browser: Browser
) -> None:
    status, body = await post_import(browser, "/p/forged/import", text="x", csrf=None)
    assert status == 403 and "CSRF" in body["error"]["detail"]
    other = Browser(site.http_url)  # another browser's token is no good either
    try:
        form = aiohttp.FormData({"csrf": await other.csrf(), "text": "x"})
        async with browser.http.post(site.http_url + "/p/forged/import", data=form,
                                     headers={"Accept": "application/json"}) as response:
            assert response.status == 403
    finally:
        await other.close()
    assert await export_text(browser, "/p/forged/export.txt") == ""


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"file": ("notes.docx", b"PK\x03\x04")}, "cannot import a file .docx"),
        ({"file": ("latin.txt", "café".encode("latin-1"))}, "not UTF-8 text (byte 3 is not)"),
        ({"file": ("empty.md", b"")}, "is empty"),
        ({"text": "   "}, "choose a .txt, .md or .html file, or paste some text"),
        ({"text": "x", "fmt": "pdf"}, "no import format 'pdf'"),
        ({"text": "x", "mode": "append"}, 'mode must be "cursor"'),
        ({"text": "x", "index": "-1"}, "index must be the cursor's position"),
        ({"text": "x", "index": "two"}, "index must be the cursor's position"),
        ({"text": "<div>" * 300, "fmt": "html"}, "nests elements more than 256 deep"),
    ],
)
async def test_bad_imports_get_400_with_a_reason(
    site: RunningApp, browser: Browser, fields: dict[str, Any], message: str
) -> None:
    status, body = await post_import(browser, "/p/bad/import", **fields)
    assert status == 400 and message in body["error"]["detail"], body
    assert await export_text(browser, "/p/bad/export.txt") == ""


async def test_scripts_and_handlers_never_land_and_markup_stays_text(
    site: RunningApp, browser: Browser
) -> None:
    hostile = (
        b'<p>hi <img src=x onerror="alert(1)"><script>alert(2)</script>'
        b'<a href="javascript:alert(3)" onclick="alert(4)">there</a></p>'
        b"<style>p { color: red }</style><iframe src=https://evil.example>f</iframe>"
    )
    status, _ = await post_import(browser, "/p/hostile/import", file=("x.html", hostile))
    assert status == 200
    status, _ = await post_import(browser, "/p/hostile/import",
                                  text="<script>alert(5)</script>", fmt="txt")
    assert status == 200
    text = await export_text(browser, "/p/hostile/export.txt")
    assert text == "hi there\n<script>alert(5)</script>"
    exported = await export_text(browser, "/p/hostile/export.html")
    assert "<script" not in exported and "&lt;script&gt;alert(5)&lt;/script&gt;" in exported
    assert "javascript" not in exported and "onerror" not in exported
    runs = (await export_text(browser, "/p/hostile/export.json"))
    assert '"link"' not in runs


# -- the pages ----------------------------------------------------------------------------------


async def test_writable_pages_offer_the_import_and_read_only_pages_never(
    site: RunningApp, browser: Browser, http: aiohttp.ClientSession
) -> None:
    pad_page = (await browser.get("/p/offered")).text
    assert tags(pad_page, "form", id="import-form", action="/p/offered/import")
    assert tags(pad_page, "input", type="file", name="file")
    session_page = (await browser.get("/osd/s1")).text
    assert tags(session_page, "form", id="import-form", action="/osd/s1/import")
    for link in ("/p/offered/ro", "/osd/s1/ro"):
        async with http.get(site.http_url + link) as response:
            page = await response.text()
        assert response.url.path.startswith("/ro/")
        assert "import" not in page.lower(), link
