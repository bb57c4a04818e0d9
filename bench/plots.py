"""The report's plots, drawn from result files: latency against clients, per target.

    .venv/bin/python bench/plots.py bench/results/<date>-fanout-peers.json ... [--out DIR]

Each result file gives the plots its scenario has (PNG, into bench/results/plots/ unless
--out says otherwise); run.py calls `draw` on the files it has just written. matplotlib is the
`bench` extra (`make bench-setup` installs it); without it, run.py says so and goes on.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt  # after use(): the backend must be chosen first
from matplotlib.axes import Axes

PLOTS = Path(__file__).resolve().parent / "results" / "plots"
STYLE = {  # one look per target in every plot
    "summitpad": {"color": "#1f77b4", "marker": "o"},
    "summitpad-3": {"color": "#17becf", "marker": "s"},
    "y-websocket": {"color": "#d62728", "marker": "^"},
    "pycrdt-websocket": {"color": "#ff7f0e", "marker": "v"},
}


def _by_target(steps: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for step in steps:
        found.setdefault(step.get("target", "summitpad"), []).append(step)
    return found


def _caption(document: dict[str, Any]) -> str:
    machine = document["machine"]
    quick = ", --quick" if document.get("quick") else ""
    return f"{document['date']}, {machine['nproc']} cores, {machine['cpu_model']}{quick}"


def _name(document: dict[str, Any], what: str) -> str:
    """A plot's file name; a --quick run's never replaces a full run's."""
    return f"{document['date']}-{what}{'-quick' if document.get('quick') else ''}.png"


def _finish(figure: Any, axes: Axes, document: dict[str, Any], path: Path) -> Path:
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.text(0.99, 0.01, _caption(document), ha="right", va="bottom", fontsize=7, alpha=0.7)
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def fanout(document: dict[str, Any], out: Path) -> list[Path]:
    """p50 and p99 edit-to-peer latency against observers; server CPU and RSS against them."""
    targets = _by_target(document["steps"])
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for target, steps in targets.items():
        # A step that measured nothing (a server that never got through it) has no point.
        steps = sorted((s for s in steps if "p99" in s["latency_ms"]), key=lambda s: s["observers"])
        x = [s["observers"] for s in steps]
        style = STYLE.get(target, {})
        axes.plot(x, [s["latency_ms"]["p99"] for s in steps], label=f"{target} p99", **style)
        axes.plot(
            x,
            [s["latency_ms"]["p50"] for s in steps],
            linestyle="--",
            alpha=0.6,
            label=f"{target} p50",
            **style,
        )
    axes.set_yscale("log")
    axes.set_xlabel("observers on the pad (one writer, 20 updates/s)")
    axes.set_ylabel("edit-to-peer latency, ms (log)")
    axes.set_title("Fan-out: latency against observers")
    paths = [_finish(figure, axes, document, out / _name(document, "fanout-latency"))]

    figure, (cpu, rss) = plt.subplots(1, 2, figsize=(10, 4))
    for target, steps in targets.items():
        steps = sorted(steps, key=lambda s: s["observers"])
        x = [s["observers"] for s in steps]
        style = STYLE.get(target, {})
        cpu.plot(x, [s["cpu_pct_of_one_core"]["server"] for s in steps], label=target, **style)
        rss.plot(x, [s["rss_mib"]["server"]["at_window_end"] for s in steps], label=target, **style)
    cpu.set_xlabel("observers")
    cpu.set_ylabel("server CPU, % of one core")
    cpu.set_title("Fan-out: server CPU")
    rss.set_xlabel("observers")
    rss.set_ylabel("server RSS, MiB")
    rss.set_title("Fan-out: server memory")
    rss.grid(True, alpha=0.3)
    paths.append(_finish(figure, cpu, document, out / _name(document, "fanout-cost")))
    return paths


def authors(document: dict[str, Any], out: Path) -> list[Path]:
    """p95 latency against typists on one pad, one line per target, with the limit."""
    figure, axes = plt.subplots(figsize=(7, 4.5))
    limit = 100.0
    for step in document["steps"]:
        limit = step.get("limit_p95_ms", limit)
        levels = [lv for lv in step["levels"] if lv["latency_ms"].get("p95", -1) >= 0]
        style = STYLE.get(step["target"], {})
        axes.plot(
            [lv["typists"] for lv in levels],
            [lv["latency_ms"]["p95"] for lv in levels],
            label=f"{step['target']}: {step['authors_held']} held",
            **style,
        )
    axes.axhline(limit, color="grey", linestyle=":", label=f"p95 limit {limit:g} ms")
    axes.set_yscale("log")
    axes.set_xlabel("typists on one pad (one keystroke every 400 ms each)")
    axes.set_ylabel("p95 edit-to-peer latency, ms (log)")
    axes.set_title("Authors on one pad")
    return [_finish(figure, axes, document, out / _name(document, "authors"))]


def bars(document: dict[str, Any], out: Path, title: str, unit: str = "ms") -> list[Path]:
    """p50 and p99 per target, for a scenario of one step (summit, join storm, cold load)."""
    steps = document["steps"]
    figure, axes = plt.subplots(figsize=(7, 4.5))
    names = [s.get("target", "summitpad") for s in steps]
    x = range(len(steps))
    p50 = [s["latency_ms"].get("p50", 0) for s in steps]
    p99 = [s["latency_ms"].get("p99", 0) for s in steps]
    colours = [STYLE.get(n, {}).get("color", "grey") for n in names]
    axes.bar([i - 0.2 for i in x], p50, width=0.4, color=colours, alpha=0.5, label="p50")
    axes.bar([i + 0.2 for i in x], p99, width=0.4, color=colours, label="p99")
    for i, value in enumerate(p99):
        axes.annotate(f"{value:g}", (i + 0.2, value), ha="center", va="bottom", fontsize=8)
    axes.set_xticks(list(x), names)
    axes.set_yscale("log")
    axes.set_ylabel(f"{unit} (log)")
    axes.set_title(title)
    return [_finish(figure, axes, document, out / _name(document, document["scenario"]))]


TITLES = {
    "summit": "Summit: 40 pads x (8 typists + 60 readers), edit-to-peer latency",
    "join-storm": "Join storm: 300 clients join a pad holding automerge-paper, time to synced",
    "cold-load": "Cold load of a pad holding automerge-paper, time to first sync",
    "replay": "Replay of friendsforever by two clients, time until both hold the end text",
}


def draw(documents: Iterable[dict[str, Any]], out: Path = PLOTS) -> list[Path]:
    """Every plot the documents' scenarios have; the paths written."""
    paths: list[Path] = []
    for document in documents:
        scenario = document["scenario"]
        if scenario == "fanout":
            paths += fanout(document, out)
        elif scenario == "authors":
            paths += authors(document, out)
        elif scenario in TITLES:
            paths += bars(document, out, TITLES[scenario])
        elif scenario == "soak":
            from soak_plot import draw as soak  # it imports this module

            paths.append(soak(document, out))
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="result files of run.py")
    parser.add_argument("--out", type=Path, default=PLOTS, help="where the PNGs go")
    args = parser.parse_args()
    for path in draw((json.loads(f.read_text()) for f in args.files), args.out):
        print(path)


if __name__ == "__main__":
    main()
