"""Target: loading and comparing two 10 M-episode reports takes <= 10 s and <= 1 GB peak RSS
in a fresh ``ctool compare`` process (issue 14).

Builds two realistic profile reports of 10,000,000 episodes each with
:mod:`ctool.analysis.synthetic` (lognormal latencies, autocorrelated, with a 1 % tail of 5x
spikes and a per-process machine factor: they compress like real ones, ~3x, not like a
constant), 10 rounds, 100 batches, seven stages, three concurrency levels and an open-loop
level in ``load``; every latency stored losslessly in ``latency_ms.samples``. Then runs
``python -m ctool compare A.json B.json`` as a fresh process, ``repeat`` times, and reports
wall time and the child's peak RSS (``ru_maxrss`` of the waited-for child), plus the same
for ``ctool report A.json`` (one file, table).

Run: ``.venv/bin/python benchmarks/big_reports.py [--episodes 10000000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ctool.analysis.synthetic import LatencyModel, profile_report
from ctool.model.io import write_report
from ctool.model.schema import LoadLevel, ProfileReport

STAGES = {"TIG": 0.15, "ESGT": 0.45, "MEA": 0.05, "MCEA": 0.2, "MCEA.phi": 0.15, "MMEI": 0.1}
ROUNDS = 10
TARGET_S = 10.0
TARGET_RSS_MB = 1024.0


def make_report(episodes: int, seed: int, factor: float) -> ProfileReport:
    model = LatencyModel()
    rng = np.random.default_rng(seed)
    per_round = episodes // ROUNDS
    latencies = model.episodes(rng, (ROUNDS,), per_round) * model.machine(rng, (ROUNDS,)) * factor
    report = profile_report(list(latencies), stage_shares=STAGES, batches=100)
    p50 = report.latency_ms.p50
    report.load = [
        LoadLevel(concurrency=c, episodes=episodes // 10, p50_ms=p50 * (1 + c / 20),
                  p95_ms=p50 * (1.6 + c / 10), p99_ms=p50 * (2.4 + c / 5), max_ms=p50 * 9,
                  throughput_eps=1000 / p50 * min(c, 2) / (1 + c / 50))
        for c in (1, 4, 16)
    ] + [LoadLevel(rate=200.0, label="rate 200/s", episodes=episodes // 10, p50_ms=p50,
                   p95_ms=p50 * 1.7, p99_ms=p50 * 2.6, max_ms=p50 * 10,
                   throughput_eps=200.0)]  # fmt: skip
    return report


PEAK = (
    "import atexit, runpy, sys\n"
    "def peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            sys.stderr.write('PEAK ' + line.split()[1] + '\\n')\n"
    "atexit.register(peak)\n"
    "sys.argv = ['ctool', *sys.argv[1:]]\n"
    "runpy.run_module('ctool', run_name='__main__')\n"
)
"""Runs ``python -m ctool ARGS`` and prints the process's own peak RSS (VmHWM) at exit.
``ru_maxrss`` of a child is no use here: Linux keeps it across exec, so a child forked from
this (large) process would report this process's size."""


def fresh(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one fresh ``ctool`` process."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", PEAK, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - start
    peak_kb = [int(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("PEAK")]
    return wall, peak_kb[-1] / 1024.0


def bench(label: str, command: list[str], repeat: int) -> None:
    runs = [fresh(command) for _ in range(repeat)]
    walls = [w for w, _ in runs]
    rss = max(r for _, r in runs)
    ok = statistics.median(walls) <= TARGET_S and rss <= TARGET_RSS_MB
    print(
        f"{label}: median {statistics.median(walls):.2f} s (min {min(walls):.2f}, "
        f"max {max(walls):.2f}); peak RSS {rss:,.0f} MB   "
        f"[target <= {TARGET_S:g} s, <= {TARGET_RSS_MB:,.0f} MB: {'met' if ok else 'NOT met'}]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episodes", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        before, after = Path(scratch) / "before.json", Path(scratch) / "after.json"
        start = time.perf_counter()
        write_report(make_report(args.episodes, 1, 1.0), before)
        write_report(make_report(args.episodes, 2, 0.97), after)
        size = before.stat().st_size / 1e6
        print(
            f"two reports of {args.episodes:,} episodes, {size:.0f} MB each "
            f"(built in {time.perf_counter() - start:.0f} s)"
        )
        bench("ctool compare A B", ["compare", str(before), str(after)], args.repeat)
        bench("ctool report A   ", ["report", str(before)], args.repeat)


if __name__ == "__main__":
    main()
