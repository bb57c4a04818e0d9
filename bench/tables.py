"""The Markdown tables run.py prints after a run, one per kind of scenario, with each goal's
verdict and every summitpad figure as a ratio to the peers measured in the same run."""

from __future__ import annotations

from typing import Any

import targets

GOALS = {"fanout-500": 20.0, "fanout-1000": 40.0, "summit": 100.0}  # p99 ms, summitpad alone
TRACE_GOALS = {"join-storm": 2000.0, "cold-load": 50.0}  # p99 ms
AUTHORS_GOAL = 500  # authors on one pad held at p95 <= 100 ms, with three nodes
PYCRDT = "pycrdt-websocket"
PYCRDT_FACTOR = 0.5  # summitpad's p99 goal against pycrdt-websocket's, in fan-out and summit


def p99_ratios(
    steps: list[dict[str, Any]], against: str = targets.REFERENCE
) -> dict[tuple[str, str], float]:
    """(step, target) -> its p99 over the p99 of `against` in the same step."""
    reference = {
        s["step"]: s["latency_ms"]["p99"]
        for s in steps
        if s.get("target") == against and s["latency_ms"].get("p99")
    }
    return {
        (s["step"], s.get("target", "summitpad")): round(
            s["latency_ms"]["p99"] / reference[s["step"]], 2
        )
        for s in steps
        if s["step"] in reference and "p99" in s["latency_ms"]
    }


def peer_verdict(target: str, to_reference: float | None, to_pycrdt: float | None) -> str:
    """summitpad's goal in fan-out and summit: p99 no more than the reference server's and no
    more than half of pycrdt-websocket's, in the same step."""
    if not target.startswith("summitpad") or to_reference is None or to_pycrdt is None:
        return ""
    met = to_reference <= 1.0 and to_pycrdt <= PYCRDT_FACTOR
    return f"<= 1 and <= {PYCRDT_FACTOR:g}: {'met' if met else 'missed'}"


def table(
    files: dict[str, dict[str, Any]], machine: dict[str, Any], peer_versions: dict[str, str]
) -> str:
    rows = [
        "| step | target | connections | p50 ms | p99 ms | p99 vs y-websocket "
        "| p99 vs pycrdt-websocket | goal against the peers | max ms "
        "| goal (p99) | first-peer p99 ms | probe p50 / p99 ms "
        "| server CPU % | loadgen CPU % | valkey CPU % | other processes CPU % | machine idle % "
        "| server RSS end / peak MiB | RSS per conn KiB | disconnects | missing deliveries "
        "| lost or diverged docs |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:"
        "|---:|---:|---:|---:|",
    ]
    latency_steps = [d for d in files.values() if d["scenario"] in ("fanout", "summit")]
    if not latency_steps:
        rows = []
    for document in latency_steps:
        ratios = p99_ratios(document["steps"])
        pycrdt = p99_ratios(document["steps"], PYCRDT)
        for s in document["steps"]:
            lat, cpu, rss = s["latency_ms"], s["cpu_pct_of_one_core"], s["rss_mib"]["server"]
            target = s.get("target", "summitpad")
            goal = GOALS.get(s["step"])
            probe = s.get("probe", {}).get("latency_ms", {})
            verdict = ""
            if goal is not None and "p99" in lat and not document["quick"]:
                met = lat["p99"] <= goal and (s["step"] != "summit" or s["disconnects"] == 0)
                verdict = f"<= {goal:g} ms: {'met' if met else 'missed'}"
            ratio = ratios.get((s["step"], target))
            to_pycrdt = pycrdt.get((s["step"], target))
            cells = [
                s["step"],
                target,
                s["connections"],
                lat.get("p50", "-"),
                lat.get("p99", "-"),
                "-" if ratio is None else f"{ratio:g}",
                "-" if to_pycrdt is None else f"{to_pycrdt:g}",
                peer_verdict(target, ratio, to_pycrdt),
                lat.get("max", "-"),
                verdict,
                s["first_peer_latency_ms"].get("p99", "-"),
                f"{probe.get('p50', '-')} / {probe.get('p99', '-')}",
                cpu["server"],
                cpu["loadgen"],
                cpu.get("valkey", "-"),
                cpu["other_processes"],
                cpu["machine"]["idle"],
                f"{rss['at_window_end']} / {rss['peak']}",
                s["server_rss_kib_per_connection"],
                s["disconnects"],
                s["missing_deliveries"],
                s["convergence"]["lost_or_diverged_documents"],
            ]
            rows.append("| " + " | ".join(str(c) for c in cells) + " |")
    if "authors" in files:
        rows += ["", authors_table(files["authors"])]
    traced = [d for d in files.values() if d["scenario"] in TRACE_SCENARIOS]
    if traced:
        rows += ["", trace_table(traced)]
    rows.append("")
    rows.append(
        f"Machine: {machine['nproc']} x {machine['cpu_model']}, {machine['memory_gib']} GiB; "
        f"Python {machine['python']}, pycrdt {machine['pycrdt']}, aiohttp {machine['aiohttp']}, "
        f"Valkey {machine['valkey']}. Peers: "
        + ", ".join(f"{k} {v}" for k, v in peer_versions.items())
        + ". CPU is % of one core over the measured window, summed over a target's nodes; "
        f"the machine has {100 * (machine['nproc'] or 1)} %."
    )
    return "\n".join(rows)


def authors_table(document: dict[str, Any]) -> str:
    """One row per target: authors held, and the p95 of every level of its ramp."""
    rows = [
        "| target | authors held (p95 <= 100 ms) | goal | p95 ms per level (typists: p95) "
        "| server CPU % at the last level | loadgen CPU % | loadgen lag p99 ms "
        "| disconnects | lost or diverged docs |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    for s in document["steps"]:
        last = s["levels"][-1]
        goal = ""
        if s["target"] == "summitpad-3" and not document["quick"]:
            goal = f">= {AUTHORS_GOAL}: {'met' if s['authors_held'] >= AUTHORS_GOAL else 'missed'}"
        cells = [
            s["target"],
            s["authors_held"],
            goal,
            ", ".join(f"{lv['typists']}: {lv['latency_ms'].get('p95', '-')}" for lv in s["levels"]),
            last["cpu_pct_of_one_core"]["server"],
            last["cpu_pct_of_one_core"]["loadgen"],
            last["loadgen_loop_lag_ms"].get("p99", "-"),
            s["disconnects"],
            s["convergence"]["lost_or_diverged_documents"],
        ]
        rows.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(rows)


TRACE_SCENARIOS = ("join-storm", "replay", "cold-load")


def _trace_detail(s: dict[str, Any]) -> str:
    """The figures a trace scenario has beyond its latency."""
    if s["step"] == "join-storm":
        return (
            f"{s['clients']} clients, all synced in {s['all_joined_s']} s, "
            f"step 2 {max(s['step2_bytes'], default=0):,} bytes"
        )
    if s["step"] == "replay":
        edits = s["edit_to_peer_ms"]
        return (
            f"{s['transactions']:,} transactions in {s['replay_s']} s "
            f"({s['updates_per_s']} updates/s), edit-to-peer p50 / p99 "
            f"{edits.get('p50', '-')} / {edits.get('p99', '-')} ms"
        )
    passes = ", ".join(
        f"{name.replace('_', ' ')}: p50 {lat.get('p50', '-')} / p99 {lat.get('p99', '-')} ms"
        for name, lat in s["by_pass"].items()
    )
    return f"{s['pads']} pads; {passes}" + (f"; {s['persistence']}" if "persistence" in s else "")


def trace_table(documents: list[dict[str, Any]]) -> str:
    """One row per step and target of the scenarios on recorded editing traces."""
    rows = [
        "| scenario | target | p50 ms | p99 ms | max ms | p99 vs y-websocket "
        "| p99 vs pycrdt-websocket | goal | details | server CPU % | loadgen CPU % "
        "| server RSS peak MiB | disconnects | lost or diverged docs |",
        "|---|---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    for document in documents:
        ratios = p99_ratios(document["steps"])
        pycrdt = p99_ratios(document["steps"], PYCRDT)
        for s in document["steps"]:
            target, lat = s["target"], s["latency_ms"]
            if "skipped" in s:
                rows.append(f"| {s['step']} | {target} | skipped: {s['skipped']} |")
                continue
            goal = TRACE_GOALS.get(s["step"])
            verdict = ""
            if goal is not None and target.startswith("summitpad") and not document["quick"]:
                met = lat.get("p99", goal + 1) <= goal
                verdict = f"<= {goal:g} ms: {'met' if met else 'missed'}"
            ratio, to_pycrdt = ratios.get((s["step"], target)), pycrdt.get((s["step"], target))
            cells = [
                s["step"],
                target,
                lat.get("p50", "-"),
                lat.get("p99", "-"),
                lat.get("max", "-"),
                "-" if ratio is None else f"{ratio:g}",
                "-" if to_pycrdt is None else f"{to_pycrdt:g}",
                verdict,
                _trace_detail(s),
                s["cpu_pct_of_one_core"]["server"],
                s["cpu_pct_of_one_core"]["loadgen"],
                s["rss_mib"]["server"]["peak"],
                s["disconnects"],
                s["convergence"]["lost_or_diverged_documents"],
            ]
            rows.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(rows)
