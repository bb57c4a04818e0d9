"""Small summit archives for the restore tests, made by hand as docs/archive-format.md says.

`make_zip` packs a dict of files (paths under the top folder) and computes the manifest;
`pad_data` types a pad's revisions with pycrdt and builds its record. The records hold what
the store holds, so a test can change any one field and expect exactly that to be refused.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import warnings
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Doc, Text

from .summit_fixtures import SESSIONS, SUMMIT, berlin

TOP = SUMMIT.slug
T0 = int(berlin(4, 9, 1).timestamp() * 1000)  # during session s1
RO_ID = "rRestoredReadOnlyIdOfSessionS1"
ANN = {"name": "Ann <b>", "color": "#1d4ed8"}
BOB = {"name": "Bob", "color": "#b42318"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def dump(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, sort_keys=True).encode()


def manifest_of(files: Mapping[str, bytes], **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "format": "summitpad-archive", "version": 1, "generator": "summitpad test",
        "created": "2026-11-24T09:00:00Z",
        "summit": {"slug": TOP, "name": SUMMIT.name, "start": "2026-05-04", "end": "2026-05-06",
                   "timezone": SUMMIT.timezone},
        "files": {path: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                  for path, data in sorted(files.items())},
    }
    body.update(changes)
    return body


def make_zip(
    files: Mapping[str, bytes],
    *,
    top: str = TOP,
    manifest: Mapping[str, Any] | None = None,
    extra: Sequence[tuple[str, bytes]] = (),
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """A zip of `files` under `top`/, with manifest.json listing them (or `manifest`, as
    given), then the `extra` entries (any name, as given)."""
    body = manifest_of(files) if manifest is None else manifest
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of duplicate names: some tests want them
        with zipfile.ZipFile(out, "w", compression=compression) as archive:
            for path, data in files.items():
                archive.writestr(f"{top}/{path}", data)
            if body:
                archive.writestr(f"{top}/manifest.json", dump(body))
            for name, data in extra:
                archive.writestr(zipfile.ZipInfo(name), data)
    return out.getvalue()


# -- a pad's record -----------------------------------------------------------------------------


@dataclass
class Edit:
    author: str
    time_ms: int
    change: Callable[[Text], None]
    seq: int = 0


@dataclass
class PadData:
    session_id: str
    edits: list[Edit]
    saved: list[dict[str, Any]] = field(default_factory=list)
    chat: list[dict[str, Any]] = field(default_factory=list)
    authors: dict[str, Any] = field(default_factory=dict)
    read_only_id: str | None = None
    _typed: tuple[bytes, list[dict[str, Any]]] | None = None

    def typed(self) -> tuple[bytes, list[dict[str, Any]]]:
        """The pad's state and revisions: each edit made by its author's own Yjs client. Made
        once: Yrs orders the formatting marks of one insert differently from run to run."""
        if self._typed is None:
            self._typed = self._type()
        return self._typed[0], [dict(r) for r in self._typed[1]]

    def _type(self) -> tuple[bytes, list[dict[str, Any]]]:
        pad: Doc[Any] = Doc(client_id=1)
        pad.get("content", type=Text)
        clients: dict[str, Doc[Any]] = {}
        revisions = []
        for number, edit in enumerate(self.edits, 1):
            if edit.author not in clients:
                clients[edit.author] = Doc(client_id=100 + len(clients))
            doc = clients[edit.author]
            doc.apply_update(pad.get_update(doc.get_state()))
            before = doc.get_state()
            edit.change(doc.get("content", type=Text))
            update = doc.get_update(before)
            pad.apply_update(update)
            revisions.append({"number": number, "author": edit.author, "time": edit.time_ms,
                              "upto": f"{edit.time_ms}-{edit.seq}", "update": b64(update)})
        return pad.get_update(), revisions

    def record(self) -> dict[str, Any]:
        state, revisions = self.typed()
        return {
            "format": "summitpad-pad-data", "version": 1,
            "pad_id": f"{TOP}.{self.session_id}", "read_only_id": self.read_only_id,
            "state": b64(state), "revisions": revisions, "saved": self.saved,
            "chat": self.chat, "authors": self.authors,
        }


def append(text: Text, chunk: str, attrs: dict[str, Any]) -> None:
    text.insert(len(str(text).encode()), chunk, attrs)


def notes_s1() -> PadData:
    """Session s1: three authors, formatting, a deletion, a saved revision, chat, a read-only
    id."""
    def heading(t: Text) -> None:
        t.insert(0, "Storage <roadmap>", {"author": "ann"})
        append(t, "\n", {"header": 1, "author": "ann"})

    def bold(t: Text) -> None:
        append(t, "Use Ceph ✓ ", {"author": "bob", "bold": True})
        append(t, "everywhere\n", {"author": "bob"})

    def trim(t: Text) -> None:
        del t[len(b"Storage "):len(b"Storage <roadmap>")]
        t.insert(len(b"Storage "), "plans", {"author": "ann", "italic": True})

    def action(t: Text) -> None:
        append(t, "#action check quotas", {"author": "carol"})
        append(t, "\n", {"list": "bullet", "author": "carol"})

    edits = [Edit("ann", T0, heading), Edit("bob", T0 + 5_000, bold),
             Edit("ann", T0 + 9_000, trim, seq=2), Edit("carol", T0 + 60_000, action)]
    return PadData(
        "s1", edits,
        saved=[{"upto": f"{T0 + 5_000}-0", "number": 2, "label": "agreed <i>", "author": "ann",
                "name": "Ann", "time": T0 + 7_000}],
        chat=[{"id": f"{T0 + 1_000}-0", "m": {"author": "ann", "name": "Ann", "color": "#1d4ed8",
                                              "text": "hi <script>alert(1)</script>"}},
              {"id": f"{T0 + 1_000}-1", "m": {"author": "bob", "name": "Bob", "color": "#b42318",
                                              "text": "hello ✓"}}],
        authors={"ann": ANN, "bob": BOB},
        read_only_id=RO_ID,
    )


def notes_s2() -> PadData:
    return PadData("s2", [Edit("", T0, lambda t: t.insert(0, "# Agenda\n\n# Notes\n"))])


def summit_record() -> dict[str, Any]:
    return {"format": "summitpad-summit", "version": 1, "summit": SUMMIT.to_json(),
            "sessions": [s.to_json() for s in sorted(SESSIONS, key=lambda s: s.id)]}


def archive_files(pads: Sequence[PadData] | None = None) -> dict[str, bytes]:
    """The files of a valid archive of the test summit (pages reduced to a line each)."""
    pads = [notes_s1(), notes_s2()] if pads is None else pads
    files = {"index.html": b"<!doctype html><title>osd</title>\n",
             "data/summit.json": dump(summit_record())}
    for pad in pads:
        files[f"sessions/{pad.session_id}.txt"] = b"notes\n"
        files[f"data/pads/{pad.session_id}.json"] = dump(pad.record())
    return files
