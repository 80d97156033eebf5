"""Run the scenarios of the plan and assemble a ``SuiteReport``.

One scenario's failure to run (an exception) is recorded as status ``error`` with its
message and the suite goes on; Ctrl-C stops it and the report is marked incomplete.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ctool.host.environment import capture_environment
from ctool.model.errors import UsageError
from ctool.model.schema import RunConfigModel, ScenarioResult, SuiteReport, now_iso
from ctool.suite.context import SuiteContext
from ctool.suite.scenarios import SCENARIOS, Scenario, Skip, judge
from ctool.suite.targets import Target
from ctool.workload.loader import DEFAULT_PIPELINE


@dataclass
class SuiteOptions:
    pipeline: str = DEFAULT_PIPELINE
    preset: str | None = None
    seed: int = 0
    settings: Mapping[str, Any] = field(default_factory=dict)
    quick: bool = False
    only: Sequence[str] = ()
    targets: dict[str, Target] = field(default_factory=dict)
    command: str | None = None
    executor: str = "local"
    """Where the scaling scenario's replicas run (``--executor``): ``local`` or ``dask``."""
    scheduler: str | None = None
    pool_factory: Callable[..., Any] | None = None
    """``run_profile``'s ``pool_factory`` for ``executor="dask"`` (made by the CLI)."""


def select_scenarios(only: Sequence[str]) -> list[Scenario]:
    if not only:
        return list(SCENARIOS)
    by_key: dict[str, Scenario] = {}
    for s in SCENARIOS:
        by_key[s.name] = s
        by_key[str(s.id)] = s
    chosen: list[Scenario] = []
    for key in only:
        scenario = by_key.get(key.strip())
        if scenario is None:
            names = ", ".join(s.name for s in SCENARIOS)
            raise UsageError(
                f"--only: unknown scenario {key!r} (names: {names}, or 1-{len(SCENARIOS)})"
            )
        if scenario not in chosen:
            chosen.append(scenario)
    return sorted(chosen, key=lambda s: s.id)


def run_suite(
    options: SuiteOptions,
    *,
    progress: Callable[[str], None] = lambda _: None,
    on_result: Callable[[ScenarioResult], None] = lambda _: None,
) -> SuiteReport:
    scenarios = select_scenarios(options.only)
    ctx = SuiteContext(
        pipeline=options.pipeline,
        preset=options.preset,
        seed=options.seed,
        settings=options.settings,
        quick=options.quick,
        targets=options.targets,
        progress=progress,
        executor=options.executor,
        scheduler=options.scheduler,
        pool_factory=options.pool_factory,
    )
    if (reason := ctx.supports()) is not None:
        raise UsageError(reason)
    report = SuiteReport(
        created_at=now_iso(),
        complete=False,
        environment=capture_environment(),
        config=RunConfigModel(
            pipeline=options.pipeline,
            preset=options.preset or ctx.resolved_preset,
            seed=options.seed,
            settings=dict(options.settings),
            command=options.command,
        ),
        quick=options.quick,
        targets={k: t.value for k, t in options.targets.items()},
    )
    try:
        for scenario in scenarios:
            progress(f"{scenario.id}. {scenario.title}")
            result = run_one(scenario, ctx)
            report.scenarios.append(result)
            on_result(result)
        report.complete = True
    except KeyboardInterrupt:
        report.complete = False
    finally:
        report.passed = sum(r.status == "pass" for r in report.scenarios)
        report.failed = sum(r.status in ("fail", "error") for r in report.scenarios)
        report.skipped = sum(r.status == "skipped" for r in report.scenarios)
    return report


def run_one(scenario: Scenario, ctx: SuiteContext) -> ScenarioResult:
    started = time.perf_counter()
    try:
        result = judge(scenario, ctx, scenario.measure(ctx))
    except Skip as skip:
        result = ScenarioResult(
            id=scenario.id, name=scenario.name, title=scenario.title, status="skipped",
            detail=f"skipped: {skip}",
        )  # fmt: skip
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # one broken scenario must not sink the other nineteen
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        result = ScenarioResult(
            id=scenario.id, name=scenario.name, title=scenario.title, status="error",
            detail=f"error: {message}",
        )  # fmt: skip
    result.duration_s = time.perf_counter() - started
    return result
