"""Chat over a pad's websocket, as the pad page speaks it, for the chat tests.

A `Participant` is one browser: its own cookies, so its own signed participant id, and any
number of connections (tabs). A `ChatConnection` is one of them: a y-websocket client that
also joins the chat and keeps every chat frame it receives.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from summitpad import protocol
from summitpad.client import PadClient
from summitpad.protocol import MessageType

from .support import RunningApp, eventually


class ChatConnection:
    def __init__(self, client: PadClient) -> None:
        self.client = client
        self.chat_frames: list[bytes] = []
        client.on_message = self._on_message

    def _on_message(self, data: bytes) -> None:
        if data[:1] == bytes((MessageType.CHAT,)):
            self.chat_frames.append(data)

    @property
    def received(self) -> list[dict[str, Any]]:
        """Every chat message the server sent, decoded."""
        out = []
        for data in self.chat_frames:
            message = protocol.decode_message(data)
            assert isinstance(message, protocol.ChatMessage)
            out.append(message.body)
        return out

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [body for body in self.received if body["kind"] == kind]

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The live messages received (not the history)."""
        return [body["message"] for body in self.of_kind("message")]

    @property
    def texts(self) -> list[str]:
        return [message["text"] for message in self.messages]

    async def send_chat(self, body: dict[str, Any]) -> None:
        await self.client.send(protocol.encode_chat(body))

    async def say(self, text: str, name: str = "Ann", color: str = "#1d4ed8") -> None:
        await self.send_chat({"kind": "send", "text": text, "name": name, "color": color})

    async def join(self) -> list[dict[str, Any]]:
        """Join the chat; returns the history."""
        before = len(self.of_kind("history"))
        await self.send_chat({"kind": "join"})
        await eventually(lambda: len(self.of_kind("history")) > before)
        return list(self.of_kind("history")[-1]["messages"])

    async def closed_with(self) -> int | None:
        await eventually(lambda: self.client.ws.closed)
        return self.client.ws.close_code


class Participant:
    """One browser, with the participant cookie the server gave it."""

    def __init__(self, app: RunningApp, http: aiohttp.ClientSession) -> None:
        self.app = app
        self.http = http
        self.connections: list[ChatConnection] = []

    async def participant_id(self) -> str:
        for cookie in self.http.cookie_jar:
            if cookie.key == "sp_participant":
                return cookie.value.split(".")[0]
        raise AssertionError("no participant cookie")

    async def connect(self, pad_id: str, *, join: bool = True, ws_path: str = "") -> ChatConnection:
        async with self.http.get(f"{self.app.http_url}/p/{pad_id}") as response:
            assert response.status == 200
        client = PadClient(self.http, self.app.ws_url + ws_path, pad_id)
        conn = ChatConnection(client)
        await client.connect()
        self.connections.append(conn)
        await asyncio.wait_for(client.synced.wait(), 10)
        if join:
            await conn.join()
        return conn

    async def close(self) -> None:
        for conn in self.connections:
            await conn.client.close()


@asynccontextmanager
async def participant(app: RunningApp) -> AsyncIterator[Participant]:
    jar = aiohttp.CookieJar(unsafe=True)  # keep cookies for 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        person = Participant(app, http)
        try:
            yield person
        finally:
            await person.close()
