"""One change to a live pad's document, checked and recorded while it is applied.

The live pad's writer hands every client update to `apply_client_update` and every server edit
to `run_edit`; each returns exactly what changed, as one update (None: nothing, for an update
the document already held). While a change is applied, the text's deltas are recorded too,
which is how authorship is checked and completed (see authorship.py). After a change that was
refused half-way, `tainted` is set: the document may hold part of it and must be rebuilt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pycrdt import Doc, Subscription, Text, TextEvent, TransactionEvent

from . import authorship, protocol
from .errors import Forbidden, NeedsResync, UpdateRejected
from .update_check import inspect_update
from .update_merge import merge


class DocChanges:
    def __init__(self, doc: Doc[Any], text: Text) -> None:
        self._doc = doc
        self._text = text
        self._updates: list[bytes] = []
        self.deltas: list[Any] = []
        self._recording = False
        self.tainted = False
        # Taken when a change is first recorded, dropped while stored state is applied (see
        # `unobserved`); kept meanwhile: dropping a subscription ends it.
        self._subscriptions: tuple[Subscription, Subscription] | None = None

    def _record(self, event: TransactionEvent) -> None:
        if self._recording:
            self._updates.append(event.update)

    def _record_text(self, event: TextEvent) -> None:
        if self._recording:
            self.deltas.append(event.delta)  # type: ignore[attr-defined]

    @contextmanager
    def recording(self) -> Iterator[None]:
        if self._subscriptions is None:
            self._subscriptions = (
                self._text.observe(self._record_text),
                self._doc.observe(self._record),
            )
        self._updates.clear()
        self.deltas.clear()
        self._recording = True
        try:
            yield
        finally:
            self._recording = False

    @contextmanager
    def unobserved(self) -> Iterator[None]:
        """Apply what the store holds (a load, a catch-up) with nothing observing: nothing
        records it, and for a whole pad pycrdt's events (the text's delta, the transaction's
        update) cost several times the apply itself."""
        if self._subscriptions is not None:
            self._text.unobserve(self._subscriptions[0])
            self._doc.unobserve(self._subscriptions[1])
            self._subscriptions = None
        yield

    @property
    def changed(self) -> bool:
        return bool(self._updates)

    @property
    def update(self) -> bytes | None:
        """Everything recorded, as one update; None if nothing changed."""
        if not self._updates:
            return None
        return merge(self._updates)

    def changes_authorship(self, before: list[tuple[Any, Any]] | None) -> bool:
        """Whether the recorded change set or cleared the author of text already there
        (`before`: the text's runs before it, when the change also deleted)."""
        return any(authorship.changes_authorship(d, before) for d in self.deltas)

    def attribute(self, author: str) -> None:
        """Give the text the recorded change inserted to `author`, where it says otherwise
        (while still recording: the formatting is part of the change)."""
        ranges = [r for d in self.deltas for r in authorship.misattributed(d, author)]
        if author and ranges:
            with self._doc.transaction():
                for offset, length in ranges:
                    self._text.format(offset, offset + length, {authorship.AUTHOR: author})

    def apply_client_update(self, update: bytes, author: str) -> bytes | None:
        """Apply a client's update as `author`'s: what it changed, attributed. Raises
        UpdateRejected (it does not apply), Forbidden (it changes who wrote existing text)
        or NeedsResync (it depends on edits this document does not have)."""
        shape = inspect_update(update)
        # Who wrote existing text changes with an update that sets `author` marks. A delete
        # that takes a run's marks away shows the text next to it with its author "set" to the
        # one it had (Yjs and Yrs alike): when an update does both, the text as it was tells
        # the two apart (authorship.changes_authorship). An update that only deletes is not
        # checked: honest ones change no author, and reading the text before every delete
        # would cost more than a hand-made update dropping marks can do.
        sets_author = authorship.AUTHOR in shape.format_keys
        before = self._text.diff() if sets_author and shape.deletes else None
        with self.recording():
            try:
                self._doc.apply_update(update)
            except Exception as exc:
                self.tainted = True  # Yrs may have integrated part of it before failing
                raise UpdateRejected(f"update does not apply: {exc}"[:200]) from exc
            if sets_author and self.changes_authorship(before):
                self.tainted = True
                raise Forbidden("an edit may not change who wrote the text")
            if shape.reaches and not self._integrated(shape.reaches):
                # Some of it depends on edits this node does not have (it lags, or the client
                # sent something broken): Yrs holds that part aside, and may even show it in
                # the text while no transaction update carries it. Drop the whole update, with
                # the document rebuilt from the store; the client reconnects and sends it
                # again in its sync step 2.
                self.tainted = True
                raise NeedsResync("the update depends on edits this server does not have")
            self.attribute(author)
        return self.update

    def run_edit(self, change: Callable[[Text], None]) -> bytes | None:
        """Run `change` on the text in one transaction; what it changed. Whatever `change`
        raises is raised, with the document tainted if it changed anything first."""
        with self.recording():
            try:
                with self._doc.transaction():
                    change(self._text)
            except Exception:
                self.tainted = self.changed
                raise
        return self.update

    def _integrated(self, reaches: dict[int, int]) -> bool:
        """Whether the document holds every struct of an update that `reaches` these clocks.
        The update its transaction recorded tells at once when it carries them all (a
        keystroke's does); else the state vector, whose decoding costs as many clients as the
        pad has had."""
        recorded = self.update
        if recorded is not None:
            carried = inspect_update(recorded).reaches
            if all(carried.get(client, 0) >= clock for client, clock in reaches.items()):
                return True
        state = protocol.decode_state_vector(self._doc.get_state())
        return all(state.get(client, 0) >= clock for client, clock in reaches.items())
