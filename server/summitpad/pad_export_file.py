"""One pad's export file, gathered from the store: the pad (now, or at a revision), and for the
`json` and `html` formats its session's details, its authors, its chat and its history.

The pad is read from the store, never from a node's live pad: an export holds exactly what is
durable. A session's pad nobody has written yet exports as its summit's template. The formats
and what each holds are pad_export.py's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from .author_names import read_authors
from .chat import read_chat
from .export_fields import export_authors, history_fields, session_info
from .history_store import HistoryStore
from .pad_export import FORMATS, pad_content, to_json, to_markdown, to_text, to_yjs
from .pad_export_html import to_html
from .pad_operations import FoundPad, PadOperations
from .timeslider import session_end


@dataclass(frozen=True, slots=True)
class ExportFile:
    body: bytes
    content_type: str
    filename: str


async def export_file(
    ops: PadOperations, found: FoundPad, fmt: str, rev: int | None, now: datetime
) -> ExportFile:
    """Pad `found` as format `fmt` (a key of FORMATS), now or at revision `rev`;
    RevisionNotFound past its latest revision."""
    keys = found.keys
    state = await ops.state(keys, rev, template=found.terms.template)
    info = None
    if found.summit is not None and found.session is not None:
        info = session_info(found.summit, found.session)
    body: str | bytes
    if fmt == "yjs":
        body = to_yjs(state)
    else:
        content = pad_content(state)
        if fmt == "txt":
            body = to_text(content)
        elif fmt == "md":
            body = to_markdown(content)
        else:
            authors = export_authors(await ops.call(lambda: read_authors(ops.client, keys)))
            chat = await read_chat(ops.client, keys)
            if fmt == "json":
                history = HistoryStore(ops.client)
                view = await history.view(keys)
                fields = await history_fields(history, view, rev, session_end(found.session, now))
                body = to_json(content, pad_id=keys.pad_id, exported_at=now, session=info,
                               authors=authors, chat=chat, **fields)
            else:
                stamp = now.isoformat(timespec="seconds").replace("+00:00", "Z")
                body = to_html(content, title=info.title if info else keys.pad_id,
                               session=info, authors=authors, exported_at=stamp, chat=chat)
    name = keys.pad_id if rev is None else f"{keys.pad_id}-r{rev}"
    return ExportFile(
        body=body.encode() if isinstance(body, str) else body,
        content_type=FORMATS[fmt],
        filename=f"{name}.{fmt}",
    )


def export_response(file: ExportFile, fmt: str) -> web.Response:
    """`file` as a download. An HTML export may be opened in the browser anyway: it runs no
    script and fetches nothing."""
    response = web.Response(body=file.body, headers={
        "Content-Type": file.content_type,
        "Content-Disposition": f'attachment; filename="{file.filename}"',
        "X-Content-Type-Options": "nosniff",
    })
    if fmt == "html":
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; sandbox"
        )
    return response
