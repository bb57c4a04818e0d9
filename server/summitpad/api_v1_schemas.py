"""The components of the JSON API's OpenAPI document: the shape of every request and answer
body (JSON Schema 2020-12, as OpenAPI 3.1 has it), the parameters and the security scheme.

Answers are described closed (`additionalProperties: false`): the tests check every answer
they get against these, so a member added to an answer must be added here too.
"""

from __future__ import annotations

from typing import Any

from .api_v1 import MAX_BODY, PAGE_DEFAULT, PAGE_MAX, TEXT_FORMATS
from .api_v1_errors import CODES
from .chat import HISTORY, MAX_STORED
from .chat import MAX_TEXT as CHAT_MAX
from .keys import PAD_ID_PATTERN
from .lifecycle import Phase
from .pad_export import FORMAT_NAME, FORMAT_VERSION
from .pad_import import MAX_CHARS
from .schedule import SESSION_ID_PATTERN, SUMMIT_SLUG_PATTERN, Lock, Origin

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def closed(properties: dict[str, Schema], *, optional: tuple[str, ...] = (),
           description: str = "") -> Schema:
    """An object with exactly these members (all required but `optional`)."""
    schema: Schema = {
        "type": "object",
        "required": [name for name in properties if name not in optional],
        "properties": properties,
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


def nullable(schema: Schema) -> Schema:
    return {"oneOf": [schema, {"type": "null"}]}


STRING: Schema = {"type": "string"}
URL: Schema = {"type": "string", "format": "uri"}
TIME: Schema = {"type": "string", "format": "date-time"}
COUNT: Schema = {"type": "integer", "minimum": 0}
PAD_ID: Schema = {"type": "string", "pattern": f"^{PAD_ID_PATTERN}$",
                  "description": "1-100 of A-Z a-z 0-9 _ . - (not . or ..); a session's pad is "
                                 "`<summit>.<session>`"}


def urls_of(*names: str) -> Schema:
    return closed({name: URL for name in names}, description="Absolute URLs.")


SCHEMAS: dict[str, Schema] = {
    "Error": closed({
        "error": closed({
            "code": {"type": "string", "enum": list(CODES),
                     "description": "Stable: scripts may branch on it."},
            "message": {"type": "string", "description": "For people; it may change."},
        }),
    }, description="Every error answer."),
    "Track": closed({"id": STRING, "name": STRING,
                     "colour": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"}}),
    "Room": closed({"id": STRING, "name": STRING}),
    "SummitItem": closed({
        "slug": {"type": "string", "pattern": f"^{SUMMIT_SLUG_PATTERN}$"},
        "name": STRING,
        "start_date": {"type": "string", "format": "date"},
        "end_date": {"type": "string", "format": "date"},
        "timezone": {"type": "string", "description": "IANA time zone: Europe/Berlin"},
        "urls": urls_of("page", "api"),
    }),
    "SummitList": closed({"summits": {"type": "array", "items": ref("SummitItem")}}),
    "Summit": closed({
        "slug": {"type": "string", "pattern": f"^{SUMMIT_SLUG_PATTERN}$"},
        "name": STRING,
        "start_date": {"type": "string", "format": "date"},
        "end_date": {"type": "string", "format": "date"},
        "timezone": STRING,
        "template": {"type": "string", "description": "What a new session pad starts with."},
        "tracks": {"type": "array", "items": ref("Track")},
        "rooms": {"type": "array", "items": ref("Room")},
        "urls": urls_of("page", "api", "sessions"),
    }),
    "Session": closed({
        "id": {"type": "string", "pattern": f"^{SESSION_ID_PATTERN}$"},
        "title": STRING,
        "track": {"type": "string", "description": "A track id of the summit, or empty."},
        "room": {"type": "string", "description": "A room id of the summit, or empty while "
                                                  "unscheduled."},
        "start": nullable(TIME),
        "end": nullable(TIME),
        "moderator": STRING,
        "description": STRING,
        "origin": {"type": "string", "enum": [o.value for o in Origin]},
        "proposed_by": STRING,
        "lock": {"type": "string", "enum": [lock.value for lock in Lock],
                 "description": "Empty: the pad follows the schedule; `locked`: read-only; "
                                "`open`: writable whatever the time."},
        "summit": STRING,
        "pad": PAD_ID,
        "phase": {"type": "string", "enum": [p.value for p in Phase]},
        "read_only": {"type": "boolean", "description": "Whether the pad takes edits now."},
        "urls": urls_of("page", "projector", "api", "pad"),
    }),
    "SessionList": closed({"summit": STRING,
                           "sessions": {"type": "array", "items": ref("Session")}}),
    "Pad": closed({
        "id": PAD_ID,
        "session": nullable(closed({"summit": STRING, "id": STRING, "title": STRING})),
        "read_only": {"type": "boolean"},
        "revisions": {**COUNT, "description": "The number of the latest revision (0: none)."},
        "last_edited": nullable(TIME),
        "users": {**COUNT, "description": "Connections to the pad now, over every node."},
        "urls": urls_of("page", "history", "api"),
    }),
    "PadList": closed({"pads": {"type": "array", "items": PAD_ID}}),
    "NewPad": closed({
        "id": PAD_ID,
        "text": {"type": "string", "maxLength": MAX_CHARS,
                 "description": "The pad's text; without it, the pad starts as when first "
                                "opened (its session's template, or empty)."},
    }, optional=("text",)),
    "TextBody": closed({"text": {"type": "string", "maxLength": MAX_CHARS}}),
    "ChatBody": closed({"text": {"type": "string", "minLength": 1, "maxLength": CHAT_MAX}}),
    "Delta": closed({"ops": {"type": "array", "items": closed(
        {"insert": STRING, "attributes": {"type": "object"}}, optional=("attributes",))}},
        description="The pad as a Quill delta: runs of text with their attributes (bold, "
                    "header, list, link, author, ...). Quill's final newline is not part of "
                    "it."),
    "PadText": closed({
        "pad": PAD_ID,
        "rev": nullable({**COUNT, "description": "The revision shown; null: the pad now."}),
        "format": {"type": "string", "enum": list(TEXT_FORMATS)},
        "content": {"oneOf": [STRING, ref("Delta")],
                    "description": "A string for text, markdown and html (escaped blocks, no "
                                   "page around them); a Delta for json."},
    }),
    "Author": closed({"id": STRING, "name": STRING, "color": nullable(STRING)}),
    "RevisionItem": closed({"rev": COUNT, "time": TIME, "author": nullable(ref("Author"))}),
    "SavedRevision": closed({"rev": nullable(COUNT), "label": STRING, "name": STRING,
                             "time": TIME}),
    "RevisionList": closed({
        "pad": PAD_ID,
        "count": {**COUNT, "description": "The number of the latest revision."},
        "revisions": {"type": "array", "items": ref("RevisionItem")},
        "next_after": nullable({**COUNT, "description": "`after` for the next page; null on "
                                                        "the last page."}),
        "saved": {"type": "array", "items": ref("SavedRevision")},
    }),
    "Revision": closed({
        "pad": PAD_ID,
        "rev": COUNT,
        "count": COUNT,
        "time": nullable(TIME),
        "author": nullable(ref("Author")),
        "text": STRING,
    }, description="Revision 0 is the empty pad before any edit: no time, no author."),
    "ChatMessage": closed({
        "id": {"type": "string", "description": "The message's stream id: <ms>-<n>."},
        "author": {"type": "string", "description": "The author id of the sender."},
        "name": STRING,
        "color": {"type": "string", "pattern": "^#[0-9a-f]{6}$"},
        "text": STRING,
        "time": TIME,
    }),
    "Chat": closed({"pad": PAD_ID, "messages": {"type": "array", "items": ref("ChatMessage")}}),
    "PadExport": {
        "type": "object",
        "required": ["format", "version", "pad", "text", "runs"],
        "properties": {
            "format": {"const": FORMAT_NAME},
            "version": {"type": "integer", "const": FORMAT_VERSION},
            "pad": PAD_ID,
            "text": STRING,
            "runs": {"type": "array"},
        },
        "description": "The pad's JSON export: its text and formatted runs, its session, "
                       "authors, chat and revisions.",
    },
    "OpenApi": {"type": "object", "required": ["openapi", "info", "paths"],
                "description": "This document."},
}


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


def _path(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": schema,
            "description": description}


PARAMETERS: dict[str, Schema] = {
    "summit": _path("summit", STRING, "The summit's slug."),
    "session": _path("session", STRING, "The session's id."),
    "pad": _path("pad", STRING, "The pad's id (not a read-only id)."),
    "rev_path": _path("rev", COUNT, "A revision number: 0 (the empty pad), 1, 2, ..."),
    "fmt": _path("fmt", {"type": "string", "enum": ["txt", "md", "html", "json", "yjs"]},
                 "The export format."),
    "rev": _query("rev", COUNT, "A revision number: the pad as it was then (0: empty). "
                                "Without it: the pad now."),
    "format": _query("format", {"type": "string", "enum": list(TEXT_FORMATS),
                                "default": "text"}, "The representation of the pad."),
    "after": _query("after", {**COUNT, "default": 0}, "List the revisions after this number."),
    "limit": _query("limit", {"type": "integer", "minimum": 1, "maximum": PAGE_MAX,
                              "default": PAGE_DEFAULT}, "At most this many revisions."),
    "last": _query("last", {"type": "integer", "minimum": 1, "maximum": MAX_STORED,
                            "default": HISTORY}, "The last this many messages, oldest first."),
}

SECURITY_SCHEMES: dict[str, Schema] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "The API token of an account: `summitpad user token <login>`. Any "
                       "account may write to pads; listing pads and the archive take an "
                       "organizer's. A token that is given but wrong is refused everywhere "
                       f"(401). Request bodies: JSON, at most {MAX_BODY:,} bytes.",
    },
}
