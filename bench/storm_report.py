"""The figures of bench/restart_storm.py as Markdown tables, from its result file.

    .venv/bin/python bench/storm_report.py bench/results/<date>-restart-storm.json
"""

from __future__ import annotations

import json
import sys
from typing import Any


def table(document: dict[str, Any]) -> str:
    rows = [
        "| round | phase | s | other pads on B p50 / p99 / max ms | fresh pad on A p50 / p99 / "
        "max ms | storm pads p50 / p99 ms | node A CPU % | node B CPU % | node B waiting "
        "for CPU % | valkey CPU % | generators CPU % | other processes CPU % |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in document["rounds"]:
        for phase, f in r["phases"].items():
            pr = f["processes"]

            def cpu(name: str, key: str = "cpu_pct", pr: dict[str, Any] = pr) -> Any:
                return pr.get(name, {}).get(key, "-")

            def lat(p: dict[str, Any]) -> str:
                return f"{p.get('p50', '-')} / {p.get('p99', '-')} / {p.get('max', '-')}"

            loadgen, watcher = cpu("loadgen"), cpu("watcher")
            gens = "-" if "-" in (loadgen, watcher) else round(loadgen + watcher, 1)
            rows.append(
                f"| {r['round']} ({r['signal']}) | {phase} | {f['seconds']} "
                f"| {lat(f['other_pads_on_b_ms'])} | {lat(f['fresh_pad_on_a_ms'])} "
                f"| {f['storm_pads_ms'].get('p50', '-')} / {f['storm_pads_ms'].get('p99', '-')} "
                f"| {cpu('node A')} | {cpu('node B')} | {cpu('node B', 'waiting_for_cpu_pct')} "
                f"| {cpu('valkey')} | {gens} | {pr.get('other_processes_cpu_pct', '-')} |"
            )
    rows.append("")
    rows.append(
        "| round | old node A exited after s | new node A answering after s | browsers back "
        "| per browser back after A answered p50 / p99 / max ms | its last attempt, open to "
        "step 2, p50 / p99 / max ms | all back after A answered s | fresh pad on A synced "
        "after A answered ms |"
    )
    rows.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in document["rounds"]:
        b = r["back"]
        per, last = b["per_browser_after_up_ms"], b["per_browser_last_attempt_ms"]
        rows.append(
            f"| {r['round']} ({r['signal']}) | {r['old_node_exit_s']} | {r['new_node_start_s']} "
            f"| {b['back']} of {b['browsers']} | {per.get('p50', '-')} / {per.get('p99', '-')} / "
            f"{per.get('max', '-')} | {last.get('p50', '-')} / {last.get('p99', '-')} / "
            f"{last.get('max', '-')} | {b['all_back_after_up_s']} "
            f"| {r.get('fresh_pad', {}).get('writer_synced_after_up_ms', '-')} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    print(table(json.loads(open(sys.argv[1]).read())))
