"""The summit archive (docs/archive-format.md): its layout and manifest, its pages, the pads'
records, the action items, determinism, escaping, the CLI and the organizer's download."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import json
import posixpath
import re
import subprocess
import zipfile
from collections.abc import Awaitable, Callable
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from pycrdt import Doc, Text
from summitpad.accounts import AccountStore
from summitpad.app_keys import REGISTRY, STORE, SUMMITS
from summitpad.archive import write_archive
from summitpad.archive_actions import ActionState, action_items
from summitpad.history_store import HistoryStore
from summitpad.keys import pad_keys
from summitpad.pad_deletion import delete_pad
from summitpad.pad_export import pad_content, to_yjs
from summitpad.pad_export_html import pad_blocks
from summitpad.schedule import Session
from summitpad.store import PadStore

from .archive_fixtures import (
    ATTR_XSS,
    CHAT,
    JS_LINK,
    NOW,
    PAYLOADS,
    RO_ID,
    SESSIONS,
    SUMMIT,
    archive_files,
    seed_archive_summit,
    unzip,
)
from .summit_fixtures import XSS, add_people, browsers, stored_text
from .support import RunningApp, ValkeyProcess, subprocess_env, summitpad_command

SLUG = SUMMIT.slug
FILES_PER_SESSION = ("html", "md", "txt", "json", "yjs")
CSP = "default-src 'none'; style-src 'unsafe-inline'"
# Every tag a page of the archive may hold.
TAGS = {
    "html", "head", "meta", "title", "style", "body", "nav", "a", "header", "main", "footer",
    "section", "h1", "h2", "h3", "h4", "h5", "h6", "h7", "dl", "dt", "dd", "p", "div", "span",
    "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "strong", "em", "s",
    "code", "pre", "blockquote", "time", "input", "label", "br",
}


@pytest.fixture
async def files(redis_client: aioredis.Redis, key_prefix: str) -> dict[str, bytes]:
    await seed_archive_summit(redis_client, key_prefix)
    return await archive_files(redis_client, key_prefix)


class Page(HTMLParser):
    """Every tag of a page with its attributes, the text of its <style> and its plain text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.styles: list[str] = []
        self.text = ""
        self._in_style = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)
        else:
            self.text += data

    def attrs(self, tag: str) -> list[dict[str, str]]:
        return [attrs for found, attrs in self.tags if found == tag]

    def by_id(self, element_id: str) -> tuple[str, dict[str, str]]:
        found = [(t, a) for t, a in self.tags if a.get("id") == element_id]
        assert len(found) == 1, f"{len(found)} elements with id {element_id!r}"
        return found[0]


def page(files: dict[str, bytes], path: str) -> Page:
    return Page(files[path].decode())


def pages(files: dict[str, bytes]) -> list[str]:
    return [path for path in files if path.endswith(".html")]


# -- layout and manifest --------------------------------------------------------------------


def test_the_layout_is_the_documented_one(files: dict[str, bytes]) -> None:
    ids = sorted(s.id for s in SESSIONS)
    expected = {"index.html", "actions.html", "data/summit.json", "manifest.json"}
    expected |= {f"sessions/{sid}.{ext}" for sid in ids for ext in FILES_PER_SESSION}
    expected |= {"data/pads/s1.json", "data/pads/s2.json", "data/pads/s4.json"}
    assert set(files) == expected
    assert list(files)[-1] == "manifest.json"
    summit = json.loads(files["data/summit.json"])
    assert summit["format"] == "summitpad-summit" and summit["version"] == 1
    assert summit["summit"] == SUMMIT.to_json()
    stored = [Session.from_json(s.to_json()) for s in sorted(SESSIONS, key=lambda s: s.id)]
    assert summit["sessions"] == [s.to_json() for s in stored]  # as the store keeps them: UTC


def test_the_manifest_names_every_file_with_its_checksum(files: dict[str, bytes]) -> None:
    manifest = json.loads(files["manifest.json"])
    assert manifest["format"] == "summitpad-archive" and manifest["version"] == 1
    assert manifest["generator"].startswith("summitpad ")
    assert manifest["created"] == "2026-05-10T12:00:00Z"
    assert manifest["summit"] == {
        "slug": SLUG, "name": SUMMIT.name, "start": "2026-05-04", "end": "2026-05-05",
        "timezone": "Europe/Berlin", "sessions": len(SESSIONS), "pads": 3,
    }
    listed = manifest["files"]
    assert set(listed) == set(files) - {"manifest.json"}
    for path, entry in listed.items():
        assert entry == {"sha256": hashlib.sha256(files[path]).hexdigest(),
                         "size": len(files[path])}, path


async def test_the_zip_is_deflated_under_one_top_folder(
    redis_client: aioredis.Redis, key_prefix: str, tmp_path: Path
) -> None:
    await seed_archive_summit(redis_client, key_prefix)
    target = tmp_path / "a.zip"
    archived = await write_archive(redis_client, key_prefix, SLUG, target, now=NOW)
    # Five files per session, three pad records, data/summit.json, index and actions.
    assert (archived.sessions, archived.pads, archived.files) == (5, 3, 31)
    with zipfile.ZipFile(target) as archive:
        infos = archive.infolist()
        assert archive.testzip() is None
    assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in infos)
    assert all(info.filename.startswith(f"{SLUG}/") and ".." not in info.filename
               for info in infos)
    assert len({info.filename for info in infos}) == len(infos)


async def test_progress_is_reported_up_to_every_session(
    redis_client: aioredis.Redis, key_prefix: str, tmp_path: Path
) -> None:
    await seed_archive_summit(redis_client, key_prefix)
    seen: list[tuple[int, int]] = []
    await write_archive(redis_client, key_prefix, SLUG, tmp_path / "a.zip", now=NOW,
                        progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 5) and seen[-1] == (5, 5)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


# -- pages --------------------------------------------------------------------------------------


def test_every_page_is_standalone(files: dict[str, bytes]) -> None:
    for path in pages(files):
        parsed = page(files, path)
        metas = [m for m in parsed.attrs("meta")
                 if m.get("http-equiv") == "Content-Security-Policy"]
        assert [m["content"] for m in metas] == [CSP], path
        assert len(parsed.attrs("style")) == 1, path
        for tag, attrs in parsed.tags:
            assert tag in TAGS, (path, tag)
            assert "src" not in attrs, (path, tag)
        for link in parsed.attrs("a"):
            href = link["href"]
            if re.match(r"(?i)(https?:|mailto:)", href):
                assert link["rel"] == "noopener noreferrer", (path, href)
                continue
            assert ":" not in href and not href.startswith("/"), (path, href)
            target, _, fragment = posixpath.normpath(
                posixpath.join(posixpath.dirname(path), href)
            ).partition("#")
            assert target in files, (path, href)
            if fragment:
                page(files, target).by_id(fragment)


def test_the_session_page_holds_notes_authors_chat_and_saved_revisions(
    files: dict[str, bytes],
) -> None:
    parsed = page(files, "sessions/s1.html")
    text = parsed.text
    for wanted in ("Storage plan", "Bob writes click and site", XSS, "done thing",
                   "ACTION: write the doc", "after the end"):
        assert wanted in text
    assert "Mon 04 May 2026 09:00-09:40 (Europe/Berlin)" in text
    assert f"Room {ATTR_XSS}" in text and f"Storage {XSS}" in text and ATTR_XSS in text
    assert f"{JS_LINK} {XSS}\n{ATTR_XSS}" in text  # the description, as written
    assert parsed.by_id("L1")[0] == "h2" and parsed.by_id("L5")[0] == "li"
    assert parsed.by_id("L11")[0] == "p"
    # Authors, most characters first, with their colours; the stranger is anonymous.
    rows = re.findall(r"<tr class=\"(a\d)\"><td><span class=\"swatch\"></span>(.*?)</td>"
                      r"<td class=\"chars\">(\d+)</td>", files["sessions/s1.html"].decode())
    assert [(css, int(chars)) for css, _, chars in rows] == [("a0", 152), ("a1", 48), ("a2", 40)]
    assert [html.unescape(name) for _, name, _ in rows] == ["Ann", ATTR_XSS, "anonymous"]
    style = "".join(parsed.styles)
    assert "#colours:checked ~ .pad .a0 { background: #1d4ed840; }" in style
    assert "#colours:checked ~ .pad .a1 { background: #47546740; }" in style  # bad colour: grey
    assert {"type": "checkbox", "id": "colours", "checked": ""} in parsed.attrs("input")
    # Chat, saved revisions (the end of session derived), links to the files and back.
    assert "hello & welcome" in text and f"{ATTR_XSS}: {XSS}" in text
    assert f"Revision 4: agreed {XSS} saved by {ATTR_XSS}" in text
    assert "Revision 10: end of session" in text  # 11 was written after the end
    hrefs = [a["href"] for a in parsed.attrs("a")]
    for ext in ("md", "txt", "json", "yjs"):
        assert f"s1.{ext}" in hrefs
    assert "../index.html" in hrefs and "https://example.org/?a=1&b=2" in hrefs
    assert not any("javascript" in href for href in hrefs)


def test_the_index_lists_sessions_by_day_and_time(files: dict[str, bytes]) -> None:
    parsed = page(files, "index.html")
    hrefs = [a["href"] for a in parsed.attrs("a") if a["href"].startswith("sessions/")]
    assert hrefs == ["sessions/s1.html", "sessions/s2.html", "sessions/s3.html",
                     "sessions/s4.html", "sessions/idea.html"]
    text = parsed.text
    assert text.index("Monday 04 May 2026") < text.index("Tuesday 05 May 2026") \
        < text.index("Without a time")
    assert "times in Europe/Berlin" in text and "2026-05-04 to 2026-05-05" in text
    assert ".track.t0::before { background: #1d4ed8; }" in "".join(parsed.styles)
    assert "actions.html" in [a["href"] for a in parsed.attrs("a")]


def test_the_session_files_are_the_exports(files: dict[str, bytes]) -> None:
    text = files["sessions/s1.txt"].decode()
    assert text.startswith("Storage plan\nBob writes click and site\n")
    assert pad_content(files["sessions/s1.yjs"]).text == text
    md = files["sessions/s1.md"].decode()
    assert md.startswith("# Storage plan\n") and "- [x] done thing\n- [ ] open thing" in md
    exported = json.loads(files["sessions/s1.json"])
    assert exported["text"] == text and exported["pad"] == f"{SLUG}.s1"
    assert exported["exported_at"] == "2026-05-04T07:50:00Z"  # the last revision's time
    assert [r["rev"] for r in exported["revisions"]] == list(range(1, 12))
    assert [s["label"] for s in exported["saved"]] == [f"agreed {XSS}", "end of session"]
    assert exported["authors"]["bob"] == {"name": ATTR_XSS, "colour": "#475467"}
    assert [m["text"] for m in exported["chat"]] == [text for *_, text in CHAT]


# -- the pads' records ---------------------------------------------------------------------


async def test_a_pad_record_holds_everything_of_the_pad(
    redis_client: aioredis.Redis, key_prefix: str
) -> None:
    written = await seed_archive_summit(redis_client, key_prefix)
    files = await archive_files(redis_client, key_prefix)
    record = json.loads(files["data/pads/s1.json"])
    keys = pad_keys(key_prefix, f"{SLUG}.s1")
    assert record["format"] == "summitpad-pad-data" and record["version"] == 1
    assert record["pad_id"] == f"{SLUG}.s1" and record["read_only_id"] == RO_ID
    revisions = record["revisions"]
    assert [r["number"] for r in revisions] == list(range(1, 12))
    assert await redis_client.xlen(keys.hist) == 4  # 1-4 written, 5-11 only in the log
    log_ids = [eid.decode() for eid, _ in await redis_client.xrange(keys.log)]
    assert [r["upto"] for r in revisions] == log_ids[:11]
    assert [r["author"] for r in revisions][:4] == ["ann", "bob", "ann", "zed"]
    doc: Doc[Any] = Doc()
    text = doc.get("content", type=Text)
    for revision in revisions:
        doc.apply_update(base64.b64decode(revision["update"]))
    state = pad_content(base64.b64decode(record["state"]))
    assert str(text) == state.text == await stored_text(redis_client, key_prefix, f"{SLUG}.s1")
    assert str(text) == str(written["s1"].text)
    assert record["saved"] == [{
        "upto": log_ids[3], "number": 4, "label": f"agreed {XSS}", "author": "bob",
        "name": ATTR_XSS, "time": revisions[3]["time"] + 1_000,
    }]
    chat_ids = [eid.decode() for eid, _ in await redis_client.xrange(keys.chat)]
    assert [(m["id"], m["m"]) for m in record["chat"]] == [
        (eid, {"author": a, "name": n, "color": c, "text": t})
        for eid, (a, n, c, t) in zip(chat_ids, CHAT, strict=True)
    ]
    assert record["authors"] == {
        "ann": {"name": "Ann", "color": "#1D4ED8"},
        "bob": {"name": ATTR_XSS, "color": "red;}</style><script>alert(1)</script>"},
    }
    plain = json.loads(files["data/pads/s2.json"])
    assert plain["read_only_id"] is None and plain["saved"] == [] and plain["chat"] == []
    assert len(plain["revisions"]) == 1


async def test_a_pad_compacted_with_its_history_keeps_every_revision(
    redis_client: aioredis.Redis, key_prefix: str
) -> None:
    """Compaction folds the log into the snapshot and trims it: the record still holds every
    revision, and they still give the pad."""
    written = await seed_archive_summit(redis_client, key_prefix)
    keys = pad_keys(key_prefix, f"{SLUG}.s1")
    store = PadStore(redis_client, "test")
    last_id = (await redis_client.xrevrange(keys.log, count=1))[0][0].decode()
    await HistoryStore(redis_client).extend(keys)
    assert await store.try_lease(keys)
    assert await store.compact(keys, written["s1"].doc.get_update(), last_id)
    assert await redis_client.xlen(keys.log) == 1
    record = json.loads((await archive_files(redis_client, key_prefix))["data/pads/s1.json"])
    assert [r["number"] for r in record["revisions"]] == list(range(1, 12))
    assert pad_content(base64.b64decode(record["state"])).text == str(written["s1"].text)


# -- action items ------------------------------------------------------------------------------


def test_action_items_are_found_with_links_to_their_lines(files: dict[str, bytes]) -> None:
    html = files["actions.html"].decode()
    found = re.findall(r'<span class="state (\w+)">\w+</span> <a href="([^"]+)">(.*?)</a>', html)
    assert found == [
        ("done", "sessions/s1.html#L5", "done thing"),
        ("open", "sessions/s1.html#L6", "open thing"),
        ("noted", "sessions/s1.html#L7", "Call the vendor #action"),
        ("noted", "sessions/s1.html#L8", "Also #ACTION, any case"),
        ("noted", "sessions/s1.html#L9", "ACTION: write the doc"),
        ("noted", "sessions/s2.html#L1", "[ ] not a checklist; ACTION: fence"),
    ]
    session_page = files["sessions/s1.html"].decode()
    for _, href, text in found[:5]:
        line = href.partition("#")[2]
        assert re.search(rf'id="{line}"[^>]*>(<span[^>]*>)?{re.escape(text)}<', session_page)


@pytest.mark.parametrize(("line", "state"), [
    ("#action call Bob", ActionState.NOTED),
    ("call Bob (#Action)", ActionState.NOTED),
    ("ACTION: call Bob", ActionState.NOTED),
    ("#action-item", ActionState.NOTED),
    ("#actions are many", None),
    ("foo#action", None),
    ("##action", None),
    ("Action: call Bob", None),
    ("REACTION: none", None),
    ("no action here", None),
])
def test_which_lines_are_action_items(line: str, state: ActionState | None) -> None:
    doc: Doc[Any] = Doc()
    doc.get("content", type=Text).insert(0, f"intro\n{line}\n")
    items = action_items(pad_content(doc))
    assert [(i.line, i.state) for i in items] == ([(2, state)] if state else [])


# -- determinism, a never-written session, escaping ------------------------------------------


async def test_two_archives_of_the_same_data_are_the_same(
    redis_client: aioredis.Redis, key_prefix: str
) -> None:
    await seed_archive_summit(redis_client, key_prefix)
    first = await archive_files(redis_client, key_prefix)
    second = await archive_files(redis_client, key_prefix, now=NOW + timedelta(days=30))
    assert list(first) == list(second)
    for path in first:
        if path != "manifest.json":
            assert first[path] == second[path], path
    one, two = json.loads(first["manifest.json"]), json.loads(second["manifest.json"])
    assert one.pop("created") != two.pop("created")
    assert one == two


def test_a_session_never_written_has_no_notes(files: dict[str, bytes]) -> None:
    for sid in ("s3", "idea"):
        parsed = page(files, f"sessions/{sid}.html")
        assert "No notes were taken." in parsed.text
        assert "Agenda" not in parsed.text  # not the summit's template
        assert files[f"sessions/{sid}.md"] == b"" and files[f"sessions/{sid}.txt"] == b""
        assert files[f"sessions/{sid}.yjs"] == to_yjs(b"")
        assert pad_content(files[f"sessions/{sid}.yjs"]).text == ""
        assert json.loads(files[f"sessions/{sid}.json"])["text"] == ""
        assert f"data/pads/{sid}.json" not in files
    assert "no notes" in page(files, "index.html").text


async def test_a_deleted_pad_is_not_in_later_archives(
    app: RunningApp, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    await seed_archive_summit(redis_client, key_prefix)
    keys = pad_keys(key_prefix, SUMMIT.pad_id("s4"))
    assert await delete_pad(app.app[STORE], app.app[REGISTRY], app.app[SUMMITS], keys,
                            by="test")
    files = await archive_files(redis_client, key_prefix)
    assert "No notes were taken." in page(files, "sessions/s4.html").text
    assert "data/pads/s4.json" not in files
    for path, data in files.items():
        assert b"day two notes" not in data, path
    assert b"Storage plan" in files["sessions/s1.md"]  # the other pads are all there


def test_nothing_anybody_wrote_becomes_markup(files: dict[str, bytes]) -> None:
    for path in pages(files):
        html = files[path].decode()
        for payload in PAYLOADS:
            assert payload not in html, (path, payload)
        assert "<script" not in html.lower() and "<img" not in html.lower(), path
        parsed = page(files, path)
        for tag, attrs in parsed.tags:
            assert not any(name.startswith("on") for name in attrs), (path, tag, attrs)
            assert not attrs.get("href", "").lower().startswith("javascript"), path
            style = attrs.get("style")
            assert style is None or re.fullmatch(r"color: #[0-9a-f]{6}", style), (path, style)
        for css in parsed.styles:
            assert "<" not in css and "url(" not in css and "@import" not in css, path
    # What people wrote is still there, as text.
    assert XSS in page(files, "sessions/s1.html").text
    assert ATTR_XSS in page(files, "index.html").text
    assert f"agreed {XSS}" in page(files, "sessions/s1.html").text


# -- the CLI ---------------------------------------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*summitpad_command(), *args], capture_output=True, text=True,
                          env=subprocess_env(), timeout=60)


async def test_the_cli_writes_the_archive(
    redis_client: aioredis.Redis, key_prefix: str, valkey: ValkeyProcess, tmp_path: Path
) -> None:
    await seed_archive_summit(redis_client, key_prefix)
    target = tmp_path / "out" / "arch.zip"
    target.parent.mkdir()
    store = ("--redis-url", valkey.url, "--key-prefix", key_prefix)
    done = await asyncio.to_thread(cli, "archive", SLUG, "-o", str(target), *store)
    assert done.returncode == 0, done.stderr
    assert f"Archiving {SLUG}" in done.stderr
    assert f"wrote {target}: 5 sessions, 3 pads with data" in done.stdout
    assert [p.name for p in target.parent.iterdir()] == ["arch.zip"]
    written = unzip(target.read_bytes(), SLUG)
    expected = await archive_files(redis_client, key_prefix)
    assert {p: b for p, b in written.items() if p != "manifest.json"} == \
        {p: b for p, b in expected.items() if p != "manifest.json"}

    missing = tmp_path / "out" / "nope.zip"
    refused = await asyncio.to_thread(cli, "archive", "nope", "-o", str(missing), *store)
    assert refused.returncode == 1
    assert "there is no summit 'nope'" in refused.stderr
    assert [p.name for p in target.parent.iterdir()] == ["arch.zip"]  # nothing half-written


# -- the organizer's download ---------------------------------------------------------------


async def test_organizers_download_the_archive(
    start_app: Callable[..., Awaitable[RunningApp]], redis_client: aioredis.Redis,
    key_prefix: str, caplog: pytest.LogCaptureFixture,
) -> None:
    site = await start_app()
    await seed_archive_summit(redis_client, key_prefix)
    await add_people(AccountStore(redis_client, key_prefix))
    async with browsers(site) as open_browser:
        anonymous = await open_browser()
        assert (await anonymous.get(f"/{SLUG}/archive.zip")).status == 401
        moderator = await open_browser("bob")
        assert (await moderator.get(f"/{SLUG}/archive.zip")).status == 403
        organizer = await open_browser("olga")
        admin = await organizer.get(f"/{SLUG}/admin")
        assert f'href="/{SLUG}/archive.zip"' in admin.text and "Download the archive" in admin.text
        assert (await organizer.get("/nope/archive.zip")).status == 404
        async with organizer.http.get(f"{site.http_url}/{SLUG}/archive.zip") as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "application/zip"
            assert response.headers["Content-Disposition"] == \
                f'attachment; filename="{SLUG}-archive.zip"'
            body = await response.read()

        async def download() -> bytes:
            async with organizer.http.get(f"{site.http_url}/{SLUG}/archive.zip") as response:
                assert response.status == 200
                return await response.read()

        # Two at once: one after the other on this node, both whole.
        both = await asyncio.gather(download(), download())
    assert "Error handling request" not in caplog.text
    assert "Unhandled exception" not in caplog.text
    downloaded = unzip(body, SLUG)
    for other in both:
        assert unzip(other, SLUG).keys() == downloaded.keys()
    expected = await archive_files(redis_client, key_prefix)
    assert set(downloaded) == set(expected)
    assert downloaded["sessions/s1.html"] == expected["sessions/s1.html"]
    assert downloaded["data/pads/s1.json"] == expected["data/pads/s1.json"]


def test_every_line_of_the_notes_has_its_anchor() -> None:
    doc: Doc[Any] = Doc()
    text = doc.get("content", type=Text)
    for chunk, attrs in [("title", None), ("\n", {"header": 1}), ("x = 1", None),
                         ("\n", {"code-block": True}), ("y = 2", None),
                         ("\n", {"code-block": True}), ("quoted", None),
                         ("\n", {"blockquote": True}), ("item", None), ("\n", {"list": "bullet"}),
                         ("\n", None)]:
        text.insert(len(str(text).encode()), chunk, attrs or {})
    html = pad_blocks(pad_content(doc), {}, {}, line_ids=True)
    assert html == (
        '<h2 id="L1">title</h2>\n<pre><code><span id="L2">x = 1</span>\n'
        '<span id="L3">y = 2</span></code></pre>\n<blockquote id="L4">quoted</blockquote>\n'
        '<ul>\n<li id="L5">item</li>\n</ul>\n<p id="L6"><br></p>'
    )
    assert pad_blocks(pad_content(doc), {}, {}).startswith("<h2>title</h2>\n<pre><code>x = 1\n")
