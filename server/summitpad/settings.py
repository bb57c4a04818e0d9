"""Every setting in one registry, one frozen `Settings` object, and where it comes from.

Precedence: command-line option > `SUMMITPAD_<NAME>` environment variable > default. Only
`Settings.from_env()` reads the environment.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigurationError
from .redis_url import check_redis_url, is_cluster_url, is_sentinel_url
from .security_headers import check_frame_ancestors

ENV_PREFIX = "SUMMITPAD_"
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")
APPENDFSYNC = ("always", "everysec", "no")
_NODE_ID = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_API_KEY = re.compile(r"[!-~]{16,}")  # printable ASCII, no blanks
_COUNTS = ("redis_wait_replicas",)  # numbers that may be 0 (checked on their own)


def _default_data_dir() -> str:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local/share")
    return os.path.join(base, "summitpad")


def _setting(default: Any, help: str, *, secret: bool = False) -> Any:
    """A setting; a `secret` one stays out of the settings' repr (and so out of logs)."""
    return field(default=default, metadata={"help": help}, repr=not secret)


@dataclass(frozen=True)
class Settings:
    host: str = _setting("127.0.0.1", "Address to listen on.")
    port: int = _setting(8080, "TCP port to listen on.")
    redis_url: str = _setting(
        "",
        "Valkey/Redis to use (redis://, rediss:// or unix://), a Redis Cluster through its "
        "seed nodes (redis+cluster://host1:7000,host2:7001/), or the primary of a Sentinel "
        "deployment (redis+sentinel://host1:26379,host2:26379/mymaster). Empty: start the "
        "embedded Valkey.",
    )
    redis_wait_replicas: int = _setting(
        -1,
        "Replicas that must confirm each pad write (WAIT) before it is echoed; a write they do "
        "not confirm within a second is held back and retried, so a failover loses no echoed "
        "edit. -1: 1 with a sentinel URL, else 0. Must be 0 with a cluster URL.",
    )
    data_dir: str = _setting(
        "", "Directory of the embedded Valkey's files. Empty: $XDG_DATA_HOME/summitpad."
    )
    appendfsync: str = _setting(
        "everysec", "Embedded Valkey's AOF fsync policy: always, everysec or no."
    )
    key_prefix: str = _setting(
        "sp", "Prefix of every Redis key, so several deployments can share one server."
    )
    public_url: str = _setting(
        "",
        "Base URL users reach this server at, for QR codes, join links and calendar events. "
        "Empty: the address each request came to.",
    )
    frame_ancestors: str = _setting(
        "",
        "Origins whose pages may show summitpad in a frame (a wiki or signage system that "
        "embeds a room's page), as scheme://host[:port], separated by spaces: "
        "https://wiki.example.org. Empty: no site may frame it.",
    )
    max_message_size: int = _setting(
        2 * 1024 * 1024, "Largest websocket message a client may send, in bytes."
    )
    send_buffer_limit: int = _setting(
        4 * 1024 * 1024,
        "Bytes queued for one connection before it counts as too slow and is closed.",
    )
    client_timeout: float = _setting(
        45.0,
        "Seconds a connection may go without sending a whole message or answering a ping "
        "before it is closed (1006); it is pinged after two thirds of this.",
    )
    http_idle_timeout: float = _setting(
        75.0,
        "Seconds a connection may take to send a request's headers, or stay idle between "
        "requests, before it is closed (a connection that never finishes a request would "
        "otherwise hold a socket for an hour). Websockets are not affected.",
    )
    messages_per_second: float = _setting(
        100.0, "Sustained messages one connection may send per second."
    )
    message_burst: int = _setting(1000, "Messages one connection may send in a burst.")
    participant_messages_per_second: float = _setting(
        300.0,
        "Sustained messages one participant (one browser's cookie) may send per second over "
        "all its connections to this node, whatever pads they are on.",
    )
    participant_message_burst: int = _setting(
        3000, "Messages one participant may send in a burst over all its connections to this node."
    )
    max_connections_per_participant: int = _setting(
        20,
        "Connections one participant (one browser's cookie: its tabs, a projector) may hold "
        "open at once on this node; over several nodes it may hold this many on each.",
    )
    max_pad_size: int = _setting(
        10 * 1024 * 1024,
        "Largest a pad's stored state may grow, in bytes: an edit or import that would take it "
        "past this is refused and not saved.",
    )
    compact_after: int = _setting(
        200, "Pad log entries after which the log is folded into the snapshot."
    )
    pad_unload_delay: float = _setting(
        30.0, "Seconds a live pad stays in memory after its last connection leaves."
    )
    keepalive_interval: float = _setting(
        10.0, "Seconds of silence after which a connection is sent a keepalive message."
    )
    grace_period: float = _setting(
        900.0, "Seconds after a session's end during which its pad stays writable."
    )
    log_level: str = _setting("info", "Log level: debug, info, warning or error.")
    log_format: str = _setting(
        "text",
        "Log format: text (one readable line per event) or json (one JSON object per line: "
        "time, level, logger, message and the event's own fields).",
    )
    node_id: str = _setting(
        "",
        "Name of this process among the nodes sharing one Valkey; each node needs its own "
        "(a node ignores messages that carry its name). Empty: random.",
    )
    etherpad_api_key: str = _setting(
        "",
        "Key of the Etherpad-compatible API at /api/1.2.15/ (at least 16 characters; "
        "give it in the environment, not on the command line). Empty: that API is off.",
        secret=True,
    )

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigurationError(f"port must be 1-65535, not {self.port}")
        if self.log_level.lower() not in LOG_LEVELS:
            raise ConfigurationError(f"log_level must be one of {', '.join(LOG_LEVELS)}")
        if self.log_format not in LOG_FORMATS:
            raise ConfigurationError(f"log_format must be one of {', '.join(LOG_FORMATS)}")
        if self.appendfsync not in APPENDFSYNC:
            raise ConfigurationError(f"appendfsync must be one of {', '.join(APPENDFSYNC)}")
        if self.redis_url:
            check_redis_url(self.redis_url)
        object.__setattr__(self, "frame_ancestors", check_frame_ancestors(self.frame_ancestors))
        self._resolve_wait_replicas()
        if not self.key_prefix or any(c in self.key_prefix for c in "{} "):
            raise ConfigurationError("key_prefix must be non-empty, without braces or spaces")
        object.__setattr__(self, "log_level", self.log_level.lower())
        for spec in dataclasses.fields(self):
            value = getattr(self, spec.name)
            if spec.name in _COUNTS:
                continue
            if isinstance(value, int | float) and not value > 0:
                raise ConfigurationError(f"{spec.name} must be a positive number, not {value}")
            if isinstance(value, float) and math.isinf(value):
                raise ConfigurationError(f"{spec.name} must be finite")
        if not self.data_dir:
            object.__setattr__(self, "data_dir", _default_data_dir())
        if not self.node_id:
            object.__setattr__(self, "node_id", secrets.token_hex(4))
        if not _NODE_ID.fullmatch(self.node_id):
            raise ConfigurationError("node_id must be 1-64 of A-Z a-z 0-9 _ . -")
        if self.etherpad_api_key and not _API_KEY.fullmatch(self.etherpad_api_key):
            raise ConfigurationError(
                "etherpad_api_key must be at least 16 printable ASCII characters without blanks "
                "(make one with `openssl rand -hex 32`)"
            )
        if not self.public_url:
            object.__setattr__(self, "public_url", f"http://{self.host}:{self.port}")
        object.__setattr__(self, "public_url", self.public_url.rstrip("/"))

    def _resolve_wait_replicas(self) -> None:
        """-1 becomes 1 for a sentinel URL, where a failover is routine, else 0. Never with a
        cluster URL: WAIT must follow a write on the connection that made it, and the cluster
        client sends a command without keys (WAIT) to any node. Never without a redis URL: the
        embedded Valkey has no replicas."""
        wait = self.redis_wait_replicas
        if wait < -1:
            raise ConfigurationError(
                f"redis_wait_replicas must be 0 or more (or -1: 1 with a sentinel URL, else 0), "
                f"not {wait}"
            )
        if wait == -1:
            wait = 1 if self.redis_url and is_sentinel_url(self.redis_url) else 0
            object.__setattr__(self, "redis_wait_replicas", wait)
        if wait and not self.redis_url:
            raise ConfigurationError(
                "redis_wait_replicas needs a redis_url: the embedded Valkey has no replicas"
            )
        if wait and is_cluster_url(self.redis_url):
            raise ConfigurationError(
                "redis_wait_replicas must be 0 with a cluster redis_url: summitpad cannot wait "
                "for a cluster's replicas"
            )

    @property
    def public_url_given(self) -> bool:
        """False while the public URL is only the default made from host and port."""
        return self.public_url != f"http://{self.host}:{self.port}"

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser()

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> Settings:
        """Settings from `SUMMITPAD_*` variables, then `overrides` (None values are skipped)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for spec in dataclasses.fields(cls):
            raw = environ.get(ENV_PREFIX + spec.name.upper())
            if raw is not None:
                values[spec.name] = _parse(spec, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _parse(spec: dataclasses.Field[Any], raw: str) -> Any:
    kind: type[Any] = type(spec.default)
    try:
        return kind(raw)
    except ValueError as exc:
        raise ConfigurationError(
            f"{ENV_PREFIX}{spec.name.upper()}={raw!r} is not a valid {kind.__name__}"
        ) from exc


def describe() -> list[tuple[str, str, Any, str]]:
    """(name, environment variable, default, help) of every setting, in declaration order."""
    return [
        (f.name, ENV_PREFIX + f.name.upper(), f.default, f.metadata["help"])
        for f in dataclasses.fields(Settings)
    ]
