"""The pad's chat in a real browser: two people chatting, the unread count while the panel is
closed or scrolled away, and markup in names and messages shown as text."""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import datetime
from pathlib import Path

import redis.asyncio as aioredis
from playwright.async_api import Locator, Page, expect
from summitpad.keys import pad_keys

from ..support import RunningApp
from .conftest import PHONE, OpenPage
from .test_pad_in_browser import XSS_NAME, new_pad_id, rgb, set_participant, wait_ready

EARLIER = 30  # messages already in the chat: enough to scroll


async def say(page: Page, text: str) -> None:
    box = page.locator("#chat-input")
    await box.fill(text)
    await box.press("Enter")
    await expect(box).to_have_value("")


def texts(page: Page) -> Locator:
    return page.locator("#chat-log .chat-text")


async def test_two_people_chat_with_an_unread_count_and_markup_as_text(
    app: RunningApp, open_page: OpenPage, redis_client: aioredis.Redis, key_prefix: str,
    page_errors: list[str], artifacts: Path,
) -> None:
    pad = new_pad_id()
    earlier = [f"earlier {i}" for i in range(EARLIER)]
    for text in earlier:
        body = {"author": "someone", "name": "Sam", "color": "#0f766e", "text": text}
        await redis_client.xadd(pad_keys(key_prefix, pad).chat, {"m": json.dumps(body)})

    url = f"{app.http_url}/p/{pad}"
    ann, bob, mallory = await asyncio.gather(
        open_page(url, "ann"), open_page(url, "bob"), open_page(url, "mallory")
    )
    await asyncio.gather(wait_ready(ann), wait_ready(bob), wait_ready(mallory))
    await asyncio.gather(
        set_participant(ann, "Ann", "blue"),
        set_participant(bob, "Bob", "teal"),
        set_participant(mallory, XSS_NAME, "violet"),
    )
    for page in (ann, bob, mallory):  # open on a laptop, with the history, read to its end
        await expect(page.locator("#chat")).to_have_attribute("data-open", "true")
        await expect(texts(page)).to_have_count(EARLIER)
        await expect(page.locator("#chat-unread")).to_be_hidden()

    # Ann says hello; everybody sees it, with her name in her colour and a time.
    await say(ann, "hello, room")
    for page in (ann, bob, mallory):
        await expect(texts(page)).to_have_text([*earlier, "hello, room"])
        last = page.locator("#chat-log .chat-message").last
        await expect(last.locator(".chat-name")).to_have_text("Ann")
        await expect(last.locator(".chat-name")).to_have_css("color", rgb("#1d4ed8"))
        await expect(last.locator("time")).to_have_text(re.compile(r"\d{1,2}:\d\d"))
        sent = await last.locator("time").get_attribute("datetime")
        assert sent and abs(datetime.fromisoformat(sent).timestamp() - time.time()) < 60
    await expect(bob.locator("#chat-unread")).to_be_hidden()  # Bob was reading at the end

    # Bob closes the chat: what comes meanwhile is counted, until he opens it again.
    await bob.locator("#chat-toggle").click()
    await expect(bob.locator("#chat")).to_have_attribute("data-open", "false")
    await expect(bob.locator("#chat-log")).to_be_hidden()
    await say(ann, "are you there, Bob?")
    await say(ann, "Bob?")
    await expect(bob.locator("#chat-unread")).to_be_visible()
    await expect(bob.locator("#chat-unread-count")).to_have_text("2")
    await bob.screenshot(path=artifacts / "chat-closed-unread.png")
    await bob.locator("#chat-toggle").click()
    await expect(texts(bob).last).to_be_in_viewport()
    await expect(bob.locator("#chat-unread")).to_be_hidden()
    await expect(ann.locator("#chat-unread")).to_be_hidden()  # her own messages never count

    # Bob scrolls back to the start: a new message is counted, reading to the end clears it.
    await bob.locator("#chat-log").evaluate("log => { log.scrollTop = 0 }")
    await say(ann, "one more")
    await expect(bob.locator("#chat-unread-count")).to_have_text("1")
    await expect(bob.locator("#chat-unread")).to_be_visible()
    await bob.locator("#chat-log").evaluate("log => { log.scrollTop = log.scrollHeight }")
    await expect(bob.locator("#chat-unread")).to_be_hidden()

    # Markup in a name and in a message is text, and runs nothing.
    markup = "<img src=x onerror=window.__xss=1><b>bold?</b>"
    await say(mallory, markup)
    for page in (ann, bob, mallory):
        await expect(texts(page).last).to_have_text(markup)
        last = page.locator("#chat-log .chat-message").last
        await expect(last.locator(".chat-name")).to_have_text(XSS_NAME)
        assert await page.locator("#chat img, #chat b").count() == 0
        assert await page.evaluate("() => window.__xss") is None
    await ann.screenshot(path=artifacts / "chat-laptop.png")

    # On a phone the chat is a button that opens a sheet.
    await bob.set_viewport_size(PHONE)
    await bob.locator("#chat-toggle").click()
    await expect(bob.locator("#chat")).to_have_attribute("data-open", "false")
    await say(ann, "see you at lunch")
    await expect(bob.locator("#chat-unread-count")).to_have_text("1")
    await bob.screenshot(path=artifacts / "chat-phone-closed.png")
    await bob.locator("#chat-toggle").click()
    await expect(texts(bob).last).to_have_text("see you at lunch")
    await expect(texts(bob).last).to_be_in_viewport()
    await bob.screenshot(path=artifacts / "chat-phone-open.png")
    assert page_errors == []


async def test_a_flood_is_refused_with_a_note_and_the_text_is_kept(
    app: RunningApp, open_page: OpenPage
) -> None:
    page = await open_page(f"{app.http_url}/p/{new_pad_id()}", "chatty")
    await wait_ready(page)
    await set_participant(page, "Chatty", "red")
    for i in range(5):
        await say(page, f"message {i}")
    await expect(texts(page)).to_have_count(5)
    box = page.locator("#chat-input")
    await box.fill("one too many")
    await box.press("Enter")
    await expect(page.locator("#chat-note")).to_contain_text("Too many messages")
    await expect(box).to_have_value("one too many")  # given back, to send again later
    await expect(texts(page)).to_have_count(5)


async def test_the_read_only_page_has_no_chat(app: RunningApp, open_page: OpenPage) -> None:
    page = await open_page(f"{app.http_url}/p/{new_pad_id()}/ro", "viewer")
    await expect(page.locator("#pad")).to_have_attribute("data-read-only", "true")
    await expect(page.locator(".ql-editor")).to_have_attribute("contenteditable", "false")
    assert await page.locator("#chat").count() == 0
    assert await page.evaluate("() => window.summitpad.provider.wsconnected")
