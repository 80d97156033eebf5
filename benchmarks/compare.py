"""Target: comparing two 100,000-episode reports takes <= 2 s end to end (issue 5).

Makes two schema-valid profile reports of 100,000 episodes each from the synthetic model
(raw latencies stored losslessly, 7 stages, Φ metrics, 20 cProfile hotspots; 10 rounds and
100 batches, or one round and 100 batches), writes them to a scratch directory, then times:

* ``python -m ctool compare A.json B.json`` as a subprocess: interpreter start, imports,
  loading and validating both files, the tests, rendering -- what a user waits for;
* the same in process, split into load and analyse.

Run: ``.venv/bin/python benchmarks/compare.py [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ctool.analysis.compare import compare_reports, require_profile
from ctool.analysis.synthetic import LatencyModel, profile_report
from ctool.model.io import load_report, write_report
from ctool.model.schema import Hotspot, ProfileReport

EPISODES = 100_000
STAGES = {
    "TIG": 0.15,
    "ESGT": 0.45,
    "MEA": 0.05,
    "MCEA": 0.2,
    "MCEA.phi": 0.15,
    "MMEI": 0.1,
    "(between stages)": 0.05,
}
PHI = {"phi": {"p50_ms": 0.4, "p95_ms": 0.9, "cache_hits": 900, "cache_misses": 100,
               "hit_rate": 0.9}}  # fmt: skip


def make_report(seed: int, rounds: int, factor: float) -> ProfileReport:
    model = LatencyModel()
    rng = np.random.default_rng(seed)
    per_round = EPISODES // rounds
    latencies = model.episodes(rng, (rounds,), per_round) * model.machine(rng, (rounds,)) * factor
    report = profile_report(list(latencies), stage_shares=STAGES, batches=100, pipeline_metrics=PHI)
    report.hotspots = [
        Hotspot(profiler="cprofile", function=f"f{i}", file=f"ctool/pipeline/m{i}.py", line=i,
                self_ms=1000.0 / (i + 1) * factor, calls=EPISODES)
        for i in range(20)
    ]  # fmt: skip
    return report


def timed(func: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return times


def bench(label: str, before: Path, after: Path, repeat: int) -> None:
    def cli() -> None:
        subprocess.run(
            [sys.executable, "-m", "ctool", "compare", str(before), str(after)],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def load() -> list[ProfileReport]:
        return [require_profile(load_report(p), str(p)) for p in (before, after)]

    end_to_end = timed(cli, repeat)
    load_s = timed(load, repeat)
    old, new = load()
    analyse_s = timed(lambda: compare_reports(old, new), repeat)
    mode = compare_reports(old, new).mode
    size = before.stat().st_size / 1e6
    print(
        f"{label:>6} ({mode}, {EPISODES:,} episodes per file, {size:.2f} MB): "
        f"end to end median {statistics.median(end_to_end):.2f} s "
        f"(min {min(end_to_end):.2f}, max {max(end_to_end):.2f}); in process: "
        f"load both {statistics.median(load_s):.2f} s, "
        f"analyse {statistics.median(analyse_s):.3f} s   [target <= 2 s]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        for label, rounds in (("rounds", 10), ("single", 1)):
            before, after = root / f"{label}-before.json", root / f"{label}-after.json"
            write_report(make_report(1, rounds, 1.0), before)
            write_report(make_report(2, rounds, 0.9), after)
            bench(label, before, after, args.repeat)


if __name__ == "__main__":
    main()
