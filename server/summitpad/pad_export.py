"""A pad exported as a file: plain text, Markdown, a standalone HTML page, JSON, Yjs state.

Pure functions, no I/O. Every exporter takes the pad as a `PadContent`, built by `pad_content`
from a pycrdt `Doc` or from a Yjs update (the state of the pad at any revision), so the same
functions serve the current pad and, later, any revision of its history.

The pad is Quill's model in the Y.Text `content`: runs of text with inline attributes (bold,
italic, strike, code, link, author); each line ends with a "\\n" that carries the line's format
(header, list, code-block, blockquote, indent). Attributes read back from Yjs may be floats
(header 1.0): `pad_content` turns whole floats back into ints.

The JSON and HTML exports hold the pad's chat too (a list of `ChatEntry`, oldest first, read
from the store by the caller); plain text and Markdown are the notes alone.

Everything user-written is escaped: Markdown special characters are backslash-escaped so text
cannot become markup or a link; only http(s) and mailto links survive, in every format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pycrdt import Doc, Text

from .chat import ChatEntry, clean_color

TEXT_NAME = "content"
FORMAT_NAME = "summitpad-pad"
FORMAT_VERSION = 1

# The export formats: file extension -> content type.
FORMATS: dict[str, str] = {
    "txt": "text/plain; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "json": "application/json",
    "yjs": "application/octet-stream",
}

_SAFE_URL = re.compile(r"(?i)(?:https?://|mailto:)[^\s\x00-\x1f\x7f]+")
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
INLINE_MARKS = ("link", "bold", "italic", "strike")  # outermost first; code is a span of its own


@dataclass(frozen=True, slots=True)
class Run:
    """A piece of text with the same attributes (an entry of `Text.diff()`)."""

    insert: str
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the pad: its runs without the newline, and the format on its newline."""

    runs: list[Run]
    format: dict[str, Any]

    @property
    def text(self) -> str:
        return "".join(run.insert for run in self.runs)


@dataclass(frozen=True, slots=True)
class PadContent:
    text: str
    runs: list[Run]

    @property
    def lines(self) -> list[Line]:
        return split_lines(self.runs)


@dataclass(frozen=True, slots=True)
class Author:
    name: str
    colour: str | None  # "#rrggbb", or None when the given colour was not one


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """What an export shows of the pad's session (all plain strings, escaped on output)."""

    summit: str  # the summit's slug
    summit_name: str
    id: str
    title: str
    track: str = ""
    room: str = ""
    start: str | None = None  # ISO 8601
    end: str | None = None
    when: str = ""  # as the summit's clocks show it, for people: "Mon 04 May 09:00-09:40"
    moderator: str = ""
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "summit": self.summit, "summit_name": self.summit_name, "id": self.id,
            "title": self.title, "track": self.track, "room": self.room, "start": self.start,
            "end": self.end, "moderator": self.moderator, "description": self.description,
        }


# -- reading the pad ----------------------------------------------------------------------------


def load_doc(state: Doc[Any] | bytes) -> Doc[Any]:
    """`state` as a Doc: a Doc as it is, an update applied to a fresh Doc."""
    if isinstance(state, Doc):
        return state
    doc: Doc[Any] = Doc()
    doc.get(TEXT_NAME, type=Text)
    if state:
        doc.apply_update(state)
    return doc


def doc_from_updates(updates: Iterable[bytes]) -> Doc[Any]:
    """A Doc with `updates` applied in order (a snapshot, then its log): no merge_updates,
    which is super-linear over a long log."""
    doc = load_doc(b"")
    for update in updates:
        if update:
            doc.apply_update(update)
    return doc


def pad_content(state: Doc[Any] | bytes) -> PadContent:
    text = load_doc(state).get(TEXT_NAME, type=Text)
    runs = [Run(insert, _plain_attrs(attrs)) for insert, attrs in text.diff() if insert]
    return PadContent(text=str(text), runs=runs)


def _plain_attrs(attrs: Mapping[str, Any] | None) -> dict[str, Any]:
    """Attributes with whole floats as ints (Yjs numbers come back as floats), in name order
    (Yrs hands them out in no fixed order)."""
    plain: dict[str, Any] = {}
    for key, value in sorted((attrs or {}).items()):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if value is not None:
            plain[key] = value
    return plain


def split_lines(runs: list[Run]) -> list[Line]:
    """Quill's lines: text after the last newline (Quill never leaves any) is a line too."""
    lines: list[Line] = []
    current: list[Run] = []
    for run in runs:
        pieces = run.insert.split("\n")
        for index, piece in enumerate(pieces):
            if index > 0:  # a newline ended the line before this piece
                lines.append(Line(current, dict(run.attributes)))
                current = []
            if piece:
                current.append(Run(piece, run.attributes))
    if current:
        lines.append(Line(current, {}))
    return lines


def safe_url(url: Any) -> str | None:
    """`url` if it is an http(s) or mailto link, else None."""
    if isinstance(url, str) and _SAFE_URL.fullmatch(url.strip()):
        return url.strip()
    return None


def authors_of(authors: Mapping[str, Mapping[str, Any]]) -> dict[str, Author]:
    """The author map as given (id -> {name, colour}), colours checked as #rrggbb."""
    checked = {}
    for author_id, entry in authors.items():
        colour = entry.get("colour")
        checked[str(author_id)] = Author(
            name=str(entry.get("name") or ""),
            colour=colour.lower() if isinstance(colour, str) and _COLOUR.fullmatch(colour)
            else None,
        )
    return checked


def chat_time(entry: ChatEntry) -> str:
    """When a chat message was sent, in ISO 8601 (UTC, to the second)."""
    moment = datetime.fromtimestamp(entry.time / 1000, UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def header_level(value: Any) -> int | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 1 <= value <= 6:
        return int(value)
    return None


# -- plain text, JSON, Yjs ----------------------------------------------------------------------


def to_text(content: PadContent) -> str:
    return content.text


def to_yjs(state: Doc[Any] | bytes) -> bytes:
    """The pad's whole Yjs state as one update: it loads into any Yjs document."""
    return load_doc(state).get_update()


def to_json(
    content: PadContent,
    *,
    pad_id: str,
    exported_at: datetime,
    session: SessionInfo | None = None,
    authors: Mapping[str, Mapping[str, Any]] | None = None,
    chat: Sequence[ChatEntry] = (),
    revision: int | None = None,
    revisions: Sequence[Mapping[str, Any]] = (),
    revisions_omitted: int = 0,
    saved: Sequence[Mapping[str, Any]] = (),
) -> str:
    """`revision`: the revision exported (None: the pad as it is); `revisions`: the time and
    author of each revision up to it ({rev, time, author}), after `revisions_omitted` earlier
    ones; `saved`: the saved revisions ({rev, label, name, time})."""
    body = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "pad": pad_id,
        "session": session.to_json() if session else None,
        "exported_at": exported_at.isoformat().replace("+00:00", "Z"),
        "revision": revision,
        "text": content.text,
        "runs": [{"insert": run.insert, "attributes": run.attributes} for run in content.runs],
        "authors": {
            author_id: {"name": author.name, "colour": author.colour}
            for author_id, author in authors_of(authors or {}).items()
        },
        "chat": [
            {"id": entry.id, "time": chat_time(entry), "author": entry.author,
             "name": entry.name, "colour": clean_color(entry.color), "text": entry.text}
            for entry in chat
        ],
        "revisions": [dict(r) for r in revisions],
        "revisions_omitted": revisions_omitted,
        "saved": [dict(s) for s in saved],
    }
    return json.dumps(body, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


# -- Markdown -----------------------------------------------------------------------------------

# Every ASCII punctuation character may be backslash-escaped in CommonMark; these are the ones
# that can start markup anywhere in a line (emphasis, code, links, images, HTML, entities,
# tables, strike-through, headings' closing sequence).
_MD_INLINE = re.compile(r"([\\`*_\[\]<>!&|~#])")
# Bare URLs and e-mail addresses that GitHub-flavoured Markdown would turn into links.
_MD_AUTOLINK = re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*)(:)|(\bwww)(\.)|(\w)(@)(?=\w)")
_MD_LINE_START = re.compile(r"^([-+=]|\d+(?=[.)]))")


def md_escape(text: str, *, line_start: bool = False) -> str:
    """`text` as Markdown that shows exactly `text`: no markup, no links."""
    escaped = _MD_INLINE.sub(r"\\\1", text)
    escaped = _MD_AUTOLINK.sub(
        lambda m: "".join(f"\\{part}" if part in (":", ".", "@") else part
                          for part in m.groups() if part), escaped)
    if line_start:
        escaped = _md_line_start(escaped)
    return escaped


def _md_line_start(text: str) -> str:
    stripped = text.lstrip(" \t")
    indent = text[: len(text) - len(stripped)]
    # Leading blanks would make an indented code block or vanish: keep them as entities.
    indent = indent.replace(" ", "&#32;").replace("\t", "&#9;")
    match = _MD_LINE_START.match(stripped)
    if match and match[1].isdigit():
        stripped = match[1] + "\\" + stripped[len(match[1]):]
    elif match:
        stripped = "\\" + stripped
    return indent + stripped


def _code_span(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or text.strip(" ") == "" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _marks(attrs: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """The inline marks of a run, outermost first; a link's mark carries its URL."""
    marks: list[tuple[str, str | None]] = []
    url = safe_url(attrs.get("link"))
    if url:
        marks.append(("link", url))
    marks.extend((name, None) for name in INLINE_MARKS[1:] if attrs.get(name))
    return marks


_MD_OPEN = {"link": "[", "bold": "**", "italic": "*", "strike": "~~"}


def _md_close(mark: tuple[str, str | None]) -> str:
    name, url = mark
    if name == "link":
        return "](<" + (url or "").replace("<", "%3C").replace(">", "%3E") + ">)"
    return _MD_OPEN[name]


def md_inline(runs: list[Run]) -> str:
    """A line's runs as Markdown, marks nested properly across runs."""
    out = ""
    stack: list[tuple[str, str | None]] = []

    def close_to(depth: int) -> None:
        nonlocal out
        body = out.rstrip(" \t")  # emphasis cannot close after a blank: close, then the blank
        trailing = out[len(body):]
        out = body
        while len(stack) > depth:
            out += _md_close(stack.pop())
        out += trailing

    for run in runs:
        wanted = _marks(run.attributes)
        if not run.insert.strip():
            wanted = [m for m in wanted if m in stack]  # a blank opens nothing
        keep = 0
        while keep < len(stack) and keep < len(wanted) and stack[keep] == wanted[keep]:
            keep += 1
        if keep < len(stack):
            close_to(keep)
        text = run.insert
        if len(wanted) > len(stack) or run.attributes.get("code"):
            body = text.lstrip(" \t")
            out += md_escape(text[: len(text) - len(body)], line_start=not out)
            text = body
        for mark in wanted[len(stack):]:
            out += _MD_OPEN[mark[0]]
            stack.append(mark)
        if run.attributes.get("code") and text.strip():
            body = text.rstrip(" \t")
            out += _code_span(body) + text[len(body):]
        else:
            out += md_escape(text, line_start=not out)
    if stack:
        close_to(0)
    return out


def _md_block(line: Line) -> tuple[str, str]:
    """(kind, Markdown) of one line; kind groups lines that sit together without a blank."""
    fmt = line.format
    indent = fmt.get("indent")
    nest = "    " * int(indent) if isinstance(indent, (int, float)) and 0 < indent < 10 else ""
    level = header_level(fmt.get("header"))
    listed = fmt.get("list")
    if level:
        return "header", "#" * level + " " + md_inline(line.runs)
    if listed in ("bullet", "ordered", "checked", "unchecked"):
        marker = {"bullet": "- ", "ordered": "1. ", "checked": "- [x] ",
                  "unchecked": "- [ ] "}[listed]
        return "list", nest + marker + md_inline(line.runs)
    if fmt.get("blockquote"):
        return "quote", "> " + md_inline(line.runs)
    return "paragraph", md_inline(line.runs)


def to_markdown(content: PadContent) -> str:
    blocks: list[str] = []
    previous = ""
    code: list[str] = []

    def flush_code() -> None:
        if code:
            body = "\n".join(code)
            longest = max((len(m) for m in re.findall(r"`{3,}", body)), default=2)
            fence = "`" * (longest + 1)
            blocks.append(f"{fence}\n{body}\n{fence}")
            code.clear()

    for line in content.lines:
        if line.format.get("code-block"):
            code.append(line.text)
            previous = "code"
            continue
        flush_code()
        if not line.text.strip() and not line.format:
            previous = ""  # an empty line only separates blocks
            continue
        kind, text = _md_block(line)
        if kind == "list" and previous != "list":
            text = text.lstrip(" ")  # nesting only under an item: 4 blanks alone make code
        if kind in ("list", "quote") and previous == kind and blocks:
            blocks[-1] += "\n" + text
        else:
            blocks.append(text)
        previous = kind
    flush_code()
    return "\n\n".join(blocks) + "\n" if blocks else ""
