"""Restoring a revision: the live text becomes the target runs with few edits, and a client
that edits at the same time ends up with the same document."""

from __future__ import annotations

import random
from typing import Any

import pytest
from pycrdt import Doc, Text
from summitpad.restore import CHAR_DIFF_MAX, opcodes, restore_edits

PIECES = ["a", "b", " ", "\n", "é", "😀", "👩‍💻", "𝄞", "xyz", "\n\n", "Grüße", "中文"]
FORMATS: list[dict[str, Any]] = [
    {"bold": True}, {"italic": True}, {"author": "ann"}, {"author": "bob", "bold": True},
    {"header": 1}, {"link": "https://example.org"}, {"list": "bullet"},
]


def merged(runs: list[tuple[Any, dict[str, Any] | None]]) -> list[tuple[Any, dict[str, Any]]]:
    """Runs with unset attributes left out and neighbours of equal attributes joined: Yrs may
    cut a run where a format marker sits, with the same attributes on both sides."""
    out: list[tuple[Any, dict[str, Any]]] = []
    for chunk, attrs in runs:
        plain = {k: v for k, v in (attrs or {}).items() if v is not None}
        if out and isinstance(chunk, str) and isinstance(out[-1][0], str) and out[-1][1] == plain:
            out[-1] = (out[-1][0] + chunk, plain)
        elif chunk != "":
            out.append((chunk, plain))
    return out


def random_edit(rng: random.Random, text: Text) -> None:
    """Insert (with, without or with empty attributes), delete or format, at whole chars."""
    current = str(text)

    def at(index: int) -> int:
        return len(current[:index].encode())

    size = len(current)
    choice = rng.random()
    if choice < 0.5 or size == 0:
        index = rng.randint(0, size)
        words = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 6)))
        attrs = rng.choice([None, {}, *FORMATS])
        text.insert(at(index), words, dict(attrs) if attrs is not None else None)
        return
    start = rng.randint(0, size - 1)
    end = rng.randint(start + 1, min(size, start + 12))
    if choice < 0.8:
        del text[at(start):at(end)]
    else:
        attrs = dict(rng.choice(FORMATS))
        if rng.random() < 0.3:
            attrs = dict.fromkeys(attrs)  # remove the format
        text.format(at(start), at(end), attrs)


def edited_doc(rng: random.Random, client_id: int, edits: int) -> Doc[Any]:
    doc: Doc[Any] = Doc(client_id=client_id)
    text = doc.get("content", type=Text)
    for _ in range(edits):
        with doc.transaction():
            random_edit(rng, text)
    return doc


@pytest.mark.parametrize("seed", range(200))
def test_random_edits_are_undone_exactly(seed: int) -> None:
    rng = random.Random(seed)
    doc = edited_doc(rng, 1, rng.randint(0, 25))
    text = doc.get("content", type=Text)
    target = text.diff()
    for _ in range(rng.randint(0, 25)):
        with doc.transaction():
            random_edit(rng, text)
    with doc.transaction():
        restore_edits(text, target)
    assert str(text) == "".join(chunk for chunk, _ in target)
    assert merged(text.diff()) == merged(target)


@pytest.mark.parametrize("seed", range(60))
def test_a_client_editing_at_the_same_time_converges(seed: int) -> None:
    rng = random.Random(1000 + seed)
    server = edited_doc(rng, 1, rng.randint(1, 20))
    text = server.get("content", type=Text)
    target = text.diff()
    for _ in range(rng.randint(1, 20)):
        with server.transaction():
            random_edit(rng, text)
    client: Doc[Any] = Doc(client_id=2)
    client.apply_update(server.get_update())
    client_text = client.get("content", type=Text)

    before_restore, before_edit = server.get_state(), client.get_state()
    with server.transaction():
        restore_edits(text, target)
    restored = merged(text.diff())
    with client.transaction():
        random_edit(rng, client_text)  # typed before the restore reached it
    restore_update = server.get_update(before_restore)
    client_update = client.get_update(before_edit)
    client.apply_update(restore_update)
    server.apply_update(client_update)
    assert client_text.diff() == text.diff()
    if client_update == Doc().get_update():  # the client changed nothing after all
        assert merged(client_text.diff()) == restored


def test_a_client_that_only_receives_the_restore_sees_the_target() -> None:
    server: Doc[Any] = Doc(client_id=1)
    text = server.get("content", type=Text)
    text.insert(0, "Agenda\n", {"header": 1})
    text.insert(len(text), "Ann's point 😀\n", {"author": "ann"})
    target = text.diff()
    text.insert(len(text), "Bob's addition\n", {"author": "bob"})
    del text[0:len(b"Agenda")]
    text.format(0, len(text), {"bold": True})
    client: Doc[Any] = Doc(client_id=2)
    client.apply_update(server.get_update())
    before = server.get_state()
    with server.transaction():
        restore_edits(text, target)
    client.apply_update(server.get_update(before))
    assert merged(client.get("content", type=Text).diff()) == merged(target)
    assert ("Ann's point 😀\n", {"author": "ann"}) in merged(text.diff())


def test_inserted_text_keeps_its_author_and_takes_nothing_from_the_left() -> None:
    doc: Doc[Any] = Doc()
    text = doc.get("content", type=Text)
    text.insert(0, "kept ", {"author": "ann", "bold": True})
    text.insert(len(text), "gone\n", {"author": "ann"})
    target = text.diff()
    del text[len(b"kept "):]
    text.insert(len(text), "new\n", {"author": "bob"})
    with doc.transaction():
        restore_edits(text, target)
    assert merged(text.diff()) == [
        ("kept ", {"author": "ann", "bold": True}), ("gone\n", {"author": "ann"})
    ]


def test_a_small_change_makes_a_small_update() -> None:
    doc: Doc[Any] = Doc()
    text = doc.get("content", type=Text)
    lines = [f"line {i}: {'é' * (i % 7)} some notes about storage\n" for i in range(500)]
    text.insert(0, "".join(lines), {"author": "ann"})
    target = text.diff()
    offset = len("".join(lines[:250]).encode()) + len(b"line 250: ")
    text.insert(offset, "TYPO ", {"author": "bob"})
    whole = len(doc.get_update())
    before = doc.get_state()
    with doc.transaction():
        restore_edits(text, target)
    assert merged(text.diff()) == merged(target)
    assert len(doc.get_update(before)) < 100 < whole / 100


def test_a_long_changed_block_is_replaced_whole() -> None:
    current = "same\n" + "a" * CHAR_DIFF_MAX + "\nsame\n"
    target = "same\n" + "b" * CHAR_DIFF_MAX + "\nsame\n"
    ops = [op for op in opcodes(current, target) if op[0] != "equal"]
    assert ops == [("replace", 5, 5 + CHAR_DIFF_MAX + 1, 5, 5 + CHAR_DIFF_MAX + 1)]
    short = [op for op in opcodes("same\nabcd\n", "same\nabXd\n") if op[0] != "equal"]
    assert short == [("replace", 7, 8, 7, 8)]


def test_embeds_and_attribute_changes_are_restored() -> None:
    doc: Doc[Any] = Doc()
    text = doc.get("content", type=Text)
    text.insert(0, "before ", {})
    text.insert_embed(len(text), {"image": "https://example.org/a.png"}, {"author": "ann"})
    text.insert(len(text), " after\n", {"italic": True})
    target = text.diff()
    text.format(0, 3, {"bold": True})
    del text[len(b"before "):len(b"before ") + 1]
    text.insert_embed(0, {"image": "https://example.org/b.png"})
    with doc.transaction():
        restore_edits(text, target)
    assert merged(text.diff()) == merged(target)


def test_restoring_the_empty_revision_empties_the_pad() -> None:
    doc: Doc[Any] = Doc()
    text = doc.get("content", type=Text)
    text.insert(0, "everything\n", {"author": "ann"})
    with doc.transaction():
        restore_edits(text, [])
    assert str(text) == "" and text.diff() == []
