"""One click option per setting, built from the settings registry."""

from __future__ import annotations

import dataclasses
from typing import Any

import click

from .settings import ENV_PREFIX, Settings

_FIELDS = {field.name: field for field in dataclasses.fields(Settings)}


def setting_option(name: str) -> Any:
    """The `--<name>` option of a setting; None unless given (so the environment applies)."""
    field = _FIELDS[name]
    return click.option(
        "--" + name.replace("_", "-"),
        name,
        type=type(field.default),
        default=None,
        help=f"{field.metadata['help']} [env {ENV_PREFIX}{name.upper()}]",
    )


def setting_options(command: Any) -> Any:
    """Every setting as an option."""
    for name in reversed(list(_FIELDS)):
        command = setting_option(name)(command)
    return command
