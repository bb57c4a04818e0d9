"""Who wrote a pad: `authors.json` next to each page that shows it.

    /p/<pad-id>/authors.json   /<summit>/<session>/authors.json   /ro/<ro-id>/authors.json

`{"authors": [{"id", "name", "color", "chars"}, ...]}`, most characters first (pad_authors.py).
The characters are counted in the pad as stored (snapshot + log, like an export), the names and
colours are the ones the authors last announced. The pad page reads it for the people who are
not there any more; those present announce their own in awareness.
"""

from __future__ import annotations

from aiohttp import web
from pycrdt import Text

from .. import urls
from ..app_keys import RULES, SETTINGS, STORE
from ..author_names import read_authors
from ..keys import PAD_ID_PATTERN, check_pad_id, pad_keys
from ..pad_authors import TEMPLATE, UNKNOWN, list_authors
from ..pad_export import doc_from_updates
from ..pad_template import TEXT_NAME
from ..schedule import check_session_id
from .read_only import RO_ID, read_only_ids
from .summits import SLUG, load_summit


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(f"/p/{{pad_id:{PAD_ID_PATTERN}}}/authors.json", pad_authors,
                   name="pad_authors")
    router.add_get(f"/{SLUG}/{urls.SESSION}/authors.json", session_authors,
                   name="session_authors")
    router.add_get(f"/ro/{RO_ID}/authors.json", read_only_authors, name="read_only_authors")


async def pad_authors(request: web.Request) -> web.Response:
    return await _authors(request, check_pad_id(request.match_info["pad_id"]))


async def session_authors(request: web.Request) -> web.Response:
    data = await load_summit(request)
    session = data.session(check_session_id(request.match_info["session"]))
    return await _authors(request, data.summit.pad_id(session.id))


async def read_only_authors(request: web.Request) -> web.Response:
    pad_id = await read_only_ids(request).require_pad_of(request.match_info["ro_id"])
    return await _authors(request, pad_id)


async def _authors(request: web.Request, pad_id: str) -> web.Response:
    terms = await request.app[RULES].terms(pad_id, with_template=True)  # NotFound: no session
    keys = pad_keys(request.app[SETTINGS].key_prefix, pad_id)
    stored = await request.app[STORE].read(keys)
    updates = ([stored.snapshot] if stored.snapshot else []) + [u for _, u in stored.updates]
    doc = doc_from_updates(updates or [terms.template or b""])
    recorded = await read_authors(request.app[STORE].client, keys)
    entries = list_authors(
        doc.get(TEXT_NAME, type=Text).diff(),
        recorded,
        unattributed=TEMPLATE if terms.template else UNKNOWN,
    )
    return web.json_response(
        {"authors": [entry.to_json() for entry in entries]},
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )
