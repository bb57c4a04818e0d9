"""The forms of `--redis-url`, checked once when the settings are read.

    redis://[user:password@]host[:port][/db]      one server (rediss:// with TLS)
    unix:///path/to/valkey.sock[?db=n]            one server on a unix socket
    redis+cluster://[user:password@]host1:port1,host2:port2,.../
                                                  a Redis Cluster, found through any of these
                                                  seed nodes (rediss+cluster:// with TLS;
                                                  valkey+cluster:// and valkeys+cluster:// are
                                                  the same)
    redis+sentinel://[user:password@]host1:26379,host2:26379,.../<service>[/db]
                                                  the primary of a Sentinel deployment, asked
                                                  of any of these sentinels by the name they
                                                  monitor it under (`sentinel monitor
                                                  <service> ...`); rediss+sentinel:// with TLS
                                                  to the sentinels and the servers alike;
                                                  valkey+sentinel:// and valkeys+sentinel://
                                                  are the same. Options, percent-encoded:
                                                  ?sentinel_username=..&sentinel_password=..

A cluster has no databases: its URL names none. Seeds need not be every node: the client asks
the first that answers for the whole cluster.

In a sentinel URL, `user:password@` log in to the primary (and so belong to the data servers);
the sentinels are asked without credentials unless `sentinel_password` (and, for an ACL user,
`sentinel_username`) is given. They are kept apart because a sentinel's `requirepass` is its
own, seldom the servers'; a deployment that shares one password gives it twice. A sentinel's
port defaults to 26379. Pad writes through a sentinel URL wait for a replica to confirm them
(see `redis_wait_replicas` in settings.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

from .errors import ConfigurationError

SINGLE_SCHEMES = ("redis", "rediss", "unix")
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster", "valkey+cluster", "valkeys+cluster")
SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel", "valkey+sentinel", "valkeys+sentinel")
SENTINEL_OPTIONS = ("sentinel_username", "sentinel_password")
DEFAULT_PORT = 6379
DEFAULT_SENTINEL_PORT = 26379
_SERVICE = re.compile(r"[A-Za-z0-9_.\-]+")


@dataclass(frozen=True, slots=True)
class ClusterURL:
    """A cluster URL taken apart: its seed nodes and how to log in."""

    seeds: tuple[tuple[str, int], ...]
    tls: bool
    username: str | None
    password: str | None


@dataclass(frozen=True, slots=True)
class SentinelURL:
    """A sentinel URL taken apart: the sentinels, the service they watch, how to log in."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int
    tls: bool
    username: str | None
    password: str | None = field(repr=False)
    sentinel_username: str | None
    sentinel_password: str | None = field(repr=False)


def _split(url: str) -> SplitResult:
    try:
        return urlsplit(url)
    except ValueError as exc:  # unbalanced [ ] of an IPv6 address
        raise ConfigurationError(f"redis_url cannot be read: {exc}") from exc


def is_cluster_url(url: str) -> bool:
    return _split(url).scheme.lower() in CLUSTER_SCHEMES


def is_sentinel_url(url: str) -> bool:
    return _split(url).scheme.lower() in SENTINEL_SCHEMES


def check_redis_url(url: str) -> None:
    """ConfigurationError, saying what is wrong, unless `url` is one of the forms above."""
    scheme = _split(url).scheme.lower()
    if scheme in CLUSTER_SCHEMES:
        parse_cluster_url(url)
    elif scheme in SENTINEL_SCHEMES:
        parse_sentinel_url(url)
    elif scheme not in SINGLE_SCHEMES:
        raise ConfigurationError(
            "redis_url must start with redis://, rediss:// or unix://; for a Redis Cluster, "
            "redis+cluster:// (rediss+cluster://, valkey+cluster://); for Sentinel, "
            "redis+sentinel:// (rediss+sentinel://, valkey+sentinel://)"
        )


def parse_cluster_url(url: str) -> ClusterURL:
    """The seed nodes and credentials of a cluster URL; ConfigurationError if it is not one."""
    parts = _split(url)
    scheme = parts.scheme.lower()
    if scheme not in CLUSTER_SCHEMES:
        raise ConfigurationError(f"not a cluster URL: it starts with {scheme}://")
    userinfo, _, hosts = parts.netloc.rpartition("@")
    username, has_password, password = userinfo.partition(":")
    if parts.path not in ("", "/"):
        raise ConfigurationError(
            "a cluster redis_url names no database: end it after the nodes "
            "(redis+cluster://host1:7000,host2:7001/)"
        )
    if parts.query or parts.fragment:
        raise ConfigurationError("a cluster redis_url takes no ?options or #fragment")
    seeds = tuple(_node(seed, "cluster seed node", DEFAULT_PORT) for seed in hosts.split(","))
    return ClusterURL(
        seeds=seeds,
        tls=scheme.startswith(("rediss", "valkeys")),
        username=unquote(username) or None,
        password=unquote(password) if has_password else None,
    )


def parse_sentinel_url(url: str) -> SentinelURL:
    """The sentinels, service, database and credentials of a sentinel URL; ConfigurationError,
    saying what is wrong, if it is not one."""
    parts = _split(url)
    scheme = parts.scheme.lower()
    if scheme not in SENTINEL_SCHEMES:
        raise ConfigurationError(f"not a sentinel URL: it starts with {scheme}://")
    userinfo, _, hosts = parts.netloc.rpartition("@")
    username, has_password, password = userinfo.partition(":")
    sentinels = tuple(
        _node(sentinel, "sentinel", DEFAULT_SENTINEL_PORT) for sentinel in hosts.split(",")
    )
    service, db = _service_and_db(parts.path)
    if parts.fragment:
        raise ConfigurationError("a sentinel redis_url takes no #fragment")
    options = _sentinel_options(parts.query)
    return SentinelURL(
        sentinels=sentinels,
        service=service,
        db=db,
        tls=scheme.startswith(("rediss", "valkeys")),
        username=unquote(username) or None,
        password=unquote(password) if has_password else None,
        sentinel_username=options.get("sentinel_username"),
        sentinel_password=options.get("sentinel_password"),
    )


def _service_and_db(path: str) -> tuple[str, int]:
    """The service name and database of a sentinel URL's path: /<service>[/<db>][/]."""
    segments = path.split("/")[1:]
    if segments and not segments[-1]:
        segments.pop()  # a trailing slash
    if not segments or not segments[0]:
        raise ConfigurationError(
            "a sentinel redis_url names the service after the sentinels: "
            "redis+sentinel://host1:26379,host2:26379/<service>[/<db>]"
        )
    if len(segments) > 2:
        raise ConfigurationError(
            f"a sentinel redis_url ends with /<service>[/<db>], not {path!r}"
        )
    service = segments[0]
    if not _SERVICE.fullmatch(service):
        raise ConfigurationError(
            f"sentinel service name {service!r}: use letters, digits, '_', '.' and '-'"
        )
    if len(segments) == 1:
        return service, 0
    db = segments[1]
    if not db.isdigit():
        raise ConfigurationError(
            f"the database of a sentinel redis_url is a number (0, 1, ...), not {db!r}"
        )
    return service, int(db)


def _sentinel_options(query: str) -> dict[str, str]:
    """The ?sentinel_username=..&sentinel_password=.. of a sentinel URL, unquoted."""
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError as exc:
        raise ConfigurationError(
            f"the options of a sentinel redis_url cannot be read: {exc}"
        ) from exc
    options: dict[str, str] = {}
    for name, value in pairs:
        if name not in SENTINEL_OPTIONS:
            raise ConfigurationError(
                f"a sentinel redis_url takes the options {' and '.join(SENTINEL_OPTIONS)}, "
                f"not {name!r}"
            )
        if name in options:
            raise ConfigurationError(f"a sentinel redis_url gives {name} twice")
        if not value:
            raise ConfigurationError(f"the {name} of a sentinel redis_url is empty")
        options[name] = value
    if "sentinel_username" in options and "sentinel_password" not in options:
        raise ConfigurationError(
            "a sentinel redis_url with sentinel_username needs sentinel_password too"
        )
    return options


def _node(text: str, what: str, default_port: int) -> tuple[str, int]:
    """host:port of one node ([v6]:port for IPv6; the port defaults to `default_port`)."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise ConfigurationError(f"{what} {text!r} is not [address]:port")
        port_text = rest[1:]
    else:
        host, _, port_text = text.partition(":")
    if not host or any(c in host for c in "/?#[] "):
        raise ConfigurationError(
            f"{what} {text!r} has no host: give host:port for each, separated by commas"
        )
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigurationError(f"{what} {text!r}: the port must be 1-65535")
    return host, int(port_text)
