"""The compare report, for ``ctool compare`` and ``ctool ab`` (docs/design.md section 8)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ctool.model.base import Model, Report

Verdict = Literal[
    "faster",
    "slower",
    "no significant change",
    "within noise",
    "inconclusive",
    "better",
    "worse",
    "same",
]
"""The verdict of one compared metric (``ctool.analysis.statistics.classify`` defines them)."""


class MetricComparison(Model):
    metric: str
    """e.g. ``latency.p50``, ``stage.ESGT.p95``, ``throughput``, ``pipeline.cache.hit_rate``
    (a declared metric: ``pipeline.`` and its name)."""
    before: float | None
    after: float | None
    ratio: float | None
    """after / before."""
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    verdict: Verdict
    lower_is_better: bool = True
    method: str = ""
    gated: bool = False
    unit: str | None = None
    """``ms``, ``episodes/s``, ``MB``, ``ms/episode`` or ``None`` for a plain number."""
    n_before: int | None = None
    """Windows (rounds, batches) or paired rounds the test used on each side."""
    n_after: int | None = None
    note: str = ""
    """Why a verdict is inconclusive, or how a value was derived."""
    label: str | None = Field(default=None, exclude_if=lambda value: value is None)
    """How renderers name the row (a declared metric's label); ``None``: from ``metric``."""


HotspotChangeKind = Literal["appeared", "vanished", "grew", "shrank"]


class HotspotChange(Model):
    """A function whose share of its profiler's time moved between the two runs."""

    change: HotspotChangeKind
    """``appeared`` / ``vanished``: entered or left the (top-N) hotspot list."""
    profiler: str
    function: str
    file: str
    line: int
    share_before: float
    """Share of the profiler's time in the first run (0 when not listed there)."""
    share_after: float
    """Share of the profiler's time in the second run (0 when not listed there)."""


class HotspotMover(Model):
    """A py-spy boundary row whose share of the user's time moved between the runs
    (``ctool.analysis.movers``): after minus before, with a 95 % interval over slices."""

    row: str
    """``caller -> library function [stage]``."""
    share_before: float
    share_after: float
    change: float
    low: float
    high: float
    moved: bool
    """A move beyond noise: the interval excludes 0."""
    basis: str | None = Field(default=None, exclude_if=lambda value: value is None)
    """``None``: shares of the user's time. Otherwise the row (the biggest mover) whose time
    the shares, ``change``, ``low`` and ``high`` leave out (``analysis.movers``): shares sum
    to 1, so the others' plain shares fall when it grows. ``change`` is always
    ``share_after - share_before``."""
    slices_before: int
    slices_after: int
    ms_before: float | None = None
    """Mean ms per episode in this row, when both sides know their episodes."""
    ms_after: float | None = None


class EnvironmentDiffRow(Model):
    """An environment field, run setting or ``--set`` value that differs between the runs:
    the values as the reports hold them (``None`` where a side lacks the setting)."""

    field: str
    """``environment.NAME``, ``config.NAME`` or ``settings.KEY``."""
    before: Any
    after: Any


Measure = Literal["wall", "cpu", "instructions"]


class SequentialStop(Model):
    """How ``ctool ab --until-decided`` stopped (docs/compare.md, "Sequential stopping")."""

    looks: list[int]
    """The round counts at which the rule looked (planned, up to the round budget)."""
    look_alpha: float
    """Each look's alpha: ``alpha / len(looks)`` (Bonferroni across the looks)."""
    rounds: int
    stopped: Literal["decided", "time budget", "round budget"]
    more_rounds: int | None = None
    """When undecided: about how many more rounds the observed spread would need."""


class CompareReport(Report):
    kind: Literal["compare"] = "compare"
    before: str
    after: str
    mode: Literal["rounds", "batches", "ab", "chaos"]
    blind_to_drift: bool
    threshold: float
    alpha: float = 0.05
    metrics: list[MetricComparison] = Field(default_factory=list)
    hotspots: list[HotspotChange] = Field(default_factory=list)
    """Hotspots that changed, largest move first."""
    movers: list[HotspotMover] = Field(default_factory=list)
    """py-spy rows whose share moved most, with intervals (both sides profiled)."""
    flame_before: str | None = None
    """The before side's episode-rooted folded stacks (py-spy), for the differential graph."""
    flame_after: str | None = None
    environment_diff: list[EnvironmentDiffRow] = Field(default_factory=list)
    behaviour: Literal["outputs identical", "outputs changed", "not comparable"]
    behaviour_detail: str = ""
    regressions: list[str] = Field(default_factory=list)
    """Gated metrics significantly worse beyond the threshold (``--fail-on-regression``)."""
    changes: list[str] = Field(default_factory=list)
    """Gated metrics significantly different beyond the threshold (``--fail-on-change``)."""
    gate: list[str] = Field(default_factory=list)
    """The ``--gate`` entries the gated metrics were picked by."""
    warnings: list[str] = Field(default_factory=list)
    measure: Measure = "wall"
    """``ctool ab --measure``: what the gated rows time (wall, CPU time, instructions)."""
    measure_note: str = ""
    """What the measure cannot see."""
    sequential: SequentialStop | None = None
    windows: dict[str, dict[str, list[float]]] = Field(default_factory=dict)
    """The per-window values each test used: ``{metric: {"before": [...], "after": [...]}}``
    (per round in modes rounds and ab, per batch in mode batches)."""
