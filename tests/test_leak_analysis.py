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
    analyze,
    fit_trend,
    judge_series,
    late_window,
    rank_sites,
    type_growth,
)
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


def test_steady_growth_is_a_leak() -> None:
    traced = _noisy([1e6 + 1024 * e for e in EPISODES], 2000)
    result = analyze(EPISODES, traced, RSS_FLAT, Criteria())
    assert result.verdict == "leak"
    assert result.traced.ci_low > 256
    assert "still growing over the last third" in result.reason


def test_flat_noisy_memory_is_clean() -> None:
    traced = _noisy([1e6] * len(EPISODES), 3000)
    result = analyze(EPISODES, traced, RSS_FLAT, Criteria())
    assert result.verdict == "clean"


def test_growth_that_levels_off_is_not_a_leak() -> None:
    # A cache filling for the first 30 % of the run, then full.
    traced = [1e6 + 4096 * min(e, 180) for e in EPISODES]
    result = analyze(EPISODES, traced, RSS_FLAT, Criteria())
    assert result.verdict == "clean"
    assert "levels off" in result.reason
    assert result.traced_late is not None and result.traced_late.ci_high <= 256


def test_slope_above_threshold_but_growth_under_floor_is_clean() -> None:
    # 300 B/episode in a 1 GB process: 180 kB, 0.018 % of it, over the run.
    traced = [5e8 + 300 * e for e in EPISODES]
    rss = [1e9] * len(EPISODES)
    result = analyze(EPISODES, traced, rss, Criteria())
    assert result.verdict == "clean"
    assert "floor" in result.reason
    assert result.traced.growth_pct_of_rss == pytest.approx(0.018)
    # ...and a leak once the floor is lowered below the growth.
    assert analyze(EPISODES, traced, rss, Criteria(growth_floor_pct=0.01)).verdict == "leak"


def test_interval_straddling_the_threshold_is_inconclusive() -> None:
    rng = random.Random(7)
    traced = [1e6 + 300 * e + rng.gauss(0, 60_000) for e in EPISODES]
    result = analyze(EPISODES, traced, RSS_FLAT, Criteria())
    assert result.traced.ci_low <= 256 < result.traced.ci_high
    assert result.verdict == "inconclusive"
    assert "too noisy" in result.reason


def test_rss_growth_without_traced_growth_is_a_native_leak() -> None:
    traced = [1e6] * len(EPISODES)
    rss = [80e6 + 4096 * e for e in EPISODES]
    result = analyze(EPISODES, traced, rss, Criteria())
    assert result.verdict == "leak"
    assert "outside Python's allocator" in result.reason


def test_noisy_rss_does_not_spoil_a_clean_traced_run() -> None:
    traced = [1e6] * len(EPISODES)
    rss = [80e6 + 1500 * e + 1e6 * math.sin(i * 2.3) for i, e in enumerate(EPISODES)]
    result = analyze(EPISODES, traced, rss, Criteria())
    assert result.rss.ci_low <= 256 < result.rss.ci_high
    assert result.verdict == "clean"
    assert "RSS" in result.reason


def test_threshold_zero_flags_any_steady_growth() -> None:
    traced = [1e6 + 16 * e for e in EPISODES]
    assert analyze(EPISODES, traced, RSS_FLAT, Criteria()).verdict == "clean"
    assert (
        analyze(EPISODES, traced, RSS_FLAT, Criteria(threshold=0, growth_floor_pct=0)).verdict
        == "leak"
    )


def test_analysis_needs_enough_samples() -> None:
    few = EPISODES[: MIN_SAMPLES - 1]
    with pytest.raises(ValueError):
        analyze(few, few, few, Criteria())


def test_judge_series_without_a_late_window() -> None:
    fit = fit_trend(EPISODES, [1e6 + 1024 * e for e in EPISODES])
    judgement = judge_series(fit, None, Criteria(), what="x")
    assert judgement.verdict == "leak"


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
    analysis = analyze(EPISODES, traced, RSS_FLAT, Criteria())
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
