"""Peers that reconnect as the stock y-websocket client does, and latencies with their times.

The peers of peers.py stop at the first close, so that every disconnect shows. A browser does
not stop: y-websocket v3 opens a new websocket 100 ms · 2^n after a close (n: attempts in a
row that did not open, so 100 ms after a connection that was open), at most 2.5 s apart, with
no jitter; on open it sends sync step 1 with the state vector of the document it holds and its
awareness, answers the server's step 1 with what the server lacks (edits typed meanwhile), and
is synced again at the server's step 2. Typing goes on while it is away: the edits stay in its
document and go out in that step 2. `Reconnecting` adds this to a peer; every close is still
counted in the ledger's disconnects.

`Samples` keeps, for every marker a peer receives, when it was sent and how long it took, so
that a run can split its latencies into phases (before, during and after a node restart).
"""

from __future__ import annotations

import asyncio
from array import array
from typing import Any

import aiohttp
from peers import MARKER, Checker, Editor, Ledger, Peer, now
from summitpad import protocol
from summitpad.client import reconnect_delay


class Samples:
    """(send time, latency) of every marker received by the peers that share it, the first
    time each peer gets it; `repeats` counts the markers a peer got again (a server that
    sends a whole pad as an update, say)."""

    def __init__(self) -> None:
        self.sent_at = array("d")
        self.latency = array("d")
        self.repeats = 0

    def between(self, start: float, end: float) -> array[float]:
        """Latencies of the markers sent in [start, end)."""
        pairs = zip(self.sent_at, self.latency, strict=True)
        return array("d", (lat for t, lat in pairs if start <= t < end))


class Timed(Peer):
    """A peer whose markers go to `samples` with their send time (none to the ledger's
    window); an editor also notes which of its own markers came back (were echoed).

    A typist's markers reach a peer in the order they were typed (its edits offline come in
    one update when it is back): a marker at or below the last one seen from its sender is a
    repeat."""

    samples: Samples | None = None
    echoed: set[int]
    _last_seen: dict[int, int] | None = None  # sender -> the last of its markers seen

    def _markers(self, data: bytes) -> None:
        arrived = now()
        sent = self.ledger.sent
        samples = self.samples
        if self._last_seen is None:
            self._last_seen = {}
        last_seen = self._last_seen
        for match in MARKER.findall(data):
            seq = int(match)
            rec = sent.get(seq)
            if rec is None or rec[1] != self.pad:
                continue
            if rec[2] == self.client_id:
                if isinstance(self, Editor):
                    self.echoed.add(seq)
            elif samples is not None:
                if seq <= last_seen.get(rec[2], 0):
                    samples.repeats += 1
                    continue
                last_seen[rec[2]] = seq
                samples.sent_at.append(rec[0])
                samples.latency.append(arrived - rec[0])
                self.got += 1


class Reconnecting(Timed):
    """A peer that comes back after every close it did not ask for (see the module's doc)."""

    def setup_reconnect(self) -> None:
        self.reconnects = 0  # connections opened again
        self.failed_attempts = 0  # attempts that did not open
        self.back_at: float | None = None  # when synced again after the last reconnect
        self.tried_at: float | None = None  # when the attempt that brought it back began
        self._url = ""
        self._session: aiohttp.ClientSession | None = None
        self._down = asyncio.Event()
        self._keeper: asyncio.Task[None] | None = None
        self.echoed = set()

    async def open(self, session: aiohttp.ClientSession, url: str) -> None:
        self._session, self._url = session, url
        if self._keeper is None:
            self._keeper = asyncio.create_task(self._stay_connected())
        await super().open(session, url)

    def on_disconnect(self) -> None:
        self.lost = False  # it comes back: not lost, but counted as a disconnect
        self._down.set()

    def next_url(self) -> str:
        """Where the next attempt goes: the same node, as a browser pointed at one server
        does. A load balancer in front of several nodes would choose (bench/soak.py)."""
        return self._url

    async def close(self) -> None:
        self.closing = True
        if self._keeper is not None:
            self._keeper.cancel()
            await asyncio.gather(self._keeper, return_exceptions=True)
        await super().close()

    async def _stay_connected(self) -> None:
        while not self.closing:
            await self._down.wait()
            unsuccessful = 0
            while not self.closing:
                await asyncio.sleep(reconnect_delay(unsuccessful))
                self._down.clear()  # a close from here on is this attempt's
                self.synced = asyncio.Event()
                self.has_state = False
                tried = now()
                try:
                    assert self._session is not None
                    self._url = self.next_url()
                    await Peer.open(self, self._session, self._url)
                except (aiohttp.ClientError, OSError, TimeoutError):
                    self.failed_attempts += 1
                    unsuccessful += 1
                    continue
                self.reconnects += 1
                unsuccessful = 0
                await self.synced.wait()  # the step 2, or the reader ended first
                if self.has_state:
                    self.back_at, self.tried_at = now(), tried
                    break


class ReconnectingChecker(Reconnecting, Checker):
    """A reader that applies every update, as a browser does: it reconnects with the state
    vector of what it holds and answers the server's step 1 with what the server lacks."""

    def __init__(self, ledger: Ledger, pad: int, pad_id: str, name: str) -> None:
        super().__init__(ledger, pad, pad_id, name)
        self.setup_reconnect()

    def state_vector(self) -> bytes:
        return self.doc.get_state()

    def answer_step1(self, frame: bytes) -> bytes:
        message = protocol.decode_message(frame)
        assert isinstance(message, protocol.SyncMessage)
        return protocol.encode_step2(self.doc.get_update(message.payload))


class ReconnectingEditor(Reconnecting, Editor):
    """A typist that reconnects and types on while it is away (see the module's doc)."""

    def __init__(self, ledger: Ledger, pad: int, pad_id: str, name: str, *, cursor: bool) -> None:
        super().__init__(ledger, pad, pad_id, name, cursor=cursor)
        self.setup_reconnect()

    async def keystroke(self) -> None:
        try:
            await super().keystroke()
        except (aiohttp.ClientError, ConnectionError):
            pass  # away: the edit is in the document, and goes out when it is back

    async def send_awareness(self, renew_after: float = 15.0) -> None:
        try:
            await super().send_awareness(renew_after)
        except (aiohttp.ClientError, ConnectionError):
            pass


def summary(peers: list[Any]) -> dict[str, Any]:
    """How the reconnecting peers fared: reconnects, attempts that failed, still away."""
    return {
        "reconnects": sum(p.reconnects for p in peers),
        "failed_attempts": sum(p.failed_attempts for p in peers),
        "away_at_the_end": sum(1 for p in peers if p.back_at is None and p.reconnects),
    }
