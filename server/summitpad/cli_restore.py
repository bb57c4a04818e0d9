"""`summitpad restore <file.zip>`: bring a summit back from its archive."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click
import redis.asyncio as aioredis

from .archive_check import check_archive
from .archive_restore import restore_archive
from .cli_data import data_options, run
from .settings import Settings


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@data_options
def restore(file: Path, **options: Any) -> None:
    """Restore the summit archived in FILE (a .zip written by `summitpad archive`).

    The whole archive is checked first; it is refused, with nothing written, if it is damaged
    or if this deployment has its summit, one of its pads or one of its read-only ids already.
    """

    async def work(client: aioredis.Redis, settings: Settings) -> None:
        checked = await asyncio.to_thread(check_archive, file)
        restored = await restore_archive(client, settings.key_prefix, checked)
        click.echo(restored.summary())

    run(options, work)
