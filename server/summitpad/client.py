"""A y-websocket client in Python, for scripts, tests and the load generator.

It speaks to any y-websocket server exactly as the stock browser client does: sync step 1 and
awareness on open, step 2 in answer to the server's step 1, updates as they happen.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp
from pycrdt import Doc, Text, TransactionEvent

from . import protocol
from .protocol import AwarenessMessage, SyncMessage, SyncType


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
    ) -> None:
        """`doc`: a document to go on with (as a browser tab that reconnects does)."""
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

    async def connect(self) -> PadClient:
        self._ws = await self._session.ws_connect(self.url, max_msg_size=0, autoping=True)
        self._reader = asyncio.create_task(self._read())
        await self.send(protocol.encode_step1(self.doc.get_state()))
        return self

    @property
    def ws(self) -> aiohttp.ClientWebSocketResponse:
        assert self._ws is not None, "not connected"
        return self._ws

    async def send(self, message: bytes) -> None:
        await self.ws.send_bytes(message)

    async def close(self) -> None:
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
        """Send local edits made since the last flush, as separate update messages."""
        updates, self._outbox = self._outbox, []
        for update in updates:
            await self.send(protocol.encode_update(update))

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
