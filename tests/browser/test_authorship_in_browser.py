"""Authorship in a real browser: who wrote what shows in colours, like Etherpad.

Two people type into one pad: each one's text carries their author id and is washed in their
colour; typing inside the other's text is the typist's; clearing formats (toolbar, Ctrl+\\ and
even Quill's own removeFormat) keeps everyone's attribution and the connection; each viewer can
hide the colours for themselves; the authors list shows who wrote how much, names as text.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from playwright.async_api import Page, expect
from summitpad.web_security import PARTICIPANT_COOKIE, SECRET, participant_cookie_value

from ..support import RunningApp, eventually
from .conftest import OpenPage
from .test_pad_in_browser import XSS_NAME, expect_saved, new_pad_id, set_participant, wait_ready

ALICE = ("Alice", "#b42318", "red")
BOB = (XSS_NAME, "#0f766e", "teal")
# Author ids with "-" and "_" (and what looks like the class name's escapes), as the server's
# random ids often have.
ALICE_ID = "ann_d-Lee_u-1234"
BOB_ID = "-bob__Smith-0000"

Y_RUNS = """() => window.summitpad.doc.getText('content').toDelta()
  .map(op => [op.insert, (op.attributes || {}).author || null])"""
WATCH_CLOSES = """() => {
  window.__closes = []
  window.summitpad.provider.on('connection-close', event => {
    window.__closes.push(event ? [event.code, String(event.reason)] : null)
  })
}"""
TRANSPARENT = "rgba(0, 0, 0, 0)"


def wash(hex_color: str) -> re.Pattern[str]:
    """The computed background of an author's text: their colour at a quarter alpha."""
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return re.compile(rf"^rgba\({r}, {g}, {b}, 0\.25\d*\)$")


def author_class(author: str) -> str:
    """The class of an author's text: the id with "_" as "_u" and "-" as "_d"."""
    return "author-" + author.replace("_", "_u").replace("-", "_d")


async def be(page: Page, app: RunningApp, author: str) -> None:
    """Make the page's browser the participant `author` (a signed cookie) and reload."""
    value = participant_cookie_value(app.app[SECRET], author)
    await page.context.add_cookies(
        [{"name": PARTICIPANT_COOKIE, "value": value, "url": app.http_url}]
    )
    await page.reload()
    assert await author_id(page) == author


async def author_id(page: Page) -> str:
    value = await page.locator("#pad").get_attribute("data-author-id")
    assert value
    return value


async def runs(page: Page) -> list[tuple[str, str | None]]:
    """The shared text as (text, author) runs, newlines kept apart from the text around."""
    merged: list[tuple[str, str | None]] = []
    for text, author in await page.evaluate(Y_RUNS):
        for part in re.split(r"(\n)", text):
            if not part:
                continue
            who = None if part == "\n" else author
            if merged and merged[-1][1] == who and part != "\n" and merged[-1][0] != "\n":
                merged[-1] = (merged[-1][0] + part, who)
            else:
                merged.append((part, who))
    return merged


async def expect_runs(page: Page, expected: list[tuple[str, str | None]]) -> None:
    async def same() -> bool:
        return await runs(page) == expected

    try:
        await eventually(same)
    except AssertionError:
        assert await runs(page) == expected


async def open_authors(page: Page) -> None:
    if not await page.locator("#authors").evaluate("details => details.open"):
        await page.locator("#authors > summary").click()
    await expect(page.locator("#authors-list")).to_be_visible()


async def test_authorship_colours_attribution_and_the_authors_list(
    app: RunningApp, open_page: OpenPage, artifacts: Path
) -> None:
    url = f"{app.http_url}/p/{new_pad_id()}"
    alice, bob = await asyncio.gather(open_page(url, "alice"), open_page(url, "bob"))
    await asyncio.gather(be(alice, app, ALICE_ID), be(bob, app, BOB_ID))
    await asyncio.gather(wait_ready(alice), wait_ready(bob))
    await asyncio.gather(
        set_participant(alice, ALICE[0], ALICE[2]), set_participant(bob, BOB[0], BOB[2])
    )
    a, b = ALICE_ID, BOB_ID
    for page in (alice, bob):
        await page.evaluate(WATCH_CLOSES)

    # Alice writes a line; Bob types inside it: his letters are his, hers stay hers.
    await alice.locator(".ql-editor").click()
    await alice.keyboard.type("Alice writes here.", delay=10)
    await expect_runs(bob, [("Alice writes here.", a)])
    await bob.locator(".ql-editor").click()
    await bob.evaluate("() => window.summitpad.quill.setSelection(6, 0, 'user')")
    await bob.keyboard.type("BOB ", delay=10)
    expected = [("Alice ", a), ("BOB ", b), ("writes here.", a)]
    for page in (alice, bob):
        await expect_runs(page, expected)
        await expect_saved(page)

    # Each one's text carries their class and is washed in their colour, on both pages.
    for page in (alice, bob):
        await expect(page.locator(f".ql-editor .{author_class(b)}")).to_have_text("BOB ")
        await expect(page.locator(f".ql-editor .{author_class(a)}")).to_have_text(
            ["Alice ", "writes here."]
        )
        await expect(page.locator(f".ql-editor .{author_class(a)}").first).to_have_css(
            "background-color", wash(ALICE[1])
        )
        await expect(page.locator(f".ql-editor .{author_class(b)}")).to_have_css(
            "background-color", wash(BOB[1])
        )

    # Clearing formats over the other's text keeps who wrote it, and the connection.
    await bob.keyboard.press("Control+a")
    await bob.keyboard.press("Control+b")
    await expect(alice.locator(".ql-editor strong")).not_to_have_count(0)
    await bob.locator(".ql-toolbar .ql-clean").click()
    await expect(alice.locator(".ql-editor strong")).to_have_count(0)
    await alice.keyboard.press("Control+a")
    await alice.keyboard.press("Control+i")
    await expect(bob.locator(".ql-editor em")).not_to_have_count(0)
    await alice.keyboard.press("Control+Backslash")
    await expect(bob.locator(".ql-editor em")).to_have_count(0)
    # Even Quill's own removeFormat (which would clear the author) changes only the formats.
    await alice.evaluate(
        "() => window.summitpad.quill.formatText(0, 10, 'underline', true, 'user')"
    )
    await expect(bob.locator(".ql-editor u")).not_to_have_count(0)
    await alice.evaluate(
        "() => { const q = window.summitpad.quill; q.removeFormat(0, q.getLength() - 1, 'user') }"
    )
    await expect(bob.locator(".ql-editor u")).to_have_count(0)
    for page in (alice, bob):
        await expect_runs(page, expected)
        await expect(page.locator(f".ql-editor .{author_class(b)}")).to_have_text("BOB ")
        await expect_saved(page)
        assert await page.evaluate("() => window.__closes") == []
        assert await page.evaluate("() => window.summitpad.provider.wsconnected")
    delta = await alice.evaluate("() => window.summitpad.doc.getText('content').toDelta()")
    assert all(set(op.get("attributes", {})) <= {"author"} for op in delta), delta

    # Bob hides the colours: on his screen only, and he still has them hidden after a reload.
    await open_authors(bob)
    toggle = bob.locator("#authorship-colors")
    await expect(toggle).to_be_checked()
    await toggle.uncheck()
    await expect(bob.locator(f".ql-editor .{author_class(a)}").first).to_have_css(
        "background-color", TRANSPARENT
    )
    await expect(bob.locator(f".ql-editor .{author_class(b)}")).to_have_css(
        "background-color", TRANSPARENT
    )
    await expect(alice.locator(f".ql-editor .{author_class(b)}")).to_have_css(
        "background-color", wash(BOB[1])
    )
    assert await bob.evaluate(Y_RUNS) == await alice.evaluate(Y_RUNS)  # nothing was edited

    # The authors list: both names (as text), colours and characters, most first.
    await open_authors(alice)
    items = alice.locator("#authors-list li")
    await expect(items).to_have_count(2)
    await expect(alice.locator("#authors-list .name")).to_have_text([ALICE[0], XSS_NAME])
    await expect(items.nth(0)).to_have_attribute("data-author-id", a)
    await expect(items.nth(0).locator(".chars")).to_have_text("18 characters")
    await expect(items.nth(0).locator(".you")).to_have_text("(you)")
    await expect(items.nth(1)).to_have_attribute("data-author-id", b)
    await expect(items.nth(1).locator(".chars")).to_have_text("4 characters")
    await expect(items.nth(1).locator(".author-chip")).to_have_css(
        "background-color", re.compile(r"^rgb\(15, 118, 110\)$")
    )
    assert await alice.locator("#authors-list img").count() == 0
    # ... and it follows the text while open.
    await bob.locator(".ql-editor").click()
    await bob.keyboard.press("Control+End")
    await bob.keyboard.type(" More from Bob, and more", delay=10)
    await expect(alice.locator("#authors-list .name")).to_have_text([XSS_NAME, ALICE[0]])
    await expect(items.nth(0).locator(".chars")).to_have_text("28 characters")
    await alice.evaluate(
        "() => { window.summitpad.quill.blur(); getSelection().removeAllRanges() }"
    )
    await alice.screenshot(path=artifacts / "authors-alice.png")
    await bob.screenshot(path=artifacts / "authors-hidden-bob.png")
    await expect_saved(bob)

    await bob.reload()
    await wait_ready(bob)
    await expect(bob.locator("#authorship-colors")).not_to_be_checked()
    await expect(bob.locator(f".ql-editor .{author_class(a)}").first).to_have_css(
        "background-color", TRANSPARENT
    )

    # Bob leaves: Alice's page, reloaded, has his name and colour from the pad's authors.json.
    await bob.close()
    await alice.reload()
    await wait_ready(alice)
    await expect(alice.locator(f".ql-editor .{author_class(b)}").first).to_have_css(
        "background-color", wash(BOB[1])
    )
    await open_authors(alice)
    await expect(alice.locator("#authors-list .name")).to_have_text([XSS_NAME, ALICE[0]])
    await expect(alice.locator("#authors-list li").nth(0).locator(".chars")).to_have_text(
        "28 characters"
    )
    assert await alice.evaluate("() => window.__xss") is None
