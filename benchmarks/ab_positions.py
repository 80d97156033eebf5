"""Position effects inside ``ctool ab`` rounds: does a block's place in the round matter?

Runs ``ctool ab`` on identical code (``benchmarks.noisy_pipelines:cpu``) ``--runs`` times
with ``--keep``, while ``--hogs`` processes that never stop load the machine, and prints, for
each block pair j, the mean over rounds of ``log(B / A)`` of the block medians, separately
for rounds that start with A (A B, B A, ...) and with B (B A, A B, ...), and the spread of
the pair ratios within a round and of the round values between rounds. On identical code
every entry would be 0 without position effects. Not a test: a measurement of this machine.

    .venv/bin/python benchmarks/ab_positions.py --hogs 8 --runs 4 --rounds 10
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOG = [sys.executable, str(ROOT / "benchmarks" / "noisy_neighbour.py"), "--neighbours", "-2"]
"""noisy_neighbour.py's hog: a process that never stops."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hogs", type=int, default=8)
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    hogs = [subprocess.Popen(HOG) for _ in range(args.hogs)]
    by_start: dict[bool, dict[int, list[float]]] = {False: {}, True: {}}
    within: list[float] = []
    rounds: list[float] = []
    try:
        with tempfile.TemporaryDirectory() as scratch:
            for run in range(args.runs):
                keep = Path(scratch) / str(run)
                keep.mkdir()
                subprocess.run(
                    [sys.executable, "-m", "ctool", "ab", "--pipeline",
                     "benchmarks.noisy_pipelines:cpu", "--rounds", str(args.rounds),
                     "--seed", str(run), "--keep", str(keep), "--quiet", "-o",
                     str(keep / "report.json")],
                    cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                )  # fmt: skip
                for path in sorted(keep.glob("round-*.json")):
                    data = json.loads(path.read_text())
                    ratios = [
                        math.log(b["latency.p50"] / a["latency.p50"])
                        for a, b in zip(data["a_blocks"], data["b_blocks"], strict=True)
                    ]
                    for j, r in enumerate(ratios):
                        by_start[bool(data.get("b_first"))].setdefault(j, []).append(r)
                    within.append(statistics.stdev(ratios))
                    rounds.append(statistics.median(ratios))
    finally:
        for hog in hogs:
            hog.kill()
    print(f"# {args.runs} runs x {args.rounds} rounds, {args.hogs} hogs; mean log(B/A) by pair")
    for b_first, table in by_start.items():
        if table:
            cells = " ".join(f"{statistics.mean(v):+.3f}" for _, v in sorted(table.items()))
            n = len(table[0])
            print(f"rounds starting with {'B' if b_first else 'A'} ({n}): {cells}")
    print(f"pair ratios within a round: median sd {statistics.median(within):.4f}")
    print(
        f"round values ({len(rounds)}): mean {statistics.mean(rounds):+.4f}, "
        f"sd {statistics.stdev(rounds):.4f}"
    )


if __name__ == "__main__":
    main()
