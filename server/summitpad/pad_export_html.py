"""A pad as a standalone HTML page: inline CSS, no scripts, no external resources.

It opens offline, years later, from a file. All user text is escaped; only http(s) and mailto
links become links (with rel="noopener noreferrer"); authorship colours come from the author
map (id -> {name, colour}), and only colours of the form #rrggbb are used. The pad's chat, if
it has any, follows the notes (times in UTC; names in their colour, checked again).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from .chat import ChatEntry, clean_color
from .pad_export import (
    Author,
    Line,
    PadContent,
    Run,
    SessionInfo,
    authors_of,
    chat_time,
    header_level,
    safe_url,
)

CSS = """
:root { color-scheme: light dark; }
body { font: 16px/1.5 system-ui, sans-serif; max-width: 48rem; margin: 2rem auto;
       padding: 0 1rem; }
header { border-bottom: 1px solid #8884; margin-bottom: 1.5rem; }
.meta { color: #666; margin: 0 0 1rem; }
.meta dt { font-weight: 600; float: left; clear: left; margin-right: .5em; }
.meta dd { margin: 0 0 .2em; }
.pad p { margin: 0 0 .4em; min-height: 1.5em; }
.pad pre { background: #8882; padding: .5em .75em; overflow-x: auto; }
.pad code { font-family: ui-monospace, monospace; }
.pad blockquote { border-left: 3px solid #8888; margin: 0 0 .4em; padding-left: .75em; }
.pad ul.checklist { list-style: none; padding-left: 1.2em; }
.pad ul.checklist li::before { content: "\\2610\\00a0"; }
.pad ul.checklist li.checked::before { content: "\\2611\\00a0"; }
.authors { border-top: 1px solid #8884; margin-top: 2rem; font-size: .9em; }
.authors span { padding: 0 .3em; margin-right: .5em; }
.chat { border-top: 1px solid #8884; margin-top: 2rem; }
.chat h2 { font-size: 1.1em; }
.chat ol { list-style: none; padding: 0; }
.chat li { margin: 0 0 .3em; overflow-wrap: anywhere; }
.chat time { color: #888; font-size: .85em; }
.chat .name { font-weight: 600; }
footer { color: #888; font-size: .8em; margin-top: 1rem; }
""".strip()


def _author_classes(authors: Mapping[str, Author]) -> dict[str, str]:
    """A class name per coloured author: generated, never the author id itself."""
    return {aid: f"a{i}" for i, aid in enumerate(sorted(authors)) if authors[aid].colour}


def _inline(runs: list[Run], authors: Mapping[str, Author], classes: Mapping[str, str]) -> str:
    out = []
    for run in runs:
        html = escape(run.insert)
        attrs = run.attributes
        if attrs.get("code"):
            html = f"<code>{html}</code>"
        if attrs.get("strike"):
            html = f"<s>{html}</s>"
        if attrs.get("italic"):
            html = f"<em>{html}</em>"
        if attrs.get("bold"):
            html = f"<strong>{html}</strong>"
        url = safe_url(attrs.get("link"))
        if url:
            html = f'<a href="{escape(url)}" rel="noopener noreferrer">{html}</a>'
        author_id = attrs.get("author")
        if isinstance(author_id, str) and author_id in classes:
            name = escape(authors[author_id].name)
            html = f'<span class="{classes[author_id]}" title="{name}">{html}</span>'
        out.append(html)
    return "".join(out)


def _blocks(
    lines: list[Line],
    authors: Mapping[str, Author],
    classes: Mapping[str, str],
    *,
    line_ids: bool = False,
) -> list[str]:
    """`line_ids`: each line's block (or, in a code block, its span) has the id L<n>."""
    blocks: list[str] = []
    open_list = ""  # the tag and class of the list being written, "" outside lists
    code: list[str] = []

    def close() -> None:
        nonlocal open_list
        if code:
            blocks.append("<pre><code>" + "\n".join(code) + "</code></pre>")
            code.clear()
        if open_list:
            blocks.append(f"</{open_list.split()[0]}>")
            open_list = ""

    for number, line in enumerate(lines, 1):
        fmt = line.format
        anchor = f' id="L{number}"' if line_ids else ""
        if fmt.get("code-block"):
            if open_list:
                close()
            code.append(f"<span{anchor}>{escape(line.text)}</span>" if line_ids
                        else escape(line.text))
            continue
        if code:
            close()
        inline = _inline(line.runs, authors, classes)
        listed = fmt.get("list")
        if listed in ("bullet", "ordered", "checked", "unchecked"):
            tag = "ol" if listed == "ordered" else "ul"
            wanted = tag + (' class="checklist"' if listed in ("checked", "unchecked") else "")
            if open_list != wanted:
                close()
                blocks.append(f"<{wanted}>")
                open_list = wanted
            css = ' class="checked"' if listed == "checked" else ""
            blocks.append(f"<li{anchor}{css}>{inline}</li>")
            continue
        close()
        level = header_level(fmt.get("header"))
        if level:  # the page title is h1
            blocks.append(f"<h{level + 1}{anchor}>{inline}</h{level + 1}>")
        elif fmt.get("blockquote"):
            blocks.append(f"<blockquote{anchor}>{inline}</blockquote>")
        else:
            blocks.append(f"<p{anchor}>{inline or '<br>'}</p>")
    close()
    return blocks


def pad_blocks(
    content: PadContent,
    authors: Mapping[str, Author],
    classes: Mapping[str, str],
    *,
    line_ids: bool = False,
) -> str:
    """The pad's lines as HTML blocks with no page around them (for the timeslider): the runs
    of each author in `classes` in a span of that class (class names made by the caller);
    `line_ids`: every line gets the id L<n>, counted from 1 (for links to a line)."""
    return "\n".join(_blocks(content.lines, authors, classes, line_ids=line_ids))


def _meta(session: SessionInfo | None) -> str:
    if session is None:
        return ""
    rows = [
        ("Summit", session.summit_name), ("Track", session.track), ("Room", session.room),
        ("When", session.when), ("Moderator", session.moderator),
    ]
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows if v)
    description = (
        f'<p class="description">{escape(session.description)}</p>'
        if session.description else ""
    )
    return f'<dl class="meta">{items}</dl>{description}'


def _chat(chat: Sequence[ChatEntry]) -> list[str]:
    if not chat:
        return []
    items = []
    day = ""
    for entry in chat:
        when = chat_time(entry)
        shown = when[11:16] if when[:10] == day else f"{when[:10]} {when[11:16]}"
        day = when[:10]
        items.append(
            f'<li><time datetime="{when}">{shown}</time> '
            f'<span class="name" style="color: {clean_color(entry.color)}">'
            f"{escape(entry.name)}</span>: {escape(entry.text)}</li>"
        )
    return ['<section class="chat">', "<h2>Chat</h2>", '<p class="meta">Times in UTC.</p>',
            "<ol>", *items, "</ol>", "</section>"]


def to_html(
    content: PadContent,
    *,
    title: str,
    session: SessionInfo | None = None,
    authors: Mapping[str, Mapping[str, Any]] | None = None,
    exported_at: str = "",
    chat: Sequence[ChatEntry] = (),
) -> str:
    """The page; `title` is the session's title or the pad id, `exported_at` a display time."""
    checked = authors_of(authors or {})
    classes = _author_classes(checked)
    seen = {r.attributes.get("author") for r in content.runs}
    author_css = "".join(
        f"\n.{css} {{ background: {checked[aid].colour}40; }}" for aid, css in classes.items()
    )
    legend = "".join(
        f'<span class="{classes[aid]}">{escape(checked[aid].name or "anonymous")}</span>'
        for aid in sorted(classes) if aid in seen
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">",
        '<meta name="generator" content="summitpad">',
        f"<title>{escape(title)}</title>",
        f"<style>\n{CSS}{author_css}\n</style>",
        "</head>",
        "<body>",
        f"<header><h1>{escape(title)}</h1>{_meta(session)}</header>",
        '<main class="pad">',
        *_blocks(content.lines, checked, classes),
        "</main>",
    ]
    if legend:
        parts.append(f'<p class="authors">Authors: {legend}</p>')
    parts += _chat(chat)
    if exported_at:
        parts.append(f"<footer>Exported from summitpad on {escape(exported_at)}</footer>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)
