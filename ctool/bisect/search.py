"""The search of ``ctool bisect``: confirm the endpoints, then halve the range with one
``ab --until-decided`` per step.

**Endpoints first.** ``good`` against ``bad`` must come out "slower" beyond ``--threshold``;
otherwise the search stops and says so: "no regression" when the ab decided there is none,
"inconclusive" when it could not decide within its rounds and budget.

**Each step** measures the midpoint ``m`` (B) against the newest commit known good (A). The
endpoints' ratio ``r`` sets the step's threshold at ``sqrt(r) - 1``, half the regression in
log terms: a midpoint before the culprit is ``r``-times faster than that boundary's far side
and one after it is on it, so both answers ("slower", "no significant change") are equally
far from it. "slower" (or "worse") makes ``m`` bad; "no significant change", "within noise",
"same", "faster" or "better" make it good; "inconclusive" (the step's time budget ran
out) asks a second ``ab``, of ``m`` against the newest commit known bad, before the search
gives up and reports its range.

**The whole search is right at least** ``confidence`` (95 %) **of the time.** It names the
right commit whenever every verdict it used is right (one regression; the usual bisect
assumption). It runs at most ``K = 1 + 2 (ceil(log2 n) + 1)`` ab runs for ``n`` candidates
(one per step, a second on "inconclusive", one step to spare for skipped midpoints), and each
run is wrong with probability at most its alpha (``ab``'s sequential bound), so with a
per-step alpha of ``(1 - confidence) / K`` the union bound keeps the chance that any verdict
is wrong at most ``1 - confidence``. At ``K`` runs the search stops, inconclusive.

**Skipped commits**: a midpoint that does not build or import is skipped like
``git bisect skip`` (the nearest other commit of the range is tried); when only skipped
commits are left the result names them all.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ctool.ab.runner import ABPlan, Side, run_ab
from ctool.analysis.compare.blocks import DEFAULT_THRESHOLDS
from ctool.bisect.checkouts import Checkouts
from ctool.bisect.result import BisectResult, Step
from ctool.history.gitinfo import commits_between, resolve, subject_and_stat
from ctool.model.errors import UsageError
from ctool.model.schema import CompareReport, Measure

GOOD_VERDICTS = ("no significant change", "within noise", "same", "faster", "better")
BAD_VERDICTS = ("slower", "worse")
RunStep = Callable[[ABPlan], CompareReport]
Progress = Callable[[Step], None]


@dataclass(frozen=True)
class BisectPlan:
    repo: Path
    good: str
    bad: str
    pipeline: str
    measure: Measure = "wall"
    threshold: float | None = None
    """The smallest regression to look for (default 5 %, 1 % for instructions)."""
    confidence: float = 0.95
    preset: str | None = None
    settings: tuple[str, ...] = ()
    rounds: int | None = None
    blocks: int = 10
    block_ms: float = 100.0
    episodes: int | None = None
    warmup: int = 20
    budget_s: float | None = None
    """Each ab run's time budget (``ab``'s default: 60 s, 180 s for instructions)."""
    seed: int = 0
    build: str | None = None

    @property
    def limit(self) -> float:
        return self.threshold if self.threshold is not None else DEFAULT_THRESHOLDS[self.measure]

    def check(self) -> None:
        if not 0.5 <= self.confidence < 1:
            raise UsageError("--confidence must be at least 0.5 and below 1")
        if self.limit <= 0:
            raise UsageError("--threshold must be positive")


def max_runs(candidates: int) -> int:
    """``K``: the most ab runs a search over ``candidates`` commits may use."""
    return 1 + 2 * (math.ceil(math.log2(max(candidates, 2))) + 1)


def gated(report: CompareReport) -> tuple[str, float | None, float | None, float | None]:
    rows = [m for m in report.metrics if m.gated] or report.metrics[:1]
    if not rows:
        return "inconclusive", None, None, None
    row = rows[0]
    return row.verdict, row.ratio, row.ci_low, row.ci_high


@dataclass
class _Search:
    plan: BisectPlan
    commits: list[str]
    checkouts: Checkouts
    result: BisectResult
    run_step: RunStep
    progress: Progress | None
    reports: list[tuple[str, CompareReport]] = field(default_factory=list)
    """(commit of side B, its report): what the history gets."""

    def ab(self, a: str, b: str, threshold: float, role: str) -> Step:
        plan = self.plan
        sides = [
            Side(label, preset=plan.preset, settings=plan.settings, checkout=self.checkouts.path(c))
            for label, c in (("A", a), ("B", b))
        ]
        ab_plan = ABPlan(
            a=sides[0], b=sides[1], rounds=plan.rounds, blocks=plan.blocks,
            block_ms=plan.block_ms, episodes=plan.episodes, warmup=plan.warmup, seed=plan.seed,
            pipeline=plan.pipeline, threshold=threshold, alpha=self.result.per_step_alpha,
            measure=plan.measure, until_decided=True, budget_s=plan.budget_s,
        )  # fmt: skip
        started = time.monotonic()
        report = self.run_step(ab_plan)
        verdict, ratio, low, high = gated(report)
        rounds = report.sequential.rounds if report.sequential else report.config.rounds
        step = Step(role, a, b, verdict, ratio, low, high, rounds,  # type: ignore[arg-type]
                    time.monotonic() - started, threshold)  # fmt: skip
        self.result.steps.append(step)
        self.reports.append((b, report))
        return step

    def announce(self, step: Step) -> None:
        if self.progress is not None:
            self.progress(step)

    def pick(self, lo: int, hi: int) -> int | None:
        """The middle of (lo, hi), or the nearest commit to it that is not skipped."""
        mid = (lo + hi) // 2
        for offset in range(hi - lo):
            for index in (mid + offset, mid - offset):
                if lo < index < hi and self.commits[index] not in self.result.skipped:
                    ready = self.checkouts.ready(self.commits[index])
                    if ready.ok:
                        return index
                    self.result.skipped[self.commits[index]] = ready.why
        return None

    def search(self, lo: int, hi: int, threshold: float) -> tuple[int, int]:
        """Halve (lo, hi] until one commit is left or the search must stop."""
        result = self.result
        while hi - lo > 1:
            mid = self.pick(lo, hi)
            if mid is None:
                result.outcome = "only skipped commits left"
                return lo, hi
            if len(result.steps) >= result.max_steps:
                result.message = f"stopped at {result.max_steps} ab runs"
                return lo, hi
            step = self.ab(self.commits[lo], self.commits[mid], threshold, "search")
            if step.verdict in BAD_VERDICTS:
                step.conclusion, hi = "bad", mid
            elif step.verdict in GOOD_VERDICTS:
                step.conclusion, lo = "good", mid
            self.announce(step)
            if step.conclusion:
                continue
            if len(result.steps) >= result.max_steps:
                result.message = f"stopped at {result.max_steps} ab runs"
                return lo, hi
            again = self.ab(self.commits[mid], self.commits[hi], threshold, "search")
            if again.verdict in BAD_VERDICTS:
                again.conclusion, lo = "good (A)", mid
            elif again.verdict in GOOD_VERDICTS:
                again.conclusion, hi = "bad (A)", mid
            self.announce(again)
            if not again.conclusion:
                result.message = f"{self.commits[mid][:12]} could not be decided"
                return lo, hi
        result.outcome = "found"
        return lo, hi


def run_bisect(
    plan: BisectPlan, *, run_step: RunStep | None = None, progress: Progress | None = None
) -> tuple[BisectResult, list[tuple[str, CompareReport]]]:
    """The search; also every ab report with the commit its side B ran."""
    plan.check()
    started = time.monotonic()
    good, bad = resolve(plan.repo, plan.good), resolve(plan.repo, plan.bad)
    commits = commits_between(plan.repo, good, bad)
    k = max_runs(len(commits) - 1)
    result = BisectResult(
        good, bad, plan.pipeline, plan.measure, len(commits) - 1,
        per_step_alpha=(1 - plan.confidence) / k, max_steps=k, confidence=plan.confidence,
    )  # fmt: skip
    checkouts = Checkouts(plan.repo, plan.pipeline, plan.build)
    for commit, name in ((good, "--good"), (bad, "--bad")):
        ready = checkouts.ready(commit)
        if not ready.ok:
            raise UsageError(f"{name} {commit[:12]}: {ready.why}")
    search = _Search(plan, commits, checkouts, result, run_step or run_ab, progress)
    first = search.ab(good, bad, plan.limit, "endpoints")
    first.conclusion = "regression" if first.verdict in BAD_VERDICTS else first.verdict
    search.announce(first)
    if first.verdict not in BAD_VERDICTS or first.ratio is None:
        decided = first.verdict in GOOD_VERDICTS
        result.outcome = "no regression" if decided else "inconclusive"
        result.message = f"good against bad is {first.verdict!r} (threshold {plan.limit:.1%}): " + (
            "nothing to bisect" if decided else "more rounds (--rounds, --budget) would decide"
        )
    else:
        threshold = math.sqrt(first.ratio) - 1
        lo, hi = search.search(0, len(commits) - 1, threshold)
        result.range_good, result.range_bad = commits[lo], commits[hi]
        if result.outcome == "found":
            result.culprit = commits[hi]
            result.subject, result.diff_stat = subject_and_stat(plan.repo, commits[hi])
            result.message = f"first bad commit after {commits[lo][:12]}"
        elif result.outcome == "only skipped commits left":
            result.message = "the culprit is one of " + ", ".join(
                c[:12] for c in commits[lo + 1 : hi + 1]
            )
        else:
            result.message = (
                f"{result.message}; the culprit lies in {commits[lo][:12]}..{commits[hi][:12]}"
            )
    result.seconds = time.monotonic() - started
    return result, search.reports
