"""Import into a pad: POST /p/<pad-id>/import and /<summit>/<session>/import.

The form (multipart, with the CSRF token like every POST) holds either a file `file` (.txt,
.md or .html, by its extension) or pasted text `text` with its `format` ("txt", "md" or
"html"), and `mode`: "cursor" to insert at `index` (a Quill index, UTF-16 units; on new lines
after the text without one) or "replace" to replace the whole text.

The edit goes through the live pad, so every connected client sees it at once, and is durable
when the answer comes: JSON `{"imported": {"format", "mode", "index", "length"}}` (where it
landed, in Quill's units) for a client that accepts it, else a redirect back to the pad. The
import is written into a copy of the pad in a worker thread and handed to the pad's writer as
one update, so that a large import into a busy pad never holds up the writer.

A read-only pad (a locked or ended session) refuses with 403 before anything is read.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from aiohttp import web
from pycrdt import Text

from .. import urls
from ..app_keys import REGISTRY, RULES
from ..errors import Forbidden, InvalidInput, NeedsResync, TooLarge
from ..keys import PAD_ID_PATTERN, check_pad_id
from ..pad_import import (
    MAX_BYTES,
    MODES,
    Imported,
    Mode,
    Placed,
    check_format,
    format_of_file,
    import_update,
    read_import,
)
from ..pads import PadRegistry
from ..rendering import read_form
from ..schedule import check_session_id
from ..web_security import PARTICIPANT_ID
from .summits import SLUG, load_summit

# The largest request read for an import: the file and the rest of its form.
MAX_REQUEST = MAX_BYTES + 64 * 1024
_GATES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)
ATTEMPTS = 3
READ_ONLY = "this pad is read-only (its session is locked or over): nothing was imported"


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post(f"/p/{{pad_id:{PAD_ID_PATTERN}}}/import", pad_import, name="pad_import")
    router.add_post(f"/{SLUG}/{urls.SESSION}/import", session_import, name="session_import")


async def pad_import(request: web.Request) -> web.StreamResponse:
    pad_id = check_pad_id(request.match_info["pad_id"])
    return await _import(request, pad_id, urls.pad(pad_id))


async def session_import(request: web.Request) -> web.StreamResponse:
    data = await load_summit(request)
    session = data.session(check_session_id(request.match_info["session"]))
    return await _import(
        request, data.summit.pad_id(session.id), urls.session(data.summit.slug, session.id)
    )


async def _import(request: web.Request, pad_id: str, back: str) -> web.StreamResponse:
    terms = await request.app[RULES].terms(pad_id)  # NotFound for a session that does not exist
    if terms.read_only:
        raise Forbidden(READ_ONLY)
    if request.content_length is not None and request.content_length > MAX_REQUEST:
        raise TooLarge(f"at most {MAX_BYTES // (1024 * 1024)} MiB can be imported at once")
    form = await read_form(request)
    mode = _mode(form)
    index = _index(form) if mode == "cursor" else None
    data, fmt = _content(form)
    author = request[PARTICIPANT_ID]
    async with _converting():
        imported = await asyncio.to_thread(read_import, data, fmt)
        placed = await _edit(request.app[REGISTRY], pad_id, author, imported, mode, index)
    if "application/json" in request.headers.get("Accept", ""):
        return web.json_response({"imported": _summary(fmt, mode, placed)})
    raise web.HTTPSeeOther(back)


async def _edit(
    registry: PadRegistry, pad_id: str, author: str, imported: Imported, mode: Mode,
    index: int | None,
) -> Placed:
    """Make the import an edit of the live pad: take the pad's state from its writer, write the
    import into a copy of it in a worker thread, and hand the writer the result to apply, in
    one go. If the writer's document lost some of that state meanwhile (rebuilt from the
    store), start again."""
    for _ in range(ATTEMPTS):
        try:
            return await _attempt(registry, pad_id, author, imported, mode, index)
        except NeedsResync:
            continue
        except Forbidden as exc:  # locked since the check above
            raise Forbidden(READ_ONLY) from exc
    raise NeedsResync("the pad kept changing under the import: try again")


async def _attempt(
    registry: PadRegistry, pad_id: str, author: str, imported: Imported, mode: Mode,
    index: int | None,
) -> Placed:
    states: list[bytes] = []
    await registry.edit(pad_id, author, lambda text: states.append(text.doc.get_update()))
    made = await asyncio.to_thread(
        import_update, states[0], imported, mode=mode, index=index, author=author
    )

    def change(text: Text) -> None:
        if not made.applies_to(text.doc.get_state()):
            raise NeedsResync("the pad changed under the import")
        text.doc.apply_update(made.update)

    await registry.edit(pad_id, author, change)
    return made.placed


def _converting() -> asyncio.Semaphore:
    """One conversion at a time per event loop: Markdown and HTML are read in Python, which
    holds the interpreter lock, and a large import takes seconds; two at once would slow every
    pad on this node, not only the imports."""
    loop = asyncio.get_running_loop()
    gate = _GATES.get(loop)
    if gate is None:
        gate = _GATES[loop] = asyncio.Semaphore(1)
    return gate


def _mode(form: Any) -> Mode:
    value = str(form.get("mode") or "cursor")
    for mode in MODES:
        if value == mode:
            return mode
    raise InvalidInput('mode must be "cursor" (insert at the cursor) or "replace"')


def _index(form: Any) -> int | None:
    """The Quill cursor index; None (on new lines at the end) when the form has none."""
    value = form.get("index")
    if value is None or value == "":
        return None
    try:
        index = int(str(value))
    except ValueError:
        index = -1
    if index < 0:
        raise InvalidInput("index must be the cursor's position: a whole number, 0 or more")
    return index


def _content(form: Any) -> tuple[bytes, str]:
    """The bytes to import and their format: the uploaded file's, or the pasted text's."""
    upload = form.get("file")
    if isinstance(upload, web.FileField) and upload.filename:
        fmt = format_of_file(upload.filename)
        data: bytes = upload.file.read(MAX_BYTES + 1)
        if not data:
            raise InvalidInput(f"the file {upload.filename[:80]!r} is empty")
        return data, fmt
    text = form.get("text")
    if isinstance(text, str) and text.strip():
        return text.encode(), check_format(str(form.get("format") or "txt"))
    raise InvalidInput("choose a .txt, .md or .html file, or paste some text, to import")


def _summary(fmt: str, mode: Mode, placed: Placed) -> dict[str, Any]:
    return {
        "format": fmt,
        "mode": mode,
        "index": placed.index,  # where it starts and how long it is, as Quill counts
        "length": placed.length,
    }
