"""``ctool bisect`` trials on real 64-commit repositories: right or wrong, seconds (issue 23).

Not a test: a measurement of this machine, whatever else it runs (state the load). Each
trial builds a fresh repository (``tests/helpers/bisect_repo.py``: a three-stage pipeline,
the culprit commit drawn between 2 and 64 from ``--seed``, making the ``transform`` stage
do ``--change`` more work; commit 32 does not import) and runs ``python -m ctool bisect``
on it, with ``benchmarks/noisy_neighbour.py``'s neighbour busy beside it unless
``--no-neighbour``. A trial is right when the named culprit is the true one.

Run::

    .venv/bin/python benchmarks/bisect_trials.py --trials 10 --measure wall --change 0.08
    .venv/bin/python benchmarks/bisect_trials.py --trials 10 --measure instructions \\
        --change 0.01 --threshold 0.5 --no-neighbour
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "helpers"))

from bisect_repo import PIPELINE_REF, build_repo  # noqa: E402  # the tests' repository


def trial(culprit: int, args: argparse.Namespace, extra: list[str]) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        repo = Path(folder) / "repo"
        hashes = build_repo(repo, culprit=culprit, slowdown=args.change, broken=(32,))
        command = [
            sys.executable, "-m", "ctool", "bisect", "--good", hashes[0], "--bad", hashes[-1],
            "--pipeline", PIPELINE_REF, "--repo", str(repo), "--measure", args.measure,
            "--threshold", str(args.threshold), "-q", "--format", "json", *extra,
        ]  # fmt: skip
        started = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
        seconds = time.monotonic() - started
        try:
            result = json.loads(done.stdout)
        except ValueError:
            return {"culprit": culprit, "right": False, "seconds": seconds,
                    "error": done.stderr.strip()[-300:]}  # fmt: skip
        steps = [s for s in result["steps"] if s["role"] == "search"]
        return {
            "culprit": culprit, "named": result["culprit"] and hashes.index(result["culprit"]) + 1,
            "right": result["culprit"] == hashes[culprit - 1], "outcome": result["outcome"],
            "search_steps": len(steps), "seconds": seconds,
            "rounds": [s["rounds"] for s in result["steps"]],
        }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--measure", default="wall")
    parser.add_argument("--change", type=float, default=0.08)
    parser.add_argument("--threshold", type=float, default=3.0, help="percent")
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--no-neighbour", action="store_true")
    parser.add_argument("--log", type=Path, default=None, help="Append each trial (JSON).")
    args, extra = parser.parse_known_args()
    rng = random.Random(args.seed)
    neighbour = None
    if not args.no_neighbour:
        env = dict(os.environ, NEIGHBOUR_SEED=str(args.seed))
        neighbour = subprocess.Popen(
            [sys.executable, str(ROOT / "benchmarks" / "noisy_neighbour.py"), "--neighbours",
             "-1"], env=env, cwd=ROOT)  # fmt: skip
    results = []
    try:
        for k in range(args.trials):
            result = trial(rng.randint(2, 64), args, extra)
            results.append(result)
            print(f"trial {k + 1}: {json.dumps(result)}", flush=True)
            if args.log:
                with args.log.open("a") as handle:
                    handle.write(json.dumps(result) + "\n")
    finally:
        if neighbour is not None:
            neighbour.terminate()
            neighbour.wait()
    right = sum(bool(r["right"]) for r in results)
    seconds = [float(r["seconds"]) for r in results]  # type: ignore[arg-type]
    print(f"{right} of {len(results)} right; --measure {args.measure}, change {args.change:.0%}, "
          f"{'no neighbour' if args.no_neighbour else 'a busy neighbour'}; seconds per bisect: "
          f"median {statistics.median(seconds):.0f}, max {max(seconds):.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
