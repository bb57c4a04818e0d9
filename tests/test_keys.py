"""Pad ids, and the Redis keys and channels built from them."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from summitpad.errors import NotFound
from summitpad.keys import PAD_KEY_KINDS, PadKeys, check_pad_id, pad_keys, parse_pad_key

ALLOWED = string.ascii_letters + string.digits + "_.-"

pad_ids = st.text(alphabet=ALLOWED, min_size=1, max_size=100).filter(lambda p: p not in (".", ".."))
prefixes = st.text(
    alphabet=st.characters(blacklist_characters="{} ", blacklist_categories=["Cs"]),
    min_size=1,
    max_size=20,
)


# -- pad ids ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pad_id",
    [
        "a",
        "Z",
        "0",
        "_",
        "-",
        "x" * 100,
        ALLOWED,
        "design-summit_2026.day1",
        "...",
        "-rf",
    ],
)
def test_valid_pad_ids(pad_id: str) -> None:
    assert check_pad_id(pad_id) == pad_id


def test_every_allowed_character_alone_is_a_pad_id() -> None:
    for char in ALLOWED.replace(".", ""):
        assert check_pad_id(char) == char


@pytest.mark.parametrize(
    "pad_id",
    [
        "",
        "x" * 101,
        "a b",
        " a",
        "a ",
        "a/b",
        "/",
        "../etc",
        "a\\b",
        "é",
        "pad😀",
        "\uff41",  # fullwidth a
        "٣",  # an Arabic-Indic digit: \d would match it, our class must not
        "{pad}",
        "a{b",
        "a}b",
        "a:b",
        "a\nb",
        "a\n",  # `$` would allow a trailing newline; fullmatch must not
        "a\x00",
        "a%2F",
        "a?b",
        "a#b",
        "a+b",
        "*",
    ],
)
def test_invalid_pad_ids(pad_id: str) -> None:
    with pytest.raises(NotFound) as caught:
        check_pad_id(pad_id)
    assert caught.value.status == 404
    assert "is not a pad id" in str(caught.value)


def test_the_error_message_is_bounded() -> None:
    with pytest.raises(NotFound) as caught:
        check_pad_id("/" * 10_000)
    assert len(str(caught.value)) < 250


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=110))
def test_pad_id_validation_matches_the_rule(pad_id: str) -> None:
    expected = (
        1 <= len(pad_id) <= 100 and all(c in ALLOWED for c in pad_id) and pad_id not in (".", "..")
    )
    try:
        check_pad_id(pad_id)
    except NotFound:
        assert not expected
    else:
        assert expected


@pytest.mark.parametrize("pad_id", [".", ".."])
def test_dot_and_dot_dot_are_not_pad_ids_because_urls_cannot_name_them(pad_id: str) -> None:
    with pytest.raises(NotFound):
        check_pad_id(pad_id)


def test_other_dotted_ids_are_ordinary_pads() -> None:
    assert {pad_keys("sp", p).log for p in ("...", ".a", "a..b")} == {
        "sp:{pad:...}:log",
        "sp:{pad:.a}:log",
        "sp:{pad:a..b}:log",
    }


# -- keys ---------------------------------------------------------------------------------------


def test_keys_of_a_pad() -> None:
    keys = pad_keys("sp", "notes-1")
    assert keys == PadKeys("sp", "notes-1")
    assert keys.log == "sp:{pad:notes-1}:log"
    assert keys.snap == "sp:{pad:notes-1}:snap"
    assert keys.lease == "sp:{pad:notes-1}:lease"
    assert keys.channel == "sp:{pad:notes-1}:live"
    assert keys.chat == "sp:{pad:notes-1}:chat"
    assert keys.chat_rate("Ab_c-1234567890x") == "sp:{pad:notes-1}:chatrate:Ab_c-1234567890x"
    assert hash_tag(keys.chat_rate("x")) == "pad:notes-1"


def all_keys(keys: PadKeys) -> list[str]:
    return [keys.log, keys.snap, keys.lease, keys.channel, keys.ro, keys.chat, keys.hist,
            keys.ckpt, keys.saved, keys.authors, keys.gone]


def hash_tag(key: str) -> str:
    """The part of a key Redis Cluster hashes: between the first { and the next }."""
    start = key.index("{")
    end = key.index("}", start + 1)
    assert end > start + 1
    return key[start + 1 : end]


@settings(max_examples=200, deadline=None)
@given(prefixes, pad_ids)
def test_all_keys_share_the_hash_tag_and_the_prefix(prefix: str, pad_id: str) -> None:
    keys = pad_keys(prefix, pad_id)
    built = all_keys(keys)
    assert len(set(built)) == len(PAD_KEY_KINDS)
    for key in built:
        assert hash_tag(key) == f"pad:{pad_id}"
        assert key.startswith(prefix + ":{pad:")


def test_different_prefixes_never_share_keys() -> None:
    one, two = pad_keys("a", "p"), pad_keys("b", "p")
    assert not set(all_keys(one)) & set(all_keys(two))
    assert hash_tag(one.log) == hash_tag(two.log)  # same pad id, same slot


def test_pad_keys_checks_the_pad_id() -> None:
    with pytest.raises(NotFound):
        pad_keys("sp", "a/b")
    with pytest.raises(NotFound):
        pad_keys("sp", "")


# -- parsing ------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(prefixes, pad_ids)
def test_parse_pad_key_round_trip(prefix: str, pad_id: str) -> None:
    keys = pad_keys(prefix, pad_id)
    for key, kind in zip(all_keys(keys), PAD_KEY_KINDS, strict=True):
        assert parse_pad_key(key) == (prefix, pad_id, kind)


def test_parse_pad_key_kinds_are_the_built_ones() -> None:
    built = {parse_pad_key(k)[2] for k in all_keys(pad_keys("sp", "x"))}
    assert built == set(PAD_KEY_KINDS)


def test_parse_pad_key_with_a_colon_in_the_prefix() -> None:
    assert parse_pad_key("team:a:{pad:x}:log") == ("team:a", "x", "log")


@pytest.mark.parametrize(
    "key",
    [
        "",
        "sp",
        "sp:{pad:x}",
        "sp:{pad:x}:",
        "sp:{pad:x}:other",  # an unknown kind
        "sp:{pad:x}:LOG",
        "sp:{pad:x}:log:extra",
        "sp:{pad:x}:log ",
        ":{pad:x}:log",  # empty prefix
        "s p:{pad:x}:log",
        "s{p:{pad:x}:log",
        "sp:{pad:}:log",  # empty pad id
        "sp:{pad:a/b}:log",
        "sp:{pad:é}:log",
        "sp:{pad:" + "x" * 101 + "}:log",
        "sp:{pads:x}:log",
        "sp:pad:x:log",
        "sp:{x}:log",
        "sp:{pad:x}:log\n",
        "sessions:abc",
        "sp:node:abc",
    ],
)
def test_parse_pad_key_rejects_non_pad_keys(key: str) -> None:
    with pytest.raises(ValueError, match="not a summitpad pad key"):
        parse_pad_key(key)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_parse_pad_key_on_any_string(key: str) -> None:
    try:
        prefix, pad_id, kind = parse_pad_key(key)
    except ValueError:
        return
    assert kind in PAD_KEY_KINDS
    assert check_pad_id(pad_id) == pad_id
    assert f"{prefix}:{{pad:{pad_id}}}:{kind}" == key
