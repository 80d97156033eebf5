"""``ctool ab`` on this machine with a noisy neighbour: false alarms and detection (issue 13).

Not a test: a measurement of the real machine, whatever else it is running (state the load).

* **The neighbour**: ``--neighbours`` busy processes (default 1), neither niced nor pinned.
  Each switches at random between off, a pure-CPU phase (integer arithmetic) and a
  memory-bandwidth phase (copying 64 MB numpy arrays), each phase lasting 0.5-10 s.
* **The pipelines** (``benchmarks/noisy_pipelines.py``): ``cpu``, pure-Python CPU-bound,
  and ``aio``, async on pydantic and numpy. B runs ``change`` more iterations of the same
  real work; its true size is first measured in process (:func:`true_size`: 30 alternating
  batches, the median of the per-pair ratios).
* **A trial** is one ``python -m ctool ab`` subprocess (default: ``--until-decided`` with its
  60 s budget), identical code (change 0), +2 % or +10 %. "Flagged" means the gated row says
  faster/slower (better/worse for instruction counts); a +10 % trial is caught when it says
  "slower" ("worse").
* **Reference runs**: the same trials with no neighbour (``--no-neighbour``).
* **A loaded machine** (``--hogs N``): N more processes that never stop, as other people's
  jobs kept this machine's load average at 8-10 on 2 cores; it tests the time budget.

Run (from the repository root)::

    .venv/bin/python benchmarks/noisy_neighbour.py --trials 20 --changes 0,0.02,0.1
    .venv/bin/python benchmarks/noisy_neighbour.py --trials 10 --measure instructions \
        --changes 0,0.02 --no-neighbour     # counts do not see the neighbour anyway
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PHASE_S = (0.5, 10.0)


def neighbour(seed: int) -> None:
    """Run forever: off, CPU or memory phases of 0.5-10 s each."""
    import numpy as np

    rng = random.Random(seed)
    src = np.ones(8 * 1024 * 1024)  # 64 MB
    dst = np.empty_like(src)
    while True:
        phase = rng.choice(("off", "cpu", "memory"))
        end = time.monotonic() + rng.uniform(*PHASE_S)
        while time.monotonic() < end:
            if phase == "off":
                time.sleep(min(0.05, max(end - time.monotonic(), 0)))
            elif phase == "cpu":
                sum(i * i % 7 for i in range(20_000))
            else:
                np.copyto(dst, src)


def true_size(pipeline: str, change: float, batches: int = 40, episodes: int = 20) -> float:
    """B/A of the work itself, in one process, alternating batches: the median pair ratio of
    the thread's CPU time (this shared machine is never quiet; CPU time ignores the time
    other processes hold the core)."""
    sys.path.insert(0, str(ROOT))
    from benchmarks import noisy_pipelines

    factory = getattr(noisy_pipelines, pipeline)
    a, b = factory(change=0.0), factory(change=change)
    loop = asyncio.new_event_loop()

    def batch(p: object, start: int) -> float:
        t0 = time.thread_time()
        for i in range(start, start + episodes):
            result = p.episode(i)  # type: ignore[attr-defined]
            if inspect.isawaitable(result):
                loop.run_until_complete(result)
        return time.thread_time() - t0

    batch(a, 0), batch(b, 0)  # warm
    ratios = []
    for k in range(batches):
        first, second = (a, b) if k % 2 == 0 else (b, a)
        t = {id(first): batch(first, k * episodes), id(second): batch(second, k * episodes)}
        ratios.append(t[id(b)] / t[id(a)])
    return statistics.median(ratios)


def trial(pipeline: str, change: float, measure: str, seed: int, extra: list[str]) -> dict:
    command = [
        sys.executable, "-m", "ctool", "ab",
        "--pipeline", f"benchmarks.noisy_pipelines:{pipeline}",
        "--b", f"change={change}", "--measure", measure, "--seed", str(seed),
        "--format", "json", "--quiet", *extra,
    ]  # fmt: skip
    started = time.monotonic()
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    took = time.monotonic() - started
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        return {"error": proc.stderr.strip()[-300:], "seconds": took}
    row = next(r for r in report["metrics"] if r["gated"])
    stop = report.get("sequential") or {}
    return {
        "verdict": row["verdict"],
        "ratio": row["ratio"],
        "ci": [row["ci_low"], row["ci_high"]],
        "rounds": report["config"]["rounds"],
        "stopped": stop.get("stopped"),
        "more_rounds": stop.get("more_rounds"),
        "seconds": round(took, 1),
    }


HEADER = (
    "| pipeline, machine | change | trials | flagged | slower | no change | within noise | "
    "inconclusive | median ratio | s per trial (median / max) | errors |\n"
    "|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
)


def summary(label: str, change: float, results: list[dict]) -> str:
    """One table row. "no change": the interval lies inside the threshold and holds 1;
    "within noise": inside the threshold but excluding 1 (a change seen, smaller than the
    threshold)."""
    ok = [r for r in results if "verdict" in r]
    # Timing rows say faster/slower; count rows (--measure instructions) say better/worse.
    flagged = sum(r["verdict"] in ("faster", "slower", "better", "worse") for r in ok)
    slower = sum(r["verdict"] in ("slower", "worse") for r in ok)
    nsc = sum(r["verdict"] == "no significant change" for r in ok)
    within = sum(r["verdict"] == "within noise" for r in ok)
    inc = sum(r["verdict"] == "inconclusive" for r in ok)
    secs = [r["seconds"] for r in results]
    ratios = [r["ratio"] for r in ok if r["ratio"]]
    return (
        f"| {label} | {change:+.0%} | {len(results)} | {flagged} | {slower} | {nsc} | {within} | "
        f"{inc} | {statistics.median(ratios) if ratios else float('nan'):.4f} | "
        f"{statistics.median(secs):.0f} / {max(secs):.1f} | {len(results) - len(ok)} |"
    )


def summarise(log: Path) -> None:
    """The table again, from a ``--log`` file (trials grouped as they were run)."""
    groups: dict[tuple[str, str, str, float], list[dict]] = {}
    for line in log.read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            key = (r["pipeline"], r["label"], r["measure"], r["change"])
            groups.setdefault(key, []).append(r)
    print(HEADER)
    for (pipeline, label, measure, change), results in groups.items():
        print(summary(f"{pipeline}, {label}, {measure}", change, results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--changes", default="0,0.02,0.1")
    parser.add_argument("--pipelines", default="cpu,aio")
    parser.add_argument("--measure", default="wall")
    parser.add_argument("--neighbours", type=int, default=1)
    parser.add_argument(
        "--hogs", type=int, default=0,
        help="also N processes that never stop (a machine other jobs keep loaded)",
    )  # fmt: skip
    parser.add_argument("--no-neighbour", action="store_true")
    parser.add_argument("--fixed-rounds", type=int, default=0, help="instead of --until-decided")
    parser.add_argument("--log", type=Path, help="append every trial as a JSON line here")
    parser.add_argument("--summarise", type=Path, metavar="LOG", help="print a log's table")
    args = parser.parse_args()
    if args.summarise:
        summarise(args.summarise)
        return
    if args.neighbours == -2:  # internal: be a hog
        while True:
            sum(i * i % 7 for i in range(20_000))
    if args.neighbours == -1:  # internal: be the neighbour
        neighbour(int(os.environ.get("NEIGHBOUR_SEED", "0")))
        return
    extra = ["--rounds", str(args.fixed_rounds)] if args.fixed_rounds else ["--until-decided"]
    changes = [float(c) for c in args.changes.split(",")]
    pipelines = args.pipelines.split(",")
    print(f"# {time.strftime('%Y-%m-%d %H:%M')} · load: {os.popen('uptime').read().strip()}")
    print(f"# command: {' '.join(sys.argv)}")
    sizes = {(p, c): true_size(p, c) for p in pipelines for c in changes if c}
    for (p, c), size in sizes.items():
        print(f"# true size in process (thread CPU time), {p} {c:+.0%}: B/A = {size:.4f}")
    neighbours = []
    if not args.no_neighbour:
        for k in range(args.neighbours):
            env = dict(os.environ, NEIGHBOUR_SEED=str(k))
            neighbours.append(subprocess.Popen(
                [sys.executable, __file__, "--neighbours", "-1"], env=env, cwd=ROOT
            ))  # fmt: skip
    hogs = [
        subprocess.Popen([sys.executable, __file__, "--neighbours", "-2"], cwd=ROOT)
        for _ in range(args.hogs)
    ]
    label = "neighbour" if neighbours else "no neighbour"
    if hogs:
        label += f" + {len(hogs)} hogs"
    print(HEADER)
    try:
        for p in pipelines:
            for c in changes:
                results = []
                for t in range(args.trials):
                    r = trial(p, c, args.measure, seed=t, extra=extra)
                    results.append(r)
                    if args.log:
                        with args.log.open("a") as f:
                            f.write(
                                json.dumps(
                                    {
                                        "pipeline": p,
                                        "change": c,
                                        "label": label,
                                        "measure": args.measure,
                                        **r,
                                    }
                                )
                                + "\n"
                            )
                print(summary(f"{p}, {label}", c, results), flush=True)
    finally:
        for proc in neighbours + hogs:
            proc.terminate()
            proc.wait()
    print(f"# end · load: {os.popen('uptime').read().strip()}")


if __name__ == "__main__":
    main()
