"""The sentinel form of `--redis-url`, and `--redis-wait-replicas` that goes with it."""

from __future__ import annotations

import re

import pytest
from redis.asyncio.sentinel import MasterNotFoundError
from redis.exceptions import ReadOnlyError
from summitpad.errors import ConfigurationError
from summitpad.redis_url import parse_sentinel_url
from summitpad.sentinel import BlockingSentinelConnectionPool, SentinelPrimary
from summitpad.settings import ENV_PREFIX, Settings
from summitpad.store import MAX_CONNECTIONS, UNAVAILABLE, connect


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel://h1:26379,h2:26380/pads",
        "redis+sentinel://h1/pads/",
        "rediss+sentinel://user:pw@h1:26379/pads/3",
        "valkey+sentinel://[::1]:26379,h2/summit-2026.pads",
        "valkeys+sentinel://h1/pads?sentinel_password=s%26cret",
        "redis+sentinel://h1/pads?sentinel_username=watch&sentinel_password=pw",
    ],
)
def test_good_sentinel_urls(url: str) -> None:
    assert Settings(redis_url=url).redis_url == url


def test_a_sentinel_url_names_its_sentinels_service_and_logins() -> None:
    url = parse_sentinel_url(
        "rediss+sentinel://ops:s%40cret@db1:26380,[::1],db3/pads/2"
        "?sentinel_username=watch&sentinel_password=p%2Bw"
    )
    assert url.sentinels == (("db1", 26380), ("::1", 26379), ("db3", 26379))
    assert url.service == "pads" and url.db == 2 and url.tls
    assert url.username == "ops" and url.password == "s@cret"
    assert url.sentinel_username == "watch" and url.sentinel_password == "p+w"
    assert "s@cret" not in repr(url) and "p+w" not in repr(url)
    plain = parse_sentinel_url("valkey+sentinel://db1/pads")
    assert plain.db == 0 and not plain.tls
    assert plain.username is plain.password is None
    assert plain.sentinel_username is plain.sentinel_password is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis+sentinel://h1:26379", "names the service after the sentinels"),
        ("redis+sentinel://h1:26379/", "names the service after the sentinels"),
        ("redis+sentinel://h1:26379//2", "names the service after the sentinels"),
        ("redis+sentinel:///pads", "sentinel '' has no host"),
        ("redis+sentinel://h1,,h2/pads", "sentinel '' has no host"),
        ("redis+sentinel://h1:port/pads", "sentinel 'h1:port': the port must be 1-65535"),
        ("redis+sentinel://h1:0/pads", "the port must be 1-65535"),
        ("redis+sentinel://h1:65536/pads", "the port must be 1-65535"),
        ("redis+sentinel://[::1]x/pads", "is not [address]:port"),
        ("redis+sentinel://[::1/pads", "cannot be read"),
        ("redis+sentinel://h1/pads/x", "the database of a sentinel redis_url is a number"),
        ("redis+sentinel://h1/pads/-1", "is a number (0, 1, ...), not '-1'"),
        ("redis+sentinel://h1/pads/1/2", "ends with /<service>[/<db>], not '/pads/1/2'"),
        ("redis+sentinel://h1/pa%20ds", "sentinel service name 'pa%20ds'"),
        ("redis+sentinel://h1/pads?db=1", "takes the options sentinel_username and"),
        ("redis+sentinel://h1/pads?ssl=true", "not 'ssl'"),
        ("redis+sentinel://h1/pads?sentinel_password", "cannot be read"),
        ("redis+sentinel://h1/pads?sentinel_password=", "sentinel_password of a sentinel"),
        (
            "redis+sentinel://h1/pads?sentinel_password=a&sentinel_password=b",
            "gives sentinel_password twice",
        ),
        ("redis+sentinel://h1/pads?sentinel_username=u", "needs sentinel_password too"),
        ("redis+sentinel://h1/pads#primary", "takes no #fragment"),
        ("sentinel://h1/pads", "; for Sentinel, redis+sentinel://"),
    ],
)
def test_bad_sentinel_urls_are_configuration_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        Settings(redis_url=url)
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        Settings.from_env({ENV_PREFIX + "REDIS_URL": url})


@pytest.mark.parametrize(
    ("url", "replicas"),
    [
        ("redis+sentinel://h1/pads", 1),
        ("valkeys+sentinel://h1/pads", 1),
        ("redis://h1:6379/0", 0),
        ("unix:///run/valkey.sock", 0),
        ("redis+cluster://h1:7000/", 0),
        ("", 0),
    ],
)
def test_writes_wait_for_one_replica_by_default_through_sentinel(
    url: str, replicas: int
) -> None:
    assert Settings(redis_url=url).redis_wait_replicas == replicas


def test_the_replicas_to_wait_for_can_be_set() -> None:
    sentinel = "redis+sentinel://h1/pads"
    assert Settings(redis_url=sentinel, redis_wait_replicas=0).redis_wait_replicas == 0
    assert Settings(redis_url=sentinel, redis_wait_replicas=2).redis_wait_replicas == 2
    assert Settings(redis_url="redis://h1", redis_wait_replicas=1).redis_wait_replicas == 1
    from_env = Settings.from_env(
        {ENV_PREFIX + "REDIS_URL": sentinel, ENV_PREFIX + "REDIS_WAIT_REPLICAS": "2"}
    )
    assert from_env.redis_wait_replicas == 2


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"redis_wait_replicas": -2}, "redis_wait_replicas must be 0 or more"),
        ({"redis_wait_replicas": 1}, "needs a redis_url: the embedded Valkey has no replicas"),
        (
            {"redis_wait_replicas": 1, "redis_url": "redis+cluster://h1:7000/"},
            "must be 0 with a cluster redis_url",
        ),
    ],
)
def test_replicas_that_cannot_be_waited_for_are_refused(values: dict, message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        Settings(**values)


async def test_a_sentinel_url_gives_a_bounded_waiting_client_of_the_primary() -> None:
    client = connect("redis+sentinel://127.0.0.1:1,127.0.0.1:2/pads/4")
    try:
        assert isinstance(client, SentinelPrimary)
        pool = client.connection_pool
        assert isinstance(pool, BlockingSentinelConnectionPool)
        assert pool.service_name == "pads" and pool.is_master
        assert pool.max_connections == MAX_CONNECTIONS and pool.timeout == 10
        assert pool.connection_kwargs["db"] == 4
        assert pool.connection_kwargs["socket_timeout"] == 5
        # No sentinel listens there: the client says the store is unavailable, not more.
        with pytest.raises(UNAVAILABLE) as caught:
            await client.ping()
        assert isinstance(caught.value, MasterNotFoundError)
    finally:
        await client.aclose()


def test_a_failover_is_the_store_being_unavailable() -> None:
    # A write to a demoted primary; no sentinel naming a primary (during an election).
    assert issubclass(ReadOnlyError, UNAVAILABLE)
    assert issubclass(MasterNotFoundError, UNAVAILABLE)
