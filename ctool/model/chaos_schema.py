"""The chaos report (docs/design.md section 8, docs/chaos.md): an experiment under a plan of
faults against a control run of the same seeds without them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ctool.model.base import Model, Report


class FaultRow(Model):
    """One fault of the plan and what it did."""

    label: str
    kind: str
    target: str = ""
    start_s: float = 0.0
    end_s: float | None = None
    """``None``: until the experiment ended."""
    calls: int = 0
    """Calls of its span or point inside its window (stage faults)."""
    applied: int = 0
    """Calls it acted on."""
    blocking_fallback: int = 0
    """Awaited latency or hang applied blocking (a ``with span`` block cannot await)."""
    params: dict[str, Any] = Field(default_factory=dict)


class FaultWindow(Model):
    """When a window fault was actually on, on the experiment's clock."""

    label: str
    kind: str
    start_s: float
    end_s: float | None = None


class Accounting(Model):
    """Every started episode of the experiment, each counted exactly once."""

    started: int = 0
    ok: int = 0
    failed: dict[str, int] = Field(default_factory=dict)
    """Raised, by exception type."""
    timed_out: int = 0
    lost: int = 0
    """Lost with its replica."""
    duplicated: int = 0
    wrong_escaped: int = 0
    """Returned, digest differs from the control's, nothing raised or flagged."""
    wrong_caught: int = 0
    """Returned, digest differs from the control's, and the pipeline flagged it."""
    faulted: int = 0
    """Episodes at least one stage fault acted on."""
    corrupted: int = 0
    """Episodes a corrupt fault changed a value of."""
    accounted: bool = True
    """The invariant: the outcomes above sum to ``started``, one per episode."""

    @property
    def failed_total(self) -> int:
        return sum(self.failed.values())


class EpisodeOutcome(Model):
    """An episode whose outcome is not ``ok``, named."""

    index: int
    outcome: str
    """``failed:Type``, ``timed_out``, ``lost``, ``duplicated``, ``wrong_escaped``,
    ``wrong_caught``."""
    faults: list[str] = Field(default_factory=list)


class TimelineWindow(Model):
    """One window of the experiment beside the same window of the control."""

    start_s: float
    end_s: float
    phase: Literal["before", "during", "after"]
    episodes: int = 0
    errors: int = 0
    wrong: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    throughput_eps: float = 0.0
    control_episodes: int = 0
    control_p50_ms: float | None = None
    control_p99_ms: float | None = None
    control_throughput_eps: float = 0.0
    faults: list[str] = Field(default_factory=list)
    outputs: dict[str, float] = Field(default_factory=dict)
    """``[hypothesis.outputs]``: each watched output's window mean, off the control's mean
    over the same episodes, as a share of it (0.05: 5 % off)."""
    holds: bool = True
    violations: list[str] = Field(default_factory=list)


class HypothesisCheck(Model):
    phase: Literal["before", "during", "after"]
    windows: int = 0
    held: int = 0
    verdict: Literal["held", "violated", "no windows"] = "no windows"
    first_violation: str | None = None


class Recovery(Model):
    time_to_detect_s: float | None = None
    """From the first fault's start to the first episode that broke the hypothesis."""
    time_to_recover_s: float | None = None
    """From the last fault's end to the end of the last episode that broke it."""
    throughput_lost: float | None = None
    """1 - experiment's good episodes per second / the control's."""
    p99_inflation_during: float | None = None
    """Experiment's p99 while faults were on / the control's p99."""
    p99_inflation_after: float | None = None
    error_budget: float | None = None
    """Allowed error rate (the hypothesis's), times the episodes: budget in episodes."""
    budget_burned: float | None = None
    """Bad episodes / the budget (1.0: all of it)."""
    burn_rate_max: float | None = None
    """The worst window's bad-episode rate / the allowed rate."""
    aborted: bool = False
    abort_reason: str | None = None


class Leftovers(Model):
    """What the experiment left behind after its faults were removed (baseline -> after)."""

    tasks_before: int = 0
    tasks_after: int = 0
    threads_before: int = 0
    threads_after: int = 0
    fds_before: int | None = None
    fds_after: int | None = None
    threads_left: list[str] = Field(default_factory=list)
    """Names of the threads that were not there before the experiment."""

    @property
    def clean(self) -> bool:
        fds = self.fds_after is None or self.fds_before is None or self.fds_after <= self.fds_before
        return (
            self.tasks_after <= self.tasks_before
            and self.threads_after <= self.threads_before
            and fds
        )


class SideSummary(Model):
    episodes: int = 0
    duration_s: float = 0.0
    ok: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    throughput_eps: float = 0.0


class ChaosReport(Report):
    kind: Literal["chaos"] = "chaos"
    plan_source: str | None = None
    faults: list[FaultRow] = Field(default_factory=list)
    fault_windows: list[FaultWindow] = Field(default_factory=list)
    accounting: Accounting = Field(default_factory=Accounting)
    outcomes: list[EpisodeOutcome] = Field(default_factory=list)
    control: SideSummary = Field(default_factory=SideSummary)
    experiment: SideSummary = Field(default_factory=SideSummary)
    window_s: float = 1.0
    timeline: list[TimelineWindow] = Field(default_factory=list)
    hypothesis: dict[str, float] = Field(default_factory=dict)
    hypothesis_source: Literal["plan", "default"] = "default"
    checks: list[HypothesisCheck] = Field(default_factory=list)
    recovery: Recovery = Field(default_factory=Recovery)
    leftovers: Leftovers = Field(default_factory=Leftovers)
    verdict: Literal["held", "violated", "refused", "aborted", "inconclusive"] = "inconclusive"
    verdict_reason: str = ""
    incomplete_reason: Literal["interrupted", "aborted"] | None = None
    clock_origin_s: float | None = None
    """The experiment's time 0 on this host's ``CLOCK_MONOTONIC`` (seconds): every ``_s``
    offset plus this is comparable with another record of the same host (a server's log)."""
    proxies: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """``--proxy``: each TCP fault proxy's counters (bytes each way, dropped, resets;
    fault windows on ``CLOCK_MONOTONIC``)."""
    warnings: list[str] = Field(default_factory=list)
