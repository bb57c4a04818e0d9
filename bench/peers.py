"""The peers of the load generator: browsers speaking y-protocols as y-websocket does.

- `Peer`: a browser that only reads (an observer of the fan-out, a reader of the summit). On
  open it sends sync step 1 and its awareness; it answers the server's step 1 with the step 2
  of an empty document; it does not apply updates, it only finds the markers in them.
- `Checker`: a peer that applies every update to a document of its own.
- `Editor`: a browser that types, inserting `#<seq>#` at the end of its own text per keystroke.
- `Ledger`: every marker sent (seq, send time, pad, sender), the measured window, the samples.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from array import array
from collections import Counter
from collections.abc import Callable
from typing import Any

import aiohttp
from pycrdt import Doc, Text, TransactionEvent
from summitpad import protocol

MARKER = re.compile(rb"#(\d+)#")
MARKER_TEXT = re.compile(r"#(\d+)#")
EMPTY_STATE_VECTOR = b"\x00"
EMPTY_UPDATE = b"\x00\x00"  # what an empty Yjs doc answers to any step 1
NOOP_UPDATE_FRAME = protocol.encode_update(EMPTY_UPDATE)
AWARENESS_RENEW = 15.0  # y-protocols renews a local state older than 15 s, checked every 3 s
COLOURS = ("#30bced", "#6eeb83", "#ffbc42", "#ecd444", "#ee6352", "#9ac2c9", "#8acb88")
now = time.perf_counter


class Ledger:
    """Every marker sent: seq -> (send time, pad, sender); the measured window; the samples."""

    def __init__(self) -> None:
        self.sent: dict[int, tuple[float, int, int]] = {}
        self.next_seq = 1
        self.first = 1 << 62  # seqs first..last were sent inside the measured window
        self.last = 1 << 62
        self.latencies = array("d")  # seconds
        self.spread: dict[int, list[float]] = {}  # seq -> [first, last] arrival latency
        self.frames = 0
        self.noop_updates = 0  # update frames that change nothing (the joiners' empty step 2s)
        self.disconnects = 0
        self.close_codes: Counter[str] = Counter()
        self.connect_failures = 0

    def open_window(self) -> None:
        self.first = self.next_seq
        self.last = 1 << 62

    def close_window(self) -> None:
        self.last = self.next_seq - 1

    def expected(self, pad: int, sender: int) -> int:
        """Markers of the window that a peer of `pad` (itself `sender`) should receive."""
        return sum(
            1
            for seq in range(self.first, self.last + 1)
            if (rec := self.sent.get(seq)) and rec[1] == pad and rec[2] != sender
        )


def awareness_frame(client_id: int, clock: int, state: dict[str, Any]) -> bytes:
    body = json.dumps(state, separators=(",", ":")).encode()
    entry = protocol.AwarenessEntry(client_id, clock, body)
    return protocol.encode_awareness(protocol.encode_awareness_entries([entry]))


class Peer:
    """One connection of a browser that only reads (an observer or a reader)."""

    def __init__(self, ledger: Ledger, pad: int, pad_id: str, name: str) -> None:
        self.ledger = ledger
        self.pad = pad
        self.pad_id = pad_id
        self.client_id = random.getrandbits(32)
        self.user = {"name": name, "color": random.choice(COLOURS)}
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.synced = asyncio.Event()  # set by the first step 2, or when the reader ends
        self.has_state = False
        self.got = 0  # markers of the window received from other peers
        self.measures = True  # False: reads every frame but looks for no marker (cheaper)
        self.closing = False
        self.lost = False
        self.aw_clock = 0
        self.aw_due = 0.0
        self._reader: asyncio.Task[None] | None = None

    def state_vector(self) -> bytes:
        return EMPTY_STATE_VECTOR

    def answer_step1(self, frame: bytes) -> bytes:
        return protocol.encode_step2(EMPTY_UPDATE)

    def awareness_state(self) -> dict[str, Any]:
        return {"user": self.user}

    def on_sync(self, frame: bytes) -> None:
        """A step 2 or an update (frame[1] is 1 or 2) arrived."""

    async def open(self, session: aiohttp.ClientSession, url: str) -> None:
        self.ws = await session.ws_connect(
            f"{url}/{self.pad_id}",
            autoping=True,
            max_msg_size=0,
            compress=0,
            timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5.0),
        )
        self._reader = asyncio.create_task(self._read())
        await self.ws.send_bytes(protocol.encode_step1(self.state_vector()))
        await self.send_awareness()
        # Browsers joined at different times, so their renewals are spread over the period.
        self.aw_due = now() + random.uniform(0, AWARENESS_RENEW)

    async def send_awareness(self, renew_after: float = AWARENESS_RENEW) -> None:
        assert self.ws is not None
        self.aw_clock += 1
        self.aw_due = now() + renew_after
        await self.ws.send_bytes(
            awareness_frame(self.client_id, self.aw_clock, self.awareness_state())
        )

    async def close(self) -> None:
        self.closing = True
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    async def _read(self) -> None:
        ws = self.ws
        assert ws is not None
        ledger = self.ledger
        binary = aiohttp.WSMsgType.BINARY
        while True:
            msg = await ws.receive()
            if msg.type is not binary:
                break
            data = msg.data
            ledger.frames += 1
            if data[0] != 0:  # awareness and the rest: nothing to do
                continue
            kind = data[1]
            if kind == 2:
                if data == NOOP_UPDATE_FRAME:
                    ledger.noop_updates += 1
                    continue
                if self.measures:
                    self._markers(data)
                self.on_sync(data)
            elif kind == 0:
                await ws.send_bytes(self.answer_step1(data))
            elif kind == 1:
                self.on_sync(data)
                self.has_state = True
                self.synced.set()
        self.synced.set()
        if not self.closing:
            self.lost = True
            ledger.disconnects += 1
            reason = (
                f"{ws.close_code}" if msg.type is not aiohttp.WSMsgType.ERROR else str(msg.data)
            )
            ledger.close_codes[reason] += 1
            self.on_disconnect()

    def on_disconnect(self) -> None:
        """The connection closed without being asked to (counted above as a disconnect).
        Peers do not reconnect; bench/reconnecting.py's do, as browsers do."""

    def _markers(self, data: bytes) -> None:
        arrived = now()
        ledger = self.ledger
        for match in MARKER.findall(data):
            seq = int(match)
            rec = ledger.sent.get(seq)
            if rec is None or rec[1] != self.pad or rec[2] == self.client_id:
                continue
            if ledger.first <= seq <= ledger.last:
                latency = arrived - rec[0]
                ledger.latencies.append(latency)
                self.got += 1
                bounds = ledger.spread.get(seq)
                if bounds is None:
                    ledger.spread[seq] = [latency, latency]
                elif latency > bounds[1]:
                    bounds[1] = latency


class Checker(Peer):
    """A reader that applies every update to a document of its own, to check convergence."""

    def __init__(self, ledger: Ledger, pad: int, pad_id: str, name: str) -> None:
        super().__init__(ledger, pad, pad_id, name)
        self.doc = Doc()
        self.text = self.doc.get("content", type=Text)

    def on_sync(self, frame: bytes) -> None:
        message = protocol.decode_message(frame)
        assert isinstance(message, protocol.SyncMessage)
        self.doc.apply_update(message.payload)

    def content(self) -> str:
        return str(self.text)


class Editor(Peer):
    """A browser that types: each keystroke inserts `#<seq>#` at the end of its own text.

    It does not apply the others' updates (a real editor would; the server's work is the
    same), so each editor's markers stay in order, one after another, in the shared text.
    """

    def __init__(self, ledger: Ledger, pad: int, pad_id: str, name: str, *, cursor: bool) -> None:
        super().__init__(ledger, pad, pad_id, name)
        self.doc = Doc(client_id=self.client_id)
        self.text = self.doc.get("content", type=Text)
        self.length = 0
        self.seqs: list[int] = []
        self.cursor = cursor
        self._updates: list[bytes] = []
        self._subscription = self.doc.observe(self._on_transaction)

    def _on_transaction(self, event: TransactionEvent) -> None:
        self._updates.append(event.update)

    def state_vector(self) -> bytes:
        return self.doc.get_state()

    def answer_step1(self, frame: bytes) -> bytes:
        message = protocol.decode_message(frame)
        assert isinstance(message, protocol.SyncMessage)
        return protocol.encode_step2(self.doc.get_update(message.payload))

    def awareness_state(self) -> dict[str, Any]:
        if not self.cursor:
            return {"user": self.user}
        # What y-quill's cursor module puts in awareness: two Yjs relative positions.
        position = {
            "type": None,
            "tname": "content",
            "item": {"client": self.client_id, "clock": max(self.length - 1, 0)},
            "assoc": 0,
        }
        return {"user": self.user, "cursor": {"anchor": position, "head": position}}

    async def keystroke(self) -> None:
        assert self.ws is not None
        ledger = self.ledger
        seq = ledger.next_seq
        ledger.next_seq += 1
        marker = f"#{seq}#"
        self.text.insert(self.length, marker)
        self.length += len(marker)
        self.seqs.append(seq)
        update = self._updates.pop()
        ledger.sent[seq] = (now(), self.pad, self.client_id)
        await self.ws.send_bytes(protocol.encode_update(update))
        if self.cursor:
            await self.send_awareness()

    async def type_for(self, running: Callable[[], bool], interval: float, phase: float) -> None:
        """Keystrokes every `interval` s on a fixed schedule (no drift) while `running()`."""
        due = now() + phase
        while True:
            delay = due - now()
            if delay > 0:
                await asyncio.sleep(delay)
            if not running() or self.lost:
                return
            await self.keystroke()
            due += interval
