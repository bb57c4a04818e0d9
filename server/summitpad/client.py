"""A y-websocket client in Python, for scripts, tests and the load generator.

It speaks to any y-websocket server exactly as the stock browser client does: sync step 1 and
awareness on open, step 2 in answer to the server's step 1, updates as they happen. With
`reconnect=True` it also comes back as the stock client does after a close it did not ask for:
a new websocket `reconnect_delay(n)` later (n: attempts in a row that did not open), sync step 1
with the state vector of what the server has confirmed, and the edits typed meanwhile in its
answer to the server's step 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

import aiohttp
from pycrdt import Doc, Text, TransactionEvent

from . import protocol
from .protocol import AwarenessMessage, SyncMessage, SyncType


def is_final(close_code: int | None) -> bool:
    """Whether reconnecting after this close would only fail again (or write deleted notes
    back): 4400-4499, where the stock client stops too."""
    return close_code is not None and 4400 <= close_code < 4500


_DISCONNECTED = (aiohttp.ClientError, ConnectionError, TimeoutError)


def reconnect_delay(attempt: int) -> float:
    """Seconds before reconnect attempt `attempt` (0 after a connection that was open): the
    stock y-websocket client's min(100 ms * 2^n, 2.5 s), with no jitter."""
    return min(0.1 * 2.0**attempt, 2.5)


class PadClient:
    """One connection to one pad, holding its own copy of the document."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        ws_url: str,
        pad_id: str,
        *,
        client_id: int = 0,
        doc: Doc[Any] | None = None,
        reconnect: bool = False,
    ) -> None:
        """`doc`: a document to go on with (as a browser tab that reconnects does).
        `reconnect`: come back after every close that is not final (see the module's doc)."""
        self.url = f"{ws_url.rstrip('/')}/{pad_id}"
        if doc is None:
            doc = Doc(client_id=client_id) if client_id else Doc()
        self.doc = doc
        self.confirmed: Doc[Any] = Doc()  # what the server has sent: the edits it holds durably
        self.text = self.doc.get("content", type=Text)
        self.synced = asyncio.Event()
        self.awareness: dict[int, Any] = {}
        self.on_message: Callable[[bytes], None] | None = None
        self._session = session
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._clock = 0
        self._outbox: list[bytes] = []
        self._applying_remote = False
        self.doc.observe(self._on_local_update)
        self.reconnect = reconnect
        self.reconnects = 0  # connections opened again after a close
        self.close_codes: list[int | None] = []  # of every connection that ended
        self._away = False  # reconnecting: edits wait for the answer to the server's step 1
        self._closing = False
        self._keeper: asyncio.Task[None] | None = None

    async def connect(self) -> PadClient:
        await self._open(self.doc.get_state())
        if self.reconnect:
            self._keeper = asyncio.create_task(self._stay_connected())
        return self

    async def _open(self, state_vector: bytes) -> None:
        self._ws = ws = await self._session.ws_connect(self.url, max_msg_size=0, autoping=True)
        self._reader = asyncio.create_task(self._read())
        try:
            await self.send(protocol.encode_step1(state_vector))
        except _DISCONNECTED:
            with contextlib.suppress(*_DISCONNECTED):
                await asyncio.wait_for(ws.close(), 1.0)  # and its reader ends
            raise

    async def _stay_connected(self) -> None:
        attempt = 0
        while True:
            assert self._reader is not None
            await asyncio.gather(self._reader, return_exceptions=True)
            if not self.ws.closed:  # the reader failed on a connection that is going
                with contextlib.suppress(*_DISCONNECTED):
                    await asyncio.wait_for(self.ws.close(), 1.0)
            self.close_codes.append(self.ws.close_code)
            if self._closing or is_final(self.ws.close_code):
                return
            self._away = True
            while True:
                await asyncio.sleep(reconnect_delay(attempt))
                self.synced.clear()
                try:
                    # What the server confirmed, not what this client holds: its answer then
                    # confirms the edits whose echo the last connection lost.
                    await self._open(self.confirmed.get_state())
                except _DISCONNECTED:
                    attempt += 1
                    continue
                self.reconnects += 1
                attempt = 0
                break

    @property
    def ws(self) -> aiohttp.ClientWebSocketResponse:
        assert self._ws is not None, "not connected"
        return self._ws

    @property
    def read_error(self) -> BaseException | None:
        """What stopped the current connection's reader, if it failed."""
        reader = self._reader
        if reader is None or not reader.done() or reader.cancelled():
            return None
        return reader.exception()

    async def send(self, message: bytes) -> None:
        await self.ws.send_bytes(message)

    async def close(self) -> None:
        self._closing = True
        if self._keeper is not None:
            self._keeper.cancel()
            await asyncio.gather(self._keeper, return_exceptions=True)
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    @property
    def saved(self) -> bool:
        """True when the server has echoed every insertion this client made (on a client
        that started with an empty document)."""
        mine = protocol.decode_state_vector(self.doc.get_state())
        theirs = protocol.decode_state_vector(self.confirmed.get_state())
        return mine == theirs

    async def set_awareness(self, state: Any) -> None:
        self._clock += 1
        entry = protocol.AwarenessEntry(
            self.doc.client_id, self._clock, json.dumps(state).encode()
        )
        payload = protocol.encode_awareness_entries([entry])
        await self.send(protocol.encode_awareness(payload))

    def _on_local_update(self, event: TransactionEvent) -> None:
        if event.update and not self._applying_remote:
            self._outbox.append(event.update)

    async def flush(self) -> None:
        """Send local edits made since the last flush, as separate update messages. While a
        reconnecting client is away they stay in the document, for its next sync step 2."""
        if self._away:
            return
        updates, self._outbox = self._outbox, []
        try:
            for update in updates:
                await self.send(protocol.encode_update(update))
        except _DISCONNECTED:
            if not self.reconnect:
                raise

    async def edit(self, change: Callable[[Text], None]) -> None:
        """Apply `change` to the text and send it."""
        change(self.text)
        await self.flush()

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type is not aiohttp.WSMsgType.BINARY:
                continue
            if self.on_message is not None:
                self.on_message(msg.data)
            message = protocol.decode_message(msg.data)
            if isinstance(message, SyncMessage):
                if message.kind is SyncType.STEP1:
                    if self._away:  # the reply holds every edit made while away
                        self._outbox.clear()
                        self._away = False
                    reply = self.doc.get_update(message.payload)
                    await self.send(protocol.encode_step2(reply))
                else:
                    self._applying_remote = True
                    try:
                        self.doc.apply_update(message.payload)
                    finally:
                        self._applying_remote = False
                    self.confirmed.apply_update(message.payload)
                    if message.kind is SyncType.STEP2:
                        self.synced.set()
            elif isinstance(message, AwarenessMessage):
                for entry in protocol.decode_awareness(message.payload):
                    if entry.is_removal:
                        self.awareness.pop(entry.client_id, None)
                    else:
                        self.awareness[entry.client_id] = json.loads(entry.state)
