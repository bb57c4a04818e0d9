"""A file or pasted text brought into a pad: `.txt`, `.md` or `.html`, as runs of Quill's model.

Pure functions, no I/O. `read_import` turns the bytes of an upload (or pasted text) and its
format into `(text, attributes)` runs, the shape of the pad's Y.Text `content`: inline formats
on the text, a line's format (header, list, indent, code-block) on the "\\n" that ends it.
Plain text is taken as it is; Markdown is rendered by markdown-it-py with raw HTML off (so
`<script>` in a Markdown file is text), then read like HTML; HTML is sanitised by nh3 first
(see pad_import_html). `apply_import` writes the runs into a pycrdt Text, at a Quill cursor
index or in place of the whole text, every run attributed to the importing participant;
`import_update` does that on a copy of the pad, off the pad's writer, and hands back the
change as a Yjs update.

Limits: an upload of at most MAX_BYTES, at most MAX_CHARS characters of text once read, in at
most MAX_RUNS runs.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from markdown_it import MarkdownIt
from pycrdt import Doc, Text

from . import protocol
from .authorship import AUTHOR
from .errors import InvalidInput, TooLarge
from .pad_export import TEXT_NAME
from .pad_import_html import Attrs, Run, runs_from_html

MAX_BYTES = 1024 * 1024
MAX_CHARS = 500_000
MAX_RUNS = 10_000  # changes of format in one import: each is one insert into the pad
# The formats an import can be in, and the file extensions that name them.
FORMATS = ("txt", "md", "html")
EXTENSIONS = {"txt": "txt", "text": "txt", "md": "md", "markdown": "md", "html": "html",
              "htm": "html"}
ACCEPT = ".txt,.md,.markdown,.html,.htm"  # for the file picker
Mode = Literal["cursor", "replace"]
MODES: tuple[Mode, ...] = ("cursor", "replace")

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # tab and newline stay
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("strikethrough")


@dataclass(frozen=True, slots=True)
class Imported:
    """What an import brings, as the pad holds text: a line's format on its "\\n", and no
    "\\n" after the last line unless it carries a format (Yjs drops Quill's last newline)."""

    runs: list[Run]


def format_of_file(filename: str) -> str:
    """The import format named by a file's extension; InvalidInput for any other."""
    stem, dot, extension = filename.rpartition(".")
    fmt = EXTENSIONS.get(extension.lower()) if dot and stem else None
    if fmt is None:
        shown = f".{extension[:20]}" if dot else "without an extension"
        raise InvalidInput(f"cannot import a file {shown}: import a .txt, .md or .html file")
    return fmt


def check_format(fmt: str) -> str:
    found = EXTENSIONS.get(fmt.strip().lower())
    if found is None:
        raise InvalidInput(f"no import format {fmt[:20]!r}: use one of {', '.join(FORMATS)}")
    return found


def decode(data: bytes) -> str:
    """UTF-8 text (a BOM is fine) with line ends made "\\n" and control characters dropped;
    TooLarge past MAX_BYTES, InvalidInput for bytes that are not UTF-8."""
    if len(data) > MAX_BYTES:
        raise TooLarge(
            f"the import is {_size(len(data))}: at most {_size(MAX_BYTES)} can be imported at once"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"the import is not UTF-8 text (byte {exc.start} is not): save it as UTF-8 and "
            "try again"
        ) from exc
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


def read_import(data: bytes | str, fmt: str) -> Imported:
    """The runs of an import of format `fmt` ("txt", "md" or "html")."""
    text = decode(data.encode() if isinstance(data, str) else data)
    if fmt == "txt":
        if len(text) > MAX_CHARS:
            raise _too_many()
        runs: list[Run] = [(text, {})] if text else []
    elif fmt == "md":
        runs = _from_html(_MARKDOWN.render(text))
    elif fmt == "html":
        runs = _from_html(text)
    else:
        raise InvalidInput(f"no import format {fmt[:20]!r}: use one of {', '.join(FORMATS)}")
    runs = _merged(runs)
    if runs and runs[-1][1] == {} and runs[-1][0].endswith("\n"):
        runs[-1] = (runs[-1][0][:-1], {})
        if not runs[-1][0]:
            runs.pop()
    if not "".join(chunk for chunk, _ in runs).strip():
        raise InvalidInput("the import holds no text")
    if len(runs) > MAX_RUNS:
        raise TooLarge(f"the import changes format more than {MAX_RUNS:,} times: split it up")
    return Imported(runs)


def _merged(runs: list[Run]) -> list[Run]:
    """Neighbouring runs with the same attributes as one."""
    merged: list[tuple[list[str], Attrs]] = []
    for chunk, attrs in runs:
        if merged and merged[-1][1] == attrs:
            merged[-1][0].append(chunk)
        else:
            merged.append(([chunk], attrs))
    return [("".join(chunks), attrs) for chunks, attrs in merged]


def _from_html(html: str) -> list[Run]:
    try:
        return runs_from_html(html, max_chars=MAX_CHARS)
    except TooLarge:
        raise _too_many() from None


def _too_many() -> TooLarge:
    return TooLarge(f"the import holds more than {MAX_CHARS:,} characters: split it up")


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KiB"


# -- writing it into the pad --------------------------------------------------------------------


def utf16_length(text: str) -> int:
    """The length of `text` as Quill and Yjs count it: UTF-16 code units."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def byte_offset(text: str, index: int) -> tuple[int, int]:
    """The UTF-8 byte offset (pycrdt's) of Quill index `index` (UTF-16 units) in `text`, and
    the index it stands for: clamped to the text, and after a character whose two halves
    `index` would split."""
    _, offset, units = _position(text, index)
    return offset, units


def _position(text: str, index: int) -> tuple[int, int, int]:
    """Quill index `index` in `text` as (characters, UTF-8 bytes, UTF-16 units)."""
    units = offset = chars = 0
    for ch in text:
        if units >= index:
            break
        units += 2 if ord(ch) > 0xFFFF else 1
        offset += len(ch.encode())
        chars += 1
    return chars, offset, units


@dataclass(frozen=True, slots=True)
class Placed:
    """Where an import landed, in UTF-16 units as Quill counts: it starts at `index`."""

    index: int
    length: int


def apply_import(
    text: Text, imported: Imported, *, mode: Mode, index: int | None, author: str
) -> Placed:
    """Write `imported` into `text` (call it inside one transaction): at Quill index `index`,
    on new lines after the last one if `index` is None, or in place of everything. Every run
    gets exactly its own formats (nothing is taken from the text around it) and `author`.

    The runs go in last first, each at the same offset: Yrs finds an offset by walking the
    text from its start, so this walks only the text before the cursor each time, not the
    runs inserted so far as well."""
    runs: list[Run] = list(imported.runs)
    current = str(text)
    if mode == "replace":
        if current:
            del text[0:len(text)]  # pycrdt: UTF-8 bytes
        offset = index = 0
    elif index is None:
        offset, index = len(current.encode()), utf16_length(current)
        if current and not current.endswith("\n"):
            runs.insert(0, ("\n", {}))
    else:
        offset, index = _cursor(current, index, runs)
    for chunk, attrs in reversed(runs):
        text.insert(offset, chunk, {**attrs, AUTHOR: author})
    return Placed(index, sum(utf16_length(chunk) for chunk, _ in runs))


def _cursor(current: str, index: int, runs: list[Run]) -> tuple[int, int]:
    """Where an import at Quill index `index` goes: (UTF-8 offset, index). Inside a line, as
    Quill pastes: its first line joins the text before the cursor, its last the text after.
    An import of several lines at the start or the end of a line goes in as whole lines of its
    own instead (at the end: after the line), so the line at the cursor keeps its text and
    format; `runs` gets the line breaks that takes."""
    chars, offset, index = _position(current, index)
    if not any("\n" in chunk for chunk, _ in runs):
        return offset, index
    at_start = chars == 0 or current[chars - 1] == "\n"
    if not at_start:
        if chars == len(current):  # the last line, which has no "\n" of its own
            runs.insert(0, ("\n", {}))
        elif current[chars] == "\n":
            chars, offset, index = chars + 1, offset + 1, index + 1
        else:
            return offset, index
    if chars < len(current) and not runs[-1][0].endswith("\n"):
        runs.append(("\n", {}))
    return offset, index


@dataclass(frozen=True, slots=True)
class ImportUpdate:
    """An import as a Yjs update against a state of the pad (`base`: its state vector)."""

    update: bytes
    base: bytes
    placed: Placed

    def applies_to(self, state: bytes) -> bool:
        """Whether a document with state vector `state` holds everything the update was made
        against (else Yrs would keep the update aside, unapplied)."""
        have = protocol.decode_state_vector(state)
        return all(have.get(c, 0) >= clock for c, clock in
                   protocol.decode_state_vector(self.base).items())


def import_update(
    base: bytes, imported: Imported, *, mode: Mode, index: int | None, author: str
) -> ImportUpdate:
    """`apply_import` on a copy of the pad whose state is the update `base`, as a Yjs update
    from a client id of its own. Writing a large import into a busy pad takes a while; made
    like this, it takes that while away from the pad's writer, which applies the result in
    no time. Call it in a worker thread."""
    doc: Doc[Any] = Doc()
    doc.apply_update(base)
    state = doc.get_state()
    while doc.client_id in protocol.decode_state_vector(state):  # a new writer, never a known
        doc = Doc(client_id=secrets.randbits(52) + 1)
        doc.apply_update(base)
    with doc.transaction():
        placed = apply_import(doc.get(TEXT_NAME, type=Text), imported, mode=mode, index=index,
                              author=author)
    return ImportUpdate(doc.get_update(state), state, placed)
