"""A summit's pad template as CRDT edits: the first entry of every new session pad.

The template is written in the shortcuts the editor knows ("# " heading, "- " list, "1. "
numbered, "[ ] " to-do) and becomes Quill's model in the `content` text: the line's text, then
its newline carrying the line format.

The update is deterministic: the same template for the same pad gives the same bytes, under a
client id derived from the pad id. Applying it twice is a no-op in Yjs, so even two nodes that
both seed a pad cannot make the template appear twice; the store's seed script already lets
only the first write land.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from pycrdt import Doc, Text

TEXT_NAME = "content"

_LINE_FORMATS: list[tuple[re.Pattern[str], dict[str, Any]]] = [
    (re.compile(r"### (.*)"), {"header": 3}),
    (re.compile(r"## (.*)"), {"header": 2}),
    (re.compile(r"# (.*)"), {"header": 1}),
    (re.compile(r"\[[xX]\] (.*)"), {"list": "checked"}),
    (re.compile(r"\[ ?\] (.*)"), {"list": "unchecked"}),
    (re.compile(r"[-*] (.*)"), {"list": "bullet"}),
    (re.compile(r"\d+[.)] (.*)"), {"list": "ordered"}),
]


def template_lines(template: str) -> list[tuple[str, dict[str, Any] | None]]:
    """The template's lines as (text, line format or None)."""
    lines: list[tuple[str, dict[str, Any] | None]] = []
    for raw in template.replace("\r\n", "\n").rstrip("\n").split("\n"):
        for pattern, attrs in _LINE_FORMATS:
            match = pattern.fullmatch(raw)
            if match:
                lines.append((match[1], attrs))
                break
        else:
            lines.append((raw, None))
    return lines


def template_client_id(pad_id: str) -> int:
    """A fixed Yjs client id for a pad's template (Yjs client ids are 32-bit unsigned)."""
    return int.from_bytes(hashlib.sha256(b"template:" + pad_id.encode()).digest()[:4], "big")


def template_update(template: str, pad_id: str) -> bytes | None:
    """The update that writes `template` into an empty pad; None for an empty template."""
    if not template.strip():
        return None
    lines = template_lines(template)
    doc: Doc[Any] = Doc(client_id=template_client_id(pad_id))
    text = doc.get(TEXT_NAME, type=Text)
    with doc.transaction():
        # All the text first, then each line's format on its newline: text inserted after a
        # formatted newline would take the format on.
        text.insert(0, "".join(line + "\n" for line, _ in lines))
        position = 0  # pycrdt counts positions in UTF-8 bytes
        for line, attrs in lines:
            position += len(line.encode())
            if attrs:
                text.format(position, position + 1, attrs)
            position += 1
    return doc.get_update()
