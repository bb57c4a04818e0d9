"""The soak's figures (bench/soak_figures.py): what counts as a lost marker, and the RSS slope
that decides whether a node's memory is flat. The soak itself takes half an hour and is not
run here."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

MIB = 1 << 20


def _load() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "bench" / "soak_figures.py"
    spec = importlib.util.spec_from_file_location("soak_figures", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


figures = _load()


def test_lost_is_echoed_but_missing() -> None:
    text = "#1##2##4##4#xx#9#"
    counts = figures.marker_counts(
        text, typed=[1, 2, 3, 4, 5, 6], echoed=[1, 2, 3, 4], offline=[5], acknowledged=[6]
    )
    assert counts == {
        "typed": 6,
        "typed_offline": 1,
        "echoed": 4,
        "acknowledged": 5,  # 6 came back in a server's state vector, not as an echo
        "present": 3,  # 1, 2, 4
        "lost": 1,  # 3 was echoed and is not there
        "lost_acknowledged": 2,  # 3 and 6
        "missing": 3,  # 3, 5 and 6; 5 was never acknowledged, so it is not lost
        "never_echoed": 2,
        "never_acknowledged": 1,
        "duplicated": 1,  # 4 twice
        "unexpected": 1,  # 9 was never typed
    }


def test_nothing_lost_when_everything_is_there() -> None:
    counts = figures.marker_counts("#10##11#", typed=[10, 11], echoed=[10, 11])
    assert (counts["lost"], counts["missing"], counts["duplicated"]) == (0, 0, 0)


def _line(
    start: float, end: float, level: float, per_10min: float, step: float = 5.0
) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    t = start
    while t < end:
        points.append((t, (level + per_10min * (t - start) / 600) * MIB))
        t += step
    return points


def test_slope_of_a_steady_growth() -> None:
    points = _line(0, 1200, 100, 2.0)
    assert figures.slope(points) == pytest.approx(2.0)


def test_a_step_at_a_cut_is_not_growth() -> None:
    # Flat at 80 MiB, then browsers move over at 600 s and it is flat again at 120 MiB, with
    # a spike while they join.
    points = [*_line(0, 600, 80, 0.0), (605.0, 200 * MIB), *_line(610, 1200, 120, 0.0)]
    found = figures.rss_slope(points, cuts=[0.0, 600.0], warmup=30.0, until=1200.0)
    assert found["slope_mib_per_10min"] == pytest.approx(0.0, abs=1e-9)
    assert found["plain_slope_mib_per_10min"] > 30  # a straight line reads the step as growth
    assert found["steady_pieces"] == 2
    assert found["rss_mib_start"] == 80.0 and found["rss_mib_end"] == 120.0
    assert found["rss_mib_peak"] == 200.0


def test_warmup_and_the_end_are_left_out() -> None:
    # Growing fast during the warm-up and after `until` (the settle period), flat between.
    points = _line(0, 60, 50, 100.0) + _line(60, 900, 60, 0.0) + _line(900, 1000, 60, 100.0)
    found = figures.rss_slope(points, cuts=[0.0], warmup=60.0, until=900.0)
    assert found["slope_mib_per_10min"] == pytest.approx(0.0, abs=1e-9)
    assert found["rss_mib_end"] == 60.0


def test_too_few_points_give_no_slope() -> None:
    assert figures.slope([(0.0, 1.0), (5.0, 2.0)]) is None


def test_latency_by_minute_sent() -> None:
    sent = [100.0, 110.0, 170.0, 250.0]
    latency = [0.010, 0.020, 0.5, 0.030]
    rows = figures.per_minute(sent, latency, start=100.0, minutes=3)
    assert [r["samples"] for r in rows] == [2, 1, 1]
    assert rows[0]["max"] == 20.0 and rows[1]["p50"] == 500.0
    assert figures.outside(sent, latency, [(165.0, 200.0)]) == [0.010, 0.020, 0.030]


def test_growth_the_content_explains_is_flat() -> None:
    # Idle until 600 s (holding no pad), then holding pads that grow by 10 MiB / 10 min, and
    # growing by exactly that: flat. Growing by 15 instead: 5 MiB / 10 min beyond, a leak.
    idle = _line(0, 600, 60, 0.0)
    for growth, is_flat in ((10.0, True), (15.0, False)):
        points = idle + _line(600, 1800, 90, growth)
        found = figures.rss_slope(points, [0.0, 600.0], 60.0, 1800.0, content=[0.0, 10.0])
        # The idle piece is shorter, so it weighs less than the typing one.
        assert 5.0 < found["content_slope_mib_per_10min"] < 10.0
        assert figures.flat(found) is is_flat
    assert figures.overall([found])["flat"] is is_flat
    assert figures.flat({"excess_mib_per_10min": None}) is None
    short = figures.rss_slope(idle, [0.0], 60.0, 240.0, content=[0.0])
    assert short["slope_mib_per_10min"] == 0.0 and figures.flat(short) is None  # 3 min: too short
