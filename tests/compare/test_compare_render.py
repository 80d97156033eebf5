"""Golden output of the compare renderers (fixed width, no colour), on a hand-made report.

Regenerate after an intended change with
``CTOOL_UPDATE_GOLDEN=1 pytest tests/compare/test_compare_render.py`` and review the diff.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from rich.console import Console

from ctool.analysis.synthetic import environment
from ctool.model.schema import (
    CompareReport,
    EnvironmentDiffRow,
    MetricComparison,
    RunConfigModel,
)
from ctool.reports.compare_markdown import render_markdown
from ctool.reports.compare_terminal import render_compare

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def _row(metric: str, before: float, after: float, verdict: str, **kw: object) -> MetricComparison:
    return MetricComparison(
        metric=metric, before=before, after=after, ratio=after / before, verdict=verdict,  # type: ignore[arg-type]
        unit=kw.pop("unit", "ms"), n_before=10, n_after=10, method="test", **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def sample_report(mode: str = "rounds") -> CompareReport:
    rows = [
        _row("latency.p50", 41.7, 12.1, "faster", ci_low=0.27, ci_high=0.31, p_value=1e-5,
             gated=True),
        _row("latency.p95", 88.0, 15.2, "faster", ci_low=0.15, ci_high=0.19, p_value=1e-5),
        _row("latency.p99", 120.0, 19.0, "inconclusive", ci_low=0.05, ci_high=1.4, p_value=0.2),
        _row("latency.mean", 45.0, 12.9, "faster", ci_low=0.27, ci_high=0.30, p_value=1e-5),
        _row("throughput", 22.2, 77.5, "faster", unit="episodes/s", lower_is_better=False,
             ci_low=3.3, ci_high=3.7, p_value=1e-5),
        _row("stage.ESGT.p50", 30.1, 4.2, "faster", ci_low=0.13, ci_high=0.15, p_value=1e-5),
        _row("stage.MMEI.p50", 1.01, 1.02, "no significant change", ci_low=0.97, ci_high=1.04,
             p_value=0.6),
        _row("stage.MEA.p50", 2.0, 2.06, "within noise", ci_low=1.01, ci_high=1.04, p_value=0.01),
        _row("phi.hit_rate", 0.01, 0.62, "better", unit=None, lower_is_better=False),
        _row("rss.peak_mb", 80.0, 81.0, "same", unit="MB"),
    ]  # fmt: skip
    return CompareReport(
        created_at="2026-01-01T00:00:00+00:00",
        environment=environment(),
        config=RunConfigModel(pipeline="ctool.pipeline:create"),
        before="baseline.json",
        after="optimized.json",
        mode=mode,  # type: ignore[arg-type]
        blind_to_drift=mode == "batches",
        threshold=0.05,
        metrics=rows,
        gate=["p50"],
        changes=["latency.p50"],
        hotspots=[
            {
                "change": "shrank",
                "profiler": "cprofile",
                "function": "kuramoto_step",
                "file": "ctool/pipeline/esgt.py",
                "line": 88,
                "share_before": 0.61,
                "share_after": 0.2,
            },
            {
                "change": "vanished",
                "profiler": "cprofile",
                "function": "health_probe",
                "file": "ctool/pipeline/mmei.py",
                "line": 40,
                "share_before": 0.12,
                "share_after": 0.0,
            },
        ],  # fmt: skip
        environment_diff=[{"field": "config.preset", "before": "baseline", "after": "optimized"}],
        behaviour="outputs identical",
        behaviour_detail="digest 3f2a9c0d11aa",
        warnings=["the runs used different profilers; their overhead is in the timings"],
    )


def _terminal(report: CompareReport) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=110, color_system=None, force_terminal=False)
    console.print(render_compare(report))
    return buffer.getvalue()


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("CTOOL_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_terminal_golden() -> None:
    _golden("compare_table.txt", _terminal(sample_report()))


def test_markdown_golden() -> None:
    _golden("compare.md", render_markdown(sample_report()))


@pytest.mark.parametrize("render", [_terminal, render_markdown])
def test_blind_label_in_every_renderer(render: object) -> None:
    text = render(sample_report("batches"))  # type: ignore[operator]
    assert "blind to run-to-run" in " ".join(text.split())
    assert "blind" not in render(sample_report("rounds"))  # type: ignore[operator]


def test_markdown_escapes_table_cells() -> None:
    report = sample_report()
    report.behaviour_detail = "a|b"
    report.environment_diff = [EnvironmentDiffRow(field="settings.x", before="p|q", after="r")]
    text = render_markdown(report)
    assert "p\\|q" in text and "a\\|b" in text
