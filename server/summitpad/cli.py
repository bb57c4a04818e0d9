"""The `summitpad` command."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from typing import Any

import click
from aiohttp import web

from . import __version__, logs
from .app import create_app
from .cli_archive import archive
from .cli_data import summit, user
from .cli_options import setting_options
from .cli_restore import restore
from .errors import StoreUnavailable, SummitpadError
from .settings import Settings, describe

log = logging.getLogger("summitpad")

EXIT_CONFIGURATION = 2
EXIT_STORE_UNAVAILABLE = 3


def _settings_table() -> str:
    lines = []
    for name, env, default, help_text in describe():
        shown = default if default != "" else "(see help)"
        lines.append(f"{name}\n    {env}  default: {shown}\n    {help_text}")
    return "\n".join(lines)


def settings_markdown() -> str:
    """The settings as a Markdown table, as the README shows them."""
    rows = ["| option | environment variable | default | meaning |", "|---|---|---|---|"]
    for name, env, default, help_text in describe():
        shown = f"`{default}`" if default != "" else "—"
        rows.append(f"| `--{name.replace('_', '-')}` | `{env}` | {shown} | {help_text} |")
    return "\n".join(rows)


def _print_settings(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(_settings_table())
        ctx.exit()


@click.group()
@click.version_option(__version__, prog_name="summitpad")
def main() -> None:
    """summitpad: shared notes pads for design summit sessions."""


@main.command()
@click.option(
    "--help-settings",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_settings,
    help="List every setting with its environment variable and default, then exit.",
)
@setting_options
def serve(**options: Any) -> None:
    """Run the server (with an embedded Valkey unless --redis-url is given)."""
    try:
        settings = Settings.from_env(**options)
    except SummitpadError as exc:
        raise click.ClickException(str(exc)) from exc
    _configure_logging(settings)
    try:
        asyncio.run(_serve(settings))
    except SummitpadError as exc:
        click.echo(f"summitpad: {exc}", err=True)
        sys.exit(
            EXIT_STORE_UNAVAILABLE if isinstance(exc, StoreUnavailable) else EXIT_CONFIGURATION
        )


main.add_command(summit)
main.add_command(user)
main.add_command(archive)
main.add_command(restore)


@main.command("settings")
@click.option("--markdown", is_flag=True, help="Print a Markdown table (as in the README).")
def settings_command(markdown: bool) -> None:
    """List every setting, its environment variable and its default."""
    click.echo(settings_markdown() if markdown else _settings_table())


# A full collection of the cyclic garbage collector walks every live object: with thousands of
# connections that took 100 ms, stalling every pad at once, dozens of times a minute. The
# server makes little cyclic garbage, so collect it rarely, and never walk what exists at start.
GC_THRESHOLDS = (50_000, 50, 100)


async def _serve(settings: Settings) -> None:
    runner = web.AppRunner(
        create_app(settings), handle_signals=False, access_log=None,
        keepalive_timeout=settings.http_idle_timeout,
    )
    await runner.setup()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        log.info("summitpad %s on %s (node %s)", __version__, settings.public_url, settings.node_id)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        log.info("shutting down")
    finally:
        await runner.cleanup()


def _configure_logging(settings: Settings) -> None:
    logs.configure(settings.log_level, settings.log_format)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
