"""A summit's template as CRDT edits: Quill's model, deterministic, never applied twice."""

from __future__ import annotations

from typing import Any

from pycrdt import Doc, Text
from summitpad.pad_template import template_lines, template_update


def text_of(*updates: bytes) -> tuple[str, list[Any]]:
    doc: Doc[Any] = Doc()
    text = doc.get("content", type=Text)
    for update in updates:
        doc.apply_update(update)
    return str(text), text.diff()


def test_template_shortcuts_become_line_formats() -> None:
    assert template_lines("# Agenda\n- one\n1. first\n[ ] todo\n[x] done\n## Sub\nplain") == [
        ("Agenda", {"header": 1}), ("one", {"list": "bullet"}),
        ("first", {"list": "ordered"}), ("todo", {"list": "unchecked"}),
        ("done", {"list": "checked"}), ("Sub", {"header": 2}), ("plain", None),
    ]


def test_the_update_writes_quill_lines() -> None:
    update = template_update("# Agenda ✓ 😀\n\n- item\n# Action items", "osd.s1")
    assert update is not None
    text, diff = text_of(update)
    assert text == "Agenda ✓ 😀\n\nitem\nAction items\n"
    assert diff == [
        ("Agenda ✓ 😀", None), ("\n", {"header": 1.0}), ("\nitem", None),
        ("\n", {"list": "bullet"}), ("Action items", None), ("\n", {"header": 1.0}),
    ]


def test_same_template_same_pad_same_bytes_and_applying_twice_is_a_no_op() -> None:
    first = template_update("# Notes\n", "osd.s1")
    second = template_update("# Notes\n", "osd.s1")
    assert first is not None and first == second
    assert text_of(first, second)[0] == "Notes\n"
    assert template_update("# Notes\n", "osd.s2") != first  # its own client id per pad


def test_an_empty_template_writes_nothing() -> None:
    assert template_update("  \n", "osd.s1") is None
