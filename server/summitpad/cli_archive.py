"""`summitpad archive <summit> -o <file.zip>`: the summit's archive (docs/archive-format.md)."""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from pathlib import Path
from typing import Any

import click
import redis.asyncio as aioredis

from .archive import write_archive
from .cli_data import data_options, run
from .settings import Settings


@click.command("archive")
@click.argument("slug")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="The zip file to write (default: <summit>-archive.zip here).")
@data_options
def archive(slug: str, output: Path | None, **options: Any) -> None:
    """Write the archive of the summit SLUG: its notes as a static site, and all its data."""
    target = output or Path(f"{slug}-archive.zip")
    # Written next to the target under another name, renamed once complete: a failed run
    # leaves no half file, and never a broken file where a good one was.
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
    bar: Any = None
    shown = 0

    def progress(done: int, total: int) -> None:
        nonlocal bar, shown
        if bar is None:
            bar = click.progressbar(length=total, label=f"Archiving {slug}", file=sys.stderr,
                                    show_pos=True)
            bar.__enter__()
        bar.update(done - shown)
        shown = done

    async def work(client: aioredis.Redis, settings: Settings) -> Any:
        return await write_archive(client, settings.key_prefix, slug, partial,
                                   progress=progress)

    try:
        archived = run(options, work)
        os.replace(partial, target)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    click.echo(f"wrote {target}: {archived.sessions} sessions, {archived.pads} pads with data, "
               f"{archived.files} files")
