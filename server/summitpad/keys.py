"""Every Redis key and channel name is built and parsed here.

Where the keys live on a Redis Cluster (a script, a MULTI/EXEC transaction and a multi-key
command may only touch keys of one slot):

- `{pad:<id>}`: every key of one pad (`PadKeys`) and its channel. Every Lua script touches
  the keys of one pad only (store.py, chat.py, history_store.py, pad_deletion.py), and
  publishes on that pad's channel with SPUBLISH, which on a cluster stays on the pad's shard.
  The organizers' notices go out on the same channels (admin_broadcast.py).
- `{summit:<slug>}`: every key of one summit (`SummitKeys`): a schedule change is one WATCH
  transaction, the search text one script.
- One key each, in slots of their own: the read-only ids' way back (`read_only_key`), the
  summit index, the cookie secret, accounts and their index, logins, API tokens, rate limits,
  presence and the node list. Nothing writes two of them at once: a node's presence is one
  transaction on its own hash, then the node list (presence.py); a pad's deletion removes its
  read-only way back with a script of its own (pad_deletion.py).
- Listing pads SCANs every primary (`store.stored_pad_ids`: redis-py's cluster client sends
  SCAN to each primary and follows each one's cursor).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import NotFound

PAD_ID_PATTERN = r"[A-Za-z0-9_.\-]{1,100}"
_PAD_ID = re.compile(PAD_ID_PATTERN)

PAD_KEY_KINDS = (
    "log", "snap", "lease", "live", "ro", "chat", "hist", "ckpt", "saved", "authors", "gone",
)


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

    @property
    def authors(self) -> str:
        """Hash: author id -> JSON of the name and colour they last wrote under."""
        return self._key("authors")

    @property
    def hist(self) -> str:
        """Stream of revisions, entry `0-<n>` for revision n (see history.py)."""
        return self._key("hist")

    @property
    def ckpt(self) -> str:
        """Sorted set of checkpoints: score n, member the revision number (8 bytes) + state."""
        return self._key("ckpt")

    @property
    def saved(self) -> str:
        """Hash of saved revisions: log id of their last entry -> JSON (label, who, when)."""
        return self._key("saved")

    @property
    def ro(self) -> str:
        """The pad's read-only id (see `read_only_key` for the way back)."""
        return self._key("ro")

    @property
    def chat(self) -> str:
        """Stream of the pad's chat messages (field `m`: JSON of author, name, colour, text)."""
        return self._key("chat")

    @property
    def stored(self) -> tuple[str, ...]:
        """Every key that holds the pad's data (all but the channel, the tombstone, and the
        chat counters, which expire by themselves): what deleting the pad deletes."""
        return tuple(self._key(kind) for kind in PAD_KEY_KINDS if kind not in ("live", "gone"))

    @property
    def gone(self) -> str:
        """The pad's tombstone, for a week after it was deleted: a writer that has seen the
        pad's entries may not write again (it would bring the pad back). The pad's next first
        write (a template, a creation, a new pad's first edit, a restore) removes it."""
        return self._key("gone")

    def chat_rate(self, participant_id: str) -> str:
        """Counter of the chat messages one participant sent to the pad lately (it expires).
        Not a kind of its own for `parse_pad_key`: there is one per participant."""
        return self._key(f"chatrate:{participant_id}")


def pad_keys(prefix: str, pad_id: str) -> PadKeys:
    return PadKeys(prefix, check_pad_id(pad_id))


def pad_key_pattern(prefix: str, kind: str) -> str:
    """A SCAN pattern for key `kind` of every pad under `prefix`. Its `*` matches more than pad
    ids: check each key found with `parse_pad_key`."""
    return f"{_glob_escaped(prefix)}:{{pad:*}}:{kind}"


def _glob_escaped(prefix: str) -> str:
    """`prefix` with the characters SCAN and PSUBSCRIBE patterns give a meaning escaped."""
    return re.sub(r"([\\*?\[\]])", r"\\\1", prefix)


_PAD_KEY = re.compile(
    r"(?P<prefix>[^{} ]+):\{pad:(?P<pad_id>" + PAD_ID_PATTERN + r")\}:(?P<kind>\w+)"
)


def parse_pad_key(key: str) -> tuple[str, str, str]:
    """(prefix, pad id, kind) of a pad key or channel; ValueError for anything else."""
    match = _PAD_KEY.fullmatch(key)
    if not match or match["kind"] not in PAD_KEY_KINDS:
        raise ValueError(f"not a summitpad pad key: {key!r}")
    return match["prefix"], match["pad_id"], match["kind"]


@dataclass(frozen=True, slots=True)
class SummitKeys:
    """The keys of one summit under one prefix; they share the hash tag `{summit:<slug>}`, so
    a schedule change is one transaction on a Redis Cluster too."""

    prefix: str
    slug: str

    def _key(self, kind: str) -> str:
        return f"{self.prefix}:{{summit:{self.slug}}}:{kind}"

    @property
    def meta(self) -> str:
        """JSON of the summit: name, dates, time zone, pad template, tracks, rooms."""
        return self._key("meta")

    @property
    def sessions(self) -> str:
        """Hash: session id -> JSON of the session."""
        return self._key("sessions")

    @property
    def version(self) -> str:
        """Counter, incremented by every change to the summit or its sessions."""
        return self._key("version")

    @property
    def text(self) -> str:
        """Hash: session id -> the plain text of its pad, for search."""
        return self._key("text")

    @property
    def text_version(self) -> str:
        """Counter, incremented by every change to `text`."""
        return self._key("textversion")

    def proposals_by(self, participant_id: str) -> str:
        """Counter of the proposals one participant made today (it expires)."""
        return self._key(f"proposals:{participant_id}")

    @property
    def text_changes(self) -> str:
        """Sorted set: session id -> the `text_version` of its latest change."""
        return self._key("textchanges")



def read_only_key(prefix: str, ro_id: str) -> str:
    """The pad id that read-only id `ro_id` shows."""
    return f"{prefix}:ro:{ro_id}"


def summit_index_key(prefix: str) -> str:
    """Set of the slugs of every summit."""
    return f"{prefix}:summits"


def secret_key(prefix: str) -> str:
    """The random key that signs cookies, shared by every node."""
    return f"{prefix}:secret"


def user_key(prefix: str, login: str) -> str:
    """Hash of one organizer or moderator account."""
    return f"{prefix}:user:{login}"


def user_index_key(prefix: str) -> str:
    return f"{prefix}:users"


def login_key(prefix: str, token_digest: str) -> str:
    """A logged-in browser's session: the login it belongs to, with an expiry."""
    return f"{prefix}:login:{token_digest}"


def api_token_key(prefix: str, token_digest: str) -> str:
    """An API token (by its SHA-256): the login it acts as."""
    return f"{prefix}:apitoken:{token_digest}"


def login_failures_key(prefix: str, login_digest: str) -> str:
    """Failed logins to one account name (by a digest of it) in the current window."""
    return f"{prefix}:loginfailures:{login_digest}"


def broadcast_rate_key(prefix: str, login: str) -> str:
    """Set while an organizer may not send another notice yet (it expires)."""
    return f"{prefix}:broadcastrate:{login}"


def presence_key(prefix: str, node_id: str) -> str:
    """Hash of one node: pad id -> connections it has to that pad. Expires with the node."""
    return f"{prefix}:presence:{node_id}"


def nodes_key(prefix: str) -> str:
    """Sorted set of node ids, scored by the time each last reported its presence."""
    return f"{prefix}:nodes"
