"""A real Sentinel deployment on loopback ports: a primary, a replica and three sentinels.

Sentinels rewrite their config file as they learn the deployment, so each gets a writable one
of its own. With a quorum of 2 and a second of silence before a server counts as down, a
primary killed with SIGKILL is replaced by its replica within a few seconds.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import redis
from summitpad.embedded_valkey import find_valkey_server

from .support import free_port
from .valkey_cluster import _ask, _wait

SERVICE = "pads"
SENTINELS = 3
QUORUM = 2
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 4000


class ValkeySentinel:
    """Two data servers (one replicating the other) and `SENTINELS` sentinels watching them.

    The servers are named by their port, which stays theirs across a restart: after a
    failover `primary_port()` names the other one."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.server_ports: list[int] = []
        self.sentinel_ports: list[int] = []
        self.servers: dict[int, subprocess.Popen[bytes]] = {}
        self.sentinels: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{SERVICE}"

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self.server_ports = [free_port(), free_port()]
        first, second = self.server_ports
        self.start_server(first)
        self.start_server(second, replica_of=first)
        _wait(lambda: self.replicas_of(first) == [second], "the replica did not catch up")
        for index in range(SENTINELS):
            port = free_port()
            sentinel_dir = self.directory / f"sentinel{index}"
            sentinel_dir.mkdir(parents=True, exist_ok=True)
            conf = sentinel_dir / "sentinel.conf"
            conf.write_text(
                f"port {port}\n"
                "bind 127.0.0.1\n"
                f"dir {sentinel_dir}\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {first} {QUORUM}\n"
                f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n"
                f"sentinel failover-timeout {SERVICE} {FAILOVER_TIMEOUT_MS}\n"
            )
            self.sentinels.append(subprocess.Popen(
                [find_valkey_server(), str(conf), "--sentinel", "--loglevel", "warning"],
                stdout=subprocess.DEVNULL,
            ))
            self.sentinel_ports.append(port)
        for port in self.sentinel_ports:
            _wait(lambda port=port: _ask(port, "PING"), "a sentinel did not start")
            # Shorter periods than the defaults (INFO every 10 s, hello every 2 s), so that a
            # restarted old primary is turned into a replica in seconds rather than in 15 s.
            _ask(port, "SENTINEL", "DEBUG", "info-period", "1000", "publish-period", "500")
        self.wait_until_watched()

    def start_server(self, port: int, *, replica_of: int | None = None) -> None:
        """(Re)start the data server of `port`; it keeps no data across a restart."""
        server_dir = self.directory / f"server{port}"
        server_dir.mkdir(parents=True, exist_ok=True)
        command = [
            find_valkey_server(),
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--dir", str(server_dir),
            "--appendonly", "no",
            "--save", "",
            # A full sync starts at once rather than waiting for more replicas to join it.
            "--repl-diskless-sync-delay", "0",
            "--loglevel", "warning",
        ]
        if replica_of is not None:
            command += ["--replicaof", "127.0.0.1", str(replica_of)]
        self.servers[port] = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        _wait(lambda: _ask(port, "PING"), f"valkey on port {port} did not start")

    def kill_server(self, port: int) -> None:
        """SIGKILL: the server gets no chance to hand anything over."""
        process = self.servers[port]
        process.send_signal(signal.SIGKILL)
        process.wait()

    def stop_server(self, port: int) -> None:
        process = self.servers[port]
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)

    def stop(self) -> None:
        for process in [*self.sentinels, *self.servers.values()]:
            if process.poll() is None:
                process.terminate()
        for process in [*self.sentinels, *self.servers.values()]:
            process.wait(timeout=30)

    # -- what the sentinels and servers say ---------------------------------------------------

    def primary_port(self) -> int:
        """The primary's port as the first sentinel that answers names it."""
        for port in self.sentinel_ports:
            try:
                _, primary = _ask(port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
                return int(primary)
            except (redis.RedisError, OSError, ValueError):
                continue
        raise RuntimeError("no sentinel answers")

    def replicas_of(self, port: int) -> list[int]:
        """The ports of the replicas connected to the server of `port` and in sync with it."""
        info = _ask(port, "INFO", "replication")
        replicas = []
        for name, fields in info.items():
            if name.startswith("slave") and isinstance(fields, dict):
                if fields.get("state") == "online":
                    replicas.append(int(fields["port"]))
        return replicas

    def role(self, port: int) -> str:
        return str(_ask(port, "ROLE")[0].decode())

    def wait_until_watched(self, within: float = 30.0) -> None:
        """Until every sentinel names the same primary, knows the replica and the other
        sentinels: only then can they agree on a failover."""

        def watched() -> bool:
            primary = self.primary_port()
            for port in self.sentinel_ports:
                state = _pairs(_ask(port, "SENTINEL", "MASTER", SERVICE))
                if int(state["port"]) != primary or "s_down" in state["flags"]:
                    return False
                if int(state["num-slaves"]) < 1 or int(state["num-other-sentinels"]) < 2:
                    return False
                replicas = [_pairs(r) for r in _ask(port, "SENTINEL", "REPLICAS", SERVICE)]
                if not any("s_down" not in r["flags"] for r in replicas):
                    return False
            return self.role(primary) == "master" and bool(self.replicas_of(primary))

        _wait(watched, "the sentinels do not agree on the deployment", within)

    def failover(self) -> None:
        """A graceful failover, as an operator would ask for one."""
        _ask(self.sentinel_ports[0], "SENTINEL", "FAILOVER", SERVICE)


def _pairs(reply: dict[bytes, bytes]) -> dict[str, str]:
    return {key.decode(): value.decode() for key, value in reply.items()}
