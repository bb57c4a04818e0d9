"""A real Valkey cluster of three primaries on loopback ports, for the tests that need one."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from redis.cluster import key_slot
from summitpad.embedded_valkey import find_valkey_server
from summitpad.keys import pad_keys

from .support import free_port

PRIMARIES = 3


class ValkeyCluster:
    """`PRIMARIES` valkey-server processes with cluster mode on, joined into one cluster."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.ports: list[int] = []
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in self.ports) + "/"

    def start(self) -> None:
        server = Path(find_valkey_server())
        for index in range(PRIMARIES):
            port, bus_port = free_port(), free_port()
            node_dir = self.directory / f"node{index}"
            node_dir.mkdir(parents=True, exist_ok=True)
            self.processes.append(subprocess.Popen(
                [
                    str(server),
                    "--port", str(port),
                    "--bind", "127.0.0.1",
                    "--cluster-enabled", "yes",
                    "--cluster-port", str(bus_port),
                    "--cluster-config-file", str(node_dir / "nodes.conf"),
                    "--cluster-node-timeout", "2000",
                    "--dir", str(node_dir),
                    "--appendonly", "no",
                    "--save", "",
                    "--loglevel", "warning",
                ],
                stdout=subprocess.DEVNULL,
            ))
            self.ports.append(port)
        for port in self.ports:
            _wait(lambda port=port: _ask(port, "PING"), "valkey did not start")
        subprocess.run(
            [
                str(server.with_name("valkey-cli")), "--cluster", "create",
                *(f"127.0.0.1:{port}" for port in self.ports),
                "--cluster-replicas", "0", "--cluster-yes",
            ],
            check=True, capture_output=True, timeout=60,
        )
        for port in self.ports:
            _wait(lambda port=port: b"cluster_state:ok" in _ask(port, "CLUSTER", "INFO"),
                  "the cluster did not form")

    def node_of(self, key: str) -> int:
        """The port of the primary that serves `key`."""
        slot = key_slot(key.encode())
        for start, end, (_, port, *_) in _ask(self.ports[0], "CLUSTER", "SLOTS"):
            if start <= slot <= end:
                return int(port)
        raise LookupError(f"no node serves slot {slot}")

    def pads_on_every_primary(self, prefix: str, stem: str = "shard") -> list[str]:
        """One pad id per primary: each pad's keys and channel live on that primary."""
        found: dict[int, str] = {}
        for i in range(10_000):
            pad_id = f"{stem}-{i}"
            found.setdefault(self.node_of(pad_keys(prefix, pad_id).log), pad_id)
            if len(found) == len(self.ports):
                return list(found.values())
        raise LookupError(f"no pad id among {stem}-0..9999 lands on every primary")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            process.wait(timeout=30)


def _ask(port: int, *command: str) -> Any:
    with redis.Redis(host="127.0.0.1", port=port, socket_timeout=1) as probe:
        return probe.execute_command(*command)


def _wait(check: Callable[[], Any], failure: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.05)
    raise RuntimeError(failure)
