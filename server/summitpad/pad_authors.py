"""A pad's authors as the page lists them: who wrote how many characters of the pad as it is,
with the name and colour each one last announced (author_names.py).

Text without an author is listed under the id "": a session pad's template, or text written
before authorship was kept. An author whose name was never recorded (a client that announced
none) is "anonymous", in a neutral colour.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .author_names import FALLBACK_COLOR
from .authorship import Runs, characters_by_author

ANONYMOUS = "anonymous"
TEMPLATE = "template"
UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class AuthorEntry:
    id: str
    name: str
    color: str | None  # None for text nobody is recorded for: it is not highlighted
    chars: int

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "color": self.color, "chars": self.chars}


def list_authors(
    runs: Runs,
    recorded: Mapping[str, Mapping[str, str]],
    *,
    unattributed: str = UNKNOWN,
) -> list[AuthorEntry]:
    """Everyone with text in `runs` (a Y.Text's diff), most characters first; `recorded` is
    `read_authors`'s map, `unattributed` the name shown for text without an author."""
    entries = []
    for author, chars in characters_by_author(runs).items():
        if not author:
            entries.append(AuthorEntry("", unattributed, None, chars))
            continue
        known = recorded.get(author)
        if known is None:
            entries.append(AuthorEntry(author, ANONYMOUS, FALLBACK_COLOR, chars))
        else:
            entries.append(AuthorEntry(author, known["name"], known["color"], chars))
    entries.sort(key=lambda e: (-e.chars, e.name.casefold(), e.id))
    return entries
