"""Typed keys of the application state."""

from __future__ import annotations

import asyncio

from aiohttp import web

from .pads import PadRegistry
from .settings import Settings
from .store import PadStore

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", PadStore)
REGISTRY = web.AppKey("registry", PadRegistry)
SHUTTING_DOWN = web.AppKey("shutting_down", asyncio.Event)
