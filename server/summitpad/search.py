"""Full-text search over a summit's sessions: titles, descriptions, moderators and notes.

Every word of the query must appear (case-insensitive, accents kept); sessions are ranked by
how often the words appear, titles counting most. Snippets come as (before, match, after)
strings so that the template escapes them and marks the match itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .schedule import Session

MAX_QUERY = 200
MAX_HITS = 100
SNIPPET_CONTEXT = 60


@dataclass(frozen=True, slots=True)
class Hit:
    session: Session
    score: int
    snippets: list[tuple[str, str, str]]


def query_words(query: str) -> list[str]:
    return [w for w in query[:MAX_QUERY].casefold().split() if w][:10]


def search(
    sessions: Iterable[Session],
    texts: Mapping[str, str],
    query: str,
    folded_texts: Mapping[str, str] | None = None,
) -> list[Hit]:
    """The best MAX_HITS matches; `folded_texts` (the texts case-folded) saves folding them."""
    words = query_words(query)
    if not words:
        return []
    scored = []
    for session in sessions:
        notes = texts.get(session.id, "")
        folded_notes = (
            folded_texts[session.id]
            if folded_texts is not None and session.id in folded_texts
            else notes.casefold()
        )
        folded = (session.title.casefold(), session.description.casefold(),
                  session.moderator.casefold(), folded_notes)
        if not all(any(w in f for f in folded) for w in words):
            continue
        score = sum(
            weight * f.count(w)
            for w in words
            for weight, f in zip((10, 3, 3, 1), folded, strict=True)
        )
        scored.append((score, session))
    scored.sort(key=lambda h: (-h[0], h[1].start is None, h[1].start, h[1].id))
    # Snippets only for what is shown: a common word matches every session.
    return [
        Hit(session, score, _snippets(texts.get(session.id, ""), words))
        for score, session in scored[:MAX_HITS]
    ]


def _snippets(text: str, words: list[str], limit: int = 3) -> list[tuple[str, str, str]]:
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    found = []
    end_of_last = -1
    for match in pattern.finditer(text):
        if match.start() < end_of_last:
            continue
        start = max(0, match.start() - SNIPPET_CONTEXT)
        stop = min(len(text), match.end() + SNIPPET_CONTEXT)
        before = ("…" if start else "") + text[start:match.start()]
        after = text[match.end():stop] + ("…" if stop < len(text) else "")
        found.append((_flat(before), match.group(), _flat(after)))
        end_of_last = stop
        if len(found) == limit:
            break
    return found


def _flat(text: str) -> str:
    return _SPACES.sub(" ", text)


_SPACES = re.compile(r"\s+")
