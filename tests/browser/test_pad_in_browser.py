"""The pad page in a real browser (Debian's Chromium through Playwright) against the real app.

What a person sees: two people typing at once see each other's text, cursor and name; Markdown
shortcuts become formats in the shared document; the status line through a server restart;
other people's names are text, never markup; a bad pad id gives the 404 page.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, expect
from summitpad.app import create_app
from summitpad.settings import Settings

from ..support import RunningApp, eventually, free_port
from .conftest import PHONE, Y_TEXT, Connect, OpenPage

StartApp = Callable[..., Awaitable[RunningApp]]

SAVED = "all changes saved"
XSS_NAME = "<img src=x onerror=window.__xss=1>"

Y_DELTA = "() => window.summitpad.doc.getText('content').toDelta()"


def new_pad_id() -> str:
    return "browser-" + secrets.token_hex(4)


def rgb(hex_color: str) -> str:
    """`#rrggbb` as the browser's computed style writes it."""
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


async def wait_ready(page: Page) -> None:
    """The first sync is done: typing is enabled and nothing is waiting to be saved."""
    await expect(page.locator(".ql-editor")).to_have_attribute("contenteditable", "true")
    await expect_saved(page)


async def expect_saved(page: Page, within_ms: float = 10_000) -> None:
    status = page.locator("#status")
    await expect(status).to_have_attribute("data-state", "saved", timeout=within_ms)
    await expect(status).to_have_text(SAVED)


async def set_participant(page: Page, name: str, color_label: str) -> None:
    """Fill in the name and colour form as a person would, and close it with Done."""
    if not await page.locator("#me").evaluate("details => details.open"):
        await page.locator("#me > summary").click()
    await page.locator("#me-name").fill(name)
    await page.locator(f'#me-palette label.swatch[title="{color_label}"]').click()
    await page.locator("#me-form button[type=submit]").click()
    await expect(page.locator("#me-form")).to_be_hidden()
    await expect(page.locator("#me-label")).to_have_text(name)


async def y_text(page: Page) -> str:
    return str(await page.evaluate(Y_TEXT))


def lines(runs: list[tuple[str, dict[str, Any] | None]]) -> list[tuple[str, dict[str, Any]]]:
    """Formatted runs (text, attributes) as lines: (text, attributes of the line's newline)."""
    result: list[tuple[str, dict[str, Any]]] = []
    current = ""
    for text, attributes in runs:
        *complete, current_tail = (current + text).split("\n")
        for line in complete:
            result.append((line, dict(attributes or {})))
        current = current_tail
    if current:
        result.append((current, {}))
    return result


# ---- two people at once ------------------------------------------------------------------


async def test_two_people_type_at_once_and_see_each_other(
    start_app: StartApp, connect: Connect, open_page: OpenPage, artifacts: Path
) -> None:
    app = await start_app()
    pad = new_pad_id()
    seed = await connect(app.ws_url, pad)
    await seed.edit(lambda text: text.insert(0, "Alice: \nBob: "))
    await eventually(lambda: seed.saved)
    await seed.close()

    url = f"{app.http_url}/p/{pad}"
    alice, bob = await asyncio.gather(open_page(url, "alice"), open_page(url, "bob"))
    await asyncio.gather(wait_ready(alice), wait_ready(bob))
    people = {
        "alice": ("Alice Liddell", "#b42318", "red"),
        "bob": ("Bob Builder", "#0f766e", "teal"),
    }
    await asyncio.gather(
        set_participant(alice, people["alice"][0], people["alice"][2]),
        set_participant(bob, people["bob"][0], people["bob"][2]),
    )

    # each to the end of their own line, then both type at the same time
    await alice.locator(".ql-editor").click()
    await alice.keyboard.press("Control+Home")
    await alice.keyboard.press("End")
    await bob.locator(".ql-editor").click()
    await bob.keyboard.press("Control+End")
    alice_typed = "notes from the morning session"
    bob_typed = "action items for Friday"
    await asyncio.gather(
        alice.keyboard.type(alice_typed, delay=20), bob.keyboard.type(bob_typed, delay=20)
    )

    expected = f"Alice: {alice_typed}\nBob: {bob_typed}"
    for page in (alice, bob):
        await page.wait_for_function(f"expected => ({Y_TEXT})() === expected", arg=expected)
        await expect(page.locator(".ql-editor > p")).to_have_text(
            [f"Alice: {alice_typed}", f"Bob: {bob_typed}"]
        )

    for page, me, other in ((alice, "alice", "bob"), (bob, "bob", "alice")):
        other_name, other_color, _ = people[other]
        # the other's cursor, with their name in its flag and their colour
        cursor = page.locator(".ql-cursors .ql-cursor")
        await expect(cursor).to_have_count(1)
        await expect(cursor.locator(".ql-cursor-name")).to_have_text(other_name)
        await expect(cursor.locator(".ql-cursor-caret")).to_have_css(
            "background-color", rgb(other_color)
        )
        flag = cursor.locator(".ql-cursor-flag")
        await expect(flag).to_have_css("background-color", rgb(other_color))
        # the flag shows while the pointer is on the caret
        await cursor.locator(".ql-cursor-caret-container").hover()
        await expect(flag).to_be_visible()
        # who is here: this person first, then the other, with their colour
        await expect(page.locator("#people-count")).to_have_text("2")
        await expect(page.locator("#people-list .name")).to_have_text([people[me][0], other_name])
        await expect(page.locator("#people-list li").nth(1).locator(".dot")).to_have_css(
            "background-color", rgb(other_color)
        )
        await expect_saved(page)

    # the server holds what the pages show
    check = await connect(app.ws_url, pad)
    assert str(check.text) == expected == await y_text(alice) == await y_text(bob)

    # screenshots: laptop (Alice with the "who is here" list open, Bob pointing at Alice's
    # cursor so that its flag shows) and phone
    await alice.locator("#people > summary").click()
    await expect(alice.locator("#people-list")).to_be_visible()
    await alice.screenshot(path=artifacts / "laptop-alice.png")
    await bob.screenshot(path=artifacts / "laptop-bob.png")
    await alice.locator("#people > summary").click()
    for page in (alice, bob):
        await page.set_viewport_size(PHONE)
    await expect(alice.locator("#people-list")).to_be_hidden()
    await alice.screenshot(path=artifacts / "phone-alice.png")
    await bob.screenshot(path=artifacts / "phone-bob.png")


async def test_the_other_persons_cursor_is_drawn_where_they_type(
    app: RunningApp, open_page: OpenPage
) -> None:
    url = f"{app.http_url}/p/{new_pad_id()}"
    alice, bob = await asyncio.gather(open_page(url, "alice"), open_page(url, "bob"))
    await asyncio.gather(wait_ready(alice), wait_ready(bob))
    await set_participant(alice, "Alice", "red")
    await set_participant(bob, "Bob", "teal")
    await alice.locator(".ql-editor").click()
    await alice.keyboard.type("where is my cursor", delay=20)
    where = await alice.evaluate("() => window.summitpad.quill.getSelection().index")
    assert where == len("where is my cursor")
    # Bob's page draws Alice's cursor at the index where Alice's caret is
    await bob.wait_for_function(
        """where => {
          const cursors = window.summitpad.quill.getModule('cursors').cursors()
          return cursors.length === 1 && cursors[0].range && cursors[0].range.index === where
        }""",
        arg=where,
        timeout=3_000,
    )


# ---- Markdown shortcuts --------------------------------------------------------------------


async def test_markdown_shortcuts_become_formats_in_the_shared_text(
    app: RunningApp, connect: Connect, open_page: OpenPage
) -> None:
    pad = new_pad_id()
    page = await open_page(f"{app.http_url}/p/{pad}", "writer")
    await wait_ready(page)
    await set_participant(page, "Writer", "blue")
    await page.locator(".ql-editor").click()
    # (typed, Enter presses after it): a second Enter on an empty list line ends the list
    typing = [
        ("# Agenda", 1),
        ("- apples", 2),
        ("[] buy milk", 1),
        ("[x] book the room", 2),
        ("1. first point", 2),
        ("## Notes", 1),
        ("plain", 0),
    ]
    for text, enters in typing:
        await page.keyboard.type(text, delay=10)
        for _ in range(enters):
            await page.keyboard.press("Enter")

    expected = [
        ("Agenda", {"header": 1}),
        ("apples", {"list": "bullet"}),
        ("buy milk", {"list": "unchecked"}),
        ("book the room", {"list": "checked"}),
        ("first point", {"list": "ordered"}),
        ("Notes", {"header": 2}),
        ("plain", {}),
    ]
    # in the editor
    await expect(page.locator(".ql-editor h1")).to_have_text("Agenda")
    await expect(page.locator('.ql-editor li[data-list="bullet"]')).to_have_text("apples")
    await expect(page.locator('.ql-editor li[data-list="unchecked"]')).to_have_text("buy milk")
    await expect(page.locator('.ql-editor li[data-list="checked"]')).to_have_text("book the room")
    await expect(page.locator('.ql-editor li[data-list="ordered"]')).to_have_text("first point")
    await expect(page.locator(".ql-editor h2")).to_have_text("Notes")
    await expect_saved(page)

    # in the page's Y.Text
    delta = await page.evaluate(Y_DELTA)
    assert lines([(op["insert"], op.get("attributes", {})) for op in delta]) == expected

    # on the server: a fresh client's copy
    check = await connect(app.ws_url, pad)
    assert lines(check.text.diff()) == expected


# ---- the status line through a server restart ------------------------------------------------


@pytest.fixture
async def serve(
    make_settings: Callable[..., Settings],
) -> AsyncIterator[Callable[..., Awaitable[TestServer]]]:
    """Start the app on a given port (the page's websocket URL is a path: a server that comes
    back must listen on the same port). Same Valkey and key prefix every time."""
    servers: list[TestServer] = []

    async def start(port: int) -> TestServer:
        server = TestServer(create_app(make_settings()), host="127.0.0.1", port=port)
        await server.start_server()
        servers.append(server)
        return server

    yield start
    for server in reversed(servers):
        await asyncio.wait_for(server.close(), 10)


async def test_status_line_through_a_server_restart(
    serve: Callable[..., Awaitable[TestServer]], connect: Connect, open_page: OpenPage
) -> None:
    port = free_port()
    first = await serve(port)
    base = f"http://127.0.0.1:{port}"
    pad = new_pad_id()
    page = await open_page(
        f"{base}/p/{pad}", "offline", console_ok=[r"^WebSocket connection to \S+ failed"]
    )
    await wait_ready(page)
    await set_participant(page, "Traveller", "green")
    await page.locator(".ql-editor").click()
    await page.keyboard.type("typed online.", delay=10)
    await expect_saved(page)

    status = page.locator("#status")
    await first.close()
    await expect(status).to_have_attribute("data-state", "reconnecting")
    await expect(status).to_have_text("reconnecting…")

    await page.keyboard.type(" typed offline.", delay=10)
    await expect(status).to_have_attribute("data-state", "offline")
    await expect(status).to_have_text("offline — changes will be saved when reconnected")
    assert await y_text(page) == "typed online. typed offline."

    await serve(port)
    await expect_saved(page, within_ms=15_000)

    check = await connect(f"ws://127.0.0.1:{port}/ws", pad)
    assert str(check.text) == "typed online. typed offline."


# ---- other people's names are text -----------------------------------------------------------


async def test_a_name_with_markup_is_shown_as_text(
    app: RunningApp, open_page: OpenPage, page_errors: list[str], artifacts: Path
) -> None:
    url = f"{app.http_url}/p/{new_pad_id()}"
    mallory, victim = await asyncio.gather(
        open_page(url, "mallory"), open_page(url, "victim", viewport=PHONE)
    )
    await asyncio.gather(wait_ready(mallory), wait_ready(victim))
    # a first visit offers the name form; on a phone too
    await expect(victim.locator("#me-form")).to_be_visible()
    await victim.screenshot(path=artifacts / "phone-first-visit.png")
    await set_participant(mallory, XSS_NAME, "violet")
    await set_participant(victim, "Victim", "sky blue")
    await mallory.locator(".ql-editor").click()
    await mallory.keyboard.type("hello", delay=10)

    await expect(victim.locator("#people-list .name")).to_have_text(["Victim", XSS_NAME])
    await expect(victim.locator(".ql-cursors .ql-cursor-name")).to_have_text(XSS_NAME)
    await expect(mallory.locator("#me-label")).to_have_text(XSS_NAME)
    await victim.locator("#people > summary").click()
    await expect(victim.locator("#people-list")).to_be_visible()
    await victim.screenshot(path=artifacts / "phone-markup-name.png")
    for page in (mallory, victim):
        assert await page.locator("#people img, #me img, .ql-cursors img").count() == 0
        assert await page.evaluate("() => window.__xss") is None
    assert page_errors == []


# ---- bad pad ids -----------------------------------------------------------------------------


async def test_an_invalid_pad_id_shows_the_404_page(app: RunningApp, open_page: OpenPage) -> None:
    page = await open_page("about:blank", "404", console_ok=[r" 404 .* @ \S+/p/[^/]+$"])
    for bad_id in ["bad!id", "with%20space", "x" * 101]:
        response = await page.goto(f"{app.http_url}/p/{bad_id}")
        assert response is not None and response.status == 404, bad_id
        await expect(page.locator("h1")).to_have_text("404 · Not found")
        await expect(page.locator("main.error")).to_contain_text("is not a pad id")
        await expect(page.locator("#pad")).to_have_count(0)
        await expect(page).to_have_title("Not found · summitpad")
