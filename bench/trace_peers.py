"""The clients of the trace scenarios (trace_scenarios.py): y-websocket peers as peers.py's.

- `TimedPeer`: a joiner timed from the start of its connect to the first sync payload that holds
  the document; it keeps only the payload's digest, in `Payloads`.
- `Payloads`: each distinct payload the joiners got, kept once and checked once against the
  expected text (applying 300 copies of a 100 KB document in the generator's one loop would
  time the generator, not the server).
- `Seeder`: the client that puts a document into a pad.
- `ReplayClient`: one agent of a concurrent trace, sending its updates in the recorded order of
  what it had seen (`traces.ConcurrentPlan`).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from array import array
from typing import Any

import aiohttp
import traces
from peers import EMPTY_UPDATE, Ledger, Peer, now
from pycrdt import Doc, Text
from summitpad import protocol
from summitpad.live_pad import TEXT_NAME


class Payloads:
    """The distinct sync payloads the clients of one scenario got, each kept once by digest,
    and checked once: applied to a fresh Doc, its text against the expected one."""

    def __init__(self, expected: str) -> None:
        self.expected = expected
        self.kept: dict[str, bytes] = {}

    def add(self, payload: bytes) -> str:
        key = traces.digest(payload)
        self.kept.setdefault(key, payload)
        return key

    def check(self) -> dict[str, Any]:
        """Which payloads hold the expected text; their sizes; what a client spends beyond
        receiving one (applying it to a Doc and reading the text: median of 5, ms)."""
        good, sizes, apply_ms = set(), [], []
        for key, payload in self.kept.items():
            if traces.text_of(payload) == self.expected:
                good.add(key)
            sizes.append(len(payload))
            times = []
            for _ in range(5):
                began = time.perf_counter()
                traces.text_of(payload)
                times.append((time.perf_counter() - began) * 1000)
            apply_ms.append(round(statistics.median(times), 2))
        return {"good": good, "bytes": sorted(sizes), "client_apply_ms": apply_ms}


class TimedPeer(Peer):
    """A joiner timed from the start of its connect to the first sync payload that holds
    content: the step 2, or (`updates_too`) an update after an empty step 2, as a server
    that answers before it has loaded the document sends it."""

    def __init__(
        self, ledger: Ledger, pad_id: str, name: str, payloads: Payloads, *, updates_too: bool
    ) -> None:
        super().__init__(ledger, 0, pad_id, name)
        self.measures = False  # no markers here: the frames are 100 KB of text
        self.payloads = payloads
        self.updates_too = updates_too
        self.started = 0.0
        self.arrived = 0.0
        self.digest: str | None = None
        self.by_update = False  # the content came as an update, after an empty step 2
        self.loaded = asyncio.Event()

    async def open(self, session: aiohttp.ClientSession, url: str) -> None:
        self.started = now()
        await super().open(session, url)

    def on_sync(self, frame: bytes) -> None:
        if self.digest is not None:
            return
        if frame[1] != protocol.SyncType.STEP2 and not self.updates_too:
            return
        arrived = now()
        message = protocol.decode_message(frame)
        assert isinstance(message, protocol.SyncMessage)
        if self.updates_too and message.payload == EMPTY_UPDATE:
            return
        self.arrived = arrived
        self.by_update = message.kind == protocol.SyncType.UPDATE
        self.digest = self.payloads.add(message.payload)
        self.loaded.set()

    def seconds(self) -> float | None:
        return self.arrived - self.started if self.digest is not None else None


class Seeder(Peer):
    """The client that puts a document into a pad; `echoed` once the server has taken it
    (summitpad: it is in Valkey). In the join storm it stays: the in-memory peer servers drop
    a room, and its document, when its last client leaves."""

    def __init__(self, ledger: Ledger, pad_id: str) -> None:
        super().__init__(ledger, 0, pad_id, "seeder")
        self.measures = False
        self.echoed = asyncio.Event()

    def on_sync(self, frame: bytes) -> None:
        if frame[1] == protocol.SyncType.UPDATE and len(frame) > 1000:
            self.echoed.set()


class ReplayClient(Peer):
    """One agent of the concurrent trace: sends its updates in order, each once it has
    received the other agent's updates the recording says it had seen (`Step.needs`), and
    applies everything it receives to a Doc of its own."""

    def __init__(
        self,
        ledger: Ledger,
        pad_id: str,
        plan: traces.ConcurrentPlan,
        agent: int,
        sent_at: tuple[array[float], array[float]],
    ) -> None:
        super().__init__(ledger, 0, pad_id, f"agent {agent}")
        self.measures = False
        self.plan, self.agent, self.sent_at = plan, agent, sent_at
        self.doc: Doc[Any] = Doc()
        self.text = self.doc.get(TEXT_NAME, type=Text)
        self.other_id = plan.client_ids[1 - agent]
        self.other_clock = 0
        self.progress = asyncio.Event()
        self.latencies = array("d")  # edit-to-peer of the other agent's inserting updates
        self._expect = [(s.clock, i) for i, s in enumerate(plan.steps[1 - agent]) if s.inserts]
        self._next = 0
        self._final = plan.final_clocks()
        self.done_at = 0.0  # when its Doc first held the whole final text

    def state_vector(self) -> bytes:
        return self.doc.get_state()

    def answer_step1(self, frame: bytes) -> bytes:
        message = protocol.decode_message(frame)
        assert isinstance(message, protocol.SyncMessage)
        return protocol.encode_step2(bytes(self.doc.get_update(message.payload)))

    def on_sync(self, frame: bytes) -> None:
        message = protocol.decode_message(frame)
        assert isinstance(message, protocol.SyncMessage)
        self.doc.apply_update(message.payload)
        clocks = protocol.decode_state_vector(self.doc.get_state())
        other = clocks.get(self.other_id, 0)
        if other > self.other_clock:
            arrived, sent = now(), self.sent_at[1 - self.agent]
            while self._next < len(self._expect) and self._expect[self._next][0] <= other:
                self.latencies.append(arrived - sent[self._expect[self._next][1]])
                self._next += 1
            self.other_clock = other
            self.progress.set()
        if not self.done_at and all(clocks.get(c, 0) >= k for c, k in self._final.items()):
            # Clocks say every insert is here; a trailing delete moves none, so compare.
            if str(self.text) == self.plan.end_content:
                self.done_at = now()

    async def type_all(self, within: float) -> None:
        assert self.ws is not None
        deadline = now() + within
        sent = self.sent_at[self.agent]
        for i, step in enumerate(self.plan.steps[self.agent]):
            while self.other_clock < step.needs:
                if self.lost or now() > deadline:
                    return
                self.progress.clear()
                try:
                    await asyncio.wait_for(self.progress.wait(), 1.0)
                except TimeoutError:
                    pass
            self.doc.apply_update(step.update)  # the local edit, as an editor makes it
            sent[i] = now()
            await self.ws.send_bytes(protocol.encode_update(step.update))
            await asyncio.sleep(0)  # let the readers run between two sends
