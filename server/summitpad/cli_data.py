"""`summitpad summit ...` and `summitpad user ...`: commands that read or change data."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
import redis.asyncio as aioredis

from .accounts import AccountStore, Role
from .cli_options import setting_option
from .data_access import open_data
from .errors import InvalidInput, StoreUnavailable, SummitpadError
from .lifecycle import is_read_only
from .schedule import DEFAULT_TEMPLATE, Room, Summit, Track, slugify
from .schedule_import import describe_changes, merge_import, parse_schedule
from .settings import Settings
from .summit_store import SummitStore

T = TypeVar("T")

EXIT_INVALID_INPUT = 1
EXIT_CONFIGURATION = 2
EXIT_STORE_UNAVAILABLE = 3

DATA_SETTINGS = ("data_dir", "redis_url", "key_prefix", "appendfsync")


def data_options(command: Any) -> Any:
    """The settings a data command shares with `serve`: where the data is."""
    for name in reversed(DATA_SETTINGS):
        command = setting_option(name)(command)
    return command


def run(options: dict[str, Any], work: Callable[[aioredis.Redis, Settings], Awaitable[T]]) -> T:
    """Run `work` against the store the options name; errors become a message and an exit
    code: 1 bad input, 2 configuration, 3 store unavailable."""
    settings_values = {k: options.pop(k) for k in DATA_SETTINGS if k in options}
    try:
        settings = Settings.from_env(**settings_values)

        async def main() -> T:
            async with open_data(settings) as client:
                return await work(client, settings)

        return asyncio.run(main())
    except InvalidInput as exc:
        click.echo(f"summitpad: {exc}", err=True)
        sys.exit(EXIT_INVALID_INPUT)
    except StoreUnavailable as exc:
        click.echo(f"summitpad: {exc}", err=True)
        sys.exit(EXIT_STORE_UNAVAILABLE)
    except SummitpadError as exc:
        click.echo(f"summitpad: {exc}", err=True)
        sys.exit(EXIT_INVALID_INPUT if exc.status < 500 else EXIT_CONFIGURATION)


@click.group()
def summit() -> None:
    """Create summits and load their schedules."""


@summit.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="The summit's name.")
@click.option("--start", "start_date", required=True, help="First day, YYYY-MM-DD.")
@click.option("--end", "end_date", required=True, help="Last day, YYYY-MM-DD.")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone.")
@click.option("--room", "rooms", multiple=True, help="A room (repeat for each).")
@click.option("--track", "tracks", multiple=True, help='A track: "Name" or "Name=#rrggbb".')
@click.option("--template-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The pad template (default: Agenda / Notes / Action items).")
@data_options
def summit_create(slug: str, start_date: str, end_date: str, rooms: tuple[str, ...],
                  tracks: tuple[str, ...], template_file: Path | None, **options: Any) -> None:
    """Create the summit SLUG."""
    try:
        start, end = date.fromisoformat(start_date), date.fromisoformat(end_date)
    except ValueError as exc:
        raise click.BadParameter("dates are YYYY-MM-DD") from exc
    template = template_file.read_text() if template_file else DEFAULT_TEMPLATE
    track_list = []
    for spec in tracks:
        name, _, colour = spec.partition("=")
        track_list.append(Track(slugify(name), name.strip(), colour.strip() or "#64748b"))

    async def work(client: aioredis.Redis, settings: Settings) -> None:
        new = Summit(
            slug=slug, name=options["name"], start_date=start, end_date=end,
            timezone=options["timezone"], template=template, tracks=tuple(track_list),
            rooms=tuple(Room(slugify(r), r.strip()) for r in rooms),
        )
        await SummitStore(client, settings.key_prefix).create(new)
        click.echo(f"created summit {slug}: {len(rooms)} rooms, {len(tracks)} tracks")

    run(options, work)


@summit.command("load")
@click.argument("slug")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and report; change nothing.")
@data_options
def summit_load(slug: str, file: Path, dry_run: bool, **options: Any) -> None:
    """Load (or load again) the schedule of SLUG from a CSV, JSON or iCalendar FILE."""

    async def work(client: aioredis.Redis, settings: Settings) -> None:
        store = SummitStore(client, settings.key_prefix)
        data = await store.load(slug)
        imported = parse_schedule(data.summit, await asyncio.to_thread(file.read_bytes), file.name)
        report = describe_changes(data, imported)
        if not dry_run:
            now, grace = datetime.now(UTC), timedelta(seconds=settings.grace_period)
            await store.update(slug, lambda current: merge_import(
                current, imported, lambda s: is_read_only(s, now, grace)
            ))
        click.echo(("would change: " if dry_run else "") + report.summary())

    run(options, work)


@summit.command("list")
@data_options
def summit_list(**options: Any) -> None:
    """List the summits."""

    async def work(client: aioredis.Redis, settings: Settings) -> None:
        store = SummitStore(client, settings.key_prefix)
        for item in await store.summits():
            data = await store.load(item.slug)
            click.echo(f"{item.slug}\t{item.name}\t{item.start_date} to {item.end_date}\t"
                       f"{len(data.sessions)} sessions")

    run(options, work)


@click.group()
def user() -> None:
    """Organizer and moderator accounts."""


@user.command("add")
@click.argument("login")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.ORGANIZER.value,
              show_default=True)
@click.option("--name", default="", help="Shown name; a moderator's sessions name them by it.")
@click.option("--password-file", type=click.File("r"),
              help="Read the password from this file ('-' for standard input). Without it the "
                   "password is asked for.")
@click.option("--replace", is_flag=True, help="Replace an existing account (a new password).")
@data_options
def user_add(login: str, role: str, name: str, password_file: Any, replace: bool,
             **options: Any) -> None:
    """Create the account LOGIN."""
    if password_file is not None:
        password = password_file.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)

    async def work(client: aioredis.Redis, settings: Settings) -> None:
        accounts = AccountStore(client, settings.key_prefix)
        added = await accounts.add_user(login, password, Role(role), name, replace=replace)
        click.echo(f"{'replaced' if replace else 'added'} {added.role.value} {added.login}")

    run(options, work)


@user.command("token")
@click.argument("login")
@data_options
def user_token(login: str, **options: Any) -> None:
    """Create an API token for LOGIN (shown once: scripts send it as a Bearer token)."""

    async def work(client: aioredis.Redis, settings: Settings) -> None:
        click.echo(await AccountStore(client, settings.key_prefix).create_api_token(login))

    run(options, work)
