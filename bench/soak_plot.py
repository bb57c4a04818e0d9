"""The soak's plot, from its result file: RSS of every node process over time with the restarts
marked, edit-to-peer latency a minute, and markers delivered a minute with what became of them.

    .venv/bin/python bench/soak_plot.py bench/results/<date>-soak.json [--out DIR]

soak.py calls `draw` on the document it has just written; plots.py draws it too.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt  # after use(): the backend must be chosen first
from plots import PLOTS, _caption
from soak_figures import file_stem

COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b")
RESTART_STYLE = {
    "term": {"color": "#ff7f0e", "linestyle": "--"},
    "kill": {"color": "#d62728", "linestyle": "-"},
}


def draw(document: dict[str, Any], out: Path = PLOTS) -> Path:
    settings = document["settings"]
    figure, (rss, latency, delivered) = plt.subplots(
        3, 1, figsize=(11, 11), sharex=True, gridspec_kw={"height_ratios": [3, 2, 1.4]}
    )
    nodes = sorted({life["node"] for life in document["node_processes"]})
    for life in document["node_processes"]:
        colour = COLOURS[nodes.index(life["node"]) % len(COLOURS)]
        # From when it answered: not the interpreter starting.
        points = [(t / 60, y) for t, y in life["rss_mib"] if t >= max(0, life["started_s"])]
        first = life is next(lv for lv in document["node_processes"] if lv["node"] == life["node"])
        rss.plot(
            [t for t, _ in points],
            [y for _, y in points],
            color=colour,
            label=life["node"] if first else None,
        )
        if points and life["slope_mib_per_10min"] is not None:
            rss.annotate(
                f"{life['slope_mib_per_10min']:+.1f}",
                points[-1],
                fontsize=7,
                color=colour,
                ha="right",
                va="bottom",
            )
    valkey = document["other_processes"]["valkey"]["rss_mib"]
    rss.plot([t / 60 for t, _ in valkey if t >= 0], [y for t, y in valkey if t >= 0],
             color="grey", linestyle=":", label="valkey")
    rss.set_ylabel("RSS, MiB")
    rss.set_title(
        f"Soak: {settings['minutes']:g} min, 3 nodes, {settings['pads']} pads x "
        f"({settings['typists']} typists + {settings['readers']} readers), "
        f"{len(document['restarts'])} restarts (dashed: SIGTERM, solid: SIGKILL)\n"
        "RSS of every node process; the number at its end: its steady slope, MiB / 10 min"
    )

    rows = [r for r in document["per_minute"] if r.get("samples")]
    x = [r["minute"] + 0.5 for r in rows]
    for key, style in (("p50", "--"), ("p99", "-"), ("max", ":")):
        latency.plot(x, [r[key] for r in rows], linestyle=style, marker="o", markersize=3,
                     label=f"{key} edit-to-peer")
    latency.set_yscale("log")
    latency.set_ylabel("ms (log), by minute sent")

    delivered.bar(x, [r["samples"] for r in rows], width=0.8, color="#17becf",
                  label="markers delivered to measuring peers")
    delivered.set_ylabel("deliveries a minute")
    delivered.set_xlabel("minutes since typing started")
    m = document["markers"]
    delivered.text(
        0.01, 0.95,
        f"markers typed {m['typed']:,} (while away {m['typed_offline']:,}), echoed "
        f"{m['echoed']:,}, acknowledged {m['acknowledged']:,}, in Valkey {m['present']:,}; "
        f"lost {m['lost']}, missing {m['missing']}, duplicated {m['duplicated']}",
        transform=delivered.transAxes, va="top", fontsize=8,
        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"},
    )

    typing = document["typing_s"] / 60
    for axes in (rss, latency, delivered):
        axes.axvspan(typing, typing + document["settle_s"] / 60, color="grey", alpha=0.1,
                     label="settle" if axes is rss else None)
        for r in document["restarts"]:
            axes.axvline(r["at"] / 60, linewidth=1, alpha=0.8, **RESTART_STYLE[r["signal"]])
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize=8, loc="upper right")
    for r in document["restarts"]:
        rss.annotate(f"{r['node'].replace('node ', 'n')}", (r["at"] / 60, 1.0),
                     xycoords=("data", "axes fraction"), fontsize=7, ha="left", va="top")
    figure.text(0.99, 0.01, _caption(document), ha="right", va="bottom", fontsize=7, alpha=0.7)
    figure.tight_layout(rect=(0, 0.02, 1, 1))
    path = out / f"{file_stem(document)}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path, help="a result file of soak.py")
    parser.add_argument("--out", type=Path, default=PLOTS, help="where the PNG goes")
    args = parser.parse_args()
    print(draw(json.loads(args.file.read_text()), args.out))


if __name__ == "__main__":
    main()
