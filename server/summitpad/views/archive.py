"""An organizer's download of a summit's archive: GET /<summit>/archive.zip.

The archive is written to a temporary file (the pads are read and rendered off the event loop,
so pads keep flowing meanwhile), streamed to the browser, and removed.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from aiohttp import web

from ..app_keys import ARCHIVING, CLOCK, SETTINGS, STORE
from ..archive import write_archive
from ..web_security import require_organizer
from .summits import SLUG, load_summit

_CHUNK = 256 * 1024


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(f"/{SLUG}/archive.zip", download_archive, name="summit_archive")


async def download_archive(request: web.Request) -> web.StreamResponse:
    require_organizer(request)
    data = await load_summit(request)  # NotFound before any work
    return await archive_response(request, data.summit.slug)


async def archive_response(request: web.Request, slug: str) -> web.StreamResponse:
    """Summit `slug`'s archive, written to a temporary file and sent as a download; one at a
    time per node."""
    async with request.config_dict[ARCHIVING]:
        return await _send_archive(request, slug)


async def _send_archive(request: web.Request, slug: str) -> web.StreamResponse:
    folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="summitpad-archive-"))
    try:
        path = folder / f"{slug}-archive.zip"
        c = request.config_dict
        await write_archive(c[STORE].client, c[SETTINGS].key_prefix, slug, path,
                            now=c[CLOCK].now())
        response = web.StreamResponse(headers={
            "Content-Type": "application/zip",
            "Content-Disposition": f'attachment; filename="{slug}-archive.zip"',
            "Content-Length": str(path.stat().st_size),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        })
        # Sent whole before the file goes. A FileResponse would be prepared again when the
        # view returns it, and fail then.
        await response.prepare(request)
        with path.open("rb") as archive:
            while chunk := await asyncio.to_thread(archive.read, _CHUNK):
                await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, ignore_errors=True)
