"""Every Redis key and channel name is built and parsed here.

All keys of one pad share the hash tag `{pad:<id>}`, so on a Redis Cluster a pad lives in one
slot and its scripts stay atomic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import NotFound

PAD_ID_PATTERN = r"[A-Za-z0-9_.\-]{1,100}"
_PAD_ID = re.compile(PAD_ID_PATTERN)

PAD_KEY_KINDS = ("log", "snap", "lease", "live")


def check_pad_id(pad_id: str) -> str:
    """Return `pad_id` if it is a valid pad id, else raise NotFound."""
    if not _PAD_ID.fullmatch(pad_id) or pad_id in (".", ".."):  # URLs cannot name "." or ".."
        raise NotFound(f"{pad_id[:120]!r} is not a pad id (1-100 of A-Z a-z 0-9 _ . -)")
    return pad_id


@dataclass(frozen=True, slots=True)
class PadKeys:
    """The keys of one pad under one prefix."""

    prefix: str
    pad_id: str

    def _key(self, kind: str) -> str:
        return f"{self.prefix}:{{pad:{self.pad_id}}}:{kind}"

    @property
    def log(self) -> str:
        """Stream of updates not yet folded into the snapshot."""
        return self._key("log")

    @property
    def snap(self) -> str:
        """Hash: `doc` (the folded state as one update) and `upto` (last log id folded in)."""
        return self._key("snap")

    @property
    def lease(self) -> str:
        """Compaction lease: the node id holding it, with an expiry."""
        return self._key("lease")

    @property
    def channel(self) -> str:
        """Pub/sub channel carrying a pad's updates and awareness between nodes."""
        return self._key("live")


def pad_keys(prefix: str, pad_id: str) -> PadKeys:
    return PadKeys(prefix, check_pad_id(pad_id))


_PAD_KEY = re.compile(
    r"(?P<prefix>[^{} ]+):\{pad:(?P<pad_id>" + PAD_ID_PATTERN + r")\}:(?P<kind>\w+)"
)


def parse_pad_key(key: str) -> tuple[str, str, str]:
    """(prefix, pad id, kind) of a pad key or channel; ValueError for anything else."""
    match = _PAD_KEY.fullmatch(key)
    if not match or match["kind"] not in PAD_KEY_KINDS:
        raise ValueError(f"not a summitpad pad key: {key!r}")
    return match["prefix"], match["pad_id"], match["kind"]
