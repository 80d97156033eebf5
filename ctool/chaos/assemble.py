"""The chaos report from what a :class:`~ctool.chaos.runner.ChaosRun` measured."""

from __future__ import annotations

import math
from typing import Literal

from ctool.chaos.account import OUTCOME_LIMIT, account
from ctool.chaos.driver import EpisodeRecord
from ctool.chaos.runner import ChaosRun
from ctool.chaos.steady import checks, fault_spans, percentile, recovery, timeline
from ctool.host.environment import capture_environment
from ctool.model.chaos_schema import ChaosReport, FaultRow, FaultWindow, SideSummary
from ctool.model.schema import RunConfigModel


def side_summary(records: list[EpisodeRecord], duration_s: float, good: int) -> SideSummary:
    latencies = [r.latency_ms for r in records if r.status == "ok"]
    return SideSummary(
        episodes=len(records),
        duration_s=round(duration_s, 6),
        ok=good,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        throughput_eps=good / duration_s if duration_s > 0 else 0.0,
    )


def _fault_rows(run: ChaosRun) -> list[FaultRow]:
    rows: list[FaultRow] = []
    injector = run.injector
    counted = (
        {}
        if injector is None
        else {id(f): c for f, c in zip(injector.faults, injector.counts, strict=True)}
    )
    live = run.live.stage_faults() if run.live is not None else []
    for fault in list(run.options.plan.faults) + live:
        count = counted.get(id(fault))
        rows.append(
            FaultRow(
                label=fault.label,
                kind=fault.kind,
                target=fault.target,
                start_s=fault.start_s,
                end_s=None if math.isinf(fault.end_s) else fault.end_s,
                calls=count.calls if count else 0,
                applied=count.applied if count else 0,
                blocking_fallback=count.blocking_fallback if count else 0,
                params=dict(fault.params),
            )
        )
    return rows


def chaos_report(run: ChaosRun) -> ChaosReport:
    options = run.options
    control_records = run.control.records
    digests = {r.index: r for r in control_records + run.catch_up}
    accounting, outcomes, named = account(run.experiment.records, digests)
    windows = [
        FaultWindow(label=w.label, kind=w.kind, start_s=w.start_s, end_s=w.end_s)
        for w in (run.schedule.records if run.schedule is not None else [])
        + (run.live.windows() if run.live is not None else [])
    ]
    duration = run.experiment_duration_s
    live = run.live.stage_faults() if run.live is not None else []
    stage = [
        (f.label, f.start_s, f.end_s)
        for f in list(options.plan.faults) + live
        if f.target.startswith(("span:", "point:"))
    ]
    spans = fault_spans(stage, windows, duration)
    rows = (
        timeline(
            run.experiment.records,
            control_records,
            outcomes,
            spans,
            window_s=options.window_s,
            duration_s=duration,
            hypothesis=run.hypothesis,
            by_index=digests,
        )
        if run.experiment.records
        else []
    )
    found = checks(rows)
    report = ChaosReport(
        created_at=run.created_at,
        complete=not run.interrupted and run.aborted is None,
        environment=capture_environment(),
        config=RunConfigModel(
            pipeline=options.pipeline or "ctool.pipeline:create",
            preset=options.preset,
            seed=options.seed,
            episodes=options.episodes,
            concurrency=[options.concurrency],
            duration_s=options.duration_s,
            settings=dict(options.settings),
            command=options.command,
        ),
        plan_source=options.plan.source,
        faults=_fault_rows(run),
        fault_windows=windows,
        accounting=accounting,
        outcomes=named,
        control=side_summary(
            control_records,
            run.control_duration_s,
            sum(1 for r in control_records if r.status == "ok"),
        ),
        experiment=side_summary(run.experiment.records, duration, accounting.ok),
        window_s=options.window_s,
        timeline=rows,
        hypothesis=run.hypothesis,
        hypothesis_source="plan" if options.plan.hypothesis else "default",
        checks=found,
        recovery=recovery(
            run.experiment.records,
            control_records,
            outcomes,
            spans,
            rows,
            run.hypothesis,
            duration_s=duration,
            control_duration_s=run.control_duration_s,
        ),
        leftovers=run.leftovers,
        clock_origin_s=run.experiment.t0 or None,
        proxies=run.proxy_counters,
        warnings=list(run.warnings) + _warnings(run, accounting.started),
    )
    _conclude(report, run)
    return report


def _conclude(report: ChaosReport, run: ChaosRun) -> None:
    report.recovery.aborted = run.aborted is not None
    report.recovery.abort_reason = run.aborted
    if run.interrupted:
        report.incomplete_reason = "interrupted"
    elif run.aborted is not None:
        report.incomplete_reason = "aborted"
    report.verdict, report.verdict_reason = verdict(report, run)


def _warnings(run: ChaosRun, started: int) -> list[str]:
    out: list[str] = []
    if started > OUTCOME_LIMIT:
        out.append(f"only the first {OUTCOME_LIMIT} episodes that were not ok are named")
    for row in _fault_rows(run):
        if row.blocking_fallback:
            out.append(
                f"{row.label}: {row.blocking_fallback} awaited faults held the loop instead "
                "(a `with span` block cannot await; an async @ctool.stage can)"
            )
        if row.kind in ("latency", "error", "hang", "corrupt", "message") and not row.calls:
            out.append(f"{row.label}: its span or point was never reached in its window")
    if run.options.concurrency > 1:
        out.append(
            "episodes ran concurrently: digests are compared per episode, which assumes an "
            "episode's output does not depend on the order episodes run in"
        )
    return out


Verdict = Literal["held", "violated", "refused", "aborted", "inconclusive"]


def verdict(report: ChaosReport, run: ChaosRun) -> tuple[Verdict, str]:
    if run.refused is not None:
        return "refused", run.refused
    if run.aborted is not None:
        return "aborted", run.aborted
    if not report.accounting.accounted:
        return "inconclusive", "the accounting invariant failed: an episode counted twice"
    after = next((c for c in report.checks if c.phase == "after"), None)
    before = next((c for c in report.checks if c.phase == "before"), None)
    if before is not None and before.verdict == "violated":
        return "violated", f"before the first fault: {before.first_violation}"
    if after is None or after.verdict == "no windows":
        return (
            "inconclusive",
            "no window after the last fault: run longer than the plan's faults to see recovery",
        )
    if after.verdict == "violated":
        return "violated", f"after the faults: {after.first_violation}"
    return "held", "the hypothesis held before and after the faults"
