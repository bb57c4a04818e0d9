"""The recorded editing traces of ../shared/data/editing-traces, as Yjs documents and updates.

The traces (Joseph Gentle's editing-traces collection, github.com/josephg/editing-traces,
CC BY 4.0) are read where they are and never copied into the project; without that folder,
`missing()` says why and the scenarios that need them skip.

- `final_update`: one Yjs update that holds a trace's final text (`endContent`) as one insert
  into the pad's Text, as a client that pastes the whole document sends it.
- `typed_update`: the whole state of a document typed transaction by transaction (its
  tombstones and item structure as a long-lived pad has them).
- `concurrent_plan`: a concurrent trace (two agents whose transactions name their `parents`)
  turned into each agent's Yjs updates, in order, with what each one must have seen of the
  other agent before it is sent (see `ConcurrentPlan`).

Positions in the traces are Unicode code points and pycrdt's Text counts UTF-8 bytes; the
traces used here are the ASCII variants, so the two agree (`load` checks it).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pycrdt import Doc, Text, TransactionEvent
from summitpad.live_pad import TEXT_NAME
from summitpad.protocol import decode_state_vector

TRACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "editing-traces"
SEQUENTIAL = "automerge-paper"  # Martin Kleppmann writing a LaTeX paper (the B4 trace)
CONCURRENT = "friendsforever"  # two people typing one document at once, 1 s of latency
CREDIT = (
    "editing traces from the editing-traces collection by Joseph Gentle "
    "(github.com/josephg/editing-traces), CC BY 4.0: automerge-paper (Martin Kleppmann writing "
    "a LaTeX paper), friendsforever (two people typing one document at once)"
)
# Fixed client ids, so the same trace always makes the same updates.
SEED_CLIENT_ID = 5_000_001
AGENT_CLIENT_IDS = (6_000_001, 6_000_002)


def path(name: str) -> Path:
    return TRACES / f"{name}.json.gz"


def missing(*names: str) -> str | None:
    """Why the traces `names` (default: the two the scenarios use) cannot be read, or None."""
    for name in names or (SEQUENTIAL, CONCURRENT):
        if not path(name).exists():
            return f"{path(name)} is not there (the editing traces live in ../shared/data)"
    return None


def load(name: str) -> dict[str, Any]:
    """The trace `name` as its JSON says: `endContent` and `txns` (and, for a concurrent one,
    `numAgents`, each transaction's `agent` and `parents`). Not kept: automerge-paper is
    millions of small objects, which every full collection of the garbage collector would walk
    (the functions below keep only what they make of it)."""
    trace: dict[str, Any] = json.loads(gzip.decompress(path(name).read_bytes()))
    if not str(trace["endContent"]).isascii():
        raise ValueError(f"{name}: positions are code points, pycrdt counts UTF-8 bytes")
    return trace


@functools.cache
def end_content(name: str) -> str:
    """The trace's final text."""
    return str(load(name)["endContent"])


def text_of(update: bytes) -> str:
    """The pad text of a document made of `update` alone."""
    doc: Doc[Any] = Doc()
    doc.apply_update(update)
    return str(doc.get(TEXT_NAME, type=Text))


def digest(payload: bytes) -> str:
    return hashlib.blake2b(payload, digest_size=16).hexdigest()


@functools.cache
def final_update(name: str = SEQUENTIAL, client_id: int = SEED_CLIENT_ID) -> bytes:
    """The trace's final text as one insert: what a client that pastes it sends."""
    doc: Doc[Any] = Doc(client_id=client_id)
    doc.get(TEXT_NAME, type=Text).insert(0, end_content(name))
    return doc.get_update()


@functools.cache
def typed_update(name: str = SEQUENTIAL, client_id: int = SEED_CLIENT_ID) -> bytes:
    """The state of a document typed through the whole trace by one client (about 5 s for
    automerge-paper): 289 KB against 105 KB for `final_update`, and many more items."""
    doc: Doc[Any] = Doc(client_id=client_id)
    text = doc.get(TEXT_NAME, type=Text)
    for txn in load(name)["txns"]:
        with doc.transaction():
            _apply(text, txn["patches"])
    return doc.get_update()


def _apply(text: Text, patches: list[list[Any]]) -> None:
    for pos, deleted, inserted in patches:
        if deleted:
            del text[pos : pos + deleted]
        if inserted:
            text.insert(pos, inserted)


# -- a concurrent trace as two clients' updates ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """One transaction of the trace as the update its agent's client sends."""

    txn: int  # its index in the trace
    update: bytes
    needs: int  # the other agent's clock the sender must have seen before sending it
    clock: int  # the agent's own clock once this update is applied
    inserts: bool  # it inserts text (so `clock` moved; a delete-only update leaves it)


@dataclass(frozen=True)
class ConcurrentPlan:
    """What each agent sends, in its order, and what it must have seen of the other first.

    Built offline by `concurrent_plan`: each agent has a pycrdt Doc with a fixed client id.
    Before an agent's transaction, its Doc merges the other agent's updates up to the latest
    one among the transaction's ancestors (every agent's own transactions are in one chain, so
    the Doc then holds exactly the transaction's parents' version); then the patches, whose
    positions refer to that version, are applied in one transaction and its update captured.

    Online, a client sends `steps[agent][i]` once its Doc's state vector holds the other
    agent's clock `needs`. What this does not cover: a delete moves no clock, so a transaction
    whose latest ancestor of the other agent deleted only (or deleted after its last insert)
    may go out before that delete has arrived. The updates are the same either way (a Yjs
    update names the items it builds on, not positions), so the text converges all the same;
    only the order in which the server sees those two differs from the recording.
    """

    name: str
    client_ids: tuple[int, int]
    steps: tuple[list[Step], list[Step]]
    end_content: str  # what merging every update gives (the trace's endContent for all of it)
    transactions: int
    build_s: float

    @property
    def updates(self) -> int:
        return len(self.steps[0]) + len(self.steps[1])

    def final_clocks(self) -> dict[int, int]:
        return {
            self.client_ids[a]: (self.steps[a][-1].clock if self.steps[a] else 0) for a in (0, 1)
        }


class _Agent:
    """One agent's client while the plan is built: its Doc and the updates it made."""

    def __init__(self, client_id: int) -> None:
        self.client_id = client_id
        self.doc: Doc[Any] = Doc(client_id=client_id)
        self.text = self.doc.get(TEXT_NAME, type=Text)
        self.steps: list[Step] = []
        self.merged = 0  # how many of the other agent's steps this Doc holds
        self._local = False
        self._captured: list[bytes] = []
        self._sub = self.doc.observe(self._on_transaction)

    def _on_transaction(self, event: TransactionEvent) -> None:
        if self._local:
            self._captured.append(event.update)

    def clock(self) -> int:
        return decode_state_vector(bytes(self.doc.get_state())).get(self.client_id, 0)

    def catch_up(self, other: _Agent, upto_txn: int) -> int:
        """Merge the other agent's updates up to its transaction `upto_txn`; its clock then."""
        while self.merged < len(other.steps) and other.steps[self.merged].txn <= upto_txn:
            self.doc.apply_update(other.steps[self.merged].update)
            self.merged += 1
        return other.steps[self.merged - 1].clock if self.merged else 0

    def type(self, txn: int, patches: list[list[Any]], needs: int) -> None:
        before = self.clock()
        self._local, self._captured = True, []
        try:
            with self.doc.transaction():
                _apply(self.text, patches)
        finally:
            self._local = False
        (update,) = self._captured
        after = self.clock()
        self.steps.append(Step(txn, update, needs, after, after > before))


@functools.cache
def concurrent_plan(name: str = CONCURRENT, transactions: int | None = None) -> ConcurrentPlan:
    """The plan of the first `transactions` transactions (all by default) of a two-agent trace;
    raises if merging every update does not give the expected text."""
    began = time.perf_counter()
    trace = load(name)
    if trace.get("numAgents") != 2:
        raise ValueError(f"{name}: a plan is made for two agents, not {trace.get('numAgents')}")
    txns = trace["txns"][:transactions] if transactions else trace["txns"]
    agents = (_Agent(AGENT_CLIENT_IDS[0]), _Agent(AGENT_CLIENT_IDS[1]))
    # latest[t][a]: the latest transaction of agent a among t and its ancestors (-1: none).
    latest: list[tuple[int, int]] = []
    for t, txn in enumerate(txns):
        a = txn["agent"]
        seen = [-1, -1]
        for p in txn["parents"]:
            seen = [max(seen[0], latest[p][0]), max(seen[1], latest[p][1])]
        if seen[a] != (agents[a].steps[-1].txn if agents[a].steps else -1):
            raise ValueError(f"{name}: transaction {t} does not follow its agent's last one")
        needs = agents[a].catch_up(agents[1 - a], seen[1 - a])
        seen[a] = t
        latest.append((seen[0], seen[1]))
        if txn["patches"]:  # only the last transaction may have none
            agents[a].type(t, txn["patches"], needs)
    merged: Doc[Any] = Doc()
    for agent in agents:
        for step in agent.steps:
            merged.apply_update(step.update)
    text = str(merged.get(TEXT_NAME, type=Text))
    if transactions is None and text != trace["endContent"]:
        raise ValueError(f"{name}: the merged updates do not give endContent")
    return ConcurrentPlan(
        name=name,
        client_ids=AGENT_CLIENT_IDS,
        steps=(agents[0].steps, agents[1].steps),
        end_content=text,
        transactions=len(txns),
        build_s=round(time.perf_counter() - began, 2),
    )
