"""The soak's figures, as pure functions of what it recorded (bench/soak.py runs it).

- `marker_counts`: of the markers typed into one pad, how many were echoed to their typist,
  how many the stored pad holds, how many of the echoed ones it lacks (lost) and how many it
  holds twice.
- `rss_slope`: how fast a node process's memory grows while nothing changes around it. A
  restart moves the browsers of one node onto the others, so a node's RSS steps up when
  another node restarts; a straight line through its whole life would read that step as
  growth. The life is cut at every such moment, the first `warmup` seconds after each cut
  are left out (joins, resyncs, pads loading), and one slope is fitted to all the pieces at
  once, each piece with its own level (a pooled within-piece least-squares fit). Typing
  makes a live pad's document grow (doc_cost.py measures by how much a keystroke), so the
  slope is set against the growth the pads a process holds explain: `flat` judges the
  excess.
- `per_minute`: edit-to-peer latency percentiles of the markers sent in each minute.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

MARKER_TEXT = re.compile(r"#(\d+)#")  # as peers.MARKER_TEXT; kept here so this module stands alone
MIB = 1 << 20
TEN_MINUTES = 600.0
FLAT_MIB = 2.0  # MiB per 10 min beyond the content's growth still counted as flat
FLAT_SHARE = 0.2  # ... or this share of the content's growth, if larger
MIN_STEADY_S = 300.0  # steady seconds a process needs before its slope is judged

Point = tuple[float, float]  # (seconds, RSS bytes)


def marker_counts(
    text: str,
    typed: Iterable[int],
    echoed: Iterable[int],
    offline: Iterable[int] = (),
    acknowledged: Iterable[int] | None = None,
) -> dict[str, int]:
    """What became of the markers `typed` into a pad whose stored text is `text`.

    `echoed`: those whose typist saw them come back from the server (so they were in Valkey);
    `offline`: those typed while their typist was disconnected; `acknowledged`: those echoed
    or held in a server's state vector on a later connection (`echoed` if not given). `lost`
    counts echoed markers the text lacks: the server promised them and does not have them;
    `lost_acknowledged` the same for acknowledged ones. `missing` counts every typed marker
    the text lacks, echoed or not."""
    typed_set, echoed_set = set(typed), set(echoed)
    acked = echoed_set if acknowledged is None else set(acknowledged) | echoed_set
    found = Counter(int(seq) for seq in MARKER_TEXT.findall(text))
    present = typed_set & found.keys()
    return {
        "typed": len(typed_set),
        "typed_offline": len(set(offline) & typed_set),
        "echoed": len(echoed_set & typed_set),
        "acknowledged": len(acked & typed_set),
        "present": len(present),
        "lost": len((echoed_set & typed_set) - found.keys()),
        "lost_acknowledged": len((acked & typed_set) - found.keys()),
        "missing": len(typed_set - found.keys()),
        "never_echoed": len(typed_set - echoed_set),
        "never_acknowledged": len(typed_set - acked),
        "duplicated": sum(n - 1 for seq, n in found.items() if n > 1),
        "unexpected": len(found.keys() - typed_set),
    }


def file_stem(document: dict[str, Any]) -> str:
    """The name of a soak's result file and plot, without suffix: a quick or labelled run's
    never replaces a full run's."""
    label = document.get("settings", {}).get("label")
    quick = "-quick" if document.get("quick") else ""
    return f"{document['date']}-soak{quick}" + (f"-{label}" if label else "")


def add_counts(total: dict[str, int], more: dict[str, int]) -> None:
    for key, value in more.items():
        total[key] = total.get(key, 0) + value


def slope(points: Sequence[Point]) -> float | None:
    """Least-squares slope of RSS over time, in MiB per 10 min; None under three points."""
    return pooled_slope([points])


def pooled_slope(parts: Iterable[Sequence[Point]]) -> float | None:
    """One slope for several pieces, each around its own mean (MiB per 10 min); pieces of
    fewer than three points are left out; None if nothing is left."""
    sxy = sxx = 0.0
    for piece in parts:
        if len(piece) < 3:
            continue
        mt = sum(t for t, _ in piece) / len(piece)
        my = sum(y for _, y in piece) / len(piece)
        sxy += sum((t - mt) * (y - my) for t, y in piece)
        sxx += sum((t - mt) ** 2 for t, _ in piece)
    if sxx <= 0:
        return None
    return sxy / sxx * TEN_MINUTES / MIB


def pieces(
    points: Sequence[Point], cuts: Sequence[float], warmup: float, until: float
) -> list[tuple[int, list[Point]]]:
    """`points` up to `until`, cut at every time in `cuts` (sorted), less `warmup` s after
    each cut: (index of the cut, its points) for every piece that has points."""
    found: list[list[Point]] = [[] for _ in cuts]
    for t, y in points:
        if t > until:
            continue
        index = bisect.bisect_right(cuts, t) - 1  # the last cut at or before t
        if index >= 0 and t >= cuts[index] + warmup:
            found[index].append((t, y))
    return [(i, piece) for i, piece in enumerate(found) if piece]


def _spread(piece: Sequence[Point]) -> float:
    """Sum of squared deviations of the piece's times: its weight in a pooled slope."""
    if len(piece) < 3:
        return 0.0
    mean = sum(t for t, _ in piece) / len(piece)
    return sum((t - mean) ** 2 for t, _ in piece)


def rss_slope(
    points: Sequence[Point],
    cuts: Sequence[float],
    warmup: float,
    until: float,
    content: Sequence[float] | None = None,
) -> dict[str, Any]:
    """A process's RSS figures: start and end (after the first warm-up, up to `until`), peak,
    the pooled slope over its steady pieces, and for comparison the plain slope from the end
    of its first warm-up on. MiB and MiB per 10 min.

    `content`, one figure per cut: how fast the documents the process holds in that piece
    grow (MiB per 10 min); their mean weighted as the pooled slope weighs the pieces is
    `content_slope`, and `excess` is the slope beyond it: growth that typing does not
    explain."""
    order = sorted(range(len(cuts)), key=lambda i: cuts[i])
    ordered = [cuts[i] for i in order]
    steady = pieces(points, ordered, warmup, until)
    first = ordered[0] if ordered else float("-inf")
    after_warmup = [(t, y) for t, y in points if first + warmup <= t <= until]
    pooled = pooled_slope(piece for _, piece in steady)
    expected: float | None = None
    if content is not None:
        weights = [(_spread(piece), content[order[i]]) for i, piece in steady]
        total = sum(w for w, _ in weights)
        expected = sum(w * c for w, c in weights) / total if total > 0 else None

    def mib(value: float) -> float:
        return round(value / MIB, 1)

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 2)

    return {
        "rss_mib_start": mib(after_warmup[0][1]) if after_warmup else None,
        "rss_mib_end": mib(after_warmup[-1][1]) if after_warmup else None,
        "rss_mib_peak": mib(max(y for _, y in points)) if points else None,
        "steady_pieces": len(steady),
        "steady_seconds": round(sum(p[-1][0] - p[0][0] for _, p in steady), 1),
        "steady_samples": sum(len(p) for _, p in steady),
        "steady_spread_s2": round(sum(_spread(p) for _, p in steady), 1),
        "slope_mib_per_10min": rounded(pooled),
        "plain_slope_mib_per_10min": rounded(slope(after_warmup)),
        "content_slope_mib_per_10min": rounded(expected),
        "excess_mib_per_10min": rounded(
            None if pooled is None or expected is None else pooled - expected
        ),
    }


def flat(figures: dict[str, Any]) -> bool | None:
    """Whether a process's memory is flat but for what typing adds: its steady slope beyond
    the content's is at most FLAT_MIB per 10 min, or FLAT_SHARE of the content's slope when
    that is larger (the yardstick, doc_cost.py, varies by about that much from run to run).
    None when there is too little to tell: under MIN_STEADY_S of steady samples."""
    excess = figures.get("excess_mib_per_10min")
    content = figures.get("content_slope_mib_per_10min") or 0.0
    if excess is None or figures.get("steady_seconds", 0.0) < MIN_STEADY_S:
        return None
    return bool(excess <= max(FLAT_MIB, FLAT_SHARE * content))


def overall(processes: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The pooled slope, content slope and excess over every steady piece of `processes`
    (results of `rss_slope`), and whether that is flat."""
    weighted = [
        (p["steady_spread_s2"], p["slope_mib_per_10min"], p["content_slope_mib_per_10min"])
        for p in processes
        if p.get("slope_mib_per_10min") is not None
        and p.get("content_slope_mib_per_10min") is not None
    ]
    total = sum(w for w, _, _ in weighted)
    if total <= 0:
        return {"slope_mib_per_10min": None, "flat": None}
    slope_all = sum(w * s for w, s, _ in weighted) / total
    content = sum(w * c for w, _, c in weighted) / total
    found = {
        "slope_mib_per_10min": round(slope_all, 2),
        "content_slope_mib_per_10min": round(content, 2),
        "excess_mib_per_10min": round(slope_all - content, 2),
        "steady_seconds": round(sum(p["steady_seconds"] for p in processes), 1),
    }
    found["flat"] = flat(found)
    return found


def quantiles(values: Sequence[float]) -> dict[str, float]:
    """p50, p90, p99 and max of `values` (seconds) in ms; {"samples": 0} if there are none."""
    if not values:
        return {"samples": 0}
    ordered = sorted(values)
    n = len(ordered)

    def at(q: float) -> float:
        return round(ordered[min(n - 1, int(q * n))] * 1000, 2)

    return {"samples": n, "p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": at(1.0)}


def per_minute(
    sent_at: Sequence[float], latency: Sequence[float], start: float, minutes: int
) -> list[dict[str, Any]]:
    """Latency of the markers sent in each whole minute from `start` (send times and
    latencies in seconds, side by side), one row a minute."""
    buckets: list[list[float]] = [[] for _ in range(minutes)]
    for t, lat in zip(sent_at, latency, strict=True):
        minute = int((t - start) // 60)
        if 0 <= minute < minutes:
            buckets[minute].append(lat)
    return [{"minute": m, **quantiles(b)} for m, b in enumerate(buckets)]


def outside(
    sent_at: Sequence[float], latency: Sequence[float], windows: Iterable[tuple[float, float]]
) -> list[float]:
    """Latencies of the markers sent outside every (start, end) window."""
    spans = sorted(windows)
    return [
        lat
        for t, lat in zip(sent_at, latency, strict=True)
        if not any(a <= t < b for a, b in spans)
    ]
