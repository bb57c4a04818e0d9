"""Search over titles, descriptions, moderators and notes."""

from __future__ import annotations

from summitpad.schedule import Session
from summitpad.search import query_words, search

SESSIONS = [
    Session("ceph", "Ceph roadmap", description="RBD mirroring", moderator="Ana"),
    Session("ha", "HA for Nova", description="Evacuation"),
    Session("docs", "Docs sprint"),
]
TEXTS = {
    "ha": "We agreed that\nevacuation needs fencing. Ceph is out of scope.",
    "docs": "Nothing about storage here.",
}


def test_every_word_must_match_somewhere() -> None:
    assert [h.session.id for h in search(SESSIONS, TEXTS, "ceph")] == ["ceph", "ha"]
    assert [h.session.id for h in search(SESSIONS, TEXTS, "ceph fencing")] == ["ha"]
    assert search(SESSIONS, TEXTS, "zebra") == []
    assert search(SESSIONS, TEXTS, "   ") == []


def test_case_is_ignored_and_titles_rank_first() -> None:
    hits = search(SESSIONS, TEXTS, "CEPH")
    assert hits[0].session.id == "ceph" and hits[0].score > hits[1].score


def test_snippets_split_around_the_match_for_the_template_to_escape() -> None:
    (hit,) = search(SESSIONS, TEXTS, "fencing")
    before, match, after = hit.snippets[0]
    assert match == "fencing"
    assert before.endswith("evacuation needs ") and "\n" not in before
    assert after.startswith(". Ceph")


def test_queries_are_bounded() -> None:
    assert len(query_words("a " * 1000)) == 10
    assert query_words("x" * 500) == ["x" * 200]
