"""Who wrote what, as the server keeps and tells it: deletes are not taken for re-attribution,
the authors list (pure), and `authors.json` on the real app."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from pycrdt import Doc, Text
from summitpad import urls
from summitpad.app_keys import SUMMITS
from summitpad.authorship import changes_authorship
from summitpad.client import PadClient
from summitpad.errors import CLOSE_FORBIDDEN
from summitpad.pad_authors import AuthorEntry, list_authors
from summitpad.update_check import inspect_update

from .summit_fixtures import seed_summit
from .support import RunningApp, eventually

Connect = Callable[..., Awaitable[PadClient]]
XSS_NAME = "<img src=x onerror=alert(1)>"


def run_authors(text: Text) -> list[tuple[str, str | None]]:
    return [(chunk, (attrs or {}).get("author")) for chunk, attrs in text.diff()]


def typed_runs() -> tuple[Doc, Text]:
    """"ann's words" with bob's "big " typed in the middle, each run with its author."""
    doc: Doc = Doc()
    text = doc.get("content", type=Text)
    text.insert(0, "ann's words\n", {"author": "ann"})
    text.insert(len("ann's "), "big ", {"author": "bob"})
    return doc, text


def deltas_of(doc: Doc, change: Callable[[Text], None]) -> tuple[list[Any], bytes]:
    text = doc.get("content", type=Text)
    deltas: list[Any] = []
    subscription = text.observe(lambda event: deltas.append(event.delta))
    before = doc.get_state()
    change(text)
    text.unobserve(subscription)
    return deltas, doc.get_update(before)


# -- a delete is not a change of author --------------------------------------------------------


def test_deleting_a_whole_run_reports_its_neighbours_author_as_set_though_it_stays():
    doc, text = typed_runs()
    before = text.diff()
    deltas, update = deltas_of(doc, lambda t: t.__delitem__(slice(6, 10)))
    assert run_authors(text) == [("ann's words\n", "ann")]
    # Yrs (like Yjs) reports "words" as formatted with its own author ...
    assert any(changes_authorship(d) for d in deltas), deltas
    # ... which the text as it was shows to be no change.
    assert not any(changes_authorship(d, before) for d in deltas)
    shape = inspect_update(update)
    assert shape.deletes and "author" not in shape.format_keys


def test_a_real_change_is_one_even_next_to_a_delete():
    doc, text = typed_runs()
    before = text.diff()

    def delete_and_take(t: Text) -> None:
        with doc.transaction():
            del t[6:10]
            t.format(0, 5, {"author": "bob"})

    deltas, update = deltas_of(doc, delete_and_take)
    assert any(changes_authorship(d, before) for d in deltas)
    shape = inspect_update(update)
    assert shape.deletes and "author" in shape.format_keys
    before = text.diff()
    wiped, _ = deltas_of(doc, lambda t: t.format(0, 3, {"author": None}))
    assert any(changes_authorship(d, before) for d in wiped)
    assert any(changes_authorship(d) for d in wiped)


def test_inspect_update_tells_formats_and_deletes():
    doc: Doc = Doc()
    text = doc.get("content", type=Text)
    _, plain = deltas_of(doc, lambda t: t.insert(0, "hello"))
    assert inspect_update(plain).format_keys == frozenset()
    assert not inspect_update(plain).deletes
    _, bold = deltas_of(doc, lambda t: t.format(0, 2, {"bold": True, "author": "x"}))
    assert inspect_update(bold).format_keys == {"bold", "author"}
    _, deleted = deltas_of(doc, lambda t: t.__delitem__(slice(0, 1)))
    assert inspect_update(deleted).deletes
    assert str(text) == "ello"


async def test_deleting_your_words_inside_someone_elses_keeps_the_connection(
    app: RunningApp, connect: Connect
) -> None:
    ann = await connect(app.ws_url, "delete-a-run")
    await ann.edit(lambda t: t.insert(0, "ann's words\n"))
    await eventually(lambda: run_authors(ann.text)[0][1])
    bob = await connect(app.ws_url, "delete-a-run")
    await eventually(lambda: str(bob.text) == "ann's words\n")
    await bob.edit(lambda t: t.insert(6, "big "))
    await eventually(lambda: len(run_authors(bob.text)) == 3 and bob.saved)
    (_, ann_id), (_, bob_id), _ = run_authors(bob.text)
    assert ann_id != bob_id and ann_id and bob_id
    await bob.edit(lambda t: t.__delitem__(slice(6, 10)))
    await eventually(lambda: str(ann.text) == "ann's words\n")
    assert run_authors(ann.text) == [("ann's words\n", ann_id)]
    assert not bob.ws.closed
    # Taking the author in the same update as a delete is still refused.
    with bob.doc.transaction():
        del bob.text[0:1]
        bob.text.format(0, 4, {"author": bob_id})
    await bob.flush()
    await eventually(lambda: bob.ws.closed)
    assert bob.ws.close_code == CLOSE_FORBIDDEN
    assert run_authors(ann.text) == [("ann's words\n", ann_id)]


# -- the authors list ----------------------------------------------------------------------------


def test_the_list_counts_characters_without_line_breaks_most_first():
    runs = [
        ("Agenda\n", None),
        ("héllo 😀", {"author": "ann"}),
        ("\n", {"header": 1}),
        ("more from bob and", {"author": "bob"}),
        (" ann", {"author": "ann"}),
        ("x", {"author": "zed"}),
        ({"image": "x"}, {"author": "zed"}),
    ]
    recorded = {
        "ann": {"name": "Ann", "color": "#1d4ed8"},
        "bob": {"name": XSS_NAME, "color": "#0f766e"},
        "gone": {"name": "Nobody now", "color": "#b42318"},
    }
    assert list_authors(runs, recorded, unattributed="template") == [
        AuthorEntry("bob", XSS_NAME, "#0f766e", 17),
        AuthorEntry("ann", "Ann", "#1d4ed8", 11),
        AuthorEntry("", "template", None, 6),
        AuthorEntry("zed", "anonymous", "#475467", 1),
    ]
    assert list_authors([], recorded) == []


async def fetch_json(http: aiohttp.ClientSession, url: str) -> tuple[int, Any, Any]:
    async with http.get(url) as response:
        body = await response.read()
        return response.status, response.headers, json.loads(body) if body else None


async def test_authors_json_lists_who_wrote_how_much(
    app: RunningApp, connect: Connect, http: aiohttp.ClientSession
) -> None:
    pad = "who-wrote"
    ann = await connect(app.ws_url, pad)
    await ann.set_awareness({"user": {"name": XSS_NAME, "color": "#B42318"}})
    await ann.edit(lambda t: t.insert(0, "Ann wrote this.\n"))
    bob = await connect(app.ws_url, pad)
    await bob.set_awareness({"user": {"name": "Bob", "color": "#0f766e"}})
    await eventually(lambda: str(bob.text) == "Ann wrote this.\n")
    await bob.edit(lambda t: t.insert(len(t), "Bob too\n"))
    await eventually(lambda: ann.saved and bob.saved and len(run_authors(bob.text)) >= 2)
    ann_id = run_authors(bob.text)[0][1]
    bob_id = next(a for _, a in run_authors(bob.text) if a and a != ann_id)
    expected = [
        {"id": ann_id, "name": XSS_NAME, "color": "#b42318", "chars": 15},
        {"id": bob_id, "name": "Bob", "color": "#0f766e", "chars": 7},
    ]

    async def listed() -> bool:
        status, _, body = await fetch_json(http, app.http_url + urls.pad_authors(pad))
        return status == 200 and body == {"authors": expected}

    await eventually(listed)
    status, headers, _ = await fetch_json(http, app.http_url + urls.pad_authors(pad))
    assert headers["Content-Type"].startswith("application/json")
    assert headers["Cache-Control"] == "no-store"

    # The read-only link's list is the same, and names no pad.
    async with http.get(app.http_url + urls.pad_read_only(pad), allow_redirects=False) as r:
        ro_path = r.headers["Location"]
    ro_id = ro_path.rsplit("/", 1)[-1]
    status, _, body = await fetch_json(http, app.http_url + urls.read_only_authors(ro_id))
    assert status == 200 and body == {"authors": expected}


async def test_a_session_pads_authors_start_with_its_template(
    app: RunningApp, http: aiohttp.ClientSession
) -> None:
    await seed_summit(app.app[SUMMITS])
    status, _, body = await fetch_json(http, app.http_url + urls.session_authors("osd", "s2"))
    assert status == 200
    assert body == {"authors": [{"id": "", "name": "template", "color": None, "chars": 11}]}
    for path in (
        urls.session_authors("osd", "nope"),
        urls.session_authors("nosummit", "s1"),
        urls.read_only_authors("x" * 16),
        "/p/bad%20id/authors.json",
    ):
        async with http.get(app.http_url + path) as response:
            assert response.status == 404, path
    status, _, body = await fetch_json(http, app.http_url + urls.pad_authors("never-written"))
    assert status == 200 and body == {"authors": []}
