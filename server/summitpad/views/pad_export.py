"""Download a pad: /p/<pad-id>/export.<fmt> and /<summit>/<session>/export.<fmt>.

The pad is read from the store (snapshot + log), never from this node's live pad: an export
holds exactly what is durable, and every node gives the same answer for the same pad. A session
pad that nobody has opened yet exports as its summit's template, which is what it shows when
first opened; a bare pad never written exports as empty. The JSON and HTML exports hold the
names and colours of the pad's authors and its chat as well.

`?rev=<n>` exports the pad at revision n of its history instead (0 is the empty pad), as
`<pad>-r<n>.<fmt>`; a revision that does not exist, or a `rev` that is not a whole number, is a
404. The JSON export lists the time and author of every revision up to the one exported (the
latest 10,000 of them, with `revisions_omitted` saying how many earlier ones are left out) and
the saved revisions up to it.
"""

from __future__ import annotations

from aiohttp import web

from .. import urls
from ..app_keys import CLOCK, PRESENCE, REGISTRY, RULES, SETTINGS, STORE
from ..errors import NotFound
from ..keys import PAD_ID_PATTERN, check_pad_id, pad_keys
from ..pad_export import FORMATS
from ..pad_export_file import export_file, export_response
from ..pad_operations import FoundPad, PadOperations
from ..schedule import check_session_id
from ..timeslider import parse_revision
from .summits import SLUG, load_summit

FMT = "{fmt:[A-Za-z0-9]+}"


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(f"/p/{{pad_id:{PAD_ID_PATTERN}}}/export.{FMT}", pad_export, name="pad_export")
    router.add_get(f"/{SLUG}/{urls.SESSION}/export.{FMT}", session_export,
                   name="session_export")


def pad_operations(request: web.Request) -> PadOperations:
    c = request.config_dict
    return PadOperations(c[STORE].client, c[STORE], c[REGISTRY], c[RULES], c[PRESENCE],
                         c[SETTINGS].key_prefix)


async def pad_export(request: web.Request) -> web.Response:
    pad_id = check_pad_id(request.match_info["pad_id"])
    fmt, rev = _format(request)
    ops = pad_operations(request)
    found = await ops.session(pad_id)  # NotFound: a summit without that session
    terms = await ops.terms(pad_id, with_template=True)
    summit, session = found if found is not None else (None, None)
    return await _export(request, ops, FoundPad(pad_keys(ops.prefix, pad_id), terms, summit,
                                                session), fmt, rev)


async def session_export(request: web.Request) -> web.Response:
    fmt, rev = _format(request)
    data = await load_summit(request)
    session = data.session(check_session_id(request.match_info["session"]))
    ops = pad_operations(request)
    pad_id = data.summit.pad_id(session.id)
    terms = await ops.terms(pad_id, with_template=True)
    return await _export(request, ops, FoundPad(pad_keys(ops.prefix, pad_id), terms, data,
                                                session), fmt, rev)


def _format(request: web.Request) -> tuple[str, int | None]:
    """The format asked for and the revision (None: now); NotFound for either, before any
    reading."""
    fmt = request.match_info["fmt"]
    if fmt not in FORMATS:
        raise NotFound(f"no export format {fmt[:20]!r}: use one of {', '.join(FORMATS)}")
    return fmt, parse_revision(request.query.get("rev"))


async def _export(
    request: web.Request, ops: PadOperations, found: FoundPad, fmt: str, rev: int | None
) -> web.Response:
    file = await export_file(ops, found, fmt, rev, request.app[CLOCK].now())
    response = export_response(file, fmt)
    response.headers["Cache-Control"] = "no-store"
    return response
