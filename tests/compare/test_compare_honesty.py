"""Honest compare: warnings in every format, drift inside a file's rounds, the drift floor,
Holm on ungated rows, rows too small to time, the low-end qualifier, and the
instruction counter (a fake ``perf_event_open``)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from rich.console import Console

from ctool.ab import counters
from ctool.analysis.compare import compare_reports
from ctool.analysis.compare.drift import round_drift
from ctool.analysis.compare.gate import correct_ungated
from ctool.analysis.compare.rows import low_end_note
from ctool.analysis.synthetic import LatencyModel, profile_report
from ctool.model.errors import UsageError
from ctool.model.schema import CompareReport, MetricComparison
from ctool.reports.compare_markdown import render_markdown
from ctool.reports.compare_terminal import render_compare
from ctool.reports.html.compare import compare_page

MODEL = LatencyModel()


def _files(rng: np.random.Generator, states: tuple[list[float], list[float]]) -> list[object]:
    """Two 10-round files whose rounds ran in the given machine states (factor per round)."""
    return [
        profile_report(list(MODEL.episodes(rng, (10,), 100) * np.array(s)[:, None]), batches=2)
        for s in states
    ]


def _terminal(report: CompareReport) -> str:
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(render_compare(report))
    return console.file.getvalue()  # type: ignore[attr-defined,no-any-return]


def _every_format(report: CompareReport) -> list[str]:
    html = compare_page(report, [])
    return [
        json.dumps(json.loads(report.model_dump_json())["warnings"]),
        render_markdown(report),
        _terminal(report),
        " ".join(html.warnings),
    ]


def test_single_run_compare_warns_in_every_format_and_headline_says_blind() -> None:
    rng = np.random.default_rng(1)
    before = profile_report([MODEL.episodes(rng, (), 1000)])
    after = profile_report([MODEL.episodes(rng, (), 1000) * 0.8])
    report = compare_reports(before, after)
    assert report.blind_to_drift and report.changes == ["latency.p50"]
    for text in _every_format(report):
        assert "blind to run-to-run drift" in " ".join(text.split())
    first = render_markdown(report).splitlines()[0]
    assert "faster (blind to drift: one run per side)" in first and "🟢" not in first


def test_bimodal_rounds_warn_and_set_a_drift_floor() -> None:
    """File A mostly in the slow state, file B mostly fast: identical code, and without the
    floor a confident "faster"."""
    rng = np.random.default_rng(2)
    slow, fast = 1.59, 1.0
    before, after = _files(rng, ([slow] * 7 + [fast] * 3, [fast] * 8 + [slow] * 2))
    drift = round_drift(before, "before.json")  # type: ignore[arg-type]
    assert drift is not None and "bimodal" in drift.warning
    assert drift.floor == pytest.approx(0.59, abs=0.08)
    report = compare_reports(before, after)  # type: ignore[arg-type]
    p50 = report.metrics[0]
    assert p50.verdict not in ("faster", "slower") and report.changes == []
    assert any("drift floor" in w for w in report.warnings)
    for text in _every_format(report):
        assert "bimodal" in text and "drift floor" in text


def test_steady_rounds_raise_no_drift_warning() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        x = MODEL.episodes(rng, (10,), 100) * MODEL.machine(rng, (10,))
        assert round_drift(profile_report(list(x), batches=2), "f") is None


def test_spread_beyond_sampling_warns() -> None:
    rng = np.random.default_rng(4)
    factors = np.exp(0.25 * rng.standard_normal(10))  # 25 % between rounds: a drifting machine
    report = profile_report(list(MODEL.episodes(rng, (10,), 100) * factors[:, None]), batches=2)
    drift = round_drift(report, "f")
    assert drift is not None and drift.floor > 0.2


def _row(metric: str, verdict: str, p: float, gated: bool = False) -> MetricComparison:
    return MetricComparison(
        metric=metric, before=1.0, after=1.2, ratio=1.2, ci_low=1.1, ci_high=1.3,
        p_value=p, verdict=verdict, gated=gated,  # type: ignore[arg-type]
    )  # fmt: skip


def test_holm_keeps_strong_ungated_rows_and_demotes_weak_ones() -> None:
    rows = [
        _row("latency.p50", "slower", 0.04, gated=True),  # gated: not corrected
        _row("latency.p95", "slower", 0.001),
        _row("latency.p99", "slower", 0.03),
        _row("latency.mean", "no significant change", 0.5),
    ]
    correct_ungated(rows, 0.05)
    assert [r.verdict for r in rows] == [
        "slower",
        "slower",
        "inconclusive",
        "no significant change",
    ]
    assert "Holm" in rows[2].note and "adjusted p = 0.06" in rows[2].note


def test_low_end_qualifier() -> None:
    row = _row("latency.p50", "slower", 0.01)
    row.ratio, row.ci_low, row.ci_high = 1.08, 1.03, 1.13
    assert low_end_note(row, 0.05).startswith("slower (within threshold at the low end")
    row.ci_low = 1.06
    assert low_end_note(row, 0.05) == ""


def test_a_stage_too_small_to_time_is_shown_not_judged() -> None:
    rng = np.random.default_rng(5)
    shares = {"work": 0.999, "(between stages)": 0.001}  # ~2 µs of a 2 ms episode
    before = profile_report(list(MODEL.episodes(rng, (10,), 100)), stage_shares=shares)
    after = profile_report(list(MODEL.episodes(rng, (10,), 100) * 0.7), stage_shares=shares)
    rows = {r.metric: r for r in compare_reports(before, after).metrics}
    tiny = rows["stage.(between stages).p50"]
    assert tiny.verdict == "inconclusive" and tiny.note.startswith("not judged")
    assert tiny.before is not None  # shown
    assert rows["stage.work.p50"].verdict == "faster"


class FakePerf(counters.PerfOps):
    """A perf_event_open that counts: each read returns the instructions 'retired'."""

    def __init__(self, supported: bool = True) -> None:
        self.supported = supported
        self.calls: list[tuple[int, int]] = []
        self.attr = b""
        self.count = 0

    def open(self, attr: bytes) -> int:
        if not self.supported:
            raise OSError(95, "perf_event_open: Operation not supported")
        self.attr = attr
        return 7

    def ioctl(self, fd: int, request: int) -> None:
        self.calls.append((fd, request))
        if request == counters.IOC_RESET:
            self.count = 0

    def read(self, fd: int) -> int:
        self.count += 1000
        return self.count


def test_perf_counter_protocol_on_a_fake() -> None:
    fake = FakePerf()
    counter = counters.open_counter("instructions", fake)
    assert counter is not None
    counter.start()
    assert counter.stop() == 1000
    assert fake.calls == [
        (7, counters.IOC_RESET),
        (7, counters.IOC_ENABLE),
        (7, counters.IOC_DISABLE),
    ]
    kind, size, config = np.frombuffer(fake.attr[:16], dtype="<u4,<u4,<u8")[0]
    assert (kind, size, config) == (0, 128, 1)  # hardware, instructions
    assert counters.open_counter("wall", fake) is None


def test_no_perf_counters_is_a_one_line_usage_error() -> None:
    with pytest.raises(UsageError, match="does not expose perf counters"):
        counters.open_counter("instructions", FakePerf(supported=False))
