"""The chat message (type 100) byte by byte, and the cleaning of what participants write.

Pure functions only: no Valkey, no server.
"""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from summitpad import chat
from summitpad.chat import ChatEntry, Draft, clean_color, clean_name, clean_text
from summitpad.errors import CLOSE_BAD_MESSAGE, ProtocolError
from summitpad.protocol import (
    MESSAGE_CHAT,
    ChatMessage,
    MessageType,
    decode_message,
    encode_chat,
    write_varbytes,
)


def chat_frame(text: str | bytes) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return bytes((MESSAGE_CHAT,)) + write_varbytes(data)


# -- known bytes ------------------------------------------------------------------------------


def test_the_chat_type_is_100_in_one_byte() -> None:
    assert MESSAGE_CHAT == MessageType.CHAT == 100
    assert encode_chat({"kind": "join"}) == b"\x64\x0f" + b'{"kind":"join"}'


def test_non_ascii_is_sent_as_utf8() -> None:
    encoded = encode_chat({"kind": "send", "text": "Grüße 😀"})
    body = '{"kind":"send","text":"Grüße 😀"}'.encode()
    assert encoded == b"\x64" + bytes((len(body),)) + body
    assert decode_message(encoded) == ChatMessage({"kind": "send", "text": "Grüße 😀"})


def test_a_long_message_has_a_multi_byte_length() -> None:
    encoded = encode_chat({"kind": "send", "text": "x" * 200})
    assert encoded[:3] == b"\x64\xe1\x01"  # 225 bytes of JSON: 0x61 | 0x80, then 1
    assert len(encoded) == 3 + 225


def test_the_client_frame_decodes() -> None:
    # As chat.js writes it with lib0: writeVarUint(100), writeVarString(JSON.stringify(body)).
    sent = b'{"kind":"send","text":"hi","name":"A","color":"#000000"}'
    message = decode_message(b"\x64" + bytes((len(sent),)) + sent)
    body = {"kind": "send", "text": "hi", "name": "A", "color": "#000000"}
    assert isinstance(message, ChatMessage)
    assert message.kind == "send" and message.body == body


@pytest.mark.parametrize("body", [
    {"kind": "join"},
    {"kind": "history", "messages": []},
    {"kind": "refused", "reason": "flood", "retry_after": 9000},
    {"kind": "message", "message": {"id": "1-0", "text": "<b>&amp;</b>", "time": 1}},
])
def test_round_trips(body: dict[str, object]) -> None:
    assert decode_message(encode_chat(body)) == ChatMessage(body)


# -- garbage ----------------------------------------------------------------------------------


@pytest.mark.parametrize("frame", [
    b"\x64",  # no string
    b"\x64\x05{}",  # truncated
    b"\x64\x80",  # truncated length
    chat_frame("not json"),
    chat_frame("[1, 2]"),
    chat_frame('"join"'),
    chat_frame("{}"),
    chat_frame('{"kind": 1}'),
    chat_frame('{"kind": null}'),
    chat_frame('{"kind": "send", "text": NaN}'),
    chat_frame('{"kind": "join"'),
    chat_frame(b'{"kind": "\xff"}'),  # not UTF-8
    chat_frame("[" * 100_000 + "]" * 100_000),  # too deep for the JSON parser
    chat_frame('{"kind": "join"}') + b"\x00",  # trailing bytes
])
def test_malformed_chat_frames_raise_protocol_error(frame: bytes) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode_message(frame)
    assert caught.value.close_code == CLOSE_BAD_MESSAGE


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=80))
@example(b"\x02{}")
@example(b'\x0f{"kind":"join"}')
def test_garbage_after_the_chat_type_decodes_or_raises_protocol_error(data: bytes) -> None:
    try:
        message = decode_message(b"\x64" + data)
    except ProtocolError:
        return
    assert isinstance(message, ChatMessage) and isinstance(message.kind, str)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_json_string_decodes_to_the_text_or_raises(text: str) -> None:
    escaped = json.dumps({"kind": "send", "text": text})  # ASCII only: lone surrogates too
    message = decode_message(chat_frame(escaped))
    assert isinstance(message, ChatMessage) and message.body["text"] == text


# -- what participants write ------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "clean"), [
    ("  hello  ", "hello"),
    ("a\x00b\x07c", "abc"),
    ("line\nbreak\ttab\r", "line break tab"),
    ("para\u2029graph\u2028line", "para graph line"),
    ("lone \ud800 surrogate", "lone  surrogate"),
    ("<script>alert(1)</script>", "<script>alert(1)</script>"),  # text, escaped on output
    ("👩‍💻 zwj kept", "👩‍💻 zwj kept"),
    ("\x85next line", "next line"),
])
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


@given(st.text(max_size=200))
def test_cleaned_text_can_always_be_sent(raw: str) -> None:
    cleaned = clean_text(raw)
    assert cleaned == cleaned.strip()
    body = {"kind": "message", "text": cleaned}
    assert decode_message(encode_chat(body)) == ChatMessage(body)  # no lone surrogates


@pytest.mark.parametrize(("raw", "clean"), [
    ("Ann", "Ann"),
    ("  Ann \n  Smith ", "Ann Smith"),
    ("x" * 50, "x" * chat.MAX_NAME),
    ("<b>Bob</b>", "<b>Bob</b>"),
    ("", chat.ANONYMOUS),
    (" \x00\n ", chat.ANONYMOUS),
    (None, chat.ANONYMOUS),
    (["Ann"], chat.ANONYMOUS),
])
def test_clean_name(raw: object, clean: str) -> None:
    assert clean_name(raw) == clean


@pytest.mark.parametrize(("raw", "clean"), [
    ("#1D4ED8", "#1d4ed8"),
    ("#abcdef", "#abcdef"),
    ("#abc", chat.NEUTRAL_COLOR),
    ("red", chat.NEUTRAL_COLOR),
    ("#1d4ed8; background: url(x)", chat.NEUTRAL_COLOR),
    ("#1d4ed8\n", chat.NEUTRAL_COLOR),
    (None, chat.NEUTRAL_COLOR),
    (0x1D4ED8, chat.NEUTRAL_COLOR),
])
def test_clean_color(raw: object, clean: str) -> None:
    assert clean_color(raw) == clean


def test_a_draft_says_what_is_wrong_with_it() -> None:
    assert Draft.of("p", {"text": "  "}).problem == "empty"
    assert Draft.of("p", {"text": "x" * (chat.MAX_TEXT + 1)}).problem == "too-long"
    assert Draft.of("p", {"text": "x" * chat.MAX_TEXT}).problem is None
    with pytest.raises(ProtocolError):
        Draft.of("p", {"text": ["not", "text"]})
    with pytest.raises(ProtocolError):
        Draft.of("p", {})


def test_a_huge_draft_is_refused_without_cleaning_it_all() -> None:
    started = time.monotonic()
    huge = Draft.of("p", {"text": "\x00" * 2_000_000, "name": "n" * 1_000_000})
    assert huge.problem == "too-long" and huge.name == "n" * chat.MAX_NAME
    assert time.monotonic() - started < 0.5
    padded = Draft.of("p", {"text": " " * (3 * chat.MAX_TEXT) + "fits"})
    assert padded.text == "fits" and padded.problem is None


def test_a_stored_entry_is_cleaned_again() -> None:
    fields = json.dumps({"author": 7, "name": "\x00", "color": "blue", "text": "hi\x00 "})
    entry = ChatEntry.stored("1714808700123-0", fields.encode())
    assert entry == ChatEntry("1714808700123-0", "", chat.ANONYMOUS, chat.NEUTRAL_COLOR, "hi")
    assert entry.time == 1714808700123
    assert ChatEntry.stored("5-0", b"\xff not json").text == ""
    assert ChatEntry.stored("5-0", b"[1]").name == chat.ANONYMOUS
