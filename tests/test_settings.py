"""Settings: defaults, the environment, overrides, validation, and their documentation."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from summitpad import cli
from summitpad.errors import ConfigurationError, SummitpadError
from summitpad.redis_url import parse_cluster_url
from summitpad.settings import ENV_PREFIX, Settings, describe

FIELDS = dataclasses.fields(Settings)
FIELD_NAMES = [f.name for f in FIELDS]
SUMMITPAD = Path(sys.executable).with_name("summitpad")

# A raw environment value for every setting, and what it must become.
ENV_SAMPLES: dict[str, tuple[str, Any]] = {
    "host": ("0.0.0.0", "0.0.0.0"),
    "port": ("9001", 9001),
    "redis_url": ("redis://db.example:6380/2", "redis://db.example:6380/2"),
    "redis_wait_replicas": ("0", 0),
    "data_dir": ("/srv/summitpad", "/srv/summitpad"),
    "appendfsync": ("always", "always"),
    "key_prefix": ("summit26", "summit26"),
    "public_url": ("https://pads.example.org/", "https://pads.example.org"),
    "frame_ancestors": (
        " https://wiki.example.org  http://10.1.2.3:8080 ",
        "https://wiki.example.org http://10.1.2.3:8080",
    ),
    "max_message_size": ("1048576", 1048576),
    "send_buffer_limit": ("65536", 65536),
    "client_timeout": ("6", 6.0),
    "http_idle_timeout": ("20", 20.0),
    "messages_per_second": ("12.5", 12.5),
    "message_burst": ("40", 40),
    "participant_messages_per_second": ("37.5", 37.5),
    "participant_message_burst": ("120", 120),
    "max_connections_per_participant": ("5", 5),
    "max_pad_size": ("1048576", 1048576),
    "compact_after": ("7", 7),
    "pad_unload_delay": ("0.25", 0.25),
    "keepalive_interval": ("3", 3.0),
    "grace_period": ("60", 60.0),
    "log_level": ("debug", "debug"),
    "log_format": ("json", "json"),
    "node_id": ("node-a", "node-a"),
    "etherpad_api_key": ("0123456789abcdef0123", "0123456789abcdef0123"),
}


def env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


def test_samples_cover_every_setting() -> None:
    assert set(ENV_SAMPLES) == set(FIELD_NAMES)


# -- defaults -----------------------------------------------------------------------------------


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    settings = Settings()
    assert settings.host == "127.0.0.1"
    assert settings.port == 8080
    assert settings.redis_url == ""
    assert settings.data_dir == os.path.join(str(tmp_path), "summitpad")
    assert settings.data_path == tmp_path / "summitpad"
    assert settings.appendfsync == "everysec"
    assert settings.key_prefix == "sp"
    assert settings.public_url == "http://127.0.0.1:8080"
    assert settings.max_message_size == 2 * 1024 * 1024
    assert settings.send_buffer_limit == 4 * 1024 * 1024
    assert settings.messages_per_second == 100.0
    assert settings.message_burst == 1000
    assert settings.compact_after == 200
    assert settings.pad_unload_delay == 30.0
    assert settings.keepalive_interval == 10.0
    assert settings.log_level == "info"
    assert settings.log_format == "text"
    assert len(settings.node_id) == 8 and int(settings.node_id, 16) >= 0


def test_data_dir_default_without_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Settings().data_dir == str(tmp_path / ".local/share/summitpad")


def test_node_ids_are_random_unless_set() -> None:
    assert Settings().node_id != Settings().node_id
    assert Settings(node_id="n1").node_id == "n1"


def test_public_url_follows_host_and_port_and_loses_its_slash() -> None:
    assert Settings(host="10.0.0.5", port=9000).public_url == "http://10.0.0.5:9000"
    assert Settings(public_url="https://pads.example.org///").public_url == (
        "https://pads.example.org"
    )


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().port = 1  # type: ignore[misc]


# -- the environment ----------------------------------------------------------------------------


def test_from_env_with_an_empty_environment_gives_the_defaults() -> None:
    from_env = Settings.from_env({}, node_id="x", data_dir="/d")
    assert from_env == Settings(node_id="x", data_dir="/d")


@pytest.mark.parametrize("name", FIELD_NAMES)
def test_from_env_reads_each_setting(name: str) -> None:
    raw, expected = ENV_SAMPLES[name]
    settings = Settings.from_env({env_name(name): raw})
    value = getattr(settings, name)
    assert value == expected
    assert type(value) is type(expected)


def test_from_env_reads_all_settings_at_once() -> None:
    environ = {env_name(name): raw for name, (raw, _) in ENV_SAMPLES.items()}
    settings = Settings.from_env(environ)
    for name, (_, expected) in ENV_SAMPLES.items():
        assert getattr(settings, name) == expected, name


def test_from_env_ignores_other_variables() -> None:
    environ = {
        "PORT": "1",
        "SUMMITPAD_port": "2",  # names are upper case
        "SUMMITPAD_UNKNOWN": "3",
        "SUMMITPADPORT": "4",
        "XSUMMITPAD_PORT": "5",
    }
    assert Settings.from_env(environ).port == 8080


def test_from_env_reads_the_process_environment_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SUMMITPAD_PORT", "9123")
    assert Settings.from_env().port == 9123
    assert Settings.from_env({}).port == 8080  # an explicit mapping replaces os.environ


def test_settings_constructor_does_not_read_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SUMMITPAD_PORT", "9123")
    assert Settings().port == 8080


def test_overrides_beat_the_environment() -> None:
    environ = {"SUMMITPAD_PORT": "9001", "SUMMITPAD_LOG_LEVEL": "debug"}
    settings = Settings.from_env(environ, port=9002, host="::1")
    assert settings.port == 9002
    assert settings.host == "::1"
    assert settings.log_level == "debug"  # not overridden: from the environment


def test_none_overrides_are_skipped() -> None:
    environ = {"SUMMITPAD_PORT": "9001"}
    settings = Settings.from_env(environ, port=None, host=None, log_level=None)
    assert settings.port == 9001
    assert settings.host == "127.0.0.1"


def test_an_override_can_fix_a_bad_environment_value_only_if_parsing_succeeds() -> None:
    # The environment is parsed before overrides apply: a broken variable is reported even
    # when an option replaces it, so a typo in the environment is never silently ignored.
    with pytest.raises(ConfigurationError, match="SUMMITPAD_PORT"):
        Settings.from_env({"SUMMITPAD_PORT": "http"}, port=9000)
    assert Settings.from_env({"SUMMITPAD_PORT": "0"}, port=9000).port == 9000


# -- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"port": 0}, "port must be 1-65535, not 0"),
        ({"port": -1}, "port must be 1-65535"),
        ({"port": 65536}, "port must be 1-65535, not 65536"),
        ({"log_level": "verbose"}, "log_level must be one of debug, info, warning, error"),
        ({"log_level": ""}, "log_level must be one of"),
        ({"log_format": "xml"}, "log_format must be one of text, json"),
        ({"log_format": "JSON"}, "log_format must be one of text, json"),
        ({"appendfsync": "sometimes"}, "appendfsync must be one of always, everysec, no"),
        ({"redis_url": "http://localhost:6379"}, "redis_url must start with redis://"),
        ({"redis_url": "localhost:6379"}, "redis_url must start with redis://"),
        ({"redis_url": "valkey://localhost"}, "redis_url must start with redis://"),
        ({"key_prefix": ""}, "key_prefix must be non-empty"),
        ({"key_prefix": "a b"}, "without braces or spaces"),
        ({"key_prefix": "{x}"}, "without braces or spaces"),
        ({"max_message_size": 0}, "max_message_size must be a positive number"),
        ({"send_buffer_limit": -1}, "send_buffer_limit must be a positive number"),
        ({"message_burst": 0}, "message_burst must be a positive number"),
        ({"compact_after": 0}, "compact_after must be a positive number"),
        ({"frame_ancestors": "wiki.example.org"}, "frame_ancestors: 'wiki.example.org' is not"),
        ({"frame_ancestors": "https://wiki.example.org/"}, "is not an origin"),
        ({"frame_ancestors": "https://*.example.org"}, "is not an origin"),
        ({"frame_ancestors": "'self'"}, "is not an origin"),
        ({"frame_ancestors": "ftp://files.example.org"}, "is not an origin"),
        ({"frame_ancestors": "https://a.org;script-src"}, "is not an origin"),
        ({"frame_ancestors": "https://a.org:0"}, "is not an origin"),
        ({"frame_ancestors": "https://a.org:65536"}, "is not an origin"),
    ],
)
def test_bad_values_raise_configuration_error(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message.replace("+", r"\+")) as caught:
        Settings(**values)
    assert isinstance(caught.value, SummitpadError)
    assert caught.value.title == "Configuration error"
    # The same value through the environment fails the same way.
    ((name, value),) = values.items()
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_env({env_name(name): str(value)})


@pytest.mark.parametrize(
    "url",
    [
        "redis://localhost", "rediss://h:6380/1", "unix:///run/valkey.sock", "",
        "redis+cluster://h1:7000,h2:7001,h3:7002/", "valkey+cluster://h1:7000",
        "rediss+cluster://user:pw@h1:7000,[::1]:7001/", "redis+cluster://h1,h2/",
    ],
)
def test_good_redis_urls(url: str) -> None:
    assert Settings(redis_url=url).redis_url == url


def test_a_cluster_url_names_its_seed_nodes() -> None:
    url = parse_cluster_url("rediss+cluster://ops:s%40cret@db1:7000,[::1]:7001,db3/")
    assert url.seeds == (("db1", 7000), ("::1", 7001), ("db3", 6379))
    assert url.tls and url.username == "ops" and url.password == "s@cret"
    plain = parse_cluster_url("valkey+cluster://db1:7000")
    assert not plain.tls and plain.username is None and plain.password is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis+cluster://", "has no host"),
        ("redis+cluster://h1:7000,,h2:7001/", "has no host"),
        ("redis+cluster://h1:7000,h2:port/", "the port must be 1-65535"),
        ("redis+cluster://h1:70000/", "the port must be 1-65535"),
        ("redis+cluster://h1:7000/2", "names no database"),
        ("redis+cluster://h1:7000/?ssl=1", "takes no ?options"),
        ("redis+cluster://[::1/", "cannot be read"),
        ("redis+cluster://[::1]x/", "is not [address]:port"),
        ("cluster://h1:7000", "redis_url must start with redis://"),
    ],
)
def test_bad_cluster_urls_are_configuration_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        Settings(redis_url=url)
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        Settings.from_env({env_name("redis_url"): url})


@pytest.mark.parametrize(
    ("name", "raw", "kind"),
    [
        ("port", "abc", "int"),
        ("port", "80.5", "int"),
        ("port", "", "int"),
        ("port", "8080x", "int"),
        ("max_message_size", "2MB", "int"),
        ("messages_per_second", "fast", "float"),
        ("keepalive_interval", "", "float"),
    ],
)
def test_unparseable_environment_values(name: str, raw: str, kind: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({env_name(name): raw})
    assert str(caught.value) == f"{env_name(name)}={raw!r} is not a valid {kind}"
    assert isinstance(caught.value.__cause__, ValueError)


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("keepalive_interval", "0"),
        ("keepalive_interval", "-1"),
        ("keepalive_interval", "nan"),
        ("messages_per_second", "0"),
        ("messages_per_second", "-5"),
        ("messages_per_second", "nan"),
        ("pad_unload_delay", "nan"),
    ],
)
def test_nonsensical_float_settings_are_rejected(name: str, raw: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({env_name(name): raw})


# -- documentation ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FIELD_NAMES)
def test_every_setting_has_help_text(name: str) -> None:
    (spec,) = [f for f in FIELDS if f.name == name]
    help_text = spec.metadata.get("help")
    assert isinstance(help_text, str), f"setting {name} has no help text"
    assert len(help_text.strip()) >= 10, f"setting {name}: help text too short"
    assert help_text.rstrip().endswith("."), f"setting {name}: help should be a sentence"


def test_every_setting_has_a_default() -> None:
    for spec in FIELDS:
        assert spec.default is not dataclasses.MISSING, spec.name
        assert type(spec.default) in (str, int, float), spec.name


def test_describe_lists_every_setting_in_order() -> None:
    described = describe()
    assert [row[0] for row in described] == FIELD_NAMES
    for (name, env, default, help_text), spec in zip(described, FIELDS, strict=True):
        assert env == env_name(name)
        assert default == spec.default
        assert help_text == spec.metadata["help"]


def test_help_settings_lists_every_setting_and_its_env_var() -> None:
    result = subprocess.run(
        [str(SUMMITPAD), "serve", "--help-settings"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SUMMITPAD_PORT": "not a port"},  # not parsed for --help-settings
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for name, env, default, help_text in describe():
        assert f"\n{name}\n" in f"\n{out}", f"{name} missing from --help-settings"
        assert env in out, f"{env} missing from --help-settings"
        assert help_text in out, f"help of {name} missing from --help-settings"
        if default != "":
            assert f"{env}  default: {default}" in out
        else:
            assert f"{env}  default: (see help)" in out


def test_help_settings_through_click() -> None:
    result = CliRunner().invoke(cli.main, ["serve", "--help-settings"])
    assert result.exit_code == 0, result.output
    for name, env, _, _ in describe():
        assert name in result.output and env in result.output


def test_serve_help_has_an_option_per_setting() -> None:
    result = CliRunner().invoke(cli.main, ["serve", "--help"], terminal_width=1000)
    assert result.exit_code == 0, result.output
    for name in FIELD_NAMES:
        assert "--" + name.replace("_", "-") in result.output
        assert f"[env {env_name(name)}]" in result.output


# -- the command line: options > environment > defaults -----------------------------------------


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    """Run `serve` up to the point it would start the server, and keep its settings."""
    seen: list[Settings] = []

    async def fake_serve(settings: Settings) -> None:
        seen.append(settings)

    monkeypatch.setattr(cli, "_serve", fake_serve)
    monkeypatch.setattr(cli, "_configure_logging", lambda level: None)
    return seen


def test_cli_options_beat_environment_beat_defaults(captured: list[Settings]) -> None:
    result = CliRunner().invoke(
        cli.main,
        ["serve", "--port", "9002", "--messages-per-second", "2.5"],
        env={"SUMMITPAD_PORT": "9001", "SUMMITPAD_KEY_PREFIX": "fromenv"},
    )
    assert result.exit_code == 0, result.output
    (settings,) = captured
    assert settings.port == 9002
    assert settings.messages_per_second == 2.5
    assert settings.key_prefix == "fromenv"
    assert settings.log_level == "info"


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--port", "0"], {}, "port must be 1-65535, not 0"),
        (["--log-level", "loud"], {}, "log_level must be one of"),
        (["--redis-url", "http://x"], {}, "redis_url must start with redis://"),
        ([], {"SUMMITPAD_PORT": "abc"}, "SUMMITPAD_PORT='abc' is not a valid int"),
        ([], {"SUMMITPAD_APPENDFSYNC": "never"}, "appendfsync must be one of"),
    ],
)
def test_cli_reports_bad_settings(
    captured: list[Settings], args: list[str], env: dict[str, str], message: str
) -> None:
    result = CliRunner().invoke(cli.main, ["serve", *args], env=env)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert captured == []  # the server never started


@pytest.mark.parametrize("node_id", ["has space", "x" * 65, "a{b}"])
def test_node_ids_that_would_break_fan_out_messages_are_refused(node_id: str) -> None:
    with pytest.raises(ConfigurationError, match="node_id"):
        Settings(node_id=node_id)
