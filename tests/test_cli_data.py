"""`summitpad summit ...` and `summitpad user ...` on a data directory, with and without a
server running on it."""

from __future__ import annotations

import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest
from summitpad.cli_data import EXIT_INVALID_INPUT

from .support import subprocess_env, summitpad_command
from .test_embedded_valkey import Server

CSV = """id,title,room,track,start,end,moderator
s1,Storage roadmap,Room A,Storage,2026-05-04 09:00,2026-05-04 09:40,Ana
s2,HA <script>alert(1)</script>,Room B,,2026-05-04 09:00,2026-05-04 09:40,
"""


def cli(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*summitpad_command(), *args, "--data-dir", str(data_dir)],
        input=stdin, capture_output=True, text=True, env=subprocess_env(), timeout=60,
    )


def create_summit(data_dir: Path) -> None:
    done = cli(data_dir, "summit", "create", "osd", "--name", "Open Summit",
               "--start", "2026-05-04", "--end", "2026-05-05", "--timezone", "Europe/Berlin",
               "--room", "Room A", "--room", "Room B", "--track", "Storage=#0ea5e9")
    assert done.returncode == 0, done.stderr
    assert "created summit osd: 2 rooms, 1 tracks" in done.stdout


def test_commands_start_their_own_valkey_when_no_server_runs(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    create_summit(data_dir)
    schedule = tmp_path / "schedule.csv"
    schedule.write_text(CSV)
    loaded = cli(data_dir, "summit", "load", "osd", str(schedule))
    assert loaded.returncode == 0, loaded.stderr
    assert "2 added" in loaded.stdout
    again = cli(data_dir, "summit", "load", "osd", str(schedule))
    assert "0 added" in again.stdout and "0 updated" in again.stdout
    listed = cli(data_dir, "summit", "list")
    assert "osd\tOpen Summit" in listed.stdout and "2 sessions" in listed.stdout
    added = cli(data_dir, "user", "add", "ana", "--role", "moderator", "--name", "Ana",
                "--password-file", "-", stdin="correct horse battery\n")
    assert added.returncode == 0, added.stderr
    assert "added moderator ana" in added.stdout


def test_a_bad_file_names_line_and_field_and_changes_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    create_summit(data_dir)
    bad = tmp_path / "bad.csv"
    bad.write_text("id,title,room,start,end\ns1,A,Room A,2026-05-04 09:00,2026-05-04 08:00\n"
                   "s2,B,Nowhere,2026-05-04 09:00,2026-05-04 09:40\n")
    done = cli(data_dir, "summit", "load", "osd", str(bad))
    assert done.returncode == EXIT_INVALID_INPUT
    assert "line 2" in done.stderr and "end" in done.stderr
    assert "line 3" in done.stderr and "Nowhere" in done.stderr
    assert "0 sessions" in cli(data_dir, "summit", "list").stdout


def test_a_short_password_is_refused(tmp_path: Path) -> None:
    done = cli(tmp_path / "data", "user", "add", "bob", "--password-file", "-", stdin="short\n")
    assert done.returncode == EXIT_INVALID_INPUT
    assert "password" in done.stderr


def test_commands_use_the_running_servers_valkey(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = Server(data_dir)
    try:
        server.wait_ready()
        create_summit(data_dir)  # the data directory is locked by the server: use its Valkey
        schedule = tmp_path / "schedule.csv"
        schedule.write_text(CSV)
        assert cli(data_dir, "summit", "load", "osd", str(schedule)).returncode == 0
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/osd?day=2026-05-04") as page:
            html = page.read().decode()
        assert "Storage roadmap" in html
        assert "<script>alert(1)</script>" not in html
        assert "HA &lt;script&gt;alert(1)&lt;/script&gt;" in html
    finally:
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(30)


@pytest.mark.parametrize("args", [
    ("summit", "load", "nope", "--help"),
])
def test_help_works_without_a_store(tmp_path: Path, args: tuple[str, ...]) -> None:
    done = cli(tmp_path / "data", *args)
    assert done.returncode == 0 and "Usage" in done.stdout
