"""The forms of `--redis-url`, checked once when the settings are read.

    redis://[user:password@]host[:port][/db]      one server (rediss:// with TLS)
    unix:///path/to/valkey.sock[?db=n]            one server on a unix socket
    redis+cluster://[user:password@]host1:port1,host2:port2,.../
                                                  a Redis Cluster, found through any of these
                                                  seed nodes (rediss+cluster:// with TLS;
                                                  valkey+cluster:// and valkeys+cluster:// are
                                                  the same)

A cluster has no databases: its URL names none. Seeds need not be every node: the client asks
the first that answers for the whole cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlsplit

from .errors import ConfigurationError

SINGLE_SCHEMES = ("redis", "rediss", "unix")
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster", "valkey+cluster", "valkeys+cluster")
DEFAULT_PORT = 6379


@dataclass(frozen=True, slots=True)
class ClusterURL:
    """A cluster URL taken apart: its seed nodes and how to log in."""

    seeds: tuple[tuple[str, int], ...]
    tls: bool
    username: str | None
    password: str | None


def _split(url: str) -> SplitResult:
    try:
        return urlsplit(url)
    except ValueError as exc:  # unbalanced [ ] of an IPv6 address
        raise ConfigurationError(f"redis_url cannot be read: {exc}") from exc


def is_cluster_url(url: str) -> bool:
    return _split(url).scheme.lower() in CLUSTER_SCHEMES


def check_redis_url(url: str) -> None:
    """ConfigurationError, saying what is wrong, unless `url` is one of the forms above."""
    scheme = _split(url).scheme.lower()
    if scheme in CLUSTER_SCHEMES:
        parse_cluster_url(url)
    elif scheme not in SINGLE_SCHEMES:
        raise ConfigurationError(
            "redis_url must start with redis://, rediss://, unix:// or, for a Redis Cluster, "
            "redis+cluster:// (rediss+cluster://, valkey+cluster://)"
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
    seeds = tuple(_seed(seed) for seed in hosts.split(","))
    return ClusterURL(
        seeds=seeds,
        tls=scheme.startswith(("rediss", "valkeys")),
        username=unquote(username) or None,
        password=unquote(password) if has_password else None,
    )


def _seed(text: str) -> tuple[str, int]:
    """host:port of one seed node ([v6]:port for IPv6; the port defaults to 6379)."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise ConfigurationError(f"cluster seed node {text!r} is not [address]:port")
        port_text = rest[1:]
    else:
        host, _, port_text = text.partition(":")
    if not host or any(c in host for c in "/?#[] "):
        raise ConfigurationError(
            f"cluster seed node {text!r} has no host: give host:port for each node, "
            "separated by commas"
        )
    if not port_text:
        return host, DEFAULT_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigurationError(f"cluster seed node {text!r}: the port must be 1-65535")
    return host, int(port_text)
