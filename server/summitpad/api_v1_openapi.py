"""The OpenAPI 3.1 document of the JSON API, served at /api/v1/openapi.json: every path,
parameter, request body, answer and error code. The schemas are api_v1_schemas.py's.

Paths are relative to the server `/api/v1`. Each operation lists the error codes it can answer
with under their status; any other failure (405 for a method a path does not take, 500) comes as
the same Error shape, under `default`.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from . import __version__
from .api_v1 import MAX_BODY
from .api_v1_schemas import PARAMETERS, SCHEMAS, SECURITY_SCHEMES, Schema, ref
from .chat import FLOOD_LIMIT, FLOOD_WINDOW_MS
from .chat import MAX_TEXT as CHAT_MAX
from .pad_export import FORMATS
from .pad_import import MAX_CHARS

DESCRIPTION = f"""\
The summits, their sessions and every pad's notes, for scripts.

**Reading** needs no token and follows the pad's own visibility: whoever knows a pad's id may
read it (a pad id is a capability, so listing them takes an organizer's token). A session's pad
`<summit>.<session>` can be read as soon as its session exists (it shows the summit's template
until somebody writes), and not before: it cannot be created while its summit does not exist;
any other pad once something is stored for it. A read-only id
(`/ro/<id>`) is not a pad id here.

**Writing** needs `Authorization: Bearer <token>`, the API token of an account (`summitpad user
token <login>`). Writes are edits of the live pad: every connected browser sees them at once,
they are durable when the answer comes, and they are attributed to an author of the account,
named after its login. A read-only pad (its session locked, or over) takes no edits (403
`read_only`).

**The text** is the pad's as its `.txt` export has it: without Quill's last newline. `PUT
.../text` takes one final newline off the text it gets; line ends become `\\n`, control
characters other than tab are dropped. At most {MAX_CHARS:,} characters in a pad, and
{MAX_BODY:,} bytes in a request body.

**Errors** are always `{{"error": {{"code": ..., "message": ...}}}}`; the codes are stable.
"""

JSON = "application/json"


def _error(description: str, codes: list[str]) -> Schema:
    schema = {"allOf": [ref("Error"), {"properties": {"error": {"properties": {
        "code": {"enum": codes}}}}}]}
    listed = ", ".join(f"`{c}`" for c in codes)
    return {"description": f"{description} ({listed}).", "content": {JSON: {"schema": schema}}}


_ERRORS: dict[int, str] = {
    400: "Bad request", 401: "No token, or a wrong one", 403: "Not allowed",
    404: "Not found", 409: "Conflict", 413: "Too large", 415: "Not JSON",
    429: "Too many messages", 503: "The store cannot be reached",
}


def _json_body(schema: str, description: str) -> Schema:
    return {"required": True, "description": description,
            "content": {JSON: {"schema": ref(schema)}}}


def _ok(status: int, schema: str, description: str) -> dict[str, Schema]:
    return {str(status): {"description": description, "content": {JSON: {"schema": ref(schema)}}}}


def operation(
    operation_id: str,
    summary: str,
    ok: dict[str, Schema],
    *,
    errors: dict[int, list[str]] | None = None,
    parameters: tuple[str, ...] = (),
    body: Schema | None = None,
    token: bool = False,
    description: str = "",
) -> Schema:
    """One operation: `errors` maps each status to its codes (401 and 503 are added: a wrong
    token is refused everywhere, and the store may be away)."""
    found = {401: ["unauthorized"], 503: ["store_unavailable"], **(errors or {})}
    if body is not None:
        found.setdefault(400, ["invalid_request"])
        found[413] = sorted({*found.get(413, []), "body_too_large"})
        found[415] = ["unsupported_media_type"]
    responses = dict(ok)
    for status in sorted(found):
        responses[str(status)] = _error(_ERRORS[status], found[status])
    responses["default"] = {"description": "Any other failure (405 `method_not_allowed`, 500 "
                                           "`internal_error`, ...).",
                            "content": {JSON: {"schema": ref("Error")}}}
    op: Schema = {
        "operationId": operation_id,
        "summary": summary,
        "parameters": [{"$ref": f"#/components/parameters/{p}"} for p in parameters],
        "responses": responses,
    }
    if description:
        op["description"] = description
    if body is not None:
        op["requestBody"] = body
    if token:
        op["security"] = [{"bearer": []}]
    return op


PAD_MISSING = ["pad_not_found", "session_not_found"]
EXPORT_SCHEMAS: dict[str, Schema] = {
    "json": ref("PadExport"),
    "yjs": {"type": "string", "contentMediaType": "application/octet-stream",
            "description": "The pad's whole Yjs state as one update."},
}

PATHS: dict[str, dict[str, Schema]] = {
    "/openapi.json": {"get": operation(
        "getOpenApi", "This document", _ok(200, "OpenApi", "The OpenAPI 3.1 document."))},
    "/summits": {"get": operation(
        "listSummits", "Every summit", _ok(200, "SummitList", "The summits, by start."))},
    "/summits/{summit}": {"get": operation(
        "getSummit", "A summit with its tracks and rooms", _ok(200, "Summit", "The summit."),
        parameters=("summit",), errors={404: ["summit_not_found"]})},
    "/summits/{summit}/sessions": {"get": operation(
        "listSessions", "A summit's sessions",
        _ok(200, "SessionList", "Its sessions: scheduled ones by start, then the others."),
        parameters=("summit",), errors={404: ["summit_not_found"]})},
    "/summits/{summit}/sessions/{session}": {"get": operation(
        "getSession", "A session, its pad and where it stands now",
        _ok(200, "Session", "The session."), parameters=("summit", "session"),
        errors={404: ["summit_not_found", "session_not_found"]})},
    "/summits/{summit}/archive": {"get": operation(
        "getArchive", "The summit's archive", {"200": {
            "description": "A zip: a static site of every session's notes and the data a "
                           "restore needs (docs/archive-format.md).",
            "content": {"application/zip": {"schema": {"type": "string",
                                                       "contentMediaType": "application/zip"}}},
        }},
        parameters=("summit",), token=True,
        errors={403: ["forbidden"], 404: ["summit_not_found"]},
        description="Organizers only.")},
    "/pads": {
        "get": operation(
            "listPads", "Every pad", _ok(200, "PadList", "Every pad anything is stored for, "
                                                         "by id."),
            token=True, errors={403: ["forbidden"]},
            description="Organizers only: a pad's id is what lets anyone read and write it."),
        "post": operation(
            "createPad", "Create a pad", _ok(201, "Pad", "The new pad (its URL in Location)."),
            body=_json_body("NewPad", "The pad's id, and its text if it is not to start as "
                                      "when first opened."),
            token=True,
            errors={403: ["read_only"], 404: ["session_not_found"], 409: ["pad_exists"]},
            description="Any pad id, or the pad of an existing session (`<summit>.<session>`); "
                        "409 if anything is stored for it already. A read-only session's pad "
                        "may be created without text only."),
    },
    "/pads/{pad}": {"get": operation(
        "getPad", "A pad's details", _ok(200, "Pad", "The pad."), parameters=("pad",),
        errors={404: PAD_MISSING})},
    "/pads/{pad}/text": {
        "get": operation(
            "getPadText", "A pad's content", _ok(200, "PadText", "The pad as asked."),
            parameters=("pad", "format", "rev"),
            errors={400: ["invalid_request"], 404: [*PAD_MISSING, "revision_not_found"]}),
        "put": operation(
            "replacePadText", "Replace a pad's text",
            _ok(200, "PadText", "The pad's text right after the edit."),
            parameters=("pad",), token=True,
            body=_json_body("TextBody", "The new text (one final newline is taken off)."),
            errors={403: ["read_only"], 404: PAD_MISSING}),
    },
    "/pads/{pad}/append": {"post": operation(
        "appendPadText", "Add text at the end of a pad",
        _ok(200, "PadText", "The pad's text right after the edit."),
        parameters=("pad",), token=True,
        body=_json_body("TextBody", "The text to add, as it is."),
        errors={403: ["read_only"], 404: PAD_MISSING})},
    "/pads/{pad}/revisions": {"get": operation(
        "listRevisions", "A pad's revisions, a page at a time",
        _ok(200, "RevisionList", "Revisions after `after`, and every saved revision."),
        parameters=("pad", "after", "limit"),
        errors={400: ["invalid_request"], 404: PAD_MISSING},
        description="One revision per author per few seconds of editing, as the timeslider "
                    "shows them.")},
    "/pads/{pad}/revisions/{rev}": {"get": operation(
        "getRevision", "One revision", _ok(200, "Revision", "When, who, and the text then."),
        parameters=("pad", "rev_path"),
        errors={400: ["invalid_request"], 404: [*PAD_MISSING, "revision_not_found"]})},
    "/pads/{pad}/chat": {
        "get": operation(
            "getChat", "A pad's chat", _ok(200, "Chat", "The last messages, oldest first."),
            parameters=("pad", "last"),
            errors={400: ["invalid_request"], 404: PAD_MISSING}),
        "post": operation(
            "postChat", "Send a chat message", _ok(201, "ChatMessage", "The message as stored."),
            parameters=("pad",), token=True,
            body=_json_body("ChatBody", f"At most {CHAT_MAX:,} characters."),
            errors={403: ["read_only"], 404: PAD_MISSING, 429: ["rate_limited"]},
            description=f"Sent as the account (its login as the name), seen live by everyone "
                        f"in the pad's chat. An account may send {FLOOD_LIMIT} messages per "
                        f"{FLOOD_WINDOW_MS // 1000} s to a pad; past that, 429 with "
                        "Retry-After. A read-only pad takes no chat."),
    },
    "/pads/{pad}/export.{fmt}": {"get": operation(
        "exportPad", "A pad as a file", {"200": {
            "description": "The file, as the pad page's Export gives it.",
            "content": {
                ctype.split(";")[0]: {"schema": EXPORT_SCHEMAS.get(fmt, {"type": "string"})}
                for fmt, ctype in FORMATS.items()
            },
        }},
        parameters=("pad", "fmt", "rev"),
        errors={400: ["invalid_request"],
                404: ["not_found", *PAD_MISSING, "revision_not_found"]})},
}


@functools.cache
def _document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "summitpad API", "version": __version__, "description": DESCRIPTION},
        "servers": [{"url": "/api/v1"}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "parameters": PARAMETERS,
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


def openapi_document() -> dict[str, Any]:
    """The document (a copy: callers may change it)."""
    return copy.deepcopy(_document())
