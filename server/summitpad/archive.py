"""The archive of a summit: one zip file, a static site of its notes and everything a restore
needs (docs/archive-format.md).

`write_archive` reads the summit and its pads from the store and writes the zip. Pads are read
concurrently, a bounded number at a time, in batches; each batch is rendered and compressed in
a worker thread while the next one is read, so a server's event loop stays responsive.

Everything but the manifest's `created` depends only on the data, so two archives of the same
summit hold the same files, byte for byte: entries in a fixed order, JSON with sorted keys, no
time of writing on any page. A session's `.json` export gives as `exported_at` the time of the
pad's last revision (the start of the summit's first day for a pad without notes).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import IO, Any

import redis.asyncio as aioredis

from . import __version__
from .archive_actions import ActionItem, action_items
from .archive_pages import actions_page, index_page, schedule_order, session_page
from .archive_read import StoredPad, read_pads
from .export_fields import export_authors, session_info
from .pad_export import PadContent, doc_from_updates, pad_content, to_json, to_markdown, to_yjs
from .schedule import Session
from .summit_store import SummitData, SummitStore

FORMAT = "summitpad-archive"
SUMMIT_FORMAT = "summitpad-summit"
PAD_FORMAT = "summitpad-pad-data"
VERSION = 1
BATCH = 64  # sessions read, then rendered, at a time
COMPRESS_LEVEL = 6

Progress = Callable[[int, int], None]  # (sessions done, sessions in all)


@dataclass(frozen=True, slots=True)
class Archived:
    """What an archive holds."""

    slug: str
    sessions: int
    pads: int  # pad records (sessions whose pad holds data)
    files: int  # files besides the manifest
    size: int  # their bytes, uncompressed


def _json(body: Any, *, indent: int | None = 2) -> bytes:
    separators = (",", ": ") if indent else (",", ":")
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, indent=indent,
                      separators=separators)
    return (text + "\n").encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class ArchiveZip:
    """The zip being written: every entry under the top folder, its SHA-256 and size noted."""

    def __init__(self, target: str | Path | IO[bytes], top: str, created: datetime) -> None:
        self._zip = zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED,
                                    compresslevel=COMPRESS_LEVEL)
        self._top = top
        self._stamp = created.astimezone(UTC).timetuple()[:6]
        self.files: dict[str, dict[str, Any]] = {}

    def add(self, path: str, body: str | bytes) -> None:
        data = body.encode() if isinstance(body, str) else body
        info = zipfile.ZipInfo(f"{self._top}/{path}", date_time=self._stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        self._zip.writestr(info, data, compresslevel=COMPRESS_LEVEL)
        self.files[path] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}

    def close(self) -> None:
        self._zip.close()


def pad_record(pad: StoredPad, state: bytes) -> dict[str, Any]:
    """A pad's complete record (data/pads/<id>.json)."""
    return {
        "format": PAD_FORMAT,
        "version": VERSION,
        "pad_id": pad.pad_id,
        "read_only_id": pad.read_only_id,
        "state": _b64(state),
        "revisions": [
            {"number": r.number, "author": r.author, "time": r.time_ms, "upto": r.upto,
             "update": _b64(r.update)}
            for r in pad.revisions
        ],
        "saved": [
            {"upto": s.upto, "number": s.number, "label": s.label, "author": s.author,
             "name": s.name, "time": s.time_ms}
            for s in pad.saved
        ],
        "chat": [{"id": entry_id, "m": message} for entry_id, message in pad.chat],
        "authors": pad.authors,
    }


class _Builder:
    """Writes the files of each session as its pad comes in, then the summit's own."""

    def __init__(self, data: SummitData, archive: ArchiveZip) -> None:
        self.data = data
        self.archive = archive
        self.noted: dict[str, bool] = {}
        self.actions: dict[str, list[ActionItem]] = {}
        self.pads = 0
        summit = data.summit
        first_day = datetime.combine(summit.start_date, time(), tzinfo=summit.tz)
        self._no_notes_at = first_day.astimezone(UTC)

    def add_pads(self, pads: Sequence[StoredPad]) -> None:
        for pad in pads:
            self._add(pad)

    def _add(self, pad: StoredPad) -> None:
        session = pad.session
        info = session_info(self.data, session)
        content: PadContent | None = None
        state = to_yjs(b"")
        if pad.written:
            doc = doc_from_updates(r.update for r in pad.revisions)
            state = doc.get_update()
            content = pad_content(doc)
        exported_at = self._no_notes_at
        if pad.last_time_ms is not None:
            exported_at = datetime.fromtimestamp(pad.last_time_ms // 1000, UTC)
        shown = content or pad_content(b"")
        base = f"sessions/{session.id}"
        self.archive.add(f"{base}.html", session_page(self.data.summit, info, pad, content))
        self.archive.add(f"{base}.md", to_markdown(shown) if content else "")
        self.archive.add(f"{base}.txt", shown.text)
        self.archive.add(f"{base}.json", to_json(
            shown, pad_id=pad.pad_id, exported_at=exported_at, session=info,
            authors=export_authors(pad.recorded), chat=pad.chat_entries, **pad.history_fields,
        ))
        self.archive.add(f"{base}.yjs", state)
        if pad.written:
            self.archive.add(f"data/pads/{session.id}.json", _json(pad_record(pad, state),
                                                                   indent=None))
            self.pads += 1
        self.noted[session.id] = content is not None
        self.actions[session.id] = action_items(content) if content else []

    def finish(self, created: datetime) -> Archived:
        data = self.data
        summit = data.summit
        sessions = schedule_order(data.sessions.values(), summit)
        self.archive.add("data/summit.json", _json({
            "format": SUMMIT_FORMAT,
            "version": VERSION,
            "summit": summit.to_json(),
            "sessions": [data.sessions[sid].to_json() for sid in sorted(data.sessions)],
        }))
        self.archive.add("index.html", index_page(summit, sessions, self.noted))
        self.archive.add("actions.html", actions_page(summit, sessions, self.actions))
        files = dict(sorted(self.archive.files.items()))
        self.archive.add("manifest.json", _json({
            "format": FORMAT,
            "version": VERSION,
            "generator": f"summitpad {__version__}",
            "created": _iso(created),
            "summit": {
                "slug": summit.slug, "name": summit.name,
                "start": summit.start_date.isoformat(), "end": summit.end_date.isoformat(),
                "timezone": summit.timezone, "sessions": len(data.sessions), "pads": self.pads,
            },
            "files": files,
        }))
        return Archived(summit.slug, len(data.sessions), self.pads, len(files),
                        sum(f["size"] for f in files.values()))


async def write_archive(
    client: aioredis.Redis,
    prefix: str,
    slug: str,
    target: str | Path | IO[bytes],
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> Archived:
    """Write the archive of summit `slug` (keys under `prefix`) to `target`: a path or a
    writable binary file. `now`: the time it is made (the manifest's `created`; sessions ended
    by then get their "end of session" revision). `progress(done, total)` is called, on the
    event loop, as sessions are done. NotFound for an unknown summit, StoreUnavailable if the
    store fails; a path may then hold a partial file (the caller removes it)."""
    now = now or datetime.now(UTC)
    data = await SummitStore(client, prefix).load(slug)
    sessions = sorted(data.sessions.values(), key=lambda s: s.id)
    batches = [sessions[i : i + BATCH] for i in range(0, len(sessions), BATCH)]
    report = progress or (lambda _done, _total: None)
    report(0, len(sessions))
    archive = await asyncio.to_thread(ArchiveZip, target, summit_folder(slug), now)
    builder = _Builder(data, archive)

    def read(batch: Sequence[Session]) -> asyncio.Task[list[StoredPad]]:
        return asyncio.create_task(read_pads(client, prefix, data.summit, batch, now))

    reading = read(batches[0]) if batches else None
    done = 0
    try:
        for index, batch in enumerate(batches):
            assert reading is not None
            pads = await reading
            reading = read(batches[index + 1]) if index + 1 < len(batches) else None
            await asyncio.to_thread(builder.add_pads, pads)
            done += len(batch)
            report(done, len(sessions))
        archived = await asyncio.to_thread(builder.finish, now)
    finally:
        if reading is not None and not reading.done():
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reading
        await asyncio.to_thread(archive.close)
    return archived


def summit_folder(slug: str) -> str:
    """The top folder of a summit's archive."""
    return slug
