"""A pad's history over HTTP: the timeslider page and its JSON, exports at a revision, saved
revisions (with "end of session"), and restoring a revision while people are connected."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from summitpad import timeslider
from summitpad.app_keys import SUMMITS
from summitpad.client import PadClient
from summitpad.clock import SetClock
from summitpad.pad_export import pad_content
from summitpad.schedule import Lock

from .summit_fixtures import (
    ESCAPED_XSS,
    SESSIONS,
    XSS,
    Browser,
    berlin,
    browsers,
    csrf_of,
    seed_summit,
    tags,
)
from .support import RunningApp, eventually

StartApp = Callable[..., Awaitable[RunningApp]]
ANN = {"name": "Ann <b>", "color": "#1d4ed8"}
BOB = {"name": "Bob", "color": "#b42318"}


@dataclasses.dataclass
class Typist:
    """One participant: a browser (cookies, CSRF) and its websocket client of one pad."""

    browser: Browser
    client: PadClient

    async def type(self, at_end: str) -> None:
        await self.client.edit(lambda t: t.insert(len(t), at_end))
        await eventually(lambda: self.client.saved)


@asynccontextmanager
async def typists(app: RunningApp) -> AsyncIterator[Callable[..., Awaitable[Typist]]]:
    clients: list[PadClient] = []
    async with browsers(app) as open_browser:

        async def join(pad_id: str, page: str, user: dict[str, str] | None = None) -> Typist:
            browser = await open_browser()
            await browser.get(page)  # the participant cookie
            client = await PadClient(browser.http, app.ws_url, pad_id).connect()
            clients.append(client)
            await asyncio.wait_for(client.synced.wait(), 10)
            if user:
                await client.set_awareness({"user": user})
            return Typist(browser, client)

        try:
            yield join
        finally:
            for client in clients:
                await client.close()


async def get_json(browser: Browser, path: str) -> tuple[int, Any]:
    page = await browser.get(path, headers={"Accept": "application/json"})
    return page.status, json.loads(page.text) if page.text.startswith("{") else page.text


async def three_revisions(app: RunningApp, join: Callable[..., Awaitable[Typist]],
                          pad_id: str = "notes") -> tuple[Typist, Typist, list[str]]:
    """Ann, then Bob, then Ann again: three revisions; the texts after each."""
    ann = await join(pad_id, f"/p/{pad_id}", ANN)
    bob = await join(pad_id, f"/p/{pad_id}", BOB)
    texts = []
    for typist, words in ((ann, f"Hello {XSS}\n"), (bob, "world 😀\n"), (ann, "bye\n")):
        await eventually(lambda t=typist: str(t.client.text) == (texts[-1] if texts else ""))
        await typist.type(words)
        texts.append(str(typist.client.text))
    return ann, bob, texts


# -- the revisions as JSON ----------------------------------------------------------------------


async def test_each_revision_shows_its_text_time_and_author(app: RunningApp) -> None:
    async with typists(app) as join:
        ann, _, texts = await three_revisions(app, join)
        ann_id = await participant_id(ann.browser)
        await eventually(lambda: names_recorded(ann.browser, "notes", 2))
        status, latest = await get_json(ann.browser, "/p/notes/history.json")
        assert status == 200 and latest["rev"] == 3 and latest["count"] == 3
        for rev, (author, text) in enumerate(zip((ANN, BOB, ANN), texts, strict=True), 1):
            status, shown = await get_json(ann.browser, f"/p/notes/history.json?rev={rev}")
            assert status == 200, shown
            assert shown["rev"] == rev and shown["count"] == 3
            assert shown["author"]["name"] == author["name"]
            assert shown["author"]["color"] == author["color"]
            assert datetime.fromisoformat(shown["time"]) <= datetime.now(UTC)
            assert ESCAPED_XSS in shown["html"] and XSS not in shown["html"]
            assert ("world 😀" in shown["html"]) == ("world" in text)
            assert shown["saved"] == []
        assert latest["author"]["id"] == ann_id
        # The runs of each author are in a span of a class the authors list names.
        legend = {a["name"]: a for a in latest["authors"]}
        assert set(legend) == {"Ann <b>", "Bob"}
        assert f'class="author {legend["Bob"]["class"]}" title="Bob">world 😀' in latest["html"]
        assert 'title="Ann &lt;b&gt;"' in latest["html"]
        status, empty = await get_json(ann.browser, "/p/notes/history.json?rev=0")
        assert status == 200 and empty["html"] == "" and empty["author"] is None
        assert empty["time"] is None


async def participant_id(browser: Browser) -> str:
    cookie = next(c for c in browser.http.cookie_jar if c.key == "sp_participant")
    return cookie.value.partition(".")[0]


async def names_recorded(browser: Browser, pad_id: str, count: int) -> bool:
    _, shown = await get_json(browser, f"/p/{pad_id}/history.json")
    return len(shown["authors"]) >= count


@pytest.mark.parametrize("rev", ["abc", "-1", "4", "", "1.0", " 1", "1e3", "99999999999999"])
async def test_a_revision_that_does_not_exist_is_not_found(app: RunningApp, rev: str) -> None:
    async with typists(app) as join:
        ann, _, _ = await three_revisions(app, join)
        for path in (f"/p/notes/history.json?rev={rev}", f"/p/notes/history?rev={rev}",
                     f"/p/notes/export.txt?rev={rev}", f"/p/notes/export.json?rev={rev}"):
            page = await ann.browser.get(path)
            assert page.status == 404, (path, page.text[:300])
        restore = await ann.browser.post("/p/notes/history/restore", {"rev": rev})
        assert restore.status == 404


async def test_a_pad_never_written_has_revision_0_only(start_app: StartApp) -> None:
    app = await start_app(clock=SetClock(berlin(4, 9, 10)))
    await seed_summit(app.app[SUMMITS])
    async with browsers(app) as open_browser:
        browser = await open_browser()
        for base in ("/p/blank", "/osd/s2"):
            status, shown = await get_json(browser, f"{base}/history.json")
            assert status == 200 and shown["rev"] == 0 and shown["count"] == 0
            assert shown["html"] == ""
            assert (await browser.get(f"{base}/history")).status == 200
            assert (await browser.get(f"{base}/history.json?rev=1")).status == 404
        for path in ("/osd/nope/history", "/p/osd.nope/history.json", "/nosummit/s1/history"):
            assert (await browser.get(path)).status == 404, path


# -- the page -----------------------------------------------------------------------------------


async def test_the_page_shows_the_revision_escaped_and_links_everything(app: RunningApp) -> None:
    async with typists(app) as join:
        ann, _, _ = await three_revisions(app, join)
        await eventually(lambda: names_recorded(ann.browser, "notes", 2))
        page = await ann.browser.get("/p/notes/history?rev=2")
        assert page.status == 200
        assert "<script>" not in page.text.replace('<script type="module"', "")
        assert ESCAPED_XSS in page.text and "Ann &lt;b&gt;" in page.text
        main = tags(page.text, "main", id="history")[0]
        assert main["data-json-url"] == "/p/notes/history.json"
        assert main["data-count"] == "3" and main["data-rev"] == "2"
        assert tags(page.text, "input", id="slider")[0]["max"] == "3"
        for fmt in ("txt", "md", "html", "json", "yjs"):
            assert tags(page.text, "a", href=f"/p/notes/export.{fmt}?rev=2")
        form = tags(page.text, "form", id="restore-form")[0]
        assert form["action"] == "/p/notes/history/restore"
        assert tags(page.text, "input", name="rev")[0]["value"] == "2"
        assert tags(page.text, "a", href="/p/notes")
        assert all(script.get("src") for script in tags(page.text, "script"))  # none inline
        pad_page = await ann.browser.get("/p/notes")
        assert tags(pad_page.text, "a", href="/p/notes/history")
        assert tags(pad_page.text, "form", action="/p/notes/revisions")


async def test_the_session_pages_link_to_the_history(start_app: StartApp) -> None:
    app = await start_app(clock=SetClock(berlin(4, 9, 10)))
    await seed_summit(app.app[SUMMITS])
    async with browsers(app) as open_browser:
        browser = await open_browser()
        session_page = await browser.get("/osd/s1")
        assert tags(session_page.text, "a", href="/osd/s1/history")
        assert tags(session_page.text, "form", action="/osd/s1/revisions")
        history = await browser.get("/osd/s1/history")
        assert history.status == 200 and "Storage roadmap" in history.text
        assert tags(history.text, "a", href="/osd/s1")
        assert tags(history.text, "a", href="/osd/s1/export.md?rev=0")
        ro = await browser.get("/osd/s1/ro")
        read_only = await browser.get(ro.location)
        assert "history" not in read_only.text.lower() and "revisions" not in read_only.text


# -- exports at a revision ----------------------------------------------------------------------


async def test_every_format_exports_what_the_pad_said_then(app: RunningApp) -> None:
    async with typists(app) as join:
        ann, _, texts = await three_revisions(app, join)
        await eventually(lambda: names_recorded(ann.browser, "notes", 2))
        for rev, text in enumerate(texts, 1):
            page = await ann.browser.get(f"/p/notes/export.txt?rev={rev}")
            assert page.status == 200 and page.text == text
            assert page.headers["Content-Disposition"] == \
                f'attachment; filename="notes-r{rev}.txt"'
        old = texts[1]
        md = await ann.browser.get("/p/notes/export.md?rev=2")
        assert "world 😀" in md.text and "bye" not in md.text and "\\<script\\>" in md.text
        html = await ann.browser.get("/p/notes/export.html?rev=2")
        assert "world 😀" in html.text and "bye" not in html.text
        assert ESCAPED_XSS in html.text and "Ann &lt;b&gt;" in html.text  # authors filled in
        assert "background: #1d4ed8" in html.text
        async with ann.browser.http.get(app.http_url + "/p/notes/export.yjs?rev=2") as response:
            assert response.status == 200
            assert pad_content(await response.read()).text == old
        exported = json.loads((await ann.browser.get("/p/notes/export.json?rev=2")).text)
        assert exported["text"] == old and exported["revision"] == 2
        assert [r["rev"] for r in exported["revisions"]] == [1, 2]
        assert exported["revisions_omitted"] == 0
        ann_id = await participant_id(ann.browser)
        assert exported["revisions"][0]["author"] == ann_id
        assert exported["authors"][ann_id] == {"name": "Ann <b>", "colour": "#1d4ed8"}
        current = json.loads((await ann.browser.get("/p/notes/export.json")).text)
        assert current["revision"] is None and current["text"] == texts[-1]
        assert [r["rev"] for r in current["revisions"]] == [1, 2, 3]


async def test_the_json_export_lists_only_the_latest_revisions(
    app: RunningApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(timeslider, "REVISIONS_LISTED_MAX", 2)
    async with typists(app) as join:
        ann, _, _ = await three_revisions(app, join)
        exported = json.loads((await ann.browser.get("/p/notes/export.json")).text)
        assert [r["rev"] for r in exported["revisions"]] == [2, 3]
        assert exported["revisions_omitted"] == 1


# -- saved revisions ----------------------------------------------------------------------------


async def test_a_saved_revision_is_listed_with_its_label_as_text(app: RunningApp) -> None:
    async with typists(app) as join:
        ann, bob, _ = await three_revisions(app, join)
        await eventually(lambda: names_recorded(ann.browser, "notes", 2))
        saved = await ann.browser.post("/p/notes/revisions", {"label": f"  {XSS}\x07 "})
        assert saved.status == 303 and saved.location == "/p/notes"
        await ann.type("more\n")  # a revision of its own: a saved one ends the one before
        answer = await bob.browser.post("/p/notes/revisions", {"label": "agreed", "name": "B\nob"},
                                        headers={"Accept": "application/json"})
        assert answer.status == 200
        assert json.loads(answer.text)["saved"]["rev"] == 4
        assert json.loads(answer.text)["saved"]["name"] == "B ob"

        _, shown = await get_json(ann.browser, "/p/notes/history.json?rev=1")
        assert [(s["rev"], s["label"], s["name"]) for s in shown["saved"]] == [
            (3, XSS, "Ann <b>"), (4, "agreed", "B ob")
        ]
        # Starring the same revision again relabels it.
        await bob.browser.post("/p/notes/revisions", {"label": "agreed, really"})
        _, shown = await get_json(ann.browser, "/p/notes/history.json")
        assert [(s["rev"], s["label"]) for s in shown["saved"]] == [
            (3, XSS), (4, "agreed, really")
        ]
        page = await ann.browser.get("/p/notes/history")
        assert ESCAPED_XSS in page.text and XSS not in page.text
        assert tags(page.text, "a", href="/p/notes/history?rev=3", data_rev="3")
        exported = json.loads((await ann.browser.get("/p/notes/export.json")).text)
        assert [s["label"] for s in exported["saved"]] == [XSS, "agreed, really"]
        early = json.loads((await ann.browser.get("/p/notes/export.json?rev=3")).text)
        assert [s["label"] for s in early["saved"]] == [XSS]


@pytest.mark.parametrize(("label", "problem"), [
    ("", "give the revision a label"),
    (" \x00\t ", "give the revision a label"),
    ("x" * 101, "at most 100 characters"),
])
async def test_a_bad_label_is_refused_clearly(app: RunningApp, label: str, problem: str) -> None:
    async with typists(app) as join:
        ann = await join("labels", "/p/labels")
        await ann.type("text\n")
        answer = await ann.browser.post("/p/labels/revisions", {"label": label})
        assert answer.status == 400 and problem in answer.plain


async def test_saving_and_restoring_need_the_csrf_token(app: RunningApp) -> None:
    async with typists(app) as join:
        ann = await join("guarded", "/p/guarded")
        await ann.type("text\n")
        for path, form in (("/p/guarded/revisions", {"label": "x"}),
                           ("/p/guarded/history/restore", {"rev": "0"})):
            refused = await ann.browser.post(path, form, csrf=False)
            assert refused.status == 403 and "CSRF" in refused.text
        assert str(ann.client.text) == "text\n"
        _, shown = await get_json(ann.browser, "/p/guarded/history.json")
        assert shown["saved"] == [] and shown["count"] == 1


async def test_nothing_to_save_on_a_pad_never_written(app: RunningApp) -> None:
    async with browsers(app) as open_browser:
        browser = await open_browser()
        answer = await browser.post("/p/untouched/revisions", {"label": "first"})
        assert answer.status == 400 and "no edits yet" in answer.text


# -- restore ------------------------------------------------------------------------------------


async def test_a_restore_is_seen_live_and_keeps_the_history(app: RunningApp) -> None:
    async with typists(app) as join:
        ann, bob, texts = await three_revisions(app, join)
        page = await ann.browser.get("/p/notes/history?rev=1")
        async with ann.browser.http.post(
            app.http_url + "/p/notes/history/restore",
            data={"rev": "1", "csrf": csrf_of(page.text)}, allow_redirects=False,
        ) as response:
            assert response.status == 303 and response.headers["Location"] == "/p/notes"
        await eventually(lambda: str(bob.client.text) == texts[0])
        await eventually(lambda: str(ann.client.text) == texts[0])
        _, shown = await get_json(ann.browser, "/p/notes/history.json")
        assert shown["count"] == 4 and shown["author"]["name"] == "Ann <b>"
        assert [(s["rev"], s["label"]) for s in shown["saved"]] == [
            (3, "before restoring revision 1")
        ]
        assert (await ann.browser.get("/p/notes/export.txt?rev=3")).text == texts[2]
        assert (await ann.browser.get("/p/notes/export.txt")).text == texts[0]
        # Bob's words come back with his name on them when his revision is restored.
        answer = await bob.browser.post("/p/notes/history/restore", {"rev": "2"},
                                        headers={"Accept": "application/json"})
        assert answer.status == 200 and json.loads(answer.text) == {"restored": 2}
        await eventually(lambda: str(ann.client.text) == texts[1])
        _, shown = await get_json(ann.browser, "/p/notes/history.json")
        assert [(s["rev"], s["label"]) for s in shown["saved"]] == [
            (3, "before restoring revision 1"), (4, "before restoring revision 2")
        ]
        assert shown["count"] == 5
        bob_id = await participant_id(bob.browser)
        runs = [(c, (a or {}).get("author")) for c, a in ann.client.text.diff()]
        assert ("world 😀\n", bob_id) in runs


async def test_a_locked_session_pad_is_neither_restored_nor_starred(
    start_app: StartApp,
) -> None:
    clock = SetClock(berlin(4, 9, 10))
    app = await start_app(clock=clock)
    data = await seed_summit(app.app[SUMMITS])
    async with typists(app) as join:
        ann = await join("osd.s1", "/osd/s1", ANN)
        await ann.type("decided\n")
        before = str(ann.client.text)
        locked = dataclasses.replace(data.sessions["s1"], lock=Lock.LOCKED)
        await app.app[SUMMITS].save_session("osd", locked)
        for path, form in (("/osd/s1/history/restore", {"rev": "0"}),
                           ("/p/osd.s1/history/restore", {"rev": "1"}),
                           ("/osd/s1/revisions", {"label": "final"})):
            refused = await ann.browser.post(path, form)
            assert refused.status == 403 and "read-only" in refused.text, path
        page = await ann.browser.get("/osd/s1/history")
        assert tags(page.text, "button", id="restore", disabled="")
        await asyncio.sleep(0.1)
        assert str(ann.client.text) == before


# -- the end of a session -----------------------------------------------------------------------


async def test_an_ended_session_has_an_end_of_session_revision(start_app: StartApp) -> None:
    clock = SetClock(berlin(4, 9, 10))
    app = await start_app(clock=clock)
    await seed_summit(app.app[SUMMITS])
    async with typists(app) as join:
        ann = await join("osd.s1", "/osd/s1", ANN)  # its template is revision 1
        await ann.type("during the session\n")
        during = str(ann.client.text)
        await asyncio.sleep(0.005)
        end = datetime.fromtimestamp(time.time_ns() // 1_000_000 / 1000, UTC)  # whole ms
        await asyncio.sleep(0.005)
        bob = await join("osd.s1", "/osd/s1", BOB)
        await eventually(lambda: str(bob.client.text) == during)
        await bob.type("in the grace period\n")

        s1 = next(s for s in SESSIONS if s.id == "s1")
        await app.app[SUMMITS].save_session(
            "osd", dataclasses.replace(s1, start=end - timedelta(minutes=40), end=end)
        )
        clock.set(end - timedelta(minutes=1))
        _, shown = await get_json(ann.browser, "/osd/s1/history.json")
        assert shown["count"] == 3 and shown["saved"] == []

        clock.set(end + timedelta(minutes=5))  # ended, still writable
        _, shown = await get_json(ann.browser, "/osd/s1/history.json")
        assert [(s["rev"], s["label"]) for s in shown["saved"]] == [(2, "end of session")]
        assert shown["saved"][0]["time"] == timeslider.iso(int(end.timestamp() * 1000))
        status, at_end = await get_json(ann.browser, "/osd/s1/history.json?rev=2")
        assert status == 200 and "during the session" in at_end["html"]
        exported = json.loads((await ann.browser.get("/osd/s1/export.json")).text)
        assert [s["label"] for s in exported["saved"]] == ["end of session"]

        # One saved under that label by a participant takes its place.
        await bob.browser.post("/osd/s1/revisions", {"label": "End of session"})
        _, shown = await get_json(ann.browser, "/p/osd.s1/history.json")
        assert [(s["rev"], s["label"]) for s in shown["saved"]] == [(3, "End of session")]

        clock.set(end + timedelta(hours=2))  # read-only now: listed all the same
        _, shown = await get_json(ann.browser, "/osd/s1/history.json")
        assert [s["label"] for s in shown["saved"]] == ["End of session"]


async def test_a_restore_keeps_the_label_of_a_starred_revision(app: RunningApp) -> None:
    async with typists(app) as join:
        ann, _, texts = await three_revisions(app, join)
        await ann.browser.post("/p/notes/revisions", {"label": "agreed"})
        restored = await ann.browser.post("/p/notes/history/restore", {"rev": "2"})
        assert restored.status == 303
        await eventually(lambda: str(ann.client.text) == texts[1])
        _, shown = await get_json(ann.browser, "/p/notes/history.json")
        assert [(s["rev"], s["label"]) for s in shown["saved"]] == [(3, "agreed")]
        assert shown["count"] == 4
