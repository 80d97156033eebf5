"""Assembly: two profile reports (or ``ctool ab``'s paired rounds) into a
:class:`CompareReport`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ctool.analysis.compare.checks import require_profile
from ctool.analysis.compare.diffs import (
    behaviour,
    environment_diff,
    hotspot_diff,
    paired_behaviour,
)
from ctool.analysis.compare.drift import below_floor, drift_floor, round_drift
from ctool.analysis.compare.gate import (
    apply_gate,
    correct_ungated,
    parse_gate,
    regressions_and_changes,
)
from ctool.analysis.compare.metrics import (
    declared_specs,
    summary_values,
    window_values,
    windows_from_samples,
)
from ctool.analysis.compare.rows import median, metric_names, metric_rows, series
from ctool.analysis.movers import where_time_moved
from ctool.analysis.statistics import (
    BOOTSTRAP_RESAMPLES,
    RatioTest,
    paired_ratio,
    two_sample_ratio,
)
from ctool.model.chaos_schema import ChaosReport
from ctool.model.schema import (
    CompareReport,
    MetricComparison,
    ProfileReport,
    RunConfigModel,
    WindowStats,
    now_iso,
)

DEFAULT_THRESHOLD = 0.05
DEFAULT_ALPHA = 0.05
BLIND_WARNING = (
    "blind to run-to-run drift: single-round files are tested on batches of one run each, "
    "which cannot see drift between runs (a few % between runs of identical code, far more "
    "on a shared machine); use 'ctool profile --rounds 10' or 'ctool ab'"
)


def _windows(report: ProfileReport, source: str) -> list[WindowStats]:
    return list(report.batches) or windows_from_samples(report, source)


def _typical_episodes(windows: Sequence[WindowStats]) -> float:
    return median([float(w.episodes) for w in windows]) or 0.0


def _finish(
    rows: list[MetricComparison],
    *,
    gate: Sequence[str],
    **fields: Any,
) -> CompareReport:
    apply_gate(rows, gate)
    correct_ungated(rows, float(fields["alpha"]))
    regressions, changes = regressions_and_changes(rows)
    return CompareReport(
        metrics=rows,
        gate=list(gate),
        regressions=regressions,
        changes=changes,
        created_at=now_iso(),
        **fields,
    )


@dataclass(frozen=True)
class _Design:
    """Which windows :func:`compare_reports` tests, and what to say about them."""

    mode: Literal["rounds", "batches"]
    before: list[WindowStats]
    after: list[WindowStats]
    method: str
    warnings: list[str]


def _independent_design(
    before: ProfileReport, after: ProfileReport, before_name: str, after_name: str, alpha: float
) -> _Design:
    """Rounds when both reports have two or more, else batches of each run."""
    interval = f"bootstrap {100 * (1 - alpha):g} % interval"
    warnings: list[str] = []
    if len(before.rounds) >= 2 and len(after.rounds) >= 2:
        mode: Literal["rounds", "batches"] = "rounds"
        win_b, win_a = list(before.rounds), list(after.rounds)
        method = f"Mann-Whitney U on round values, {interval}"
    else:
        mode = "batches"
        win_b, win_a = _windows(before, before_name), _windows(after, after_name)
        method = f"Mann-Whitney U on batch values, {interval}"
        one_side = [
            n for n, r in ((before_name, before), (after_name, after)) if len(r.rounds) >= 2
        ]
        if one_side:
            warnings.append(f"only {one_side[0]} has rounds; compared on batches of one run")
    size_b, size_a = _typical_episodes(win_b), _typical_episodes(win_a)
    if size_b and size_a and max(size_b, size_a) > 2 * min(size_b, size_a):
        warnings.append(
            f"windows differ in size ({size_b:g} vs {size_a:g} episodes): tail percentiles of "
            "windows of different sizes are biased against the larger one"
        )
    return _Design(mode, win_b, win_a, method, warnings)


def compare_reports(
    before: ProfileReport,
    after: ProfileReport,
    *,
    before_name: str = "before",
    after_name: str = "after",
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = DEFAULT_ALPHA,
    gate: Sequence[str] | None = None,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> CompareReport:
    """Compare two profile reports (already checked with :func:`require_profile`)."""
    gate = parse_gate(gate)
    warnings: list[str] = []
    for name, report in ((before_name, before), (after_name, after)):
        if not report.complete:
            warnings.append(f"{name} is incomplete (the run was interrupted)")
        warnings.extend(f"{name}: {warning}" for warning in report.warnings)
    design = _independent_design(before, after, before_name, after_name, alpha)
    drifts = []
    if design.mode == "rounds":
        drifts = [d for n, r in ((before_name, before), (after_name, after))
                  if (d := round_drift(r, n)) is not None]  # fmt: skip
    else:
        warnings.insert(0, BLIND_WARNING)
    judged, drift_warnings = drift_floor(drifts, threshold)
    declared_b, declared_a = before.metrics_declared, after.metrics_declared
    values_b = [window_values(w, declared_b) for w in design.before]
    values_a = [window_values(w, declared_a) for w in design.after]
    sum_b, sum_a = summary_values(before), summary_values(after)

    def tester(b: Sequence[float], a: Sequence[float]) -> RatioTest:
        return two_sample_ratio(b, a, alpha=alpha, resamples=resamples)

    rows, windows = metric_rows(
        metric_names([sum_b, sum_a], values_b, values_a),
        lambda name: (series(values_b, name), series(values_a, name)),
        lambda name: (sum_b.get(name), sum_a.get(name)),
        tester=tester,
        method=design.method,
        alpha=alpha,
        threshold=judged,
        declared=declared_specs(before, after),
    )
    if judged > threshold:
        below_floor(rows, judged)
    env_rows, env_warnings = environment_diff(before, after)
    verdict, detail = behaviour(before, after)
    return _finish(
        rows,
        gate=gate,
        environment=after.environment,
        config=after.config,
        before=before_name,
        after=after_name,
        mode=design.mode,
        blind_to_drift=design.mode == "batches",
        threshold=threshold,
        alpha=alpha,
        hotspots=hotspot_diff(before.hotspots, after.hotspots),
        **where_time_moved([before], [after]),
        environment_diff=env_rows,
        behaviour=verdict,
        behaviour_detail=detail,
        warnings=warnings + drift_warnings + design.warnings + env_warnings,
        windows=windows,
    )


def compare_paired(
    a_reports: Sequence[ProfileReport],
    b_reports: Sequence[ProfileReport],
    *,
    a_name: str = "A",
    b_name: str = "B",
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = DEFAULT_ALPHA,
    gate: Sequence[str] | None = None,
    config: RunConfigModel | None = None,
) -> CompareReport:
    """``ctool ab``: round ``i`` ran ``a_reports[i]`` then ``b_reports[i]`` on one machine.

    Each metric's per-round log ratio B/A is tested with the Wilcoxon signed-rank test;
    ``ratio`` is the Hodges-Lehmann estimate of B/A with its exact interval, ``before`` and
    ``after`` the medians of A's and B's round values.
    """
    if not a_reports or len(a_reports) != len(b_reports):
        raise ValueError("compare_paired needs one B report per A report")
    gate = parse_gate(gate)
    values_a = [summary_values(r) for r in a_reports]
    values_b = [summary_values(r) for r in b_reports]
    method = f"Wilcoxon signed-rank on paired log ratios, {100 * (1 - alpha):g} % interval"

    def pairs(name: str) -> tuple[list[float], list[float]]:
        both = [(a[name], b[name]) for a, b in zip(values_a, values_b, strict=True)
                if name in a and name in b]  # fmt: skip
        return [p[0] for p in both], [p[1] for p in both]

    def tester(a: Sequence[float], b: Sequence[float]) -> RatioTest:
        return paired_ratio(a, b, alpha=alpha)

    rows, windows = metric_rows(
        metric_names(values_a, values_b),
        pairs,
        lambda name: (median(series(values_a, name)), median(series(values_b, name))),
        tester=tester,
        method=method,
        alpha=alpha,
        threshold=threshold,
        declared=declared_specs(*a_reports, *b_reports),
    )
    env_rows, warnings = environment_diff(a_reports[0], b_reports[0])
    for label, reports in (("A", a_reports), ("B", b_reports)):
        if any(not r.complete for r in reports):
            warnings.append(f"a round of {label} is incomplete")
        seen = dict.fromkeys(warning for r in reports for warning in r.warnings)
        warnings.extend(f"{label}: {warning}" for warning in seen)
    verdict, detail = paired_behaviour(a_reports, b_reports)
    return _finish(
        rows,
        gate=gate,
        environment=a_reports[0].environment,
        config=config or a_reports[0].config,
        before=a_name,
        after=b_name,
        mode="ab",
        blind_to_drift=False,
        threshold=threshold,
        alpha=alpha,
        hotspots=hotspot_diff(a_reports[0].hotspots, b_reports[0].hotspots),
        **where_time_moved(a_reports, b_reports),
        environment_diff=env_rows,
        behaviour=verdict,
        behaviour_detail=detail,
        warnings=warnings,
        windows=windows,
    )


def compare_files(
    before: str,
    after: str,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = DEFAULT_ALPHA,
    gate: Sequence[str] | None = None,
) -> tuple[CompareReport, tuple[ProfileReport, ProfileReport] | tuple[ChaosReport, ChaosReport]]:
    """Load, check and compare two report files; returns the report and the two inputs
    (two chaos reports are compared by :mod:`ctool.analysis.chaos_compare`)."""
    from ctool.model.io import load_report

    old_any, new_any = load_report(before), load_report(after)
    if isinstance(old_any, ChaosReport) and isinstance(new_any, ChaosReport):
        from ctool.analysis.chaos_compare import compare_chaos

        chaos = compare_chaos(old_any, new_any, before_name=before, after_name=after, alpha=alpha)
        return chaos, (old_any, new_any)
    old = require_profile(old_any, before)
    new = require_profile(new_any, after)
    report = compare_reports(
        old,
        new,
        before_name=before,
        after_name=after,
        threshold=threshold,
        alpha=alpha,
        gate=gate,
    )
    return report, (old, new)
