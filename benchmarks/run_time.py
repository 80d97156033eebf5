"""Wall time of ``ctool --help`` (target <= 0.25 s) and of a 10,000-episode run (< 60 s).

Both are measured as a user sees them: a fresh ``python -m ctool`` process, start to exit.
Run:  python benchmarks/run_time.py [--episodes 10000] [--pipeline REF] [--preset NAME]
Without the reference pipeline installed, the run uses examples.etl_pipeline:create.

With ``--against REV`` it also compares ``ctool --help`` start-up time of this working tree
(uncommitted changes included) with git revision REV, checked out into a temporary worktree
that is removed afterwards. The two sides run interleaved, in pairs ordered AB, BA, AB, ...
(A = REV, B = working tree), after a few discarded warm-up runs per side. The verdict is PASS
when the upper bound of the 95 % interval for the ratio working tree / REV is <= 1.05, i.e.
start-up is within 5 % of REV; the exit status is 1 on FAIL. To rerun the check, e.g.:
      python benchmarks/run_time.py --against main --help-pairs 40
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Resolve ``ctool`` from this tree, as the measured subprocesses do, not from wherever the
# venv's editable install points.
sys.path.insert(0, str(REPO))

TARGET_RATIO = 1.05  # "within 5 %": upper 95 % bound of current/reference must not exceed this


def wall(args: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    )
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "ctool", *args], capture_output=True, text=True, env=env, cwd=REPO
    )
    return time.perf_counter() - t, proc


def git(*args: str) -> str:
    proc = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"git {' '.join(args)} failed:\n{proc.stderr.strip()}")
    return proc.stdout.strip()


@contextmanager
def reference_worktree(rev: str) -> Iterator[Path]:
    """A detached ``git worktree`` of ``rev`` in a temporary directory, always removed again."""
    parent = Path(tempfile.mkdtemp(prefix="ctool-ref-"))
    tree = parent / "tree"
    # Turn SIGTERM into SystemExit so that the ``finally`` below also runs when killed politely
    # (Ctrl-C raises KeyboardInterrupt, which it handles anyway).
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        git("worktree", "add", "--quiet", "--detach", str(tree), rev)
        yield tree
    finally:
        # A second Ctrl-C must not leave the worktree registered half-removed.
        sigint = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
                capture_output=True,
            )
            subprocess.run(["git", "-C", str(REPO), "worktree", "prune"], capture_output=True)
            shutil.rmtree(parent, ignore_errors=True)
        finally:
            signal.signal(signal.SIGINT, sigint)
            signal.signal(signal.SIGTERM, previous)


class Side:
    """One side of the comparison: ``python -m ctool`` importing ctool from ``tree`` only."""

    def __init__(self, name: str, tree: Path, cwd: Path) -> None:
        self.name, self.tree, self.cwd = name, tree.resolve(), cwd
        # Only the tree on PYTHONPATH (an inherited PYTHONPATH could differ between the two
        # sides' import paths otherwise); everything else is the same environment for both.
        self.env = dict(os.environ, PYTHONPATH=str(self.tree))
        self.times: list[float] = []
        self.help_text = ""

    def verify(self) -> None:
        """Fail loudly unless ctool and every ctool module ``-m ctool`` loads come from tree.

        The venv holds ctool as an editable install pointing at another checkout; PYTHONPATH
        comes first on sys.path and should win, and this checks that it does.
        """
        probe = (
            "import json, sys, ctool, ctool.__main__\n"
            "print(json.dumps({n: getattr(m, '__file__', None) for n, m in sys.modules.items()"
            " if n == 'ctool' or n.startswith('ctool.')}))"
        )
        proc = subprocess.run(
            [sys.executable, "-c", probe],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.cwd,
        )
        if proc.returncode != 0:
            sys.exit(f"{self.name}: cannot import ctool from {self.tree}:\n{proc.stderr.strip()}")
        files = json.loads(proc.stdout)
        stray = {
            name: file
            for name, file in files.items()
            if file is None or not Path(file).resolve().is_relative_to(self.tree)
        }
        if stray or "ctool" not in files:
            sys.exit(
                f"{self.name}: expected ctool imported from {self.tree}, but got:\n"
                + "\n".join(f"  {name}: {file}" for name, file in sorted(stray.items()))
            )
        print(f"  {self.name:9} imports ctool from {Path(files['ctool']).parent} (verified)")

    def run(self) -> float:
        t = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "ctool", "--help"],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.cwd,
        )
        elapsed = time.perf_counter() - t
        if proc.returncode != 0:
            sys.exit(f"{self.name}: ctool --help exited {proc.returncode}:\n{proc.stderr}")
        self.help_text = proc.stdout
        return elapsed


def median_interval(values: list[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Distribution-free interval for the median: order statistics x_(k) and x_(n+1-k).

    The count of values below the true median is Binomial(n, 1/2), so [x_(k), x_(n+1-k)]
    covers it with probability 1 - 2 P(Bin(n, 1/2) <= k - 1); k is the largest index keeping
    that >= ``confidence``. Chosen over a bootstrap because it is exact and needs no seed or
    resampling. Returns (low, high, actual coverage).
    """
    xs = sorted(values)
    n = len(xs)
    alpha = 1 - confidence

    def tail(k: int) -> float:  # P(Bin(n, 1/2) <= k - 1)
        return sum(math.comb(n, i) for i in range(k)) / 2**n

    if tail(1) * 2 > alpha:
        raise ValueError(f"{n} pairs are too few for a {confidence:.0%} interval (need >= 6)")
    k = 1
    while tail(k + 1) * 2 <= alpha:
        k += 1
    return xs[k - 1], xs[n - k], 1 - 2 * tail(k)


def compare_help(rev: str, pairs: int, warmup: int) -> bool:
    ref_commit = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    head = git("rev-parse", "--short", "HEAD")
    dirty = " + uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else ""
    print(f"\nctool --help start-up: working tree ({head}{dirty}) vs {rev} ({ref_commit[:7]})")
    with reference_worktree(ref_commit) as tree, tempfile.TemporaryDirectory() as neutral:
        # A neutral cwd: ``python -m`` puts the cwd first on sys.path, so it must hold no ctool.
        reference = Side("reference", tree, Path(neutral))
        current = Side("current", REPO, Path(neutral))
        for side in (reference, current):
            side.verify()
        # Warm-up (discarded): fills the OS file cache and writes the reference tree's .pyc.
        for _ in range(warmup):
            for side in (reference, current):
                side.run()
        ratios = []
        for i in range(pairs):
            # Pairs alternate AB, BA, so every ABBA block cancels a linear drift.
            order = (reference, current) if i % 2 == 0 else (current, reference)
            t = {side.name: side.run() for side in order}
            reference.times.append(t["reference"])
            current.times.append(t["current"])
            ratios.append(t["current"] / t["reference"])
        same_text = reference.help_text == current.help_text

    ref_med, cur_med = statistics.median(reference.times), statistics.median(current.times)
    ratio = statistics.median(ratios)
    low, high, coverage = median_interval(ratios)
    print(
        f"  {pairs} interleaved pairs (AB/BA alternating) after {warmup} warm-up runs per side\n"
        f"  reference median {ref_med * 1e3:.1f} ms (min {min(reference.times) * 1e3:.1f})\n"
        f"  current   median {cur_med * 1e3:.1f} ms (min {min(current.times) * 1e3:.1f})\n"
        f"  ratio current/reference: {ratio:.3f} (median of per-pair ratios), "
        f"95 % interval [{low:.3f}, {high:.3f}] "
        f"(order-statistic interval for the median, coverage {coverage:.1%})\n"
        f"  help text identical: {'yes' if same_text else 'no'}"
    )
    passed = high <= TARGET_RATIO
    print(
        f"{'PASS' if passed else 'FAIL'}: target 'within 5 %' = upper 95 % bound of the ratio "
        f"<= {TARGET_RATIO:.2f}; upper bound is {high:.3f}"
    )
    return passed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    has_reference = importlib.util.find_spec("ctool.pipeline") is not None
    parser.add_argument(
        "--pipeline",
        default="ctool.pipeline:create" if has_reference else "examples.etl_pipeline:create",
        help="pipeline factory for the episode run (default: %(default)s)",
    )
    parser.add_argument(
        "--preset",
        default="optimized" if has_reference else None,
        help="preset for the episode run (default: %(default)s)",
    )
    parser.add_argument(
        "--episodes", type=int, default=10_000, help="episodes to run (default: %(default)s)"
    )
    parser.add_argument(
        "--help-runs",
        type=int,
        default=10,
        help="fresh `ctool --help` processes for the absolute timing (default: %(default)s)",
    )
    parser.add_argument(
        "--against",
        metavar="REV",
        default=None,
        help="also compare `ctool --help` start-up of the working tree with git revision REV "
        "(PASS if the upper 95 %% bound of current/reference is <= 1.05; exit 1 on FAIL)",
    )
    parser.add_argument(
        "--help-pairs",
        type=int,
        default=40,
        help="interleaved reference/current pairs for --against; even, >= 6 (default: %(default)s)",
    )
    parser.add_argument(
        "--help-warmup",
        type=int,
        default=3,
        help="discarded warm-up runs per side for --against (default: %(default)s)",
    )
    args = parser.parse_args()
    if args.help_pairs < 6 or args.help_pairs % 2:
        parser.error("--help-pairs must be even (whole ABBA blocks) and >= 6")

    times = []
    for _ in range(args.help_runs):
        elapsed, proc = wall(["--help"])
        assert proc.returncode == 0, proc.stderr
        times.append(elapsed)
    print(
        f"ctool --help: median {statistics.median(times):.3f} s, min {min(times):.3f} s "
        f"over {args.help_runs} runs (target <= 0.25 s)"
    )

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.json"
        command = ["profile", "--pipeline", args.pipeline, "--episodes", str(args.episodes)]
        if args.preset:
            command += ["--preset", args.preset]
        command += ["-o", str(out), "--quiet"]
        elapsed, proc = wall(command)
        assert proc.returncode == 0, proc.stderr
        report = json.loads(out.read_text())
        size = out.stat().st_size
    print(f"ctool {' '.join(command[:-3])}")
    print(
        f"  {report['latency_ms']['count']:,} episodes: {elapsed:.1f} s wall, start to exit "
        f"(target < 60 s); measured part {report['duration_s']:.1f} s, "
        f"p50 {report['latency_ms']['p50']:.3f} ms, report {size / 1e3:.0f} kB"
    )

    if args.against is not None and not compare_help(
        args.against, args.help_pairs, args.help_warmup
    ):
        sys.exit(1)


if __name__ == "__main__":
    main()
