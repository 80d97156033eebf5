"""What every scenario shares: the ``Scenario`` record, its ``Measurement``, ``Skip``, the
pipeline-metric look-ups, and ``judge``, which turns a measurement into a result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ctool.model.records import BETWEEN_STAGES
from ctool.model.schema import ProfileReport, ScenarioResult, StageStats
from ctool.suite.context import SuiteContext
from ctool.suite.targets import Target


class Skip(Exception):
    """Raised by a scenario that cannot run on this pipeline; the message says why."""


@dataclass(frozen=True)
class Scenario:
    id: int
    name: str
    title: str
    target: str | None
    """Key of the target it is judged against (None: judged by a rule stated in detail)."""
    measure: Callable[[SuiteContext], Measurement]


@dataclass
class Measurement:
    value: Any
    detail: str
    data: dict[str, Any]
    passed: bool | None = None
    """For rule-judged scenarios; target-judged ones leave it None."""


def metric(report: ProfileReport, *path: str) -> Any:
    node: Any = report.pipeline_metrics
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def needs_metric(report: ProfileReport, *path: str) -> float:
    value = metric(report, *path)
    if not isinstance(value, (int, float)):
        raise Skip(f"the pipeline reports no metric {'.'.join(path)} (metrics() hook)")
    return float(value)


def top_stages(report: ProfileReport) -> dict[str, StageStats]:
    """The top-level stages of a run, without the time between them."""
    return {n: s for n, s in report.stages.items() if s.depth == 0 and n != BETWEEN_STAGES}


def judge(scenario: Scenario, ctx: SuiteContext, measurement: Measurement) -> ScenarioResult:
    target = ctx.targets.get(scenario.target) if scenario.target else None
    if measurement.passed is not None:
        passed = measurement.passed
    elif target is not None and isinstance(measurement.value, (int, float)):
        passed = target.met_by(float(measurement.value))
    else:
        passed = True
    return ScenarioResult(
        id=scenario.id,
        name=scenario.name,
        title=scenario.title,
        status="pass" if passed else "fail",
        measured=measurement.value,
        target=_target_text(scenario, ctx, target),
        unit=target.unit if target else None,
        detail=measurement.detail,
        data=measurement.data,
    )


def _target_text(scenario: Scenario, ctx: SuiteContext, target: Target | None) -> str:
    if scenario.name == "latency":
        return f"p50 {ctx.targets['p50_ms'].describe()}, p95 {ctx.targets['p95_ms'].describe()}"
    return target.describe() if target else _rule(scenario)


def _rule(scenario: Scenario) -> str:
    return {
        "stages": "stages marked",
        "concurrency": "no cliff, no errors",
        "hotpath": "profiled",
        "queue": "bottleneck named",
        "behaviour": "identical digests",
        "integration": "every output equal",
        "chaos_errors": ">= 99 %",
        "chaos_corruption": "0 escaped",
        "chaos_partition": "<= 2 s",
        "chaos_exhaustion": "nothing left",
    }.get(scenario.name, "")
