"""``ctool ab``: fine-grained interleaving of A and B in long-lived worker pairs.

Why this design (docs/compare.md, "How ab measures"): a shared machine has *states* (on the
project's 2-core machine episodes ran at about 0.85 ms or about 1.35 ms, each state lasting
seconds). Alternating whole processes of a second each lets the state flip between A and B;
pairing then does not cancel it. So each **round** starts one worker process per side
(``python -m ctool.ab.worker``, built and warmed once) and the parent drives the two
in lockstep: short **blocks** of episodes in ABBA order (A B, B A, A B, ...), one log ratio
per adjacent block pair. Adjacent blocks are a block apart, far less than a state lasts.
Every other round starts with B: under contention a round's first block runs slower.

* **Block length**: ``--block-ms`` (100 ms by default) of episodes, the count chosen from the
  warm-up's median episode time and the same for A and B. A block costs one pipe round trip
  (about 0.1 ms) and 100 ms is 5-100x shorter than the states (0.5-10 s).
* **Rounds** (process pairs) sample what a process carries into every block: memory layout,
  allocator state and the hash seed. Each round draws its own ``PYTHONHASHSEED``, shared by
  its A and B, so seeds are sampled rather than hidden.
* **Sequential stopping** (``--until-decided``): rounds are added until the gated metric's
  interval decides, the round budget or the time budget ending it otherwise
  (:mod:`ctool.analysis.sequential`).

A side is a preset and settings (``"preset=baseline,pooling=false"``), optionally another
pipeline (``module:factory``) or another checkout (a directory: its workers run there with the
directory first on ``PYTHONPATH``).

Ctrl-C, SIGTERM or SIGHUP (:mod:`ctool.host.stop`): the workers are closed and reaped, and
``run_ab`` returns the report of the rounds already measured, ``complete: false`` (with no
round finished: a report with no rounds, inconclusive), like every other service.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from ctool.ab.counters import perf_available
from ctool.ab.process import (
    ProfiledRunner,
    SubprocessWorker,
    callgrind_round,
    profile_half,
    with_profiled_rounds,
)
from ctool.analysis.compare import GATE_ALIASES
from ctool.analysis.compare.blocks import (
    DEFAULT_THRESHOLDS,
    PRIMARY,
    ABRound,
    BlockAnalysis,
    block_values,
    compare_blocks,
)
from ctool.analysis.sequential import (
    FIRST_LOOK,
    MIN_ROUNDS,
    SequentialRule,
    rounds_needed,
    t_interval,
)
from ctool.host import stop
from ctool.host.environment import capture_environment
from ctool.model.errors import UsageError
from ctool.model.schema import CompareReport, Measure, RunConfigModel, SequentialStop
from ctool.workload.loader import DEFAULT_PIPELINE

__all__ = ["ABPlan", "Side", "parse_side", "run_ab"]
CLOSE_TIMEOUT_S = 5.0
MEASURES = ("wall", "cpu", "instructions")


@dataclass(frozen=True)
class Side:
    """One half of the experiment."""

    label: str
    spec: str = ""
    preset: str | None = None
    settings: tuple[str, ...] = ()
    """``key=value`` strings, passed on as ``--set``."""
    pipeline: str | None = None
    checkout: Path | None = None

    @property
    def name(self) -> str:
        parts = [self.spec] if self.spec else []
        if self.pipeline:
            parts.append(self.pipeline)
        if self.checkout:
            parts.append(str(self.checkout))
        return f"{self.label} ({', '.join(parts)})" if parts else self.label


def parse_side(label: str, spec: str | None, pipeline: str | None) -> Side:
    """``--a "preset=baseline,pooling=false"`` and ``--a-pipeline REF|DIR`` -> a Side."""
    preset: str | None = None
    ref: str | None = None
    checkout: Path | None = None
    settings: list[str] = []
    for item in (spec or "").split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise UsageError(f"--{label.lower()} expects key=value[,key=value...], got {item!r}")
        if key == "preset":
            preset = value
        elif key == "pipeline":
            ref = value
        else:
            settings.append(f"{key}={value}")
    if pipeline:
        if Path(pipeline).is_dir():
            checkout = Path(pipeline).resolve()
        elif ":" in pipeline:
            ref = pipeline
        else:
            raise UsageError(
                f"--{label.lower()}-pipeline expects module:factory or a checkout directory, "
                f"got {pipeline!r}"
            )
    return Side(label, (spec or "").strip(), preset, tuple(settings), ref, checkout)


@dataclass(frozen=True)
class ABPlan:
    a: Side
    b: Side
    rounds: int | None = None
    """Rounds (process pairs); with ``until_decided`` the round budget. Default 6, or 30."""
    blocks: int = 10
    """Adjacent block pairs per round."""
    block_ms: float = 100.0
    episodes: int | None = None
    """Episodes per block; default: ``block_ms`` worth, from the warm-up."""
    warmup: int = 20
    seed: int = 0
    """Seeds the pipelines and the rounds' hash seeds."""
    pipeline: str = DEFAULT_PIPELINE
    threshold: float | None = None
    """Default: 5 % for wall and cpu, 1 % for instructions."""
    alpha: float = 0.05
    gate: Sequence[str] | None = None
    """Default: the measure's metric (latency.p50, cpu.ms_per_episode, instructions)."""
    measure: Measure = "wall"
    until_decided: bool = False
    budget_s: float | None = None
    """Time budget: no round starts that would end after it (``--until-decided``: 60 s)."""
    keep: Path | None = None
    """Write every round's block values here (``round-01.json``, ...)."""
    profilers: tuple[str, ...] = ()
    """``--profiler``: profile in extra rounds of their own (``python -m ctool profile``
    processes, A B, B A, ...) after the timing rounds; they never feed the timing verdict
    (a profiler skews the ratios), only the movers: where time moved."""
    profiled_rounds: int = 2

    @property
    def max_rounds(self) -> int:
        if self.rounds is not None:
            return self.rounds
        return 30 if self.until_decided else 6

    @property
    def limit(self) -> float:
        return self.threshold if self.threshold is not None else DEFAULT_THRESHOLDS[self.measure]

    @property
    def budget(self) -> float | None:
        """``--budget``; by default 60 s with ``--until-decided``, 180 s for instructions
        counted under Valgrind (20-70x slower), none otherwise."""
        if self.budget_s is not None:
            return self.budget_s
        if self.until_decided:
            return 60.0 if self.measure != "instructions" else 180.0
        return 180.0 if self.measure == "instructions" else None

    @property
    def gates(self) -> list[str]:
        return list(self.gate) if self.gate else [PRIMARY[self.measure]]

    def check(self) -> None:
        if self.max_rounds < MIN_ROUNDS:
            raise UsageError(f"--rounds {self.max_rounds}: use at least {MIN_ROUNDS}")
        if self.blocks < 1:
            raise UsageError("--blocks must be at least 1")
        if self.episodes is not None and self.episodes < 1:
            raise UsageError("--episodes must be at least 1")
        if self.block_ms <= 0:
            raise UsageError("--block-ms must be positive")
        if self.warmup < 0:
            raise UsageError("--warmup must not be negative")
        if self.measure not in MEASURES:
            raise UsageError(f"--measure expects wall, cpu or instructions, got {self.measure!r}")
        if self.budget_s is not None and self.budget_s <= 0:
            raise UsageError("--budget must be positive")
        if self.profilers and self.profiled_rounds < 1:
            raise UsageError("--profiled-rounds must be at least 1 with --profiler")
        if self.keep is not None and not self.keep.is_dir():
            raise UsageError(f"--keep {self.keep}: not a directory")

    def hash_seeds(self) -> Iterator[int]:
        rng = random.Random(self.seed)
        while True:
            yield rng.randrange(1, 2**32 - 1)


class Worker(Protocol):
    episode_ms: float
    digest: str | None

    def ready(self) -> None: ...

    def run(self, episodes: int) -> dict[str, list[int]]: ...

    def close(self) -> None: ...


def now() -> float:
    """The clock of the time budget (monotonic; tests replace it with a simulated one)."""
    return time.monotonic()


FINISH_RESERVE_S = 1.5
"""Kept from the time budget for what follows the last round (the report and its output:
under 0.1 s in a run timed phase by phase on this project's quiet 2-core machine), and for
one block pair that turns slow while it runs, which cannot be stopped halfway."""

WorkerFactory = Callable[[ABPlan, Side, int], Worker]
"""(plan, side, hash seed) -> a started worker."""
Progress = Callable[[int, ABRound, float | None], None]
"""(round index, the round, the gated metric's round ratio)."""


def _round(
    plan: ABPlan,
    factory: WorkerFactory,
    hash_seed: int,
    deadline: float | None = None,
    b_first: bool = False,
) -> ABRound | None:
    """One round; ``None`` when the deadline cut it to fewer than half its block pairs.

    Blocks run A B, B A, A B, ... or, with ``b_first`` (every other round), B A, A B, ...:
    the first block of a round runs 2-3 % slower under contention (measured, docs/compare.md),
    so which side takes it alternates between rounds.

    Before each block pair after the first, the round stops if the slowest pair so far
    would end past ``deadline`` (a round cut at half its pairs or more is kept: its median
    pair ratio is still a ratio of adjacent blocks, only from fewer of them)."""
    if plan.measure == "instructions" and factory is SubprocessWorker and not perf_available():
        return callgrind_round(plan, hash_seed)
    workers = [factory(plan, plan.a, hash_seed), factory(plan, plan.b, hash_seed)]
    try:
        for worker in workers:
            worker.ready()
        a, b = workers
        n = plan.episodes or max(1, round(plan.block_ms / max(a.episode_ms, b.episode_ms, 1e-3)))
        result = ABRound(hash_seed, n, digests=(a.digest, b.digest), b_first=b_first)
        slowest = 0.0
        for j in range(plan.blocks):
            if deadline is not None and j and now() + slowest > deadline:
                return result if 2 * j >= plan.blocks else None
            first, second = (a, b) if (j % 2 == 0) != b_first else (b, a)
            started = now()
            data = {id(first): first.run(n), id(second): second.run(n)}
            result.a_blocks.append(block_values(data[id(a)]))
            result.b_blocks.append(block_values(data[id(b)]))
            took = now() - started
            slowest = max(slowest, took)
            if j == 0 and plan.episodes is None:  # once: blocks of --block-ms of wall time
                n = rescale(n, took * 500.0, plan.block_ms)
                result.episodes_per_block = n
                slowest = 0.0  # the first pair ran at the warm-up's count
        return result
    finally:
        for worker in workers:
            worker.close()


def rescale(n: int, block_wall_ms: float, target_ms: float) -> int:
    """Episodes per block for blocks of ``target_ms`` of wall time, from a measured block.

    The warm-up's median episode is an unpreempted one; on a loaded machine a block of
    those takes several times its length in wall time, and adjacent blocks drift apart.
    Rescaled once, after the first block pair, so that A and B keep running equal blocks.
    """
    if block_wall_ms <= 0:
        return n
    return max(1, min(n * 4, round(n * target_ms / block_wall_ms)))


@dataclass
class _Run:
    plan: ABPlan
    rounds: list[ABRound] = field(default_factory=list)
    started: float = field(default_factory=lambda: now())
    """On the monotonic clock; the CLI passes its process's start, interpreter start-up
    included, so that the budget bounds the whole command."""
    stopped: Literal["decided", "time budget", "round budget"] = "round budget"
    round_s: list[float] = field(default_factory=list)
    """Each round's wall time, the first from ``started`` (start-up included)."""

    planned: int | None = None
    """With ``--until-decided`` and no ``--rounds``: the rounds the time budget allows at the
    first round's pace (4 to 30), fixed after round 1, before any ratio is looked at."""

    @property
    def rule(self) -> SequentialRule:
        return SequentialRule(self.plan.limit, self.plan.alpha, self.planned or self.max_rounds)

    @property
    def max_rounds(self) -> int:
        return self.planned or self.plan.max_rounds

    @property
    def deadline(self) -> float | None:
        """When the last round must have ended: the budget less :data:`FINISH_RESERVE_S`."""
        budget = self.plan.budget
        return None if budget is None else self.started + budget - FINISH_RESERVE_S

    def plan_looks(self) -> None:
        """Fewer planned looks spend alpha on looks that can happen (Bonferroni)."""
        plan, budget = self.plan, self.plan.budget
        if plan.until_decided and plan.rounds is None and budget and len(self.rounds) == 1:
            pace = now() - self.started
            self.planned = max(FIRST_LOOK, min(plan.max_rounds, int(budget / pace)))

    def values(self) -> list[float]:
        first = self.plan.gates[0]
        metric = GATE_ALIASES.get(first, first)
        return [v for r in self.rounds if (v := r.log_ratio(metric)) is not None]

    def more(self) -> bool:
        """Another round? Not once decided or at the round budget, nor when the slowest round
        so far would end past the deadline (a round can take longer than the mean: on a
        loaded machine one may take twice as long as the others)."""
        plan, n = self.plan, len(self.rounds)
        if plan.until_decided and self.rule.stops(self.values()):
            self.stopped = "decided"
            return False
        if n >= self.max_rounds:
            return False
        projected = now() + max(self.round_s, default=0.0)
        if self.round_s and self.deadline is not None and projected > self.deadline:
            self.stopped = "time budget"
            return False
        return True

    def add(self, result: ABRound | None, round_started: float) -> None:
        """Keep a round (``None``: cut short by the deadline, too few block pairs to keep)."""
        self.round_s.append(now() - (round_started if self.round_s else self.started))
        if result is None:
            self.stopped = "time budget"
            return
        self.rounds.append(result)
        self.plan_looks()

    def report(self, complete: bool = True) -> CompareReport:
        plan, rule = self.plan, self.rule
        sequential = None
        alpha = plan.alpha
        if plan.until_decided:
            alpha = rule.look_alpha
            sequential = SequentialStop(
                looks=rule.looks, look_alpha=alpha, rounds=len(self.rounds), stopped=self.stopped
            )
            interval = t_interval(self.values(), alpha)
            if self.stopped != "decided" and interval is not None:
                needed = rounds_needed(interval, plan.limit, alpha)
                sequential.more_rounds = max(needed - len(self.rounds), 0)
        config = RunConfigModel(
            pipeline=plan.a.pipeline or plan.pipeline,
            seed=plan.seed,
            episodes=sum(r.episodes_per_block * plan.blocks for r in self.rounds),
            warmup=plan.warmup,
            rounds=len(self.rounds),
            settings={
                "a": plan.a.name,
                "b": plan.b.name,
                "blocks": plan.blocks,
                "episodes_per_block": [r.episodes_per_block for r in self.rounds],
                "block_pairs": [len(r.a_blocks) for r in self.rounds],
                "hash_seeds": [r.hash_seed for r in self.rounds],
            },
            command="ctool ab",
        )
        analysis = BlockAnalysis(
            plan.a.name, plan.b.name, capture_environment(), config,
            plan.limit, alpha, plan.gates, plan.measure, sequential,
        )  # fmt: skip
        report = compare_blocks(self.rounds, analysis)
        report.complete = complete
        return report


def run_ab(
    plan: ABPlan,
    *,
    factory: WorkerFactory | None = None,
    progress: Progress | None = None,
    profiled_runner: ProfiledRunner | None = None,
    started: float | None = None,
) -> CompareReport:
    """Run the rounds and compare them; after a stop signal (Ctrl-C, SIGTERM, SIGHUP: see
    :mod:`ctool.host.stop`) the report of the rounds completed, ``complete: false`` (none
    completed: a report with no rounds, inconclusive).

    ``started``: when the time budget began (monotonic clock; default now)."""
    plan.check()
    factory = factory or SubprocessWorker  # looked up now: tests replace it
    run = _Run(plan) if started is None else _Run(plan, started=started)
    seeds = plan.hash_seeds()
    try:
        with stop.measuring():
            while run.more():
                round_started = now()
                b_first = len(run.round_s) % 2 == 1
                deadline = run.deadline if run.rounds else None  # the first round runs whole
                result = _round(plan, factory, next(seeds), deadline, b_first)
                run.add(result, round_started)
                if result is None:
                    break
                if plan.keep is not None:
                    _keep(plan.keep, len(run.rounds), result)
                if progress is not None:
                    progress(len(run.rounds) - 1, result, result.log_ratio(PRIMARY[plan.measure]))
    except KeyboardInterrupt:
        return run.report(complete=False)
    report = run.report()
    if plan.profilers:
        try:
            with stop.measuring():
                report = with_profiled_rounds(plan, report, profiled_runner or profile_half)
        except KeyboardInterrupt:
            report.complete = False
    return report


def _keep(folder: Path, index: int, result: ABRound) -> None:
    from ctool.model.io import atomic_write_text

    data = {
        "hash_seed": result.hash_seed,
        "episodes_per_block": result.episodes_per_block,
        "b_first": result.b_first,
        "a_blocks": result.a_blocks,
        "b_blocks": result.b_blocks,
    }
    atomic_write_text(folder / f"round-{index:02d}.json", json.dumps(data, indent=1))
