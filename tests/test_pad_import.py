"""Import into a pad, the pure part: .txt, .md and .html into runs of Quill's model, sanitised,
and written into a pycrdt Text at a Quill index (UTF-16 units) or in place of the whole text."""

from __future__ import annotations

from typing import Any

import pytest
from pycrdt import Doc, Text
from summitpad.errors import InvalidInput, TooLarge
from summitpad.pad_export import pad_content, to_markdown
from summitpad.pad_import import (
    MAX_BYTES,
    MAX_CHARS,
    Imported,
    apply_import,
    byte_offset,
    check_format,
    format_of_file,
    import_update,
    read_import,
    utf16_length,
)
from summitpad.pad_import_html import sanitise
from summitpad.protocol import decode_state_vector

from .test_pad_export import build_doc

Runs = list[tuple[str, dict[str, Any]]]


def runs(data: str | bytes, fmt: str) -> Runs:
    return read_import(data, fmt).runs


def lines(found: Runs) -> list[tuple[str, dict[str, Any]]]:
    """(text, line format) per line: what a reader of the pad sees."""
    out, current = [], ""
    for chunk, attrs in found:
        *complete, current_part = chunk.split("\n")
        for part in complete:
            out.append((current + part, attrs))
            current = ""
        current += current_part
    return [*out, (current, {})] if current else out


def text_of(found: Runs) -> str:
    return "".join(chunk for chunk, _ in found)


# -- formats and decoding -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("notes.txt", "txt"), ("a.b.MD", "md"), ("x.markdown", "md"), ("page.html", "html"),
     ("page.HTM", "html")],
)
def test_the_extension_names_the_format(name: str, fmt: str) -> None:
    assert format_of_file(name) == fmt


@pytest.mark.parametrize("name", ["notes.docx", "notes", ".md", "evil.html.exe", "x.svg"])
def test_other_files_are_refused_clearly(name: str) -> None:
    with pytest.raises(InvalidInput, match=r"import a \.txt, \.md or \.html file"):
        format_of_file(name)


def test_a_pasted_texts_format_must_be_known() -> None:
    assert check_format("Markdown") == "md"
    with pytest.raises(InvalidInput, match="no import format 'pdf'"):
        check_format("pdf")


def test_plain_text_with_bom_and_crlf() -> None:
    found = runs(b"\xef\xbb\xbffirst\r\nsecond\rthird\r\n", "txt")
    assert found == [("first\nsecond\nthird", {})]  # no "\n" after the last line


def test_plain_text_is_text_even_when_it_looks_like_markup() -> None:
    found = runs("<script>alert(1)</script>\n# not a heading\n**x**", "txt")
    assert text_of(found) == "<script>alert(1)</script>\n# not a heading\n**x**"
    assert all(attrs == {} for _, attrs in found)


def test_control_characters_are_dropped_tabs_kept() -> None:
    assert text_of(runs("a\x00b\x07c\td\x1b", "txt")) == "abc\td"


def test_invalid_utf8_is_refused_clearly() -> None:
    with pytest.raises(InvalidInput, match=r"not UTF-8 text \(byte 3 is not\)"):
        runs(b"abc\xff\xfe", "txt")
    with pytest.raises(InvalidInput, match="not UTF-8"):
        runs("<p>caf\xe9</p>".encode("latin-1"), "html")


def test_an_empty_import_is_refused() -> None:
    for fmt in ("txt", "md", "html"):
        with pytest.raises(InvalidInput, match="holds no text"):
            runs(" \n\t\n", fmt)
    with pytest.raises(InvalidInput, match="holds no text"):
        runs("<script>alert(1)</script><style>p{}</style>", "html")


# -- size limits --------------------------------------------------------------------------------


def test_a_huge_upload_is_refused_with_its_size() -> None:
    with pytest.raises(TooLarge, match=r"the import is 1\.5 MiB: at most 1\.0 MiB") as caught:
        runs(b"a" * (MAX_BYTES + MAX_BYTES // 2), "txt")
    assert caught.value.status == 413


def test_the_limit_itself_is_fine() -> None:
    found = runs(b"x" * MAX_CHARS, "txt")
    assert len(text_of(found)) == MAX_CHARS


@pytest.mark.parametrize("fmt", ["txt", "md", "html"])
def test_too_many_characters_are_refused(fmt: str) -> None:
    # Fewer bytes than MAX_BYTES, more characters than MAX_CHARS.
    body = ("word " * 110_000) if fmt != "html" else ("<p>" + "word " * 110_000 + "</p>")
    assert len(body.encode()) < MAX_BYTES
    with pytest.raises(TooLarge, match=f"more than {MAX_CHARS:,} characters"):
        runs(body, fmt)


def test_deep_nesting_is_refused_before_it_costs_time() -> None:
    assert text_of(runs("<div>" * 200 + "deep" + "</div>" * 200, "html")) == "deep"
    found = runs("<p>a" * 5_000 + "<li>b" * 5_000, "html")
    assert text_of(found).count("\n") == 10_000  # the last is a list item's: it stays
    for html in ("<div>" * 50_000 + "deep", "<div><b>" * 200 + "x", "<ul><li>" * 300):
        with pytest.raises(InvalidInput, match="nests elements more than 256 deep"):
            runs(html, "html")
    assert "quoted" in text_of(runs("> " * 10 + "quoted", "md"))
    try:  # markdown-it gives up past its nesting limit: what it drops is not imported
        runs("> " * 5_000 + "quoted", "md")
    except InvalidInput as exc:
        assert "no text" in str(exc)
    assert text_of(runs("<ul><li>" * 100 + "x", "html")).strip() == "x"


# -- sanitising ---------------------------------------------------------------------------------

HOSTILE = """
<script>alert('script')</script>
<style>body { background: url(javascript:alert('style')) }</style>
<p onclick="alert('click')" style="color:red">para <img src=x onerror="alert('img')"></p>
<a href="javascript:alert('link')">js link</a> <a href=" JaVaScRiPt:alert(1)">spaced</a>
<a href="jav&#x09;ascript:alert(1)">encoded</a> <a href="data:text/html,<script>x</script>">data</a>
<a href="vbscript:msgbox(1)">vb</a> <a href="/relative">relative</a>
<a href="https://example.org/?a=1&amp;b=2" onmouseover="alert('over')">good</a>
<a href="mailto:ann@example.org">mail</a>
<iframe src="https://evil.example">frame text</iframe><object data="x">obj</object>
<svg><script>alert('svg')</script><text>svg text</text></svg>
<form action="https://evil.example"><input value="field"><button>press</button></form>
<math><mtext>math</mtext></math><template><p>tpl</p></template><noscript>ns</noscript>
<!-- a comment -->
<base href="https://evil.example/"><meta http-equiv="refresh" content="0;url=https://evil">
"""


def test_the_sanitiser_removes_everything_active() -> None:
    clean = sanitise(HOSTILE).lower()
    for bad in ("<script", "<style", "onclick", "onerror", "onmouseover", "javascript", "<img",
                "<iframe", "<object", "<svg", "<form", "<input", "<math", "<template", "<!--",
                "<base", "<meta", "style=", "data:", "vbscript"):
        assert bad not in clean, bad


def test_hostile_html_becomes_plain_safe_runs() -> None:
    found = runs(HOSTILE, "html")
    text = text_of(found)
    for gone in ("alert", "frame text", "obj", "svg text", "math", "tpl", "ns", "comment",
                 "background"):
        assert gone not in text, gone
    assert "para" in text and "js link" in text and "relative" in text and "press" in text
    links = {attrs["link"] for _, attrs in found if "link" in attrs}
    assert links == {"https://example.org/?a=1&b=2", "mailto:ann@example.org"}
    assert all(set(attrs) <= {"link", "header", "list", "indent"} for _, attrs in found)


def test_escaped_markup_stays_text() -> None:
    found = runs("<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp;amp;</p>", "html")
    assert found == [("<script>alert(1)</script> &amp;", {})]


def test_markdown_takes_no_raw_html() -> None:
    md = "<script>alert(1)</script>\n\nhi <img src=x onerror=alert(2)> [x](javascript:alert(3))"
    found = runs(md, "md")
    assert lines(found) == [
        ("<script>alert(1)</script>", {}),
        ("hi <img src=x onerror=alert(2)> [x](javascript:alert(3))", {}),
    ]


# -- formats ------------------------------------------------------------------------------------


def test_markdown_formats() -> None:
    md = (
        "# One\n## Two\n### Three\n#### Four\n\n"
        "Plain *it* **bold** ~~gone~~ `code` [site](https://example.org) <https://auto.example>\n\n"
        "- a\n  - b\n    - c\n- [ ] to do\n- [x] done\n\n1. first\n2. second\n\n"
        "```python\ndef f():\n\n    return '<b>'\n```\n"
    )
    found = runs(md, "md")
    assert lines(found) == [
        ("One", {"header": 1}), ("Two", {"header": 2}), ("Three", {"header": 3}),
        ("Four", {"header": 3}),
        ("Plain it bold gone code site https://auto.example", {}),
        ("a", {"list": "bullet"}), ("b", {"list": "bullet", "indent": 1}),
        ("c", {"list": "bullet", "indent": 2}),
        ("to do", {"list": "unchecked"}), ("done", {"list": "checked"}),
        ("first", {"list": "ordered"}), ("second", {"list": "ordered"}),
        ("def f():", {"code-block": True}), ("", {"code-block": True}),
        ("    return '<b>'", {"code-block": True}),
    ]
    inline = {chunk: attrs for chunk, attrs in found if attrs and chunk != "\n"}
    assert inline["it"] == {"italic": True} and inline["bold"] == {"bold": True}
    assert inline["gone"] == {"strike": True} and inline["code"] == {"code": True}
    assert inline["site"] == {"link": "https://example.org"}
    assert inline["https://auto.example"] == {"link": "https://auto.example"}


def test_html_formats_and_whitespace() -> None:
    html = """<h1>Title  <em>x</em></h1>
      <p>one <b>two <i>three</i></b>   <u>under</u> <s>struck</s><br>next   line</p>
      <ul><li>a<ol><li>b</li></ol></li></ul>
      <pre>
  keep   spaces
second</pre>
      <table><tr><th>k</th><td>v</td></tr></table>
      <p><br></p><h6>small</h6>"""
    found = runs(html, "html")
    assert lines(found) == [
        ("Title x", {"header": 1}), ("one two three under struck", {}), ("next line", {}),
        ("a", {"list": "bullet"}), ("b", {"list": "ordered", "indent": 1}),
        ("  keep   spaces", {"code-block": True}), ("second", {"code-block": True}),
        ("k\tv", {}), ("", {}), ("small", {"header": 3}),
    ]
    assert ("three", {"bold": True, "italic": True}) in found
    assert ("under", {"underline": True}) in found


def test_quills_own_html_keeps_its_formats() -> None:
    html = (
        '<ol><li data-list="bullet"><span class="ql-ui" contenteditable="false"></span>a</li>'
        '<li data-list="checked" class="ql-indent-2">b</li>'
        '<li data-list="onclick" class="evil ql-indent-9">c</li></ol>'
        '<div class="ql-code-block-container"><div class="ql-code-block">  x</div>'
        '<div class="ql-code-block"><br></div><div class="ql-code-block">y</div></div>'
    )
    assert lines(runs(html, "html")) == [
        ("a", {"list": "bullet"}), ("b", {"list": "checked", "indent": 2}),
        ("c", {"list": "ordered"}),
        ("  x", {"code-block": True}), ("", {"code-block": True}), ("y", {"code-block": True}),
    ]


def test_markdown_export_reads_back() -> None:
    exported = pad_content(build_doc())
    found = lines(runs(to_markdown(exported), "md"))
    wanted = [(line.text, line.format) for line in exported.lines if line.text]
    for line in found:  # the exporter's trailing spaces and blank lines do not come back
        assert line in wanted or (line[0] + " ", line[1]) in wanted, line
    assert len(found) == len(wanted)


# -- writing into the text ----------------------------------------------------------------------


def test_utf16_indexes_become_byte_offsets() -> None:
    text = "é😀x"
    assert utf16_length(text) == 4
    assert [byte_offset(text, i) for i in range(6)] == [
        (0, 0), (2, 1), (6, 3), (6, 3), (7, 4), (7, 4)  # 2 is inside the emoji: after it
    ]


def new_text(*runs_: tuple[str, dict[str, Any]]) -> Text:
    doc: Doc[Any] = Doc()
    text = doc.get("content", type=Text)
    offset = 0
    for chunk, attrs in runs_:
        text.insert(offset, chunk, attrs)
        offset += len(chunk.encode())
    return text


def test_an_import_at_the_cursor_lands_there_with_its_own_formats() -> None:
    text = new_text(("é😀 ", {"author": "ann"}), ("bold", {"bold": True, "author": "ann"}),
                    ("\n", {"header": 1}))
    imported = read_import("<p>new <i>it</i></p>", "html")
    placed = apply_import(text, imported, mode="cursor", index=8, author="zed")
    assert str(text) == "é😀 bold" + "new it" + "\n"
    assert (placed.index, placed.length) == (8, 6)
    diff = [(chunk, dict(attrs or {})) for chunk, attrs in text.diff()]
    assert ("new ", {"author": "zed"}) in diff  # not bold, though it follows bold text
    assert ("it", {"italic": True, "author": "zed"}) in diff
    assert diff[-1] == ("\n", {"header": 1})


def test_a_multi_line_import_keeps_each_lines_format() -> None:
    text = new_text(("ab\n", {}))
    apply_import(text, read_import("# Head\n\n- item\n", "md"), mode="cursor", index=1,
                 author="zed")
    assert str(text) == "aHead\nitem\nb\n"
    assert lines([(c, dict(a or {})) for c, a in text.diff()]) == [
        ("aHead", {"header": 1, "author": "zed"}),
        ("item", {"list": "bullet", "author": "zed"}),
        ("b", {}),
    ]


def test_replace_deletes_everything_first() -> None:
    text = new_text(("old text\n", {"author": "ann"}))
    placed = apply_import(text, read_import("new\n", "txt"), mode="replace", index=3,
                          author="zed")
    assert str(text) == "new" and (placed.index, placed.length) == (0, 3)
    assert [(c, dict(a or {})) for c, a in text.diff()] == [("new", {"author": "zed"})]


def test_an_index_past_the_end_or_none_appends() -> None:
    text = new_text(("x", {}))
    apply_import(text, Imported([("y", {})]), mode="cursor", index=10**9, author="zed")
    assert str(text) == "xy"
    apply_import(text, Imported([("z", {})]), mode="cursor", index=None, author="zed")
    assert str(text) == "xy\nz"  # without an index: on a line of its own


def writers_of(base: bytes, update: bytes) -> set[int]:
    """The client ids that wrote `update`, made against the state `base`."""
    doc: Doc[Any] = Doc()
    doc.apply_update(base)
    before = decode_state_vector(doc.get_state())
    doc.apply_update(update)
    after = decode_state_vector(doc.get_state())
    return {client for client, clock in after.items() if clock > before.get(client, 0)}


def test_an_import_update_is_made_off_the_pad_and_applies_in_one_go() -> None:
    pad = new_text(("before  after", {"author": "ann"}))
    doc = pad.doc
    base = doc.get_update()
    made = import_update(base, read_import("**new**", "md"), mode="cursor", index=7,
                         author="zed")
    assert (made.placed.index, made.placed.length) == (7, 3)
    assert str(pad) == "before  after"  # the pad itself is untouched until the update lands
    mine = set(decode_state_vector(doc.get_state()))
    writers = writers_of(base, made.update)
    assert len(writers) == 1 and not writers & mine  # a writer of its own
    # Someone types meanwhile: the update still applies, and both edits stay.
    pad.insert(0, "> ", {"author": "ann"})
    assert made.applies_to(doc.get_state())
    doc.apply_update(made.update)
    assert str(pad) == "> before new after"
    assert ("new", {"bold": True, "author": "zed"}) in [(c, dict(a or {})) for c, a in pad.diff()]


def test_an_import_update_does_not_apply_to_a_pad_that_lacks_its_base() -> None:
    ahead = new_text(("text the other pad never had", {}))
    made = import_update(ahead.doc.get_update(), read_import("x", "txt"), mode="replace",
                         index=None, author="zed")
    assert not made.applies_to(new_text(("x", {})).doc.get_state())
    assert made.applies_to(ahead.doc.get_state())


def test_too_many_format_changes_are_refused() -> None:
    with pytest.raises(TooLarge, match="changes format more than 10,000 times"):
        runs("**a** b " * 6_000, "md")


@pytest.mark.parametrize(
    ("before", "index", "after", "placed"),
    [
        ("Before\nAfter", 6, "Before\nA\nb\nAfter", 7),  # end of a line: whole lines below
        ("Before\nAfter", 7, "Before\nA\nb\nAfter", 7),  # start of a line: whole lines above
        ("Before\nAfter", 12, "Before\nAfter\nA\nb", 12),  # end of the last line: "\n" first
        ("Before\nAfter", 3, "BefA\nbore\nAfter", 3),  # inside a line: split, as Quill pastes
        ("", 0, "A\nb", 0),
    ],
)
def test_several_lines_at_a_lines_end_or_start_go_in_as_lines(
    before: str, index: int, after: str, placed: int
) -> None:
    text = new_text((before, {}))
    imported = read_import("# A\n\nb", "md")
    assert apply_import(text, imported, mode="cursor", index=index, author="zed").index == placed
    assert str(text) == after
    assert ("\n", {"header": 1, "author": "zed"}) in [(c, dict(a or {})) for c, a in text.diff()]


def test_one_line_joins_the_line_at_the_cursor() -> None:
    for index, after in ((6, "BeforeX\nAfter"), (7, "Before\nXAfter"), (12, "Before\nAfterX")):
        text = new_text(("Before\nAfter", {}))
        apply_import(text, read_import("X", "txt"), mode="cursor", index=index, author="zed")
        assert str(text) == after
