"""Typed keys of the application state."""

from __future__ import annotations

import asyncio

from aiohttp import web

from .admin_broadcast import Broadcaster
from .clock import Clock
from .metrics import Metrics
from .pad_rules import PadRules
from .pads import PadRegistry
from .presence import Presence
from .settings import Settings
from .store import PadStore
from .summit_store import SummitStore

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", PadStore)
REGISTRY = web.AppKey("registry", PadRegistry)
SHUTTING_DOWN = web.AppKey("shutting_down", asyncio.Event)
CLOCK = web.AppKey("clock", Clock)
SUMMITS = web.AppKey("summits", SummitStore)
RULES = web.AppKey("rules", PadRules)
PRESENCE = web.AppKey("presence", Presence)
METRICS = web.AppKey("metrics", Metrics)
BROADCASTER = web.AppKey("broadcaster", Broadcaster)
# Archives written at once by this node (each reads every pad of a summit and keeps a core
# busy): further downloads wait their turn.
ARCHIVING = web.AppKey("archiving", asyncio.Semaphore)
