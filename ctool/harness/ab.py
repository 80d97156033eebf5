"""``ctool ab``: interleaved A/B rounds in fresh processes, then a paired test.

Why interleave: two runs of identical code on one machine differ by a few percent (clock
frequency, caches, neighbours), and that drift is slow. Running A and B back to back inside
each round lets both halves share the machine's state, so the per-round ratio B/A cancels
it; a paired test over the rounds (``ctool.analysis.compare.compare_paired``) then sees only
the code's difference. By default the order inside a round alternates (A B, B A, A B, ...)
so that whatever favours the first or the second half of a round does not favour one side.

Each half round is a fresh ``python -m ctool profile ... -o FILE`` process: the same
measurement code as ``ctool profile``, no state carried between halves (allocator, caches,
warm-ups), and the same report, stages and output digest.

A side is a preset and settings (``"preset=baseline,phi_cache=false"``), optionally another
pipeline (``module:factory``) or another checkout (a directory: its processes run there with
the directory first on ``PYTHONPATH``, so its modules shadow the installed ones).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from ctool.analysis.compare import compare_paired, require_profile
from ctool.analysis.statistics import min_rounds_for
from ctool.harness.loader import DEFAULT_PIPELINE
from ctool.model.errors import CtoolError, UsageError
from ctool.model.io import load_report
from ctool.model.schema import CompareReport, ProfileReport, RunConfigModel


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
    """``--a "preset=baseline,phi_cache=false"`` and ``--a-pipeline REF|DIR`` -> a Side."""
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


Order = Literal["abba", "ab"]


@dataclass(frozen=True)
class ABPlan:
    a: Side
    b: Side
    rounds: int = 10
    episodes: int = 200
    """Per half round."""
    warmup: int = 20
    seed: int = 0
    pipeline: str = DEFAULT_PIPELINE
    """Used by a side that names no pipeline of its own."""
    threshold: float = 0.05
    alpha: float = 0.05
    gate: Sequence[str] | None = None
    keep: Path | None = None
    """Keep each half round's report here (``A-01.json``, ``B-01.json``, ...)."""
    profilers: tuple[str, ...] = ()
    """``--profiler``: profile in extra rounds of their own, after the timing rounds; they
    never feed the timing verdict (a profiler skews the ratios), only where time moved."""
    profiled_rounds: int = 2
    order: Order = "abba"
    """``abba``: A B, B A, A B, ... -- which side runs second alternates, so a bias of the
    second half of a round (the machine warming, a neighbour's periodic job) cancels over
    the rounds instead of landing on B. ``ab``: A B, A B, ... strictly."""

    def halves(
        self, index: int, a_runs: list[ProfileReport], b_runs: list[ProfileReport]
    ) -> list[tuple[Side, list[ProfileReport]]]:
        """The two half rounds of round ``index``, in the order they run."""
        pair = [(self.a, a_runs), (self.b, b_runs)]
        return pair[::-1] if self.order == "abba" and index % 2 else pair

    def check(self) -> None:
        needed = min_rounds_for(self.alpha)
        if self.rounds < needed:
            raise UsageError(
                f"--rounds {self.rounds} cannot reach significance at alpha {self.alpha:g}; "
                f"use at least {needed}"
            )
        if self.episodes < 1:
            raise UsageError("--episodes must be at least 1")
        if self.warmup < 0:
            raise UsageError("--warmup must not be negative")
        if self.profilers and self.profiled_rounds < 1:
            raise UsageError("--profiled-rounds must be at least 1 with --profiler")
        if self.order not in ("abba", "ab"):
            raise UsageError(f"--order expects abba or ab, got {self.order!r}")
        if self.keep is not None and not self.keep.is_dir():
            raise UsageError(f"--keep {self.keep}: not a directory")


Runner = Callable[[ABPlan, Side, int, Path], ProfileReport]
"""Runs one half round (plan, side, round index, report path) and returns its report."""
Progress = Callable[[int, Side, ProfileReport], None]


def profile_command(plan: ABPlan, side: Side, out: Path) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "ctool",
        "profile",
        "--pipeline",
        side.pipeline or plan.pipeline,
        "--seed",
        str(plan.seed),
        "--episodes",
        str(plan.episodes),
        "--warmup",
        str(plan.warmup),
        "--quiet",
        "-o",
        str(out),
    ]
    for name in plan.profilers:
        command += ["--profiler", name]
    if side.preset:
        command += ["--preset", side.preset]
    for setting in side.settings:
        command += ["--set", setting]
    return command


def subprocess_runner(plan: ABPlan, side: Side, index: int, out: Path) -> ProfileReport:
    """One half round: a fresh ``python -m ctool profile`` process."""
    env = dict(os.environ)
    cwd = None
    if side.checkout is not None:
        cwd = side.checkout
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(side.checkout), env.get("PYTHONPATH", "")) if p
        )
    proc = _run_reaped(profile_command(plan, side, out), cwd=cwd, env=env)
    if proc.returncode in INTERRUPTED_CODES:  # the half round was interrupted too
        raise KeyboardInterrupt
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        message = lines[-1].removeprefix("ctool: error: ") if lines else "no message"
        if proc.returncode == 2:
            raise UsageError(f"{side.name}: {message}")
        raise CtoolError(
            f"{side.name}, round {index + 1}: ctool profile exited {proc.returncode}: {message}"
        )
    return require_profile(load_report(out), f"{side.name} round {index + 1}")


INTERRUPTED_CODES = (130, 143, 129)
"""A half round's exit after Ctrl-C, SIGTERM or SIGHUP (128 + the signal's number)."""


def _run_reaped(
    command: list[str], *, cwd: Path | None, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run``, except that on Ctrl-C / SIGTERM the half round is killed *and
    reaped* before this returns (``subprocess.run`` waits at most 0.25 s), so it can neither
    outlive ctool nor write into the scratch folder while that folder is removed."""
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=env,
    ) as proc:
        try:
            stdout, stderr = proc.communicate()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    return subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)


class ABInterrupted(KeyboardInterrupt):
    """Ctrl-C during the rounds; carries the report of the rounds completed so far."""

    def __init__(self, report: CompareReport | None) -> None:
        super().__init__()
        self.report = report


def _analyse(
    plan: ABPlan, a_runs: list[ProfileReport], b_runs: list[ProfileReport]
) -> CompareReport:
    config = RunConfigModel(
        pipeline=plan.a.pipeline or plan.pipeline,
        seed=plan.seed,
        episodes=plan.episodes,
        warmup=plan.warmup,
        rounds=len(a_runs),
        settings={"a": plan.a.name, "b": plan.b.name},
        command="ctool ab",
    )
    return compare_paired(
        a_runs,
        b_runs,
        a_name=plan.a.name,
        b_name=plan.b.name,
        threshold=plan.threshold,
        alpha=plan.alpha,
        gate=plan.gate,
        config=config,
    )


def run_ab(
    plan: ABPlan,
    *,
    runner: Runner | None = None,
    progress: Progress | None = None,
) -> CompareReport:
    """Run the rounds (A B, B A, ... by default) and compare them. Ctrl-C raises
    :class:`ABInterrupted`.

    ``runner`` runs one half round (default: :func:`subprocess_runner`).
    """
    plan.check()
    runner = runner or subprocess_runner
    a_runs: list[ProfileReport] = []
    b_runs: list[ProfileReport] = []
    timing = replace(plan, profilers=())
    with tempfile.TemporaryDirectory(prefix="ctool-ab-") as scratch:
        folder = plan.keep or Path(scratch)
        try:
            for index in range(plan.rounds):
                for side, runs in plan.halves(index, a_runs, b_runs):
                    out = folder / f"{side.label}-{index + 1:02d}.json"
                    report = runner(timing, side, index, out)
                    runs.append(report)
                    if progress is not None:
                        progress(index, side, report)
        except KeyboardInterrupt:
            done = min(len(a_runs), len(b_runs))
            partial = None
            if done:
                partial = _analyse(plan, a_runs[:done], b_runs[:done])
                partial.complete = False
            raise ABInterrupted(partial) from None
        compared = _analyse(plan, a_runs, b_runs)
        if plan.profilers:
            compared = _with_profiled_rounds(plan, compared, runner, folder, progress)
    return compared


def _with_profiled_rounds(
    plan: ABPlan,
    report: CompareReport,
    runner: Runner,
    folder: Path,
    progress: Progress | None,
) -> CompareReport:
    """Extra rounds under the profilers (A B, B A, ...): where time moved, never timing."""
    from dataclasses import replace

    from ctool.analysis.movers import where_time_moved

    profiled, timing = plan, replace(plan, profilers=())
    a_runs: list[ProfileReport] = []
    b_runs: list[ProfileReport] = []
    for index in range(plan.profiled_rounds):
        for side, runs in timing.halves(index, a_runs, b_runs):
            out = folder / f"{side.label}-profiled-{index + 1:02d}.json"
            runs.append(runner(profiled, side, plan.rounds + index, out))
            if progress is not None:
                progress(plan.rounds + index, side, runs[-1])
    return report.model_copy(update=where_time_moved(a_runs, b_runs))
