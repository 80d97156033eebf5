"""Two chaos reports side by side (``ctool compare A.json B.json`` when both are chaos
reports): the same plan on two presets, or before and after a fix.

Episode outcomes are proportions of the started episodes: each is tested with Fisher's exact
test (two-sided) and called better or worse at ``alpha``, else "no significant change".
The recovery figures (time to detect, to recover, throughput lost, p99 inflation, budget
burned) are one number per run: shown with their ratio and called "inconclusive" unless
equal; more runs would decide them.
"""

from __future__ import annotations

from ctool.model.chaos_schema import ChaosReport
from ctool.model.schema import CompareReport, MetricComparison, RunConfigModel

OUTCOMES: tuple[tuple[str, str, bool], ...] = (
    ("ok", "ok", False),
    ("failed", "failed", True),
    ("timed_out", "timed out", True),
    ("lost", "lost", True),
    ("duplicated", "duplicated", True),
    ("wrong_escaped", "wrong escaped", True),
    ("wrong_caught", "wrong caught", False),
)
"""(field, label: the share of started episodes, lower is better). Under the same plan the
faults corrupt the same episodes, so a wrong output caught is one that did not escape:
more is better."""

RECOVERY: tuple[tuple[str, str, str | None], ...] = (
    ("time_to_detect_s", "detect", "s"),
    ("time_to_recover_s", "recover", "s"),
    ("throughput_lost", "throughput lost", None),
    ("p99_inflation_during", "p99 x during", None),
    ("p99_inflation_after", "p99 x after", None),
    ("budget_burned", "budget burned", None),
)


def _count(report: ChaosReport, field: str) -> int:
    a = report.accounting
    return a.failed_total if field == "failed" else int(getattr(a, field))


def _outcome_row(
    before: ChaosReport, after: ChaosReport, field: str, label: str, lower: bool, alpha: float
) -> MetricComparison:
    from scipy.stats import fisher_exact

    n_b, n_a = before.accounting.started, after.accounting.started
    k_b, k_a = _count(before, field), _count(after, field)
    share_b = k_b / n_b if n_b else None
    share_a = k_a / n_a if n_a else None
    row = MetricComparison(
        metric=label,
        before=share_b,
        after=share_a,
        ratio=share_a / share_b if share_a is not None and share_b else None,
        verdict="inconclusive",
        lower_is_better=lower,
        method="Fisher's exact test on episode counts",
        unit=None,
        n_before=n_b,
        n_after=n_a,
        note=f"{k_b}/{n_b} -> {k_a}/{n_a}",
    )
    if not n_b or not n_a or share_a is None or share_b is None:
        return row
    p = float(fisher_exact([[k_b, n_b - k_b], [k_a, n_a - k_a]])[1])
    row.p_value = p
    if k_b == k_a == 0 or share_a == share_b:
        row.verdict = "same"
    elif p < alpha:
        row.verdict = "better" if (share_a < share_b) == lower else "worse"
    else:
        row.verdict = "no significant change"
    return row


def _recovery_row(
    before: ChaosReport, after: ChaosReport, field: str, label: str, unit: str | None
) -> MetricComparison:
    old = getattr(before.recovery, field)
    new = getattr(after.recovery, field)
    same = old == new and old is not None
    return MetricComparison(
        metric=label,
        before=old,
        after=new,
        ratio=new / old if old and new is not None else None,
        verdict="same" if same else "inconclusive",
        lower_is_better=True,
        method="one run each",
        unit=unit,
        note="" if same else "one run each: no interval; repeat the runs to decide",
    )


def compare_chaos(
    before: ChaosReport,
    after: ChaosReport,
    *,
    before_name: str,
    after_name: str,
    alpha: float = 0.05,
) -> CompareReport:
    from ctool.model.base import now_iso

    warnings: list[str] = []
    plan_b = [(f.kind, f.target, f.start_s, f.end_s) for f in before.faults]
    plan_a = [(f.kind, f.target, f.start_s, f.end_s) for f in after.faults]
    if plan_b != plan_a:
        warnings.append("the two runs had different fault plans: differences are not only the code")
    if before.config.seed != after.config.seed:
        warnings.append("the two runs had different seeds")
    for name, report in ((before_name, before), (after_name, after)):
        if not report.complete:
            warnings.append(f"{name} is incomplete ({report.incomplete_reason})")
    metrics = [_outcome_row(before, after, *spec, alpha) for spec in OUTCOMES]
    metrics += [_recovery_row(before, after, *spec) for spec in RECOVERY]
    verdicts = f"{before.verdict} -> {after.verdict}"
    return CompareReport(
        created_at=now_iso(),
        environment=after.environment,
        config=RunConfigModel(pipeline=after.config.pipeline, command="compare"),
        before=before_name,
        after=after_name,
        mode="chaos",
        blind_to_drift=False,
        behaviour="not comparable",
        behaviour_detail="chaos runs: wrong outputs are the rows above, each against its "
        "own control",
        threshold=0.0,
        alpha=alpha,
        metrics=metrics,
        warnings=[*warnings, f"hypothesis verdicts: {verdicts}"],
    )
