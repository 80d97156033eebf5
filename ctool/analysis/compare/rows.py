"""Statistical rows: one :class:`MetricComparison` per metric, with its test and verdict.

A row is tested when both sides have per-window values (rounds, batches or paired rounds);
otherwise it is described from one value per side, and a noisy metric is ``inconclusive``
(see :class:`~ctool.analysis.compare.metrics.MetricSpec`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from ctool.analysis.compare.metrics import MetricSpec, metric_specs
from ctool.analysis.statistics import RatioTest, classify, describe_single
from ctool.model.schema import MetricComparison, Verdict

Tester = Callable[[Sequence[float], Sequence[float]], RatioTest]
"""The test of one metric's per-window values: before (or A) first, after (or B) second."""
Series = Callable[[str], tuple[list[float], list[float]]]
"""A metric name -> its per-window values on each side."""
Summaries = Callable[[str], tuple[float | None, float | None]]
"""A metric name -> its single value on each side (shown when there is no test)."""


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2.0


def series(windows: Sequence[Mapping[str, float]], name: str) -> list[float]:
    """The values of metric ``name`` in the windows that have it."""
    return [w[name] for w in windows if name in w]


def metric_names(*groups: Iterable[Mapping[str, float]]) -> list[str]:
    """Every metric name in the groups of windows, in order of first appearance."""
    names: list[str] = []
    for group in groups:
        for values in group:
            names.extend(k for k in values if k not in names)
    return names


def _no_spread(values: Sequence[float]) -> bool:
    return len(set(values)) <= 1


def _single_row(
    spec: MetricSpec,
    before: float | None,
    after: float | None,
    note: str,
    *,
    threshold: float,
) -> MetricComparison:
    """A row from one value per side: described, never tested; noisy metrics inconclusive."""
    ratio, verdict = describe_single(
        before, after, threshold=threshold, lower_is_better=spec.lower_is_better
    )
    if spec.noisy:
        verdict = "inconclusive"
    return MetricComparison(
        metric=spec.name,
        before=before,
        after=after,
        ratio=ratio,
        verdict=verdict,
        lower_is_better=spec.lower_is_better,
        method="single value",
        unit=spec.unit,
        note=note,
    )


def metric_row(
    spec: MetricSpec,
    before: Sequence[float],
    after: Sequence[float],
    summary_before: float | None,
    summary_after: float | None,
    *,
    tester: Tester,
    method: str,
    alpha: float,
    threshold: float,
) -> MetricComparison:
    """One metric's row: tested on the per-window values when both sides have them."""
    if not before or not after:
        if summary_before is None or summary_after is None:
            side = "before" if summary_before is None else "after"
            note = f"missing in {side}"
        else:
            note = "no per-window values" if spec.noisy else ""
        return _single_row(spec, summary_before, summary_after, note, threshold=threshold)
    if not spec.noisy and (_no_spread(before) or _no_spread(after)):
        # A deterministic counter (hit rate): one value per side says it all.
        return _single_row(spec, median(before), median(after), "", threshold=threshold)
    test = tester(before, after)
    verdict: Verdict = classify(
        test,
        alpha=alpha,
        threshold=threshold,
        lower_is_better=spec.lower_is_better,
        timing=spec.timing,
    )
    note = test.reason
    if verdict == "inconclusive" and not note:
        note = "the interval reaches beyond the threshold: more data would decide"
    return MetricComparison(
        metric=spec.name,
        before=median(before),
        after=median(after),
        ratio=test.ratio,
        ci_low=test.ci_low,
        ci_high=test.ci_high,
        p_value=test.p_value,
        verdict=verdict,
        lower_is_better=spec.lower_is_better,
        method=method,
        unit=spec.unit,
        n_before=test.n_before,
        n_after=test.n_after,
        note=note,
    )


def metric_rows(
    names: Sequence[str],
    values_of: Series,
    summaries_of: Summaries,
    *,
    tester: Tester,
    method: str,
    alpha: float,
    threshold: float,
) -> tuple[list[MetricComparison], dict[str, dict[str, list[float]]]]:
    """One row per metric; also the per-window values each test used."""
    rows: list[MetricComparison] = []
    windows: dict[str, dict[str, list[float]]] = {}
    for spec in metric_specs(names):
        before, after = values_of(spec.name)
        row = metric_row(
            spec,
            before,
            after,
            *summaries_of(spec.name),
            tester=tester,
            method=method,
            alpha=alpha,
            threshold=threshold,
        )
        rows.append(row)
        if row.method != "single value":
            windows[spec.name] = {"before": before, "after": after}
    return rows, windows
