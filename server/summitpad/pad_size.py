"""How big a live pad is, known without encoding it for every update, and its limit.

`max_pad_size` bounds a pad's encoded state: far above any session's notes, it keeps one pad
from filling Valkey's memory and every joiner's download. The live pad's writer checks each
client update before applying it: one that would take the pad past the limit closes its
connection (4413) and is neither applied nor logged. An update that only deletes always goes
in, so a full pad can be trimmed. A server edit (an import, an API call) is checked on the
document it made, and refused (413) with nothing of it kept.

The size is tracked, not measured: the document's encoded size when it was last known exactly
(the writer encodes the whole document anyway for a fold and for the step 2 of fresh joiners)
or as read from the store (snapshot plus log entries), plus the bytes of every update applied
since. Updates overlap and deletions shrink a document, so this runs ahead of the truth, on a
node that never folds the pad most of all; before it refuses a batch's updates the document is
measured again (one encode, at most once a second per pad, and only if it changed since).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from .errors import PadTooLarge, UpdateRejected
from .store import PadState
from .update_check import inspect_update

DEFAULT_MAX_PAD_SIZE = 10 * 1024 * 1024
MEASURE_EVERY = 1.0  # seconds between two encodes of one pad to measure it


class PadSize:
    def __init__(self, limit: int = DEFAULT_MAX_PAD_SIZE) -> None:
        self.limit = limit
        self.bytes = 0  # the estimate
        self._exact = True  # `bytes` was measured, and nothing was applied since
        self._measured_at = -math.inf

    def __repr__(self) -> str:
        return f"<PadSize {self.bytes} of {self.limit}{'' if self._exact else ' (estimate)'}>"

    def reset(self, size: int, *, exact: bool = False) -> None:
        """The pad is `size` bytes: measured (`exact`, an encode of the document) or read."""
        self.bytes = size
        self._exact = exact
        if exact:
            self._measured_at = time.monotonic()

    def grew(self, size: int) -> None:
        """An update of `size` bytes was applied (and is in the log)."""
        if size:
            self.bytes += size
            self._exact = False

    def stored(self, state: PadState) -> None:
        """`state`, read from the store, was applied: a snapshot holds the whole pad up to the
        entries after it, which add to it; without one the entries add to what was there."""
        logged = sum(len(update) for _, update in state.updates)
        if state.snapshot is not None:
            self.reset(len(state.snapshot) + logged)
        else:
            self.grew(logged)

    def fits(self, size: int) -> bool:
        return self.bytes + size <= self.limit

    def refresh(self, incoming: int, encode: Callable[[], bytes]) -> None:
        """Before a batch of `incoming` bytes of client updates that would not fit by the
        estimate: measure the document with `encode` (the writer's, between two batches, when
        it equals the stored pad), unless nothing changed since the last measure or that was
        less than MEASURE_EVERY seconds ago."""
        if self.fits(incoming) or self._exact:
            return
        if time.monotonic() - self._measured_at < MEASURE_EVERY:
            return
        self.reset(len(encode()), exact=True)

    def admits(self, update: bytes, pending: int) -> bool:
        """Whether a client's update may go in after `pending` bytes taken earlier in the same
        batch: it fits, or it inserts nothing (it only deletes)."""
        if self.fits(pending + len(update)):
            return True
        try:
            return not inspect_update(update).reaches
        except UpdateRejected:
            return True  # malformed: applying it refuses it with its own close code

    def check_edit(self, change: bytes, pending: int, encode: Callable[[], bytes]) -> None:
        """After a server edit made `change` (with `pending` bytes of the batch before it):
        PadTooLarge if the document it made is over the limit, measured with `encode` only
        when the estimate says it may be."""
        if self.fits(pending + len(change)):
            return
        if len(encode()) > self.limit:
            raise PadTooLarge(
                f"this change would make the pad larger than its limit of {_size(self.limit)}: "
                "nothing was changed"
            )

    def refusal(self) -> PadTooLarge:
        """The error a client update that does not fit closes its connection with."""
        return PadTooLarge(f"the pad is at its size limit of {_size(self.limit)}: edit not saved")


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.3g} MiB"
    return f"{n / 1024:.3g} KiB" if n >= 1024 else f"{n} bytes"
