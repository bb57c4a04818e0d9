"""Coalescing of awareness: changes at most ten times a second per pad, renewals slowly."""

from __future__ import annotations

import asyncio

from summitpad import protocol
from summitpad.awareness import FAST_INTERVAL, SLOW_INTERVAL, AwarenessRelay
from summitpad.protocol import AwarenessEntry


def cursor(client_id: int, clock: int, position: int) -> AwarenessEntry:
    return AwarenessEntry(client_id, clock, b'{"cursor":%d}' % position)


def relay_with_logs() -> tuple[AwarenessRelay, list[bytes], list[bytes]]:
    sent: list[bytes] = []
    published: list[bytes] = []
    return AwarenessRelay(sent.append, published.append), sent, published


def entries_of(message: bytes) -> list[AwarenessEntry]:
    decoded = protocol.decode_message(message)
    assert isinstance(decoded, protocol.AwarenessMessage)
    return protocol.decode_awareness(decoded.payload)


async def test_a_burst_of_cursor_moves_goes_out_as_few_messages_with_the_latest_state():
    relay, sent, published = relay_with_logs()
    for clock in range(1, 51):
        relay.receive([cursor(7, clock, clock)], local=True)
        await asyncio.sleep(FAST_INTERVAL / 10)
    await asyncio.sleep(FAST_INTERVAL * 2)
    assert 2 <= len(sent) <= 8, f"{len(sent)} broadcasts for 50 moves in ~0.5 s"
    assert entries_of(sent[-1]) == [cursor(7, 50, 50)]
    assert len(published) == len(sent)  # local states also go to the other nodes


async def test_remote_states_are_broadcast_but_not_published_again():
    relay, sent, published = relay_with_logs()
    relay.receive([cursor(9, 1, 0)], local=False)
    await asyncio.sleep(FAST_INTERVAL * 2)
    assert len(sent) == 1 and published == []


async def test_renewals_wait_for_the_slow_lane_and_changes_do_not():
    relay, sent, _ = relay_with_logs()
    relay.receive([cursor(1, 1, 5), cursor(2, 1, 6)], local=True)
    await asyncio.sleep(FAST_INTERVAL * 2)
    assert len(sent) == 1
    relay.receive([cursor(1, 2, 5)], local=True)  # same state, new clock: a renewal
    await asyncio.sleep(FAST_INTERVAL * 2)
    assert len(sent) == 1
    relay.flush()  # an edit broadcast does not take renewals along either
    assert len(sent) == 1
    await asyncio.sleep(SLOW_INTERVAL)
    assert len(sent) == 2 and entries_of(sent[-1]) == [cursor(1, 2, 5)]


async def test_a_closed_connection_is_cleared_for_everybody():
    relay, sent, _ = relay_with_logs()
    relay.receive([cursor(3, 4, 0)], local=True)
    relay.remove({3})
    await asyncio.sleep(FAST_INTERVAL * 2)
    assert entries_of(sent[-1]) == [AwarenessEntry(3, 5, b"null")]
    assert relay.snapshot() is None
