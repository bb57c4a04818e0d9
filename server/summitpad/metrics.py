"""What a node counts for Prometheus: one `Metrics` per app, in a registry of its own.

`create_app` makes one and hands it down: the pad registry to every live pad (and its
compaction), the websocket view to every connection. Parts built without an app (in tests and
benchmarks) count into `DETACHED`, which nothing exposes.

The hot paths only increment plain counters: a batch of edits costs a few increments and two
histogram observations, a broadcast one increment per message (not per connection), and the
close-code counter's labelled children are bound once.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from .errors import (
    CLOSE_BAD_MESSAGE,
    CLOSE_FORBIDDEN,
    CLOSE_GOING_AWAY,
    CLOSE_INTERNAL_ERROR,
    CLOSE_MESSAGE_TOO_BIG,
    CLOSE_RATE_LIMITED,
    CLOSE_RESYNC,
    CLOSE_SLOW_CONSUMER,
    CLOSE_TRY_AGAIN_LATER,
    CLOSE_UNSUPPORTED_DATA,
    CLOSE_UPDATE_REJECTED,
)

# An edit usually reaches everyone in a few milliseconds; a second or more means Valkey is slow
# or away.
FANOUT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
WRITE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_KNOWN_CODES = (
    CLOSE_UNSUPPORTED_DATA, CLOSE_MESSAGE_TOO_BIG, CLOSE_INTERNAL_ERROR, CLOSE_TRY_AGAIN_LATER,
    CLOSE_BAD_MESSAGE, CLOSE_FORBIDDEN, 4404, CLOSE_UPDATE_REJECTED, CLOSE_SLOW_CONSUMER,
    CLOSE_RESYNC, CLOSE_RATE_LIMITED,
)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.connections = Gauge(
            "summitpad_connections", "Open websocket connections.", registry=registry
        )
        self.live_pads = Gauge(
            "summitpad_live_pads", "Pads held in memory by this node.", registry=registry
        )
        self.updates_in = Counter(
            "summitpad_updates_in",
            "Client updates accepted by live pads (applied and changing something).",
            registry=registry,
        )
        self.updates_out = Counter(
            "summitpad_updates_out",
            "Update messages broadcast by live pads (once per pad, not per connection).",
            registry=registry,
        )
        self.broadcast_bytes = Counter(
            "summitpad_broadcast_bytes",
            "Bytes of broadcasts written to connections (each write times its connections).",
            registry=registry,
        )
        self.fanout_seconds = Histogram(
            "summitpad_edit_fanout_seconds",
            "From the first client update of a writer batch reaching the live pad to the "
            "batch being broadcast (it is in Valkey by then).",
            buckets=FANOUT_BUCKETS,
            registry=registry,
        )
        self.valkey_write_seconds = Histogram(
            "summitpad_valkey_write_seconds",
            "Time of one successful append of a writer batch to the pad log (one script call).",
            buckets=WRITE_BUCKETS,
            registry=registry,
        )
        self.send_queue_drops = Counter(
            "summitpad_send_queue_drops",
            "Connections closed because their send queue overflowed (close code 4508).",
            registry=registry,
        )
        self.compactions = Counter(
            "summitpad_compactions",
            "Pad logs folded into their snapshot by this node.",
            registry=registry,
        )
        self.connection_errors = Counter(
            "summitpad_connection_errors",
            "Connections closed with an error, by websocket close code (not counting 1001, "
            "shutdown).",
            ["code"],
            registry=registry,
        )
        self._by_code = {code: self.connection_errors.labels(str(code)) for code in _KNOWN_CODES}

    def closed_with(self, code: int) -> None:
        """Count a connection closed with `code`; 1001 (shutting down) is no error."""
        if code == CLOSE_GOING_AWAY:
            return
        child = self._by_code.get(code)
        if child is None:
            child = self._by_code[code] = self.connection_errors.labels(str(code))
        child.inc()

    def exposition(self) -> bytes:
        """Every metric in Prometheus' text format."""
        return generate_latest(self.registry)


DETACHED = Metrics()
