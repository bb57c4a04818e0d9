"""Faults in the three-node deployment of deploy/local.py while fifty clients type.

Fifty reconnecting clients on five pads, each typing a marker of its own at the end of its pad
every 50-100 ms, all through the load balancer, while a node or Valkey is killed with SIGKILL.
A marker a client has seen come back from the server is in Valkey (durable before visible), so
it must be in the stored pad at the end: each test prints how many markers were typed, echoed,
present in Valkey and lost (echoed, yet missing from Valkey).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import random
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import pytest
from summitpad.client import PadClient
from summitpad.keys import pad_keys
from summitpad.store import PadStore
from summitpad.store import connect as connect_store

from .support import ROOT, eventually, free_port_run, subprocess_env
from .test_write_path import stored_text

TYPISTS = 50
PADS = 5
PAUSE = (0.05, 0.1)  # seconds between two keystrokes of one typist
KEY_PREFIX = "sp"  # the nodes' default
EVERYSEC_WINDOW = 1.5  # everysec may lose what was echoed in the last second before a crash


def _load_local() -> ModuleType:
    """deploy/local.py, loaded by path: deploy/ is no package."""
    spec = importlib.util.spec_from_file_location("summitpad_local", ROOT / "deploy" / "local.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


local = _load_local()


@pytest.fixture
async def start_deployment(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    started: list[Any] = []

    async def start(appendfsync: str = "everysec") -> Any:
        deployment = local.LocalDeployment(
            tmp_path / "deployment",
            base_port=free_port_run(5),
            appendfsync=appendfsync,
            env=subprocess_env(),
        )
        started.append(deployment)
        await deployment.start()
        return deployment

    yield start
    for deployment in started:
        await deployment.stop()


def _marker(typist: int, seq: int) -> str:
    return f"[{typist}.{seq}]"


class Typist:
    """A reconnecting client that types markers `[<number>.<seq>]` at the end of its pad and
    notes when each was typed and when it first came back from the server."""

    def __init__(self, number: int, client: PadClient, pad_id: str) -> None:
        self.number = number
        self.client = client
        self.pad_id = pad_id
        self.typed: dict[int, float] = {}
        self.echoed: dict[int, float] = {}
        self.frames = 0  # frames heard from the server, of any kind
        self.unapplied = 0  # update frames heard since the document last changed
        client.doc.observe(self._changed)
        self._mine = re.compile(rb"\[%d\.(\d+)\]" % number)
        client.on_message = self._heard

    def _heard(self, frame: bytes) -> None:
        arrived = time.monotonic()
        self.frames += 1
        if frame[:1] == b"\x00" and frame[1:2] in (b"\x01", b"\x02"):
            self.unapplied += 1
        for seq in self._mine.findall(frame):
            self.echoed.setdefault(int(seq), arrived)

    def _changed(self, _event: object) -> None:
        self.unapplied = 0

    async def type_until(self, deadline: float) -> None:
        rng = random.Random(self.number)
        await asyncio.sleep(rng.uniform(*PAUSE))
        while time.monotonic() < deadline:
            seq = len(self.typed) + 1
            self.typed[seq] = time.monotonic()
            marker = _marker(self.number, seq)
            await self.client.edit(lambda text, m=marker: text.insert(len(text), m))
            await asyncio.sleep(rng.uniform(*PAUSE))


@dataclass
class Outcome:
    typed: int = 0
    echoed: int = 0
    present: int = 0
    lost: list[tuple[Typist, int]] = field(default_factory=list)  # echoed, not in Valkey
    missing: int = 0  # typed, not in Valkey (echoed or not)
    reconnects: int = 0
    close_codes: Counter[int | None] = field(default_factory=Counter)

    def _codes(self) -> dict[int | None, int]:
        return {None if code is None else int(code): n for code, n in self.close_codes.items()}

    def report(self, what: str) -> str:
        return (
            f"{what}: markers typed {self.typed}, echoed {self.echoed}, present in Valkey "
            f"{self.present}, lost {len(self.lost)} (typed and missing {self.missing}); "
            f"reconnects {self.reconnects}, close codes {self._codes()}"
        )


class Room:
    """Every typist, the deployment they type into, and the pads as stored in Valkey."""

    def __init__(self, deployment: Any, http: aiohttp.ClientSession) -> None:
        self.deployment = deployment
        self.http = http
        self.typists: list[Typist] = []
        self.typing: asyncio.Future[list[None]] | None = None
        self.pad_ids = [f"fault-{n}" for n in range(PADS)]

    async def join(self) -> None:
        async def one(number: int) -> Typist:
            pad_id = self.pad_ids[number % PADS]
            client = PadClient(self.http, self.deployment.ws_url, pad_id, reconnect=True)
            typist = Typist(number, client, pad_id)
            await client.connect()
            await asyncio.wait_for(client.synced.wait(), 20)
            return typist

        self.typists = list(await asyncio.gather(*(one(n) for n in range(TYPISTS))))

    async def leave(self) -> None:
        if self.typing is not None:
            self.typing.cancel()
            await asyncio.gather(self.typing, return_exceptions=True)
        await asyncio.gather(*(typist.client.close() for typist in self.typists))

    def type_for(self, seconds: float) -> asyncio.Future[list[None]]:
        deadline = time.monotonic() + seconds
        self.typing = asyncio.gather(*(typist.type_until(deadline) for typist in self.typists))
        return self.typing

    async def stored(self) -> dict[str, str]:
        """Each pad's text as Valkey holds it, read afresh."""
        client = connect_store(self.deployment.redis_url)
        try:
            store = PadStore(client, "fault-check")
            return {
                pad_id: stored_text(await store.read(pad_keys(KEY_PREFIX, pad_id)))
                for pad_id in self.pad_ids
            }
        finally:
            await client.aclose()

    async def settled(self) -> bool:
        """Every typist saved, and holding its pad exactly as Valkey stores it."""
        if not all(typist.client.saved for typist in self.typists):
            return False
        stored = await self.stored()
        return all(str(t.client.text) == stored[t.pad_id] for t in self.typists)

    async def settle(self, within: float = 30.0) -> None:
        """Wait until `settled`, or fail saying how the typists and Valkey differ."""
        try:
            await eventually(self.settled, within=within, interval=0.5)
        except AssertionError:
            raise AssertionError(await self.differences()) from None

    async def differences(self) -> str:
        stored = await self.stored()
        unsaved = [t.number for t in self.typists if not t.client.saved]
        lines = [f"typists not saved: {unsaved}"]
        for pad_id in self.pad_ids:
            texts = Counter(str(t.client.text) for t in self.typists if t.pad_id == pad_id)
            lines.append(
                f"{pad_id}: stored {len(stored[pad_id])} characters; the typists hold "
                f"{sorted(len(text) for text in texts)} "
                f"({texts[stored[pad_id]]} of them the stored text)"
            )
        lines += await self._node_views(stored)
        for t in self.typists:
            if str(t.client.text) != stored[t.pad_id]:
                lines.append(
                    f"typist {t.number} ({t.pad_id}): {len(str(t.client.text))} characters, "
                    f"typed {len(t.typed)}, echoed {len(t.echoed)}, frames {t.frames}, "
                    f"reconnects {t.client.reconnects}, closes {t.client.close_codes}, "
                    f"update frames since its text last changed {t.unapplied}, "
                    f"connected from {t.client.ws.get_extra_info('sockname')}"
                )
        return "\n".join(lines)

    async def _node_views(self, stored: dict[str, str]) -> list[str]:
        """What a new client of each node, reached directly, gets of each pad that differs."""
        views = []
        for number in range(1, len(self.deployment.node_ports) + 1):
            ws_url = self.deployment.node_url(number).replace("http", "ws", 1) + "/ws"
            for pad_id in self.pad_ids:
                if all(str(t.client.text) == stored[pad_id]
                       for t in self.typists if t.pad_id == pad_id):
                    continue
                reader = PadClient(self.http, ws_url, pad_id)
                try:
                    await reader.connect()
                    await asyncio.wait_for(reader.synced.wait(), 5)
                    got = f"{len(str(reader.text))} characters"
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    got = f"no sync ({exc!r})"
                finally:
                    await reader.close()
                views.append(f"node-{number} gives a new client of {pad_id} {got}")
        return views

    async def outcome(self) -> Outcome:
        stored = await self.stored()
        outcome = Outcome()
        for typist in self.typists:
            text = stored[typist.pad_id]
            present = {seq for seq in typist.typed if _marker(typist.number, seq) in text}
            outcome.typed += len(typist.typed)
            outcome.echoed += len(typist.echoed)
            outcome.present += len(present)
            outcome.missing += len(typist.typed.keys() - present)
            outcome.lost += [(typist, seq) for seq in typist.echoed.keys() - present]
            outcome.reconnects += typist.client.reconnects
            outcome.close_codes.update(typist.client.close_codes)
        return outcome

    async def fresh_reads_agree(self) -> bool:
        """A new client through the load balancer gets each pad as Valkey stores it."""
        stored = await self.stored()
        for pad_id in self.pad_ids:
            reader = await PadClient(self.http, self.deployment.ws_url, pad_id).connect()
            try:
                await asyncio.wait_for(reader.synced.wait(), 10)
                if str(reader.text) != stored[pad_id]:
                    return False
            finally:
                await reader.close()
        return True


@contextlib.asynccontextmanager
async def typing_room(deployment: Any, http: aiohttp.ClientSession) -> AsyncIterator[Room]:
    room = Room(deployment, http)
    try:
        await room.join()
        yield room
    finally:
        await room.leave()


async def _status(http: aiohttp.ClientSession, url: str) -> int:
    try:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=1)) as response:
            return response.status
    except (aiohttp.ClientError, TimeoutError):
        return 0


class Probes:
    """/healthz and /readyz of every node, asked every 0.2 s while a fault lasts."""

    def __init__(self, deployment: Any, http: aiohttp.ClientSession) -> None:
        self.deployment = deployment
        self.http = http
        self.healthz: Counter[int] = Counter()
        self.readyz: Counter[int] = Counter()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        nodes = range(1, len(self.deployment.node_ports) + 1)
        while True:
            for number in nodes:
                base = self.deployment.node_url(number)
                self.healthz[await _status(self.http, base + "/healthz")] += 1
                self.readyz[await _status(self.http, base + "/readyz")] += 1
            await asyncio.sleep(0.2)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def test_a_node_killed_while_fifty_clients_type_loses_nothing(start_deployment, http):
    deployment = await start_deployment()
    async with typing_room(deployment, http) as room:
        typing = room.type_for(7.0)
        await asyncio.sleep(3.0)
        await deployment.kill_node(2)
        killed_at = time.monotonic()
        await typing
        await room.settle()
        settled_in = time.monotonic() - killed_at
        outcome = await room.outcome()
        print(outcome.report("node-2 killed"), f"; settled {settled_in:.1f} s after the kill")
        assert await room.fresh_reads_agree()
    assert outcome.reconnects > 0, "no client was on the killed node"
    assert outcome.lost == [] and outcome.missing == 0


@pytest.mark.parametrize("appendfsync", ["always", "everysec"])
async def test_valkey_killed_while_clients_type(start_deployment, http, appendfsync):
    """always: nothing echoed is lost. everysec: at most what was echoed in the last second
    before the crash (a SIGKILL leaves what Valkey wrote in the kernel's page cache, so this
    is usually nothing; a power cut would take the unsynced second)."""
    deployment = await start_deployment(appendfsync)
    async with typing_room(deployment, http) as room:
        typing = room.type_for(6.0)
        await asyncio.sleep(2.5)
        await deployment.kill_valkey()
        killed_at = time.monotonic()
        await asyncio.sleep(1.0)
        await deployment.start_valkey()
        back_at = time.monotonic()
        await typing
        if appendfsync == "always":
            await room.settle()
            assert await room.fresh_reads_agree()
        else:  # Valkey may lack edits the nodes hold: wait, but do not require it
            with contextlib.suppress(AssertionError):
                await room.settle()
        settled_in = time.monotonic() - back_at
        outcome = await room.outcome()
    late = [
        round(killed_at - typist.echoed[seq], 2)
        for typist, seq in outcome.lost
    ]
    print(
        outcome.report(f"valkey killed ({appendfsync})"),
        f"; Valkey back after {back_at - killed_at:.1f} s, typing ended and all settled "
        f"{settled_in:.1f} s later; lost markers echoed this long before the kill: {late}",
    )
    if appendfsync == "always":
        assert outcome.lost == [] and outcome.missing == 0
    else:
        assert all(seconds <= EVERYSEC_WINDOW for seconds in late), late


async def test_nodes_stay_up_while_valkey_is_away_and_clients_recover(start_deployment, http):
    deployment = await start_deployment("always")
    probes = Probes(deployment, http)
    async with typing_room(deployment, http) as room:
        typing = room.type_for(8.0)
        await asyncio.sleep(2.0)
        await deployment.kill_valkey()
        probes.start()
        await asyncio.sleep(3.0)
        await probes.stop()
        await deployment.start_valkey()
        back_at = time.monotonic()
        await typing
        await room.settle()
        settled_in = time.monotonic() - back_at
        assert await room.fresh_reads_agree()
        outcome = await room.outcome()
    print(
        outcome.report("valkey away 3 s"),
        f"; /healthz {dict(probes.healthz)}, /readyz {dict(probes.readyz)} while away; "
        f"typing ended and all settled {settled_in:.1f} s after Valkey was back",
    )
    assert set(probes.healthz) == {200}, "a node stopped answering /healthz"
    assert probes.readyz[503] > 0, "no node noticed that Valkey was away"
    # The same clients, with the documents they had, hold everything typed.
    assert outcome.lost == [] and outcome.missing == 0


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")  # a zombie is gone


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["term", "kill"])
async def test_the_script_says_where_everything_is_and_takes_it_down(tmp_path, http, signum):
    base_port = free_port_run(5)
    script = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "deploy" / "local.py"),
        "--base-port", str(base_port), "--data-dir", str(tmp_path / "deployment"),
        stdout=asyncio.subprocess.PIPE, env=subprocess_env(),
    )
    pids: list[int] = []
    try:
        assert script.stdout is not None
        ready = json.loads(await asyncio.wait_for(script.stdout.readline(), 60))
        pids = [ready["balancer"]["pid"], ready["valkey"]["pid"]]
        pids += [node["pid"] for node in ready["nodes"]]
        assert [node["port"] for node in ready["nodes"]] == [base_port + n for n in (1, 2, 3)]
        assert ready["valkey"]["appendfsync"] == "everysec"
        assert all(_alive(pid) for pid in pids)
        assert await _status(http, ready["url"] + "/readyz") == 200
        for node in ready["nodes"]:
            assert await _status(http, node["url"] + "/healthz") == 200

        script.send_signal(signum)
        code = await asyncio.wait_for(script.wait(), 60)
        assert code == (0 if signum == signal.SIGTERM else -signal.SIGKILL)
        await eventually(lambda: not any(_alive(pid) for pid in pids), within=30)
    finally:
        if script.returncode is None:
            script.kill()
            await script.wait()
        for pid in pids:  # whatever outlived the script, so that it does not outlive the test
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
