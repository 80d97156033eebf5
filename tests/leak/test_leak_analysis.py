"""The pure leak analysis: slopes, verdict rules, site ranking, type growth, the chart."""

from __future__ import annotations

import io
import math
import random

import pytest
from rich.console import Console

from ctool.analysis.leak import (
    MIN_SAMPLES,
    Criteria,
    RawSite,
    fit_trend,
    late_window,
    rank_sites,
    type_growth,
)
from ctool.analysis.leak_verdict import decide, projection
from ctool.model.format import size as format_bytes
from ctool.model.schema import Environment, LeakcheckReport, LeakSample, RunConfigModel
from ctool.reports.leak_view import block_chart, render_leakcheck, sparkline

EPISODES = [float(e) for e in range(0, 620, 20)]  # 31 samples, as 600 episodes every 20
RSS_FLAT = [80e6] * len(EPISODES)


def _noisy(values: list[float], amplitude: float, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [v + rng.uniform(-amplitude, amplitude) for v in values]


def test_fit_trend_recovers_an_exact_line() -> None:
    fit = fit_trend(EPISODES, [1e6 + 1024 * e for e in EPISODES])
    assert fit.slope == pytest.approx(1024)
    assert fit.ci_low == pytest.approx(1024) and fit.ci_high == pytest.approx(1024)
    assert fit.growth_bytes == pytest.approx(1024 * 600)
    assert fit.growth_pct == pytest.approx(100 * 1024 * 600 / 1e6)
    assert fit.samples == len(EPISODES)


def test_fit_trend_shrugs_off_a_spike() -> None:
    values = [2e6 + 500 * e for e in EPISODES]
    values[10] += 5e6  # one sample caught mid-allocation
    fit = fit_trend(EPISODES, values)
    assert fit.slope == pytest.approx(500, rel=0.01)
    assert fit.ci_low <= 500 <= fit.ci_high


def test_late_window_is_the_last_third_with_a_minimum() -> None:
    x, _ = late_window(EPISODES, EPISODES)
    assert x == EPISODES[-10:]
    x, _ = late_window(EPISODES[:6], EPISODES[:6])
    assert len(x) == 5


LONG = [float(e) for e in range(0, 12_020, 20)]  # 602 samples: past the default horizon
RSS_LONG = [80e6] * len(LONG)


def test_steady_growth_past_the_horizon_is_a_leak() -> None:
    traced = _noisy([1e6 + 32 * e for e in LONG], 4000)
    result = decide(LONG, traced, RSS_LONG, Criteria(), final=False)
    assert result.verdict == "leak" and result.growth == "steady"
    assert result.traced.ci_low > 0
    assert "stable rate after 12000 episodes" in result.reason


def test_steady_growth_before_the_horizon_extends_the_run() -> None:
    traced = [1e6 + 1024 * e for e in EPISODES]
    result = decide(EPISODES, traced, RSS_FLAT, Criteria(), final=False)
    assert result.verdict is None and not result.settled
    # ...and with the budget spent before the horizon it is inconclusive, not clean.
    spent = decide(EPISODES, traced, RSS_FLAT, Criteria(), final=True)
    assert spent.verdict == "inconclusive"
    assert "cannot be ruled out" in spent.reason
    assert decide(EPISODES, traced, RSS_FLAT, Criteria(horizon=600), final=False).verdict == "leak"


def test_flat_noisy_memory_is_clean_with_a_detection_limit() -> None:
    traced = _noisy([1e6] * len(LONG), 3000)
    result = decide(LONG, traced, RSS_LONG, Criteria(), final=False)
    assert result.verdict == "clean" and result.growth == "none"
    assert result.detection_limit is not None and result.detection_limit <= 8
    assert result.plateau is None


def test_growth_that_stops_is_clean_with_its_plateau() -> None:
    # A cache filling for the first 30 % of the run, then full.
    traced = [1e6 + 4096 * min(e, 180) for e in EPISODES]
    result = decide(EPISODES, traced, RSS_FLAT, Criteria(), final=False)
    assert result.verdict == "clean" and result.growth == "stopped"
    assert "growth that stopped" in result.reason
    assert result.plateau is not None
    assert result.plateau.growth_bytes == pytest.approx(4096 * 180)
    assert result.plateau.episode == 180


def test_noisy_late_window_extends_then_is_inconclusive_with_its_limit() -> None:
    rng = random.Random(7)
    traced = [1e6 + rng.gauss(0, 60_000) for _ in EPISODES]
    result = decide(EPISODES, traced, RSS_FLAT, Criteria(), final=False)
    assert result.verdict is None and result.growth == "unsettled"
    spent = decide(EPISODES, traced, RSS_FLAT, Criteria(), final=True)
    assert spent.verdict == "inconclusive"
    assert spent.detection_limit is not None and spent.detection_limit > 8
    assert "would not have been seen" in spent.reason


def test_growth_that_slows_down_is_not_called_steady() -> None:
    traced = [1e6 + 20_000 * math.sqrt(e) for e in LONG]
    result = decide(LONG, traced, RSS_LONG, Criteria(), final=True)
    assert result.growth in ("slowing", "steady")
    fast_then_slow = [1e6 + (1000 * e if e < 4000 else 4e6 + 10 * (e - 4000)) for e in LONG]
    slowing = decide(LONG, fast_then_slow, RSS_LONG, Criteria(), final=True)
    assert slowing.verdict == "inconclusive" and slowing.growth == "slowing"


def test_growth_below_the_floor_is_not_a_leak() -> None:
    # 2 B/episode in a 1 GB process: 24 kB over the run, far under 0.1 % of it.
    traced = [5e8 + 2 * e for e in LONG]
    rss = [1e9] * len(LONG)
    result = decide(LONG, traced, rss, Criteria(), final=True)
    assert result.verdict == "inconclusive"
    assert "floor" in result.reason
    assert decide(LONG, traced, rss, Criteria(growth_floor_pct=0), final=True).verdict == "leak"


def test_tolerance_lets_slow_growth_through() -> None:
    traced = [1e6 + 16 * e for e in LONG]
    assert decide(LONG, traced, RSS_LONG, Criteria(), final=True).verdict == "leak"
    tolerant = decide(LONG, traced, RSS_LONG, Criteria(threshold=32), final=True)
    assert tolerant.verdict == "clean"


def test_rss_growth_beyond_traced_memory_is_a_native_leak() -> None:
    traced = [1e6] * len(LONG)
    rss = [80e6 + 4096 * e for e in LONG]
    result = decide(LONG, traced, rss, Criteria(), final=False)
    assert result.verdict == "leak"
    assert result.rss_beyond_traced == pytest.approx(4096)
    assert "beyond traced memory" in result.reason and "--engine memray" in result.reason


def test_rss_far_faster_than_a_traced_leak_is_named_in_the_headline() -> None:
    """Issue 25: sqlite3 in memory per episode -- tracemalloc sees +1,762 B/episode of
    Python objects, RSS grows +76,007 B/episode. The traced verdict stays a leak, and its
    reason gives both slopes and points at the engine that sees the rest."""
    traced = _noisy([1e6 + 1762 * e for e in LONG], 2000)
    rss = _noisy([80e6 + 76007 * e for e in LONG], 40000, seed=2)
    result = decide(LONG, traced, rss, Criteria(), final=False)
    assert result.verdict == "leak"
    assert result.rss_beyond_traced == pytest.approx(76007 - 1762, rel=0.05)
    assert "retained memory" in result.reason
    assert "RSS grew" in result.reason and "--engine memray" in result.reason


def test_rss_growing_with_traced_memory_is_not_called_native() -> None:
    traced = [1e6 + 4096 * e for e in LONG]
    rss = [80e6 + 4400 * e for e in LONG]
    result = decide(LONG, traced, rss, Criteria(), final=False)
    assert result.verdict == "leak" and result.rss_beyond_traced is None
    assert "--engine memray" not in result.reason


def test_noisy_rss_does_not_spoil_a_clean_traced_run() -> None:
    traced = [1e6] * len(LONG)
    rss = [80e6 + 1e6 * math.sin(i * 2.3) for i in range(len(LONG))]
    result = decide(LONG, traced, rss, Criteria(), final=False)
    assert result.verdict == "clean"


def test_analysis_needs_enough_samples() -> None:
    few = EPISODES[: MIN_SAMPLES - 1]
    with pytest.raises(ValueError):
        decide(few, few, few, Criteria(), final=True)


def test_long_series_are_thinned_for_the_fit() -> None:
    fit = fit_trend(LONG * 1, [1e6 + 8 * e for e in LONG])
    assert fit.samples is not None and fit.samples <= 400
    assert fit.slope == pytest.approx(8)


def test_projection_per_million_and_time_to_ten_percent() -> None:
    p = projection(32.0, episodes_per_s=100.0, rss_bytes=100e6)
    assert p.bytes_per_million_episodes == pytest.approx(32e6)
    assert p.seconds_to_10pct_rss == pytest.approx(10e6 / 3200)
    assert projection(0.0, episodes_per_s=100.0, rss_bytes=1e8).seconds_to_10pct_rss is None


def test_type_growth_steady_when_both_parts_agree() -> None:
    start, mid, end = {"int": 0, "dict": 10}, {"int": 800, "dict": 410}, {"int": 1000, "dict": 411}
    rows = {row.type: row for row in type_growth(start, end, 1000, mid=mid, mid_episode=800)}
    assert rows["int"].steady is True
    assert rows["int"].per_episode_early == pytest.approx(1.0)
    assert rows["dict"].steady is False  # grew early, stopped


def test_type_growth_orders_and_filters() -> None:
    start = {"dict": 100, "Foo": 10, "list": 50}
    end = {"dict": 103, "Foo": 610, "list": 250, "Bar": 40}
    rows = type_growth(start, end, 600)
    assert [(r.type, r.growth) for r in rows] == [("Foo", 600), ("list", 200), ("Bar", 40)]
    assert rows[0].per_episode == pytest.approx(1.0)
    assert type_growth(start, end, 600, top=1)[0].type == "Foo"


def _plumbing(filename: str) -> bool:
    return filename.startswith("/loop/")


def test_rank_sites_merges_hidden_frames_and_nets_out() -> None:
    user = ("/app/pipe.py", 34)
    raw = [
        # Same user line reached through two event-loop paths: one site.
        RawSite((user, ("/app/pipe.py", 80), ("/loop/a.py", 1)), 60_000, 60),
        RawSite((user, ("/app/pipe.py", 80), ("/loop/b.py", 9)), 40_000, 40),
        # Replaced state: freed under one loop path, allocated under another: nets to 0.
        RawSite((("/app/pipe.py", 20), ("/loop/a.py", 1)), -5_000, -1),
        RawSite((("/app/pipe.py", 20), ("/loop/b.py", 9)), 5_000, 1),
        # Only machinery: not the pipeline's.
        RawSite((("/loop/a.py", 3),), 9_999_999, 1),
        RawSite((("/app/other.py", 5),), 1_000, 10),
    ]
    seen: list[tuple[tuple[str, int], ...]] = []

    def stage_of(frames: object) -> str | None:
        frames = tuple(frames)  # type: ignore[arg-type]
        seen.append(frames)
        return "MEA" if ("/app/pipe.py", 80) in frames else None

    sites = rank_sites(
        raw,
        100,
        is_plumbing=_plumbing,
        stage_of=stage_of,
        describe=lambda f, n: ("Pipe.run", "kept.append(x)"),
    )
    assert [(s.file, s.line) for s in sites] == [("/app/pipe.py", 34), ("/app/other.py", 5)]
    top = sites[0]
    assert top.size_diff_bytes == 100_000 and top.count_diff == 100
    assert top.bytes_per_episode == pytest.approx(1000)
    assert top.stage == "MEA"
    assert top.traceback == ["/app/pipe.py:34", "/app/pipe.py:80"]
    assert top.function == "Pipe.run" and top.code == "kept.append(x)"
    assert sites[1].stage is None
    assert all(not any(f.startswith("/loop/") for f, _ in frames) for frames in seen)


def test_rank_sites_top_limits_rows() -> None:
    raw = [RawSite(((f"/app/m{i}.py", 1),), 100 * (i + 1), 1) for i in range(20)]
    sites = rank_sites(raw, 10, is_plumbing=_plumbing, stage_of=lambda f: None, top=3)
    assert [s.file for s in sites] == ["/app/m19.py", "/app/m18.py", "/app/m17.py"]


def test_block_chart_golden() -> None:
    assert block_chart([0, 1, 2, 3, 4, 5, 6, 7], height=2, width=8) == [
        "    ▂▄▆█",
        "▁▃▅▇████",
    ]


def test_block_chart_flat_series_is_one_low_row() -> None:
    rows = block_chart([5.0] * 10, height=3)
    assert rows == [" " * 10, " " * 10, "▁" * 10]


def test_block_chart_buckets_long_series() -> None:
    rows = block_chart([float(i) for i in range(600)], width=60, height=4)
    assert all(len(row) == 60 for row in rows)
    assert rows[-1][0] == "▁" and rows[0][-1] == "█"


def test_sparkline_and_bytes() -> None:
    assert sparkline([0, 8]) == "▁█"
    assert sparkline([]) == ""
    assert format_bytes(812) == "812 B"
    assert format_bytes(1536 * 1024) == "1.5 MiB"
    assert format_bytes(2048, signed=True) == "+2.0 KiB"
    assert format_bytes(-2048, signed=True) == "-2.0 KiB"
    assert format_bytes(0, signed=True) == "0 B"


def _report(verdict: str = "leak") -> LeakcheckReport:
    traced = [1_000_000 + 1024 * int(e) for e in EPISODES]
    analysis = decide(EPISODES, traced, RSS_FLAT, Criteria(horizon=600), final=True)
    sites = rank_sites(
        [RawSite((("/app/pipeline/mea.py", 42),), 614_400, 600)],
        600,
        is_plumbing=_plumbing,
        stage_of=lambda f: "MEA",
        describe=lambda f, n: ("AttentionSchema.update", "self._kept.append(bytes(n))"),
    )
    return LeakcheckReport(
        created_at="2024-01-01T00:00:00+00:00",
        environment=Environment(
            python="3.11",
            implementation="CPython",
            platform="x",
            cpu_model="x",
            cpu_count=2,
            hostname="h",
        ),
        config=RunConfigModel(pipeline="ctool.pipeline:create", preset="optimized", seed=0),
        episodes=600,
        warmup=100,
        every=20,
        threshold_bytes_per_episode=256,
        growth_floor_pct=1,
        verdict=verdict,  # type: ignore[arg-type]
        reason=analysis.reason,
        traced=analysis.traced,
        rss=analysis.rss,
        traced_late=analysis.traced_late,
        rss_late=analysis.rss_late,
        samples=[
            LeakSample(episode=int(e), traced_bytes=t, rss_bytes=80_000_000)
            for e, t in zip(EPISODES, traced, strict=True)
        ],
        sites=sites,
        types=type_growth({"bytes": 10}, {"bytes": 610}, 600),
        confidence=0.95,
    )


def test_render_shows_verdict_chart_sites_and_types() -> None:
    out = io.StringIO()
    Console(file=out, width=100, color_system=None, force_terminal=False).print(
        render_leakcheck(_report())
    )
    text = out.getvalue()
    assert "verdict: LEAK" in text
    assert "+1,024 B/episode" in text
    assert "█" in text and "▁" in text  # the chart
    assert "mea.py:42 in AttentionSchema.update" in text
    assert "self._kept.append(bytes(n))" in text
    assert "MEA" in text and "1,024.0" in text
    assert "bytes" in text and "+600" in text
    assert not math.isnan(_report().traced.slope)


def test_report_round_trips_through_json() -> None:
    from ctool.model.io import parse_report

    report = _report()
    again = parse_report(report.model_dump(mode="json"))
    assert again == report
