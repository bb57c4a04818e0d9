"""Reads of many pads asked for at once, sent to Valkey together.

Pads load and catch up in bursts: a restarted node gets every pad's clients back at once, the
start of a slot opens every room's pad, and the fan-out subscribes pads in batches, each of
which then reads what it missed. One script call per read would take a connection and a round
trip each, and a burst grows the connection pool by as many connections, each a few round trips
to open, while the joiners wait. So the reads asked for in one turn of the event loop go in one
pipeline, on one connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from .errors import StoreUnavailable

# One call of the script: its keys and its arguments.
Call = tuple[list[str], list[str]]
# At most this many calls in one pipeline: a node's regular catch-up of thousands of pads goes
# out on several connections at once, and no one reply holds the event loop up for long.
MAX_BATCH = 100


class ReadBatch:
    """Calls the script `sha` once for each `Call` made in one turn of the event loop, in one
    pipeline (one per MAX_BATCH calls). `alone` runs one call by itself: a turn's only call,
    and a call the server no longer knew the script for (`alone` loads it again). An error of
    `unavailable` fails the calls with StoreUnavailable, as any store error does."""

    def __init__(
        self,
        client: aioredis.Redis,
        sha: Callable[[], str],
        alone: Callable[[Call], Awaitable[Any]],
        unavailable: tuple[type[BaseException], ...],
    ) -> None:
        self._client = client
        self._sha = sha
        self._alone = alone
        self._unavailable = unavailable
        self._waiting: list[tuple[Call, asyncio.Future[Any]]] = []
        self._sending: set[asyncio.Task[None]] = set()

    async def __call__(self, call: Call) -> Any:
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[Any] = loop.create_future()
        if not self._waiting:
            loop.call_soon(self._send)
        self._waiting.append((call, reply))
        return await reply

    def _send(self) -> None:
        waiting, self._waiting = self._waiting, []
        for start in range(0, len(waiting), MAX_BATCH):
            task = asyncio.ensure_future(self._run(waiting[start : start + MAX_BATCH]))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _run(self, batch: list[tuple[Call, asyncio.Future[Any]]]) -> None:
        try:
            if len(batch) == 1:
                await self._run_alone(*batch[0])
                return
            pipe = self._client.pipeline(transaction=False)
            for (keys, args), _ in batch:
                pipe.evalsha(self._sha(), len(keys), *keys, *args)
            replies = await pipe.execute(raise_on_error=False)
            for (call, reply), result in zip(batch, replies, strict=True):
                if isinstance(result, NoScriptError):
                    await self._run_alone(call, reply)
                elif isinstance(result, Exception):
                    _fail(reply, self._error(result))
                elif not reply.done():
                    reply.set_result(result)
        except Exception as exc:
            for _, reply in batch:
                _fail(reply, self._error(exc))
        finally:  # what is not answered by now was cancelled with the batch
            for _, reply in batch:
                reply.cancel()

    async def _run_alone(self, call: Call, reply: asyncio.Future[Any]) -> None:
        try:
            result = await self._alone(call)
        except Exception as exc:
            _fail(reply, exc)
        else:
            if not reply.done():
                reply.set_result(result)

    def _error(self, exc: BaseException) -> BaseException:
        if isinstance(exc, self._unavailable):
            error = StoreUnavailable(f"Valkey/Redis cannot store this now: {exc}")
            error.__cause__ = exc
            return error
        return exc


def _fail(reply: asyncio.Future[Any], error: BaseException) -> None:
    if not reply.done():
        reply.set_exception(error)
