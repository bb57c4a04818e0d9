"""The one clock every "now" goes through: the schedule board, signage, countdowns, lifecycle.

The server runs on `SystemClock`; tests hand `create_app` a `SetClock` and move it, so that
slot boundaries and grace periods are tested without waiting for them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SetClock:
    """A clock that stands still at the time it is set to, until it is set or advanced."""

    def __init__(self, at: datetime) -> None:
        self._at = _utc(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = _utc(at)

    def advance(self, delta: timedelta) -> None:
        self._at += delta


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("the clock takes timezone-aware datetimes only")
    return at.astimezone(UTC)
