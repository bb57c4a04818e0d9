"""Check a summit archive (docs/archive-format.md) completely before anything is restored.

`check_archive` opens the zip, refuses anything a zip can carry besides the archive (paths that
leave the top folder, duplicate entries, bombs, corrupt or truncated data), checks every file
against the manifest (size and SHA-256, read in chunks and never trusting the sizes the zip
declares), then checks the records under `data/` (archive_check_records.py). It writes nothing
and raises InvalidInput naming the file and the problem at the first one found.
"""

from __future__ import annotations

import hashlib
import lzma
import re
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .archive_check_records import CheckedArchive, check_records, parse_json, refuse
from .schedule import is_slug

FORMAT_NAME = "summitpad-archive"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATA = "data/"
_CHUNK = 64 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")
_DRIVE = re.compile(r"[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# What a broken zip raises while it is read: a bad header or CRC, a truncated file, corrupt
# compressed data, a compression method or an encryption this Python cannot read.
_CORRUPT = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, lzma.LZMAError, EOFError,
            OSError, ValueError, NotImplementedError, RuntimeError)


@dataclass(frozen=True, slots=True)
class Limits:
    """What an archive may hold at most (a summit of hundreds of sessions is far below)."""

    entries: int = 100_000
    total_bytes: int = 2 * 1024**3  # uncompressed, all files together
    ratio: int = 200  # uncompressed to compressed, for a file past `ratio_above` bytes
    ratio_above: int = 1024**2


LIMITS = Limits()


def check_archive(source: str | Path | IO[bytes], limits: Limits = LIMITS) -> CheckedArchive:
    """The archive at `source`, checked; InvalidInput at its first problem."""
    try:
        with zipfile.ZipFile(source) as archive:
            top, infos = _entries(archive, limits)
            manifest = _manifest(archive, top, infos, limits)
            data = _verify(archive, top, infos, manifest, limits)
    except _CORRUPT as exc:
        refuse("the archive", f"not a readable zip file (truncated or corrupt?): {exc}")
    summit = manifest.get("summit")
    return check_records(top, summit if isinstance(summit, Mapping) else {}, data)


def check_path(name: str) -> str | None:
    """What is wrong with `name` as a path inside the archive, or None."""
    if "\\" in name:
        return "a backslash in the path"
    if name.startswith("/"):
        return "an absolute path"
    if _DRIVE.match(name):
        return "a drive letter"
    if _CONTROL.search(name):
        return "a control character in the path"
    parts = name.removesuffix("/").split("/")
    if ".." in parts:
        return "a '..' in the path"
    if any(part in ("", ".") for part in parts):
        return "an empty or '.' part in the path"
    return None


def _entries(archive: zipfile.ZipFile, limits: Limits) -> tuple[str, dict[str, zipfile.ZipInfo]]:
    """The top folder and the files under it (directory entries left out), every name checked,
    and the sizes the zip declares checked against the limits."""
    infos = archive.infolist()
    if len(infos) > limits.entries:
        refuse("the archive", f"{len(infos)} entries, more than {limits.entries}")
    if not infos:
        refuse("the archive", "it is empty")
    top = infos[0].filename.split("/", 1)[0]
    files: dict[str, zipfile.ZipInfo] = {}
    seen: set[str] = set()
    declared = 0
    for info in infos:
        name = info.filename
        shown = repr(name[:200])
        problem = check_path(name)
        if problem is not None:
            refuse(f"entry {shown}", problem)
        if name in seen:
            refuse(f"entry {shown}", "in the zip twice")
        seen.add(name)
        first, slash, rest = name.partition("/")
        if first != top or not slash:
            refuse(f"entry {shown}", f"outside the archive's one top folder {top[:60]!r}")
        if info.flag_bits & 0x1:
            refuse(f"entry {shown}", "encrypted")
        if info.is_dir():
            if info.file_size:
                refuse(f"entry {shown}", "a directory entry that holds data")
            continue
        declared += info.file_size
        if declared > limits.total_bytes:
            refuse("the archive", f"more than {limits.total_bytes} bytes uncompressed")
        if info.file_size > limits.ratio_above and (
            info.file_size > limits.ratio * max(info.compress_size, 1)
        ):
            refuse(f"entry {shown}", f"compressed more than {limits.ratio} to 1 (a zip bomb?)")
        files[rest] = info
    if not is_slug(top):
        refuse(f"top folder {top[:60]!r}", "not a summit slug")
    return top, files


def _read(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int, *, keep: bool = True
) -> tuple[bytes, int, str]:
    """An entry's bytes (if `keep`), size and SHA-256, read in chunks: never more than it
    declares, nor than `budget` (what is left of the total)."""
    digest = hashlib.sha256()
    chunks: list[bytes] = []
    size = 0
    cap = min(info.file_size, budget)
    with archive.open(info) as stream:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > info.file_size:
                refuse(repr(info.filename[:200]), "larger than its declared size")
            if size > cap:
                refuse("the archive", "more bytes uncompressed than it may hold")
            digest.update(chunk)
            if keep:
                chunks.append(chunk)
    return b"".join(chunks), size, digest.hexdigest()


def _manifest(
    archive: zipfile.ZipFile, top: str, files: dict[str, zipfile.ZipInfo], limits: Limits
) -> dict[str, Any]:
    where = f"{top}/{MANIFEST}"
    info = files.get(MANIFEST)
    if info is None:
        refuse(where, "missing: this is not a summitpad archive")
    raw, _, _ = _read(archive, info, limits.total_bytes)
    manifest = parse_json(where, raw, FORMAT_NAME, FORMAT_VERSION)
    listed = manifest.get("files")
    if not isinstance(listed, dict):
        refuse(where, "'files' is not an object")
    for path, entry in listed.items():
        problem = check_path(path) or ("the manifest itself" if path == MANIFEST else None)
        if problem is not None:
            refuse(where, f"file {path[:200]!r}: {problem}")
        if not (isinstance(entry, dict) and isinstance(entry.get("sha256"), str)
                and _SHA256.fullmatch(entry["sha256"]) and type(entry.get("size")) is int
                and entry["size"] >= 0):
            refuse(where, f"file {path[:200]!r}: not {{\"sha256\": <hex>, \"size\": <bytes>}}")
    summit = manifest.get("summit")
    if not isinstance(summit, dict) or summit.get("slug") != top:
        refuse(where, f"'summit' does not name the summit of the top folder {top!r}")
    return manifest


def _verify(
    archive: zipfile.ZipFile,
    top: str,
    files: dict[str, zipfile.ZipInfo],
    manifest: dict[str, Any],
    limits: Limits,
) -> dict[str, bytes]:
    """Every file against the manifest; returns the contents of those under data/."""
    listed: dict[str, Any] = manifest["files"]
    for path in files:
        if path != MANIFEST and path not in listed:
            refuse(f"{top}/{path}"[:200], "not listed in the manifest")
    for path in listed:
        if path not in files:
            refuse(f"{top}/{path}"[:200], "listed in the manifest but not in the archive")
    budget = limits.total_bytes - files[MANIFEST].file_size
    data: dict[str, bytes] = {}
    for path, info in files.items():
        if path == MANIFEST:
            continue
        where = f"{top}/{path}"[:200]
        content, size, digest = _read(archive, info, budget, keep=path.startswith(DATA))
        budget -= size
        if size != listed[path]["size"]:
            refuse(where, f"{size} bytes, the manifest says {listed[path]['size']}")
        if digest != listed[path]["sha256"]:
            refuse(where, "its SHA-256 differs from the manifest's")
        if path.startswith(DATA):
            data[path] = content
    return data
