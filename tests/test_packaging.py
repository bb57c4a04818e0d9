"""The wheel a deployment installs (`pip install .`, deploy/Dockerfile) holds every page and asset.

The tests run from an editable install, which reads templates from the source tree; a file the
wheel leaves out (a template in a subdirectory, say) breaks only a real deployment.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from .support import ROOT

PACKAGE = ROOT / "server" / "summitpad"


def _package_files(folder: str) -> set[str]:
    base = PACKAGE / folder
    return {
        f"summitpad/{path.relative_to(PACKAGE).as_posix()}"
        for path in base.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_the_wheel_holds_every_template_and_static_file(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a copy: building leaves a build/ directory behind
    shutil.copytree(ROOT / "server", source / "server",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path),
         str(source)],
        check=True, timeout=300,
    )
    (wheel,) = tmp_path.glob("summitpad-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    expected = _package_files("templates") | _package_files("static")
    assert any("/templates/archive/" in name for name in expected)  # the case this guards
    assert expected - names == set(), "files the wheel leaves out"
