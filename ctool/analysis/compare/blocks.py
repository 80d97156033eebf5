"""``ctool ab``'s fine-grained design into a :class:`CompareReport`. Pure functions.

A round is one pair of worker processes (A and B, one shared ``PYTHONHASHSEED``) that ran
``k`` adjacent block pairs in ABBA order (:mod:`ctool.ab.runner`). Per metric:

* each block gives one value (the median episode time of the block, its mean, ...);
* each adjacent block pair gives ``log(B / A)``; the round's value is the median of those
  (robust to a machine state that flips between two blocks);
* the rounds' values go into Student's t interval (:mod:`ctool.analysis.sequential`).

The row's ``ratio`` is ``exp(mean round value)``, ``before`` the median of all A blocks and
``after`` is ``before * ratio``: the columns agree with the ratio by construction (the method
says so). ``windows`` keeps each round's ratio under ``after`` and 1.0 under ``before``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from ctool.analysis.compare.gate import apply_gate, correct_ungated, regressions_and_changes
from ctool.analysis.compare.metrics import MetricSpec
from ctool.analysis.compare.rows import tested_row
from ctool.analysis.sequential import interval_test, t_interval
from ctool.analysis.statistics import CHANGED_VERDICTS
from ctool.model.schema import (
    CompareReport,
    Environment,
    Measure,
    MetricComparison,
    RunConfigModel,
    SequentialStop,
    now_iso,
)

BLOCK_SPECS: tuple[MetricSpec, ...] = (
    MetricSpec("latency.p50", "ms"),
    MetricSpec("latency.mean", "ms"),
    MetricSpec("latency.p95", "ms"),
    MetricSpec("throughput", "episodes/s", lower_is_better=False),
    MetricSpec("cpu.ms_per_episode", "ms/episode", timing=False),
    MetricSpec("instructions.per_episode", None, timing=False),
)
PRIMARY: dict[str, str] = {
    "wall": "latency.p50",
    "cpu": "cpu.ms_per_episode",
    "instructions": "instructions.per_episode",
}
"""The metric each ``--measure`` gates by default."""
DEFAULT_THRESHOLDS: dict[str, float] = {"wall": 0.05, "cpu": 0.05, "instructions": 0.01}
MEASURE_NOTES: dict[str, str] = {
    "wall": "wall time: sees everything an episode waits on, the machine's other jobs included",
    "cpu": "CPU time of the episode's thread: misses waiting (I/O, sleeps, locks) and work "
    "done on other threads (executors)",
    "instructions": "instructions: miss I/O, system calls and waiting, and can understate a "
    "gain that removes interpreter overhead (or a loss from cache misses)",
}
VALGRIND_NOTE = (
    "; counted under Valgrind (callgrind), where wall time means nothing: check a gain "
    "with --measure wall too"
)
P95_MIN_EPISODES = 20


def block_values(block: Mapping[str, Sequence[int]]) -> dict[str, float]:
    """A block's per-episode measures (``wall_ns``, ``cpu_ns``, ``instructions``) -> metrics."""
    wall = sorted(v / 1e6 for v in block["wall_ns"])
    mean = sum(wall) / len(wall)
    values = {
        "latency.p50": statistics.median(wall),
        "latency.mean": mean,
        "throughput": 1000.0 / mean if mean > 0 else math.nan,
        "cpu.ms_per_episode": sum(block["cpu_ns"]) / len(wall) / 1e6,
    }
    if len(wall) >= P95_MIN_EPISODES:
        values["latency.p95"] = wall[min(len(wall) - 1, math.ceil(0.95 * len(wall)) - 1)]
    if block.get("instructions"):
        values["instructions.per_episode"] = sum(block["instructions"]) / len(wall)
    return values


@dataclass
class ABRound:
    """One round: the metric values of A's and B's blocks, pair by pair."""

    hash_seed: int
    episodes_per_block: int
    a_blocks: list[dict[str, float]] = field(default_factory=list)
    b_blocks: list[dict[str, float]] = field(default_factory=list)
    digests: tuple[str | None, str | None] = (None, None)
    b_first: bool = False
    """B ran the round's first block (every other round: B A, A B, ...)."""

    def log_ratio(self, metric: str) -> float | None:
        """Median over the block pairs of ``log(B / A)``; ``None`` when undefined."""
        ratios = [
            math.log(b[metric] / a[metric])
            for a, b in zip(self.a_blocks, self.b_blocks, strict=True)
            if a.get(metric, 0) > 0 and b.get(metric, 0) > 0
        ]
        return statistics.median(ratios) if ratios else None


@dataclass(frozen=True)
class BlockAnalysis:
    a_name: str
    b_name: str
    environment: Environment
    config: RunConfigModel
    threshold: float
    alpha: float
    """The alpha each interval uses (the per-look alpha after sequential stopping)."""
    gate: Sequence[str]
    measure: Measure = "wall"
    sequential: SequentialStop | None = None


def _row(spec: MetricSpec, rounds: Sequence[ABRound], plan: BlockAnalysis) -> MetricComparison:
    values = [v for r in rounds if (v := r.log_ratio(spec.name)) is not None]
    interval = t_interval(values, plan.alpha)
    test = interval_test(interval, len(values), plan.alpha)
    pooled = [b[spec.name] for r in rounds for b in r.a_blocks if spec.name in b]
    before = statistics.median(pooled) if pooled else None
    after = before * test.ratio if before is not None and test.ratio is not None else None
    method = (
        f"t interval over {len(values)} rounds of median ABBA block-pair log ratios; "
        "after = before x ratio"
    )
    return tested_row(
        spec, test, before, after, method=method, alpha=plan.alpha, threshold=plan.threshold
    )


def _disagreement(rows: Sequence[MetricComparison]) -> list[str]:
    by = {r.metric: r for r in rows}
    wall, count = by.get("latency.p50"), by.get("instructions.per_episode")
    if wall is None or count is None or wall.ratio is None or count.ratio is None:
        return []
    moved = [r.verdict in CHANGED_VERDICTS for r in (wall, count)]
    opposite = all(moved) and (wall.ratio > 1) != (count.ratio > 1)
    if moved[0] != moved[1] or opposite:
        return [
            f"wall time and instructions disagree: latency p50 {wall.verdict} "
            f"(x{wall.ratio:.3f}), instructions {count.verdict} (x{count.ratio:.3f})"
        ]
    return []


Behaviour = Literal["outputs identical", "outputs changed", "not comparable"]


def _behaviour(rounds: Sequence[ABRound]) -> tuple[Behaviour, str]:
    a = {r.digests[0] for r in rounds}
    b = {r.digests[1] for r in rounds}
    if None in a or None in b:
        return "not comparable", "no output digest (the pipeline has no outputs hook)"
    if len(a) > 1 or len(b) > 1:
        return "not comparable", "a side's warm-up outputs differ between rounds (hash seeds?)"
    if a == b:
        return "outputs identical", "warm-up outputs of A and B digest the same"
    return "outputs changed", "warm-up outputs of A and B differ"


def compare_blocks(rounds: Sequence[ABRound], plan: BlockAnalysis) -> CompareReport:
    """The report of ``ctool ab``'s rounds (see the module docstring)."""
    specs = [s for s in BLOCK_SPECS if any(s.name in b for r in rounds for b in r.a_blocks)]
    specs_seen = {s.name for s in specs}
    rows = [_row(spec, rounds, plan) for spec in specs]
    apply_gate(rows, plan.gate)
    correct_ungated(rows, plan.alpha)
    regressions, changes = regressions_and_changes(rows)
    verdict, detail = _behaviour(rounds)
    windows = {
        row.metric: {
            "before": [1.0] * len(rounds),
            "after": [math.exp(v) for r in rounds if (v := r.log_ratio(row.metric)) is not None],
        }
        for row in rows
    }
    return CompareReport(
        metrics=rows,
        gate=list(plan.gate),
        regressions=regressions,
        changes=changes,
        created_at=now_iso(),
        environment=plan.environment,
        config=plan.config,
        before=plan.a_name,
        after=plan.b_name,
        mode="ab",
        blind_to_drift=False,
        threshold=plan.threshold,
        alpha=plan.alpha,
        behaviour=verdict,
        behaviour_detail=detail,
        warnings=_disagreement(rows),
        measure=plan.measure,
        measure_note=MEASURE_NOTES[plan.measure]
        + (
            VALGRIND_NOTE
            if plan.measure == "instructions" and "latency.p50" not in specs_seen
            else ""
        ),
        sequential=plan.sequential,
        windows=windows,
    )
