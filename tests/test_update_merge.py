"""Merging many updates in groups gives what one merge of them all gives."""

from __future__ import annotations

import random

import pytest
from pycrdt import Doc, Text, merge_updates
from summitpad.protocol import decode_state_vector
from summitpad.update_merge import FAN_IN, merge


def _edits(count: int, seed: int) -> list[bytes]:
    """The updates of `count` random edits (inserts, deletes, author marks) by three clients
    that sync now and then, in the order a server would apply them."""
    rng = random.Random(seed)
    docs = [Doc() for _ in range(3)]
    updates: list[bytes] = []
    for _ in range(count):
        doc = rng.choice(docs)
        text = doc.get("content", type=Text)
        before = doc.get_state()
        roll = rng.random()
        if roll < 0.6 or len(text) < 2:
            text.insert(rng.randint(0, len(text)), rng.choice(["a", "bc", "def "]))
        elif roll < 0.8:
            start = rng.randrange(len(text) - 1)
            del text[start : start + rng.randint(1, 2)]
        else:
            start = rng.randrange(len(text) - 1)
            text.format(start, start + 1, {"author": rng.choice(["ann", "bob"])})
        updates.append(doc.get_update(before))
        if rng.random() < 0.3:
            other = rng.choice(docs)
            other.apply_update(doc.get_update(other.get_state()))
    return updates


def _state(doc: Doc) -> dict[int, int]:
    return decode_state_vector(doc.get_state())  # its encoding's order of clients varies


def _applied(*updates: bytes) -> Doc:
    doc: Doc = Doc()
    for update in updates:
        doc.apply_update(update)
    return doc


@pytest.mark.parametrize("count", [1, 2, FAN_IN, FAN_IN + 1, FAN_IN * FAN_IN + 5])
def test_a_merge_in_groups_holds_every_edit(count: int) -> None:
    updates = _edits(count, seed=count)
    merged = _applied(merge(updates))
    one_by_one = _applied(*updates)
    assert _state(merged) == _state(one_by_one)
    assert merged.get("content", type=Text).diff() == one_by_one.get("content", type=Text).diff()
    assert _state(_applied(merge_updates(*updates))) == _state(merged)


def test_one_update_is_returned_as_it_is() -> None:
    update = _edits(1, seed=7)[0]
    assert merge([update]) is update
