"""Wall time of ``ctool --help`` (target <= 0.25 s) and of a 10,000-episode run (< 60 s).

Both are measured as a user sees them: a fresh ``python -m ctool`` process, start to exit.
Run:  python benchmarks/run_time.py [--episodes 10000] [--pipeline REF] [--preset NAME]
Without the reference pipeline installed, the run uses examples.etl_pipeline:create.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def wall(args: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    )
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "ctool", *args], capture_output=True, text=True, env=env, cwd=REPO
    )
    return time.perf_counter() - t, proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    has_reference = importlib.util.find_spec("ctool.pipeline") is not None
    parser.add_argument(
        "--pipeline",
        default="ctool.pipeline:create" if has_reference else "examples.etl_pipeline:create",
    )
    parser.add_argument("--preset", default="optimized" if has_reference else None)
    parser.add_argument("--episodes", type=int, default=10_000)
    parser.add_argument("--help-runs", type=int, default=10)
    args = parser.parse_args()

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


if __name__ == "__main__":
    main()
