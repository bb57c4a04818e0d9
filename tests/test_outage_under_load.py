"""Valkey away for ten seconds while two nodes serve two dozen typists on four pads.

Valkey goes away in two ways: killed (connections are refused) and restarted, or frozen with
SIGSTOP (connections hang: commands get no answer until their socket timeout) and thawed with
SIGCONT. Either way the nodes stay up and say they are not ready, no edit typed meanwhile is
echoed to its typist or shown to anyone, and once Valkey answers again every edit typed is
saved exactly once and every client, and a fresh one, reads the same text.

Every typist types unique markers ("<t7.42> ") at the end of its pad, so a lost edit is a
missing marker and a duplicated one a marker found twice. Run with `-s` for the figures.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import re
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import pytest
from pycrdt import Text
from summitpad import protocol
from summitpad.app_keys import REGISTRY
from summitpad.client import PadClient
from summitpad.live_pad import ENTRY_BYTES, HELD_BYTES_LIMIT

from .support import RunningApp, ValkeyProcess, eventually

PADS = ("outage-a", "outage-b", "outage-c", "outage-d")
TYPISTS = 24
TYPING_INTERVAL = 0.1  # seconds between two markers of one typist, on average
OUTAGE = 10.0
BEFORE = 3.0  # seconds of typing before the outage
AFTER = 2.0  # seconds of typing after Valkey is back
MARKER = re.compile(r"<t\d+\.\d+>")

Connect = Callable[..., Awaitable[PadClient]]


@dataclass
class Typist:
    name: str
    pad: str
    client: PadClient
    typed: dict[str, float] = field(default_factory=dict)  # marker -> when it was typed
    echoed: dict[str, float] = field(default_factory=dict)  # marker -> when it came back

    async def type_until(self, stop: asyncio.Event) -> None:
        rng = random.Random(self.name)
        await asyncio.sleep(rng.uniform(0, TYPING_INTERVAL))
        while not stop.is_set():
            marker = f"<{self.name}.{len(self.typed)}>"
            self.typed[marker] = time.monotonic()  # before it can reach the server
            await self.client.edit(lambda t, m=marker: t.insert(len(t), m + " "))
            await asyncio.sleep(rng.uniform(0.5, 1.5) * TYPING_INTERVAL)

    def confirmed_text(self) -> str:
        return str(self.client.confirmed.get("content", type=Text))

    def note_echoes(self, now: float) -> None:
        if len(self.echoed) == len(self.typed):
            return
        text = self.confirmed_text()
        for marker in self.typed.keys() - self.echoed.keys():
            if marker in text:
                self.echoed[marker] = now


async def watch_echoes(typists: list[Typist], stop: asyncio.Event) -> None:
    while not stop.is_set():
        now = time.monotonic()
        for typist in typists:
            typist.note_echoes(now)
        await asyncio.sleep(0.05)


def divergence(
    typists: list[Typist],
    nodes: list[RunningApp],
    typed_all: dict[str, Typist],
    began: float,
    back: float,
) -> str:
    """What each client and each node lacks of its pad, for a test that failed to converge."""
    lines = ["the clients of a pad did not converge:"]
    for pad in PADS:
        clients = [t for t in typists if t.pad == pad]
        union = set().union(*(set(MARKER.findall(str(t.client.text))) for t in clients))
        for typist in clients:
            missing = union - set(MARKER.findall(str(typist.client.text)))
            if missing:
                when = {m: round(typed_all[m].typed[m] - back, 2) for m in sorted(missing)}
                lines.append(
                    f"  {pad}: {typist.name} (closed: {typist.client.ws.closed}, "
                    f"saved: {typist.client.saved}, reader: {typist.client.read_error!r}) "
                    f"lacks {len(missing)}, typed at (s after Valkey was back): {when}"
                )
        for index, node in enumerate(nodes):
            live = node.app[REGISTRY].live(pad)
            if live is not None:
                lacks = union - set(MARKER.findall(live.text()))
                lines.append(
                    f"  {pad}: node {index} at {live.last_id}, {len(live.connections)} "
                    f"connections, lacks {len(lacks)}"
                )
    lines.append(f"  (Valkey was away {back - began:.1f} s)")
    return "\n".join(lines)


async def status(http: aiohttp.ClientSession, node: RunningApp, path: str) -> int:
    async with http.get(node.http_url + path) as response:
        return response.status


async def wait_for_probes(
    http: aiohttp.ClientSession, nodes: list[RunningApp], readyz: int, within: float
) -> None:
    """Every node answers /healthz 200 and /readyz `readyz`."""

    async def probed() -> bool:
        for node in nodes:
            if await status(http, node, "/healthz") != 200:
                raise AssertionError(f"{node.http_url} is not healthy")
            if await status(http, node, "/readyz") != readyz:
                return False
        return True

    await eventually(probed, within=within, interval=0.1)


class Outage:
    """Valkey killed and started again, or frozen and thawed."""

    def __init__(self, valkey: ValkeyProcess, how: str) -> None:
        self.valkey = valkey
        self.how = how

    async def begin(self) -> None:
        process = self.valkey.process
        assert process is not None
        if self.how == "killed":
            self.valkey.kill()
        else:
            os.kill(process.pid, signal.SIGSTOP)

    async def end(self) -> None:
        process = self.valkey.process
        assert process is not None
        if self.how == "killed":
            await asyncio.to_thread(self.valkey.start)  # returns once it answers a PING
        else:
            os.kill(process.pid, signal.SIGCONT)


@pytest.mark.parametrize("how", ["killed", "frozen"])
async def test_valkey_away_for_ten_seconds_under_load(
    how: str,
    own_valkey: ValkeyProcess,
    start_app: Callable[..., Awaitable[RunningApp]],
    connect: Connect,
    http: aiohttp.ClientSession,
) -> None:
    nodes = [await start_app(redis_url=own_valkey.url) for _ in range(2)]
    typists = []
    for n in range(TYPISTS):
        pad = PADS[n % len(PADS)]
        node = nodes[(n // len(PADS)) % len(nodes)]  # every pad has typists on both nodes
        typists.append(Typist(f"t{n}", pad, await connect(node.ws_url, pad)))
    outage = Outage(own_valkey, how)
    stop_typing, stop_watching = asyncio.Event(), asyncio.Event()
    typing = [asyncio.create_task(t.type_until(stop_typing)) for t in typists]
    watching = asyncio.create_task(watch_echoes(typists, stop_watching))
    try:
        await asyncio.sleep(BEFORE)
        await wait_for_probes(http, nodes, 200, within=1.0)

        began = time.monotonic()
        await outage.begin()
        # Frozen, a PING gets no answer and /readyz gives up after a second.
        await wait_for_probes(http, nodes, 503, within=5.0)
        await asyncio.sleep(OUTAGE - (time.monotonic() - began))

        # Nothing typed since Valkey went away came back to its typist, nor reached anyone else.
        held = {m for t in typists for m, at in t.typed.items() if at >= began}
        assert held, "nobody typed during the outage"
        for typist in typists:
            confirmed = set(MARKER.findall(typist.confirmed_text()))
            assert not confirmed & held, f"{typist.name} had an edit echoed while Valkey was away"
            mine = {m for m in held if m.startswith(f"<{typist.name}.")}
            shown = set(MARKER.findall(str(typist.client.text)))
            assert not (shown & held) - mine, f"{typist.name} was shown an edit never stored"
        shown_saved = [t.name for t in typists if t.client.saved]
        assert not shown_saved, f"typists whose edits all came back meanwhile: {shown_saved}"

        await outage.end()
        back = time.monotonic()
        await wait_for_probes(http, nodes, 200, within=10.0)
        await asyncio.sleep(AFTER)
    finally:
        stop_typing.set()
        await asyncio.gather(*typing)

    # Every edit is saved: each typist has every marker of its own echoed.
    await eventually(lambda: all(t.client.saved for t in typists), within=20)
    typed_all = {m: t for t in typists for m in t.typed}
    await eventually(lambda: all(len(t.echoed) == len(t.typed) for t in typists), within=5)
    stop_watching.set()
    await watching
    held_echoes = [t.echoed[m] for t in typists for m, at in t.typed.items() if began <= at < back]
    assert min(held_echoes) >= back, "an edit typed during the outage was echoed during it"
    all_echoed = max(held_echoes) - back

    # Every client of a pad, and a fresh one, holds each marker typed on it exactly once.
    async def converged() -> bool:
        for pad in PADS:
            texts = {str(t.client.text) for t in typists if t.pad == pad}
            if len(texts) != 1:
                return False
        return True

    try:
        await eventually(converged, within=10)
    except AssertionError as exc:
        raise AssertionError(divergence(typists, nodes, typed_all, began, back)) from exc
    duplicated = lost = 0
    for index, pad in enumerate(PADS):
        fresh = await connect(nodes[index % len(nodes)].ws_url, pad)
        found = MARKER.findall(str(fresh.text))
        expected = {m for m, t in typed_all.items() if t.pad == pad}
        duplicated += len(found) - len(set(found))
        lost += len(expected - set(found))
        assert set(found) <= expected, "a marker nobody typed"
        assert str(fresh.text) == next(str(t.client.text) for t in typists if t.pad == pad)
    before = sum(1 for t in typists for at in t.typed.values() if at < began)
    after = sum(1 for t in typists for at in t.typed.values() if at >= back)
    print(
        f"\nValkey {how} for {back - began:.1f} s, {TYPISTS} typists on {len(PADS)} pads, "
        f"2 nodes: typed {len(typed_all)} ({before} before, {len(held_echoes)} during, "
        f"{after} after); echoed before the return: 0 of the {len(held_echoes)} typed "
        f"during, after it: {len(held_echoes)}; lost {lost}, duplicated {duplicated}; all "
        f"held edits echoed {all_echoed:.2f} s after Valkey was back"
    )
    assert lost == 0 and duplicated == 0


async def test_edits_held_for_a_pad_are_bounded_while_valkey_is_away(
    own_valkey: ValkeyProcess,
    start_app: Callable[..., Awaitable[RunningApp]],
    connect: Connect,
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="summitpad")
    node = await start_app(redis_url=own_valkey.url)
    writer = await connect(node.ws_url, "held")
    reader = await connect(node.ws_url, "held")
    own_valkey.kill()
    chunk = 256 * 1024
    sent = 0
    while not writer.ws.closed and sent <= 2 * HELD_BYTES_LIMIT:
        marker = f"<t0.{sent // chunk}>"
        await writer.edit(lambda t, m=marker: t.insert(len(t), m + "x" * chunk))
        sent += chunk
        await asyncio.sleep(0.005)
    await eventually(lambda: writer.ws.closed)
    assert writer.ws.close_code == 1013  # try again later: the stock client reconnects
    refusal = next(r.message for r in caplog.records if "cannot save yet" in r.message)
    held = int(re.search(r"holds (\d+) bytes", refusal).group(1))  # type: ignore[union-attr]
    assert HELD_BYTES_LIMIT - 2 * chunk < held <= HELD_BYTES_LIMIT
    assert not reader.ws.closed
    typed = str(writer.text)

    # Browsers that reconnect meanwhile count too: their joins and step 1s fill the pad up to
    # the limit, then the next one is told 1013 at once instead of waiting in memory.
    filler = await http.ws_connect(f"{node.ws_url}/held", max_msg_size=0)
    await filler.send_bytes(protocol.encode_step1(b"\x00" * (HELD_BYTES_LIMIT - held
                                                               - 2 * ENTRY_BYTES)))
    late = await http.ws_connect(f"{node.ws_url}/held")
    closing = await asyncio.wait_for(late.receive(), 5)
    assert (closing.type, late.close_code) == (aiohttp.WSMsgType.CLOSE, 1013), closing
    assert "cannot save yet" in closing.extra
    assert not filler.closed
    await filler.close()

    # Valkey back: the same document connects again (as a browser tab does) and sends in
    # its answer to the server's step 1 whatever the pad had refused.
    await asyncio.to_thread(own_valkey.start)
    live = node.app[REGISTRY].live("held")
    assert live is not None
    await asyncio.wait_for(live.drain(), 20)  # until then a full pad turns joiners away
    again = await connect(node.ws_url, "held", doc=writer.doc)
    assert str(again.text) == typed
    await eventually(lambda: str(reader.text) == typed, within=20)  # stored before it is shown
    found = MARKER.findall(typed)
    assert len(found) == len(set(found)) == sent // chunk
    fresh = await connect(node.ws_url, "held")
    assert str(fresh.text) == typed


async def _store_notices(socket: aiohttp.ClientWebSocketResponse, want: int) -> list[bool]:
    """The "saved" of the first `want` store notices `socket` receives."""
    said: list[bool] = []
    while len(said) < want:
        message = await asyncio.wait_for(socket.receive(), 10)
        assert message.type is aiohttp.WSMsgType.BINARY, message
        decoded = protocol.decode_message(message.data)
        if isinstance(decoded, protocol.NoticeMessage) and decoded.kind == "store":
            said.append(decoded.body["saved"])
    return said


async def test_every_page_of_the_pad_is_told_when_its_edits_cannot_be_stored(
    own_valkey: ValkeyProcess,
    start_app: Callable[..., Awaitable[RunningApp]],
    connect: Connect,
    http: aiohttp.ClientSession,
) -> None:
    """Told, not left to guess from a missing echo: a reader who typed nothing is told too,
    and so is a page that joins while it lasts."""
    node = await start_app(redis_url=own_valkey.url)
    typist = await connect(node.ws_url, "told")
    await typist.edit(lambda t: t.insert(0, "stored"))
    await eventually(lambda: typist.saved)
    join = protocol.encode_notice({"kind": "join"})
    reader = await http.ws_connect(f"{node.ws_url}/told")
    await reader.send_bytes(join)

    own_valkey.kill()
    await typist.edit(lambda t: t.insert(len(t), " held"))
    assert await _store_notices(reader, 1) == [False]
    late = await http.ws_connect(f"{node.ws_url}/told")
    await late.send_bytes(protocol.encode_step1(b"\x00"))
    await late.send_bytes(join)
    assert await _store_notices(late, 1) == [False]

    await asyncio.to_thread(own_valkey.start)
    assert await _store_notices(reader, 1) == [True]
    assert await _store_notices(late, 1) == [True]
    await eventually(lambda: typist.saved)
    await reader.close()
    await late.close()
