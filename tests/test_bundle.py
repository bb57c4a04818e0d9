"""The committed front-end bundle is what web/ builds today.

server/summitpad/static/pad.js, pad.css, projector.js, projector.css, board.js, history.js,
history.css and pad.licenses.txt are built from web/ and committed (so that running summitpad
needs no Node). This rebuilds them with the real build script into a temporary directory and
compares bytes: the build is deterministic, so any difference means that web/ changed without
`make bundle`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from .support import ROOT

WEB = ROOT / "web"
STATIC = ROOT / "server" / "summitpad" / "static"
BUNDLE = (
    "pad.js", "pad.css", "projector.js", "projector.css", "board.js", "history.js",
    "history.css", "pad.licenses.txt",
)
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not on PATH (building the bundle needs Node)"),
    pytest.mark.skipif(
        not (WEB / "node_modules" / "esbuild").is_dir(),
        reason="web/node_modules is missing: run `make node` (cd web && npm ci)",
    ),
]


def installed_packages_differ_from_lockfile() -> list[str]:
    """Packages in web/node_modules whose version is not the one web/package-lock.json pins."""
    installed_path = WEB / "node_modules" / ".package-lock.json"
    if not installed_path.exists():
        return []
    locked = json.loads((WEB / "package-lock.json").read_text())["packages"]
    installed = json.loads(installed_path.read_text())["packages"]
    return sorted(
        f"{name.removeprefix('node_modules/')} {entry.get('version')} "
        f"(locked: {locked.get(name, {}).get('version', 'not in the lockfile')})"
        for name, entry in installed.items()
        if locked.get(name, {}).get("version") != entry.get("version")
    )


def build_bundle(into: Path) -> Path:
    """Run web/build.mjs on a copy of web/ under `into`; returns the directory it wrote to.

    build.mjs writes to ../server/summitpad/static next to itself and takes no output directory,
    so the copy gets that layout; its node_modules is a link to the real one.
    """
    copy = into / "web"
    shutil.copytree(WEB, copy, ignore=shutil.ignore_patterns("node_modules"))
    (copy / "node_modules").symlink_to(WEB / "node_modules", target_is_directory=True)
    assert NODE is not None
    result = subprocess.run(
        [NODE, "build.mjs"], cwd=copy, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"web/build.mjs failed:\n{result.stdout}\n{result.stderr}"
    return into / "server" / "summitpad" / "static"


def differences(built: Path, committed: Path) -> list[str]:
    """One line per bundle file that is missing or differs."""
    found = []
    for name in BUNDLE:
        fresh, kept = built / name, committed / name
        if not fresh.exists():
            found.append(f"{name}: the build did not write it")
        elif not kept.exists():
            found.append(f"{name}: not in server/summitpad/static/")
        elif fresh.read_bytes() != kept.read_bytes():
            found.append(
                f"{name}: differs ({kept.stat().st_size} bytes committed, "
                f"{fresh.stat().st_size} bytes built)"
            )
    return found


def test_committed_bundle_is_a_fresh_build_of_web(tmp_path: Path) -> None:
    stale_packages = installed_packages_differ_from_lockfile()
    assert not stale_packages, (
        "web/node_modules does not match web/package-lock.json, so a build would not say "
        "anything about the committed bundle: run `make node` (cd web && npm ci). Differing: "
        + ", ".join(stale_packages)
    )
    found = differences(build_bundle(tmp_path), STATIC)
    assert not found, (
        "The committed bundle in server/summitpad/static/ is not what web/ builds: "
        "run `make bundle` and commit the result.\n  " + "\n  ".join(found)
    )
