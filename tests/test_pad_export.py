"""Pad export: every format of one rich pad against golden files, then over HTTP on the real app.

Golden files live in tests/golden/export/; after a deliberate change to an exporter, rewrite
them with `SUMMITPAD_UPDATE_GOLDEN=1 pytest tests/test_pad_export.py` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pycrdt import Doc, Text
from summitpad import urls
from summitpad.app_keys import SUMMITS
from summitpad.chat import ChatEntry
from summitpad.client import PadClient
from summitpad.clock import SetClock
from summitpad.pad_export import (
    FORMATS,
    SessionInfo,
    md_escape,
    pad_content,
    safe_url,
    to_json,
    to_markdown,
    to_text,
    to_yjs,
)
from summitpad.pad_export_html import to_html

from .summit_fixtures import ESCAPED_XSS, XSS, berlin, seed_summit
from .support import RunningApp, eventually

GOLDEN = Path(__file__).parent / "golden" / "export"
INTEROP = Path(__file__).parent / "interop"
UPDATE = bool(os.environ.get("SUMMITPAD_UPDATE_GOLDEN"))
AT = datetime(2026, 5, 4, 7, 45, tzinfo=UTC)
AUTHORS = {
    "ann": {"name": "Ann <b>", "colour": "#1D4ED8"},
    "bob": {"name": "Bob", "colour": "red; background:url(x)"},  # not #rrggbb: no colour
}
SESSION = SessionInfo(
    summit="osd", summit_name="Open Storage Days", id="s1", title="Storage <roadmap>",
    track="Storage", room="Room A", start="2026-05-04T09:00:00+02:00",
    end="2026-05-04T09:40:00+02:00", when="Mon 04 May 2026 09:00-09:40 (Europe/Berlin)",
    moderator="Bob Builder", description="Where storage goes & why",
)
# The pad's chat: 07:05:00 and 07:05:12.345 UTC on the session's day, and one a day later.
CHAT = [
    ChatEntry("1777878300000-0", "ann", "Ann <b>", "#1d4ed8", "Hello & welcome"),
    ChatEntry("1777878312345-0", "zed", "<img src=x onerror=alert(1)>", "#475467", XSS),
    ChatEntry("1777964700000-1", "bob", "Bob", "red; x", "next day"),
]

# The pad: (text, attributes) runs as Quill writes them; a line's format sits on its "\n".
RUNS: list[tuple[str, dict[str, Any] | None]] = [
    ("Storage roadmap", None), ("\n", {"header": 1}),
    ("Agenda", None), ("\n", {"header": 2}),
    ("Details", None), ("\n", {"header": 3}),
    ("Plain ", None), ("bold", {"bold": True}), (" and ", None),
    ("both", {"bold": True, "italic": True}), (", ", None), ("struck", {"strike": True}),
    (", ", None), ("x = `y`", {"code": True}), (" and a ", None),
    ("link", {"link": "https://example.org/a?b=1&c=2"}), (".", None), ("\n", None),
    ("first", None), ("\n", {"list": "bullet"}),
    ("second", None), ("\n", {"list": "bullet"}),
    ("one", None), ("\n", {"list": "ordered"}),
    ("two", None), ("\n", {"list": "ordered"}),
    ("done", None), ("\n", {"list": "checked"}),
    ("to do", None), ("\n", {"list": "unchecked"}),
    ("def f():", None), ("\n", {"code-block": True}),
    ("    return '<b>'", None), ("\n", {"code-block": True}),
    ("\n", None),
    ("click me", {"link": "javascript:alert(1)"}), (" or ", None),
    ("mail", {"link": "mailto:ann@example.org"}), ("\n", None),
    (XSS, None), ("\n", None),
    ("*not bold* _no_ [no](http://x.org) <b>tag</b> # 1. - + ` | ~~s~~ &amp; \\ ", None),
    ("\n", None),
    ("- not a list", None), ("\n", None),
    ("1. not numbered", None), ("\n", None),
    ("# not a heading", None), ("\n", None),
    ("http://bare.example and www.bare.example and me@bare.example", None), ("\n", None),
    ("Grüße 😀 𝄞 emoji ", None), ("👩‍💻", {"bold": True}), ("\n", None),
    ("Ann wrote this", {"author": "ann"}), (" and Bob this", {"author": "bob"}),
    (" and a stranger", {"author": "zed"}), ("\n", None),
]


def build_doc() -> Doc[Any]:
    doc: Doc[Any] = Doc(client_id=1)
    text = doc.get("content", type=Text)
    position = 0  # pycrdt positions are UTF-8 bytes
    with doc.transaction():
        for insert, attrs in RUNS:
            text.insert(position, insert, attrs or {})  # {}: take no format from the left
            position += len(insert.encode())
    return doc


def text_export(fmt: str) -> str:
    body = exports()[fmt]
    assert isinstance(body, str)
    return body


def exports() -> dict[str, str | bytes]:
    doc = build_doc()
    content = pad_content(doc)
    return {
        "txt": to_text(content),
        "md": to_markdown(content),
        "html": to_html(content, title=SESSION.title, session=SESSION, authors=AUTHORS,
                        exported_at="2026-05-04T07:45:00Z", chat=CHAT),
        "json": to_json(content, pad_id="osd.s1", exported_at=AT, session=SESSION,
                        authors=AUTHORS, chat=CHAT),
        "yjs": to_yjs(doc),
    }


@pytest.mark.parametrize("fmt", ["txt", "md", "html", "json"])
def test_export_matches_its_golden_file(fmt: str) -> None:
    body = exports()[fmt]
    assert isinstance(body, str)
    path = GOLDEN / f"pad.{fmt}"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    assert body == path.read_text(encoding="utf-8")


def test_plain_text_is_the_pad_text() -> None:
    assert exports()["txt"] == "".join(insert for insert, _ in RUNS)


def test_markdown_escapes_user_text() -> None:
    md = text_export("md")
    assert "# Storage roadmap\n" in md and "## Agenda" in md and "### Details" in md
    assert "**bold**" in md and "***both***" in md and "~~struck~~" in md
    assert "`` x = `y` ``" in md
    assert "[link](<https://example.org/a?b=1&c=2>)" in md
    assert "- first\n- second" in md and "1. one\n1. two" in md
    assert "- [x] done\n- [ ] to do" in md
    assert "```\ndef f():\n    return '<b>'\n```" in md
    assert "javascript" not in md.replace("javascript\\:", "")  # only as escaped text, if at all
    assert "click me" in md and "[mail](<mailto:ann@example.org>)" in md
    assert "<script>" not in md and "\\<script\\>" in md
    assert "\\*not bold\\* \\_no\\_ \\[no\\](http\\://x.org) \\<b\\>tag\\</b\\>" in md
    assert "\n\\- not a list" in md and "\n1\\. not numbered" in md
    assert "\n\\# not a heading" in md
    assert "http\\://bare.example and www\\.bare.example and me\\@bare.example" in md
    assert "😀 𝄞" in md and "**👩‍💻**" in md


@pytest.mark.parametrize("text", ["a*b", "[x](y)", "<i>", "  code", "1) x", "=", "~~a~~", "a|b"])
def test_md_escape_leaves_no_markup(text: str) -> None:
    escaped = md_escape(text, line_start=True)
    assert escaped != text or text.isalnum()
    unescaped = escaped.replace("&#32;", " ")
    for char in "*[]<>~|":
        unescaped = unescaped.replace("\\" + char, "")
        assert char not in unescaped


def test_html_is_standalone_and_escaped() -> None:
    page = text_export("html")
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "javascript:" not in page and "click me" in page
    assert '<a href="https://example.org/a?b=1&amp;c=2" rel="noopener noreferrer">' in page
    assert '<a href="mailto:ann@example.org" rel="noopener noreferrer">' in page
    assert "<title>Storage &lt;roadmap&gt;</title>" in page
    assert "Where storage goes &amp; why" in page and "Room A" in page
    assert not re.search(r"<\w[^>]*\ssrc=", page)  # escaped text may say "src=", no tag does
    assert "<img" not in page and "<link" not in page and "@import" not in page
    assert "background: #1d4ed8" in page and 'title="Ann &lt;b&gt;"' in page
    assert "url(x)" not in page  # Bob's colour was not a colour
    assert "<h2>Storage roadmap</h2>" in page and '<ul class="checklist">' in page
    assert "<pre><code>def f():\n    return &#x27;&lt;b&gt;&#x27;</code></pre>" in page
    assert '<span class="name" style="color: #1d4ed8">Ann &lt;b&gt;</span>: Hello &amp; welcome' \
        in page
    assert "&lt;img src=x onerror=alert(1)&gt;</span>: " + ESCAPED_XSS in page
    assert "red; x" not in page  # not a colour: grey


def test_json_export() -> None:
    body = json.loads(exports()["json"])
    assert body["format"] == "summitpad-pad" and body["version"] == 1
    assert body["pad"] == "osd.s1" and body["session"]["title"] == "Storage <roadmap>"
    assert body["exported_at"] == "2026-05-04T07:45:00Z"
    assert body["text"] == exports()["txt"]
    assert {"insert": "\n", "attributes": {"header": 1}} in body["runs"]  # not 1.0
    assert "".join(run["insert"] for run in body["runs"]) == body["text"]
    assert body["authors"] == {
        "ann": {"name": "Ann <b>", "colour": "#1d4ed8"}, "bob": {"name": "Bob", "colour": None}
    }
    assert [m["text"] for m in body["chat"]] == ["Hello & welcome", XSS, "next day"]
    assert body["chat"][1] == {
        "id": "1777878312345-0", "time": "2026-05-04T07:05:12Z", "author": "zed",
        "name": "<img src=x onerror=alert(1)>", "colour": "#475467", "text": XSS,
    }
    assert body["chat"][2]["colour"] == "#475467"


def test_yjs_state_loads_into_a_fresh_doc() -> None:
    doc = build_doc()
    state = exports()["yjs"]
    assert isinstance(state, bytes)
    fresh: Doc[Any] = Doc()
    text = fresh.get("content", type=Text)
    fresh.apply_update(state)
    assert str(text) == str(doc.get("content", type=Text))
    assert text.diff() == doc.get("content", type=Text).diff()
    assert pad_content(state) == pad_content(doc)


def test_an_empty_pad_exports_as_empty() -> None:
    content = pad_content(b"")
    assert to_text(content) == "" and to_markdown(content) == ""
    assert json.loads(to_json(content, pad_id="p", exported_at=AT))["runs"] == []
    assert "<main class=\"pad\">\n</main>" in to_html(content, title="p")


def test_safe_url() -> None:
    assert safe_url("https://x.org/") == "https://x.org/"
    assert safe_url("MAILTO:a@b.c") == "MAILTO:a@b.c"
    for bad in ("javascript:alert(1)", " JavaScript:x", "data:text/html,x", "//x.org", "x",
                "http://a b", 42, None):
        assert safe_url(bad) is None


def test_the_templates_offer_every_format() -> None:
    assert urls.EXPORT_FORMATS == tuple(FORMATS)


@pytest.mark.skipif(shutil.which("node") is None
                    or not (INTEROP / "node_modules" / "yjs").is_dir(),
                    reason="needs node and tests/interop/node_modules")
def test_yjs_state_loads_in_node_yjs(tmp_path: Path) -> None:
    doc = build_doc()
    state = tmp_path / "pad.yjs"
    state.write_bytes(to_yjs(doc))
    script = (
        "import * as Y from 'yjs'; import { readFileSync } from 'node:fs';"
        "const doc = new Y.Doc(); Y.applyUpdate(doc, readFileSync(process.argv[1]));"
        "const t = doc.getText('content');"
        "console.log(JSON.stringify({text: t.toString(), delta: t.toDelta()}))"
    )
    done = subprocess.run(["node", "--input-type=module", "-e", script, str(state)],
                          cwd=INTEROP, capture_output=True, text=True, timeout=30, check=True)
    loaded = json.loads(done.stdout)
    assert loaded["text"] == str(doc.get("content", type=Text))
    expected = [
        {"insert": run.insert, **({"attributes": run.attributes} if run.attributes else {})}
        for run in pad_content(doc).runs
    ]
    assert loaded["delta"] == expected


# -- over HTTP -------------------------------------------------------------------------------

Connect = Callable[..., Awaitable[PadClient]]


async def fetch(http: aiohttp.ClientSession, url: str) -> tuple[int, Any, bytes]:
    async with http.get(url) as response:
        return response.status, response.headers, await response.read()


async def test_a_bare_pad_exports_in_every_format(
    app: RunningApp, connect: Connect, http: aiohttp.ClientSession
) -> None:
    writer = await connect(app.ws_url, "notes")
    typed = f"Hello 😀 {XSS} *star*\n"
    await writer.edit(lambda t: t.insert(0, typed))
    await eventually(lambda: writer.saved)
    base = app.http_url + "/p/notes/export."
    bodies = {}
    for fmt, content_type in FORMATS.items():
        status, headers, body = await fetch(http, base + fmt)
        assert status == 200, body
        assert headers["Content-Type"] == content_type
        assert headers["Content-Disposition"] == f'attachment; filename="notes.{fmt}"'
        assert headers["X-Content-Type-Options"] == "nosniff"
        bodies[fmt] = body
    assert bodies["txt"].decode() == typed
    md = bodies["md"].decode()
    assert "\\<script\\>" in md and "<script>" not in md and "\\*star\\*" in md
    page = bodies["html"].decode()
    assert "&lt;script&gt;" in page and "<script" not in page
    assert json.loads(bodies["json"])["text"] == typed
    assert json.loads(bodies["json"])["session"] is None
    assert str(pad_content(bodies["yjs"]).text) == typed


async def test_a_pad_never_written_exports_as_empty(
    app: RunningApp, http: aiohttp.ClientSession
) -> None:
    status, _, body = await fetch(http, app.http_url + "/p/nothing-here/export.txt")
    assert status == 200 and body == b""
    status, _, body = await fetch(http, app.http_url + "/p/nothing-here/export.yjs")
    assert status == 200 and pad_content(body).text == ""


async def test_a_session_pad_exports_with_its_session(
    start_app: Callable[..., Awaitable[RunningApp]], connect: Connect,
    http: aiohttp.ClientSession,
) -> None:
    app = await start_app(clock=SetClock(berlin(4, 9, 10)))  # during session s1
    await seed_summit(app.app[SUMMITS])
    # Never opened: its template, as it shows when first opened.
    status, _, body = await fetch(http, app.http_url + "/osd/s2/export.txt")
    assert status == 200 and body.decode() == "Agenda\n\nNotes\n"
    writer = await connect(app.ws_url, "osd.s1")
    await writer.edit(lambda t: t.insert(len(t), "decided: ship it\n"))
    await eventually(lambda: writer.saved)
    status, headers, body = await fetch(http, app.http_url + "/osd/s1/export.json")
    assert status == 200
    assert headers["Content-Disposition"] == 'attachment; filename="osd.s1.json"'
    exported = json.loads(body)
    assert exported["pad"] == "osd.s1" and exported["session"]["title"] == "Storage roadmap"
    assert exported["text"].endswith("decided: ship it\n")
    status, _, body = await fetch(http, app.http_url + "/osd/s1/export.html")
    assert status == 200 and b"Storage roadmap" in body and b"Bob Builder" in body
    status, _, same = await fetch(http, app.http_url + "/p/osd.s1/export.json")
    assert json.loads(same)["text"] == exported["text"]


@pytest.mark.parametrize("path", [
    "/p/notes/export.exe", "/p/notes/export.TXT", "/p/notes/export.txt?rev=3",
    "/p/notes/export.txt?rev=", "/p/notes/export.json?rev=abc", "/p/notes/export.yjs?rev=-1",
    "/osd/s1/export.md?rev=1", "/osd/nope/export.txt", "/osd/s1/export.pdf",
    "/nosummit/s1/export.txt", "/p/osd.nope/export.md", "/p/osd.nope/export.md?rev=0",
])
async def test_what_cannot_be_exported_is_not_found(
    app: RunningApp, http: aiohttp.ClientSession, path: str
) -> None:
    await seed_summit(app.app[SUMMITS])
    status, _, body = await fetch(http, app.http_url + path)
    assert status == 404, body
    if "rev=3" in path or "rev=1" in path:
        assert b"does not exist (the pad has 0)" in body
    elif "rev=" in path and "nope" not in path:
        assert b"is not a revision" in body


async def test_the_pages_link_to_the_exports(
    app: RunningApp, http: aiohttp.ClientSession
) -> None:
    await seed_summit(app.app[SUMMITS])
    _, _, session_page = await fetch(http, app.http_url + "/osd/s1")
    _, _, pad_page = await fetch(http, app.http_url + "/p/notes")
    for fmt in FORMATS:
        assert f'href="/osd/s1/export.{fmt}"'.encode() in session_page
        assert f'href="/p/notes/export.{fmt}"'.encode() in pad_page
