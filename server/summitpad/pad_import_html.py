"""HTML brought into a pad: sanitised by nh3, then read into runs of Quill's model.

nh3 (the binding of the Rust sanitiser ammonia) keeps only the tags and attributes of the
pad's formats and drops scripts, styles, event handlers, frames and every link that is not
http(s) or mailto, contents and all; what is left is parsed here into `(text, attributes)`
runs. Inline formats (bold, italic, underline, strike, code, link) sit on the text; a line's
format (header, list with its indent, code-block) sits on the "\\n" that ends it, as in Quill.

Quill's own HTML (lists as `<li data-list="...">`, `ql-indent-N` classes, code blocks as
`<div class="ql-code-block">`) reads back with its formats; Markdown's task items
(`- [ ] to do`, `- [x] done`) become check-list lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import nh3

from .errors import InvalidInput, TooLarge
from .pad_export import safe_url

Attrs = dict[str, Any]
Run = tuple[str, Attrs]

MAX_INDENT = 8
INDENTS = {f"ql-indent-{n}" for n in range(1, MAX_INDENT + 1)}
LIST_KINDS = {"bullet", "ordered", "checked", "unchecked"}
LINE_KINDS = ("header", "list", "code-block")  # one of these per line at most

_INLINE: dict[str, tuple[str, Any]] = {
    "b": ("bold", True), "strong": ("bold", True),
    "i": ("italic", True), "em": ("italic", True),
    "u": ("underline", True), "ins": ("underline", True),
    "s": ("strike", True), "strike": ("strike", True), "del": ("strike", True),
    "code": ("code", True), "kbd": ("code", True), "samp": ("code", True), "tt": ("code", True),
}
_HEADERS = {"h1": 1, "h2": 2, "h3": 3, "h4": 3, "h5": 3, "h6": 3}  # the pad has three levels
_BLOCKS = {"p", "div", "blockquote", "table", "thead", "tbody", "tfoot", "tr", "hr", *_HEADERS}
_LISTS = {"ul": "bullet", "ol": "ordered"}
_CELLS = {"td", "th"}

CLEANER = nh3.Cleaner(
    tags={*_INLINE, *_BLOCKS, *_LISTS, *_CELLS, "li", "pre", "a", "span", "br"},
    clean_content_tags={
        "script", "style", "template", "iframe", "frame", "object", "embed", "noscript",
        "svg", "math", "textarea", "select", "title", "head", "canvas", "audio", "video",
    },
    attributes={"a": {"href"}},
    tag_attribute_values={"li": {"data-list": LIST_KINDS}},
    allowed_classes={
        "li": INDENTS, "p": INDENTS, **{h: INDENTS for h in _HEADERS}, "div": {"ql-code-block"},
    },
    url_schemes={"http", "https", "mailto"},
    link_rel=None,
    strip_comments=True,
)

MAX_DEPTH = 256
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)[^<>]*?(/?)>")
_NOT_NESTED = {  # void elements, and those closed by their next sibling or parent's end
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr", "param", "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup",
    "thead", "tbody", "tfoot", "colgroup", "rb", "rt", "rtc", "rp", "html", "head", "body",
}
_SPACE = re.compile(r"[ \t\n\r\f\xa0]+")
_TASK = re.compile(r"\[([ xX])\][ \t]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def check_depth(html: str) -> None:
    """InvalidInput for HTML that nests elements more than MAX_DEPTH deep: sanitising it would
    take time that grows with the square of its depth. Counted on the tags as written,
    leaving out those whose end tag may be left out (p, li, td, ...)."""
    depth = 0
    for match in _TAG.finditer(html):
        name = match[2].lower()
        if name in _NOT_NESTED:
            continue
        if match[1]:
            depth = max(depth - 1, 0)
        elif not match[3]:
            depth += 1
            if depth > MAX_DEPTH:
                raise InvalidInput(f"the HTML nests elements more than {MAX_DEPTH} deep")


def sanitise(html: str) -> str:
    """`html` with everything but the pad's formats removed (see CLEANER)."""
    return CLEANER.clean(html)


def runs_from_html(html: str, *, max_chars: int) -> list[Run]:
    """The runs of `html` (sanitised first); TooLarge past `max_chars` characters."""
    check_depth(html)
    reader = _Reader(max_chars)
    reader.feed(sanitise(html))
    reader.close()
    reader.finish()
    return reader.runs


@dataclass(slots=True, eq=False)
class _Block:
    tag: str
    format: Attrs = field(default_factory=dict)  # what this element gives its lines
    line: Attrs = field(default_factory=dict)  # the format of a line ending inside it
    list_kind: str = ""  # ul/ol: the kind of their items
    lists: int = 0  # how many lists this element is in (or is)
    item: _Block | None = None  # the innermost <li> this element is (in)
    fresh_item: bool = False  # an <li> with no text yet (a "[ ] " may start it)


def _line_format(parent: Attrs, own: Attrs) -> Attrs:
    """The format of a line in an element with format `own` inside one whose lines have
    `parent`: the innermost header, list or code-block wins, and the innermost indent."""
    fmt = dict(parent)
    if any(kind in own for kind in LINE_KINDS):
        fmt = {k: v for k, v in fmt.items() if k not in LINE_KINDS}
    fmt.update(own)
    return fmt


class _Reader(HTMLParser):
    def __init__(self, max_chars: int) -> None:
        super().__init__(convert_charrefs=True)
        self.max_chars = max_chars
        self.size = 0
        self.runs: list[Run] = []
        self.line: list[Run] = []  # the current line's runs, until its "\n"
        self.blocks: list[_Block] = []
        self.inline: list[tuple[str, str, Any]] = []  # (tag, attribute, value); "" for none
        self.pre = 0  # inside how many <pre> (or Quill code lines): whitespace is kept
        self.pre_fresh = False  # just after <pre>: a first newline there is not content

    # -- blocks ---------------------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        classes = set(attributes.get("class", "").split())
        if tag in ("br", "hr"):
            if tag == "br" or self.line:
                self._end_line(force=tag == "br")
            return
        if tag in _INLINE or tag == "a" or tag == "span":
            self.inline.append((tag, *self._inline_format(tag, attributes)))
            return
        if tag in _CELLS:
            if self.line:
                self._add("\t")
            return
        if self.line:
            self._end_line()
        parent = self.blocks[-1] if self.blocks else _Block("")
        block = _Block(tag, lists=parent.lists, item=parent.item)
        block.list_kind = parent.list_kind if tag != "li" else ""
        indent = next((int(c.rsplit("-", 1)[1]) for c in classes if c in INDENTS), 0)
        if tag in _HEADERS:
            block.format = {"header": _HEADERS[tag]}
        elif tag in _LISTS:
            block.list_kind = _LISTS[tag]
            block.lists += 1
        elif tag == "li":
            kind = attributes.get("data-list") or parent.list_kind or "bullet"
            block.format = {"list": kind, "indent": max(parent.lists - 1, 0)}
            block.item = block
            block.fresh_item = kind == "bullet"
        elif tag == "pre" or "ql-code-block" in classes:
            block.format = {"code-block": True}
            self.pre += 1
            self.pre_fresh = tag == "pre"
        if indent:
            block.format["indent"] = indent
        block.line = _line_format(parent.line, block.format)
        self.blocks.append(block)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("br", "hr") or tag in _CELLS:
            return
        if tag in _INLINE or tag == "a" or tag == "span":
            for i in range(len(self.inline) - 1, -1, -1):
                if self.inline[i][0] == tag:
                    del self.inline[i]
                    break
            return
        for i in range(len(self.blocks) - 1, -1, -1):
            if self.blocks[i].tag == tag:
                if self.line:
                    self._end_line()
                self.pre -= sum(1 for b in self.blocks[i:] if b.format.get("code-block"))
                del self.blocks[i:]
                break

    def _inline_format(self, tag: str, attributes: dict[str, str]) -> tuple[str, Any]:
        if tag == "a":
            url = safe_url(attributes.get("href"))
            return ("link", url) if url else ("", None)
        return _INLINE.get(tag, ("", None))

    # -- text -----------------------------------------------------------------------------------

    def handle_data(self, data: str) -> None:
        data = _CONTROL.sub("", data)
        if self.pre:
            if self.pre_fresh and data.startswith("\n"):
                data = data[1:]
            self.pre_fresh = False
            first, *rest = data.split("\n")
            self._add(first)
            for part in rest:
                self._end_line(force=True)
                self._add(part)
            return
        data = _SPACE.sub(" ", data)
        if not self.line or self.line[-1][0].endswith(" "):
            data = data.lstrip(" ")
        item = self.blocks[-1].item if self.blocks else None
        if data and item is not None and item.fresh_item and not self.line:
            task = _TASK.match(data)
            if task:
                self._set_list(item, "checked" if task[1] in "xX" else "unchecked")
                data = data[task.end():]
            item.fresh_item = False
        self._add(data)

    def _set_list(self, item: _Block, kind: str) -> None:
        """Make `item` (an open <li>) a list item of `kind`, and the blocks inside it."""
        item.format["list"] = kind
        start = self.blocks.index(item)
        for i in range(start, len(self.blocks)):
            parent = self.blocks[i - 1].line if i else {}
            self.blocks[i].line = _line_format(parent, self.blocks[i].format)

    def _add(self, text: str) -> None:
        if not text:
            return
        self.size += len(text)
        if self.size > self.max_chars:
            raise TooLarge(f"the import holds more than {self.max_chars:,} characters")
        attrs: Attrs = {}
        for _, name, value in self.inline:
            if name and not (name == "code" and self.pre):
                attrs[name] = value
        self.line.append((text, attrs))  # neighbours with the same attributes merge later

    def _end_line(self, *, force: bool = False) -> None:
        """End the current line with its format on the "\\n"; an empty line only if forced."""
        if not self.pre:
            while self.line and not self.line[-1][0].rstrip(" "):
                self.line.pop()
            if self.line:
                text, attrs = self.line[-1]
                self.line[-1] = (text.rstrip(" "), attrs)
        if not self.line and not force:
            return
        self.runs.extend(self.line)
        self.line = []
        self.size += 1
        if self.size > self.max_chars:
            raise TooLarge(f"the import holds more than {self.max_chars:,} characters")
        self.runs.append(("\n", self._line_format()))

    def _line_format(self) -> Attrs:
        fmt = dict(self.blocks[-1].line) if self.blocks else {}
        indent = min(int(fmt.pop("indent", 0)), MAX_INDENT)
        if indent and "code-block" not in fmt:
            fmt["indent"] = indent
        return fmt

    def finish(self) -> None:
        if self.line:
            self._end_line()
