"""Is the concurrency sweep's verdict the same every time? (issue 25)

Runs the same closed-loop sweep N times, each in a fresh process, and prints every run's
throughput per level and its verdict. The verdict should be one and the same in every run,
and never "cliff" for the optimized reference pipeline (CPU-bound: throughput flat).

    .venv/bin/python benchmarks/load_verdict.py --runs 10          # --episodes 1000
    .venv/bin/python benchmarks/load_verdict.py --runs 10 --pipeline MOD:FACTORY --levels 1,4,16
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tempfile
from pathlib import Path


def one_run(pipeline: str | None, levels: str, episodes: int, out: Path) -> dict[str, object]:
    command = [sys.executable, "-m", "ctool", "profile", "--episodes", str(episodes),
               "--concurrency", levels, "-o", str(out), "--format", "json"]  # fmt: skip
    if pipeline:
        command += ["--pipeline", pipeline]
    else:
        command += ["--preset", "optimized"]
    subprocess.run(command, check=True, capture_output=True)
    report: dict[str, object] = json.loads(out.read_text())
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--pipeline", default=None)
    parser.add_argument("--levels", default="1,5,10,20,50")
    parser.add_argument(
        "--episodes", type=int, default=1000, help="per level (and the sequential part)"
    )
    args = parser.parse_args()
    verdicts: collections.Counter[str] = collections.Counter()
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            report = one_run(
                args.pipeline, args.levels, args.episodes, Path(tmp) / f"run{run}.json"
            )
            load = report.get("load") or []
            assert isinstance(load, list)
            throughput = " / ".join(f"{row['throughput_eps']:,.0f}" for row in load)
            verdict = report.get("load_verdict") or {}
            assert isinstance(verdict, dict)
            verdicts[str(verdict.get("verdict"))] += 1
            print(f"run {run + 1:2d}: {throughput} eps -> {verdict.get('detail')}")
    print("verdicts:", dict(verdicts))


if __name__ == "__main__":
    main()
