"""What does ``ctool leakcheck`` cost? Target (issue 6): leakcheck of 1000 optimized
episodes <= 3x a plain 1000-episode profile.

Three measurements, each side by side in one process run (this machine is shared and
noisy: ratios of interleaved pairs, medians, CPU time beside wall time):

1. tracemalloc's own price by traceback depth: the same episodes plain and traced with
   1, 8 and 16 frames (why leakcheck measures with one frame and goes deep only in a short
   attribution window).
2. In process: the plain sequential loop (a fresh span recorder per episode, as
   ``ctool profile`` drives it) vs ``run_leakcheck``, each with 100 warm-up + 1000
   measured episodes, A B A B ...
3. End to end, the target as stated: ``ctool profile --episodes 1000`` vs
   ``ctool leakcheck --episodes 1000`` as subprocesses, both with their defaults,
   A B A B ... (skipped while ``ctool profile`` is not built).

Parts 2 and 3 hold the sequential check to one round (``--max-episodes`` = ``--episodes``):
the same work as the plain run, whatever the verdict.

``--slopes`` adds the slopes of the reference pipeline over 600 episodes (both presets, five
seeds) and of the ``leak_bytes`` knob (about a minute more).

``--engines``: what the two leakcheck engines cost per episode, side by side in one process
(rotating A B C): the plain loop, tracemalloc as leakcheck runs it (1 frame), and memray as
``--engine memray`` runs it (a Tracker, Python allocators traced, every allocation written
to its file). Thread CPU and wall per episode, ratios to the plain loop.

``--table``: the issue's table -- each case in a fresh process
(``tests/helpers/leak_table.py``), five seeds, the default budget: verdict, growth, and how many
measured episodes the sequential check needed (its rounds), and the seconds it took.

``--long``: the optimized reference pipeline held to 20,000 measured episodes in one round
(no early stop): does its own retained memory level off?

Run: ``.venv/bin/python benchmarks/leakcheck.py`` (about a minute);
``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from ctool.leak.runner import LeakcheckOptions, run_leakcheck
from ctool.spans import EpisodeRecorder, activate, deactivate
from ctool.workload.loader import build_pipeline

Timing = tuple[float, float]
"""(wall seconds, CPU seconds of this process)."""


def _timed(fn: Callable[[], object]) -> Timing:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def plain_run(episodes: int, warmup: int, *, frames: int = 0) -> None:
    """The sequential loop of a plain run; ``frames`` > 0 traces it with tracemalloc."""
    adapter = build_pipeline(None, preset="optimized")

    async def drive() -> None:
        for index in range(warmup + episodes):
            token = activate(EpisodeRecorder())
            try:
                await adapter.episode(index)
            finally:
                deactivate(token)
        await adapter.aclose()

    if frames:
        tracemalloc.start(frames)
    try:
        asyncio.run(drive())
    finally:
        if frames:
            tracemalloc.stop()


def leakcheck_run(episodes: int, warmup: int) -> None:
    run_leakcheck(
        LeakcheckOptions(
            preset="optimized", episodes=episodes, warmup=warmup, max_episodes=episodes
        )
    )


def _ratio_line(name: str, base: list[Timing], other: list[Timing]) -> str:
    wall = statistics.median(o[0] / b[0] for b, o in zip(base, other, strict=True))
    cpu = statistics.median(o[1] / b[1] for b, o in zip(base, other, strict=True))
    b_wall = statistics.median(t[0] for t in base)
    o_wall = statistics.median(t[0] for t in other)
    return (
        f"  {name:<34} {b_wall:7.2f} s -> {o_wall:7.2f} s   "
        f"ratio wall {wall:4.2f}x  cpu {cpu:4.2f}x"
    )


def part1(episodes: int, pairs: int) -> None:
    print(f"1. tracemalloc's price by depth: {episodes} optimized episodes, {pairs} pairs")
    plain_run(20, 0)  # imports and first-call costs out of the way
    for frames in (1, 8, 16):
        base: list[Timing] = []
        traced: list[Timing] = []
        for i in range(pairs):
            runs = [
                (base, lambda: plain_run(episodes, 0)),
                (traced, lambda f=frames: plain_run(episodes, 0, frames=f)),  # type: ignore[misc]
            ]
            for sink, fn in runs if i % 2 == 0 else reversed(runs):
                sink.append(_timed(fn))
        print(_ratio_line(f"traced, {frames:2d} frame(s)", base, traced))


def part2(episodes: int, warmup: int, pairs: int) -> None:
    print(f"2. in process: {warmup} warm-up + {episodes} optimized episodes, {pairs} pairs")
    leakcheck_run(100, 10)  # scipy and first-call costs out of the way
    base: list[Timing] = []
    check: list[Timing] = []
    for i in range(pairs):
        runs = [
            (base, lambda: plain_run(episodes, warmup)),
            (check, lambda: leakcheck_run(episodes, warmup)),
        ]
        for sink, fn in runs if i % 2 == 0 else reversed(runs):
            sink.append(_timed(fn))
    print(_ratio_line("plain loop -> leakcheck", base, check))


def _cli(args: list[str]) -> Timing:
    """Wall and CPU (user + system of the child) of one ``python -m ctool`` run."""
    before = os.times()
    wall = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "ctool", *args], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - wall
    after = os.times()
    if proc.returncode not in (0, 1):
        lines = proc.stderr.strip().splitlines()
        raise RuntimeError(lines[-1] if lines else f"exit {proc.returncode}")
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return wall, cpu


def part3(episodes: int, pairs: int) -> None:
    print(f"3. end to end: ctool profile vs ctool leakcheck, --episodes {episodes}, {pairs} pairs")
    with tempfile.TemporaryDirectory() as tmp:
        profile = ["profile", "--episodes", str(episodes), "--quiet", "-o", f"{tmp}/p.json"]
        leak = ["leakcheck", "--episodes", str(episodes), "--max-episodes", str(episodes)]
        leak += ["--quiet", "-o", f"{tmp}/l.json"]
        try:
            _cli(profile)
        except RuntimeError as exc:
            print(f"  skipped: ctool profile: {exc}")
            return
        base: list[Timing] = []
        check: list[Timing] = []
        for i in range(pairs):
            runs = [(base, lambda: _cli(profile)), (check, lambda: _cli(leak))]
            for sink, fn in runs if i % 2 == 0 else reversed(runs):
                sink.append(fn())
        print(_ratio_line("ctool profile -> ctool leakcheck", base, check))


AFFORDABLE_BASELINE = {"kuramoto": "numpy", "phi": "vectorized", "health_probe": "offloop"}
"""The baseline preset with its three CPU- or wall-heavy settings swapped (none of them keeps
memory across episodes; see tests/leak/test_leakcheck_reference.py)."""


def part4() -> None:
    print("4. slopes, 600 episodes after 100 warm-up (B/episode; growth in % of RSS)")
    cases: list[tuple[str, str, dict[str, object], int]] = [
        (f"optimized seed {seed}", "optimized", {}, seed) for seed in range(5)
    ]
    cases += [
        (f"baseline* seed {seed}", "baseline", AFFORDABLE_BASELINE, seed) for seed in range(5)
    ]
    cases += [("baseline (full) seed 0", "baseline", {"health_probe": "offloop"}, 0)]
    cases += [
        (f"optimized leak_bytes={n}", "optimized", {"leak_bytes": n}, 0) for n in (128, 256, 1024)
    ]
    for label, preset, settings, seed in cases:
        report = run_leakcheck(
            LeakcheckOptions(
                preset=preset, settings=settings, seed=seed, episodes=600, max_episodes=600
            )
        )
        traced, late, rss = report.traced, report.traced_late, report.rss
        print(
            f"  {label:<26} {report.verdict:<12} traced {traced.slope:7.1f} "
            f"[{traced.ci_low:7.1f}, {traced.ci_high:7.1f}] last third "
            f"{late.slope if late else float('nan'):7.1f}  RSS {rss.slope:7.1f} "
            f"[{rss.ci_low:7.1f}, {rss.ci_high:7.1f}]  growth {traced.growth_pct_of_rss:5.2f}%"
        )
    print("  * kuramoto=numpy phi=vectorized health_probe=offloop; pooling and phi_cache off")


def engines(episodes: int, rounds: int) -> None:
    """Per-episode cost of the leakcheck engines on the optimized reference pipeline."""
    import memray

    print(f"5. leakcheck engines: {episodes} optimized episodes per slice, {rounds} rounds")
    adapter = build_pipeline(None, preset="optimized")
    scratch = Path(tempfile.mkdtemp(prefix="ctool-bench-"))

    async def slice_(start: int) -> Timing:
        wall, cpu = time.perf_counter(), time.thread_time()
        for index in range(start, start + episodes):
            token = activate(EpisodeRecorder(locate=True))
            try:
                await adapter.episode(index)
            finally:
                deactivate(token)
        return time.perf_counter() - wall, time.thread_time() - cpu

    def plain(start: int) -> Timing:
        return asyncio.run(slice_(start))

    def traced(start: int) -> Timing:
        tracemalloc.start(1)
        try:
            return asyncio.run(slice_(start))
        finally:
            tracemalloc.stop()

    def memray_(start: int) -> Timing:
        path = scratch / f"m{start}.bin"
        with memray.Tracker(
            str(path), trace_python_allocators=True, file_format=memray.FileFormat.ALL_ALLOCATIONS
        ):
            timing = asyncio.run(slice_(start))
        path.unlink()
        return timing

    runs: dict[str, list[Timing]] = {"plain": [], "tracemalloc": [], "memray": []}
    fns = {"plain": plain, "tracemalloc": traced, "memray": memray_}
    plain(0)
    start = episodes
    for r in range(rounds):
        names = list(fns)
        for name in names[r % 3 :] + names[: r % 3]:
            runs[name].append(fns[name](start))
            start += episodes
    for name in ("tracemalloc", "memray"):
        print(_ratio_line(f"plain -> {name} (thread CPU)", runs["plain"], runs[name]))


def table() -> None:
    """The issue's table, each case in a fresh process, five seeds, default budget."""
    root = Path(__file__).resolve().parent.parent
    baseline = ["--set", "kuramoto=numpy", "--set", "phi=vectorized"]
    baseline += ["--set", "health_probe=offloop"]
    cases = [
        ("leak ~32 B/episode", "leak_pipelines:slow_leak", []),
        ("leak ~64 B/episode, dict", "leak_pipelines:stepwise_dict", []),
        ("leak ~1 KB/episode", "leak_pipelines:kilobyte_leak", []),
        ("lru_cache(maxsize=5000)", "leak_pipelines:lru", []),
        ("deque(maxlen=2000)", "leak_pipelines:ring", []),
        ("reference optimized", "ctool.pipeline:create", ["--preset", "optimized"]),
        ("reference baseline*", "ctool.pipeline:create", ["--preset", "baseline", *baseline]),
    ]
    env = dict(os.environ, PYTHONPATH=f"{root}{os.pathsep}{root / 'tests'}")
    print("6. the table: fresh process per case, seeds 0-4, default budget")
    for label, ref, extra in cases:
        began = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(root / "tests" / "leak_table.py"), ref, "0", "1", "2", "3", "4"]
            + extra,
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        wall = time.perf_counter() - began
        rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        verdicts = ",".join(f"{row['verdict']}/{row['growth']}" for row in rows)
        needed = " ".join(str(row["episodes"]) for row in rows)
        print(f"  {label:<26} {verdicts}")
        print(f"  {'':<26} episodes needed: {needed}; {wall:.0f} s wall for the five")


def long_run() -> None:
    print("7. the optimized reference pipeline, 20,000 measured episodes in one round")
    report = run_leakcheck(
        LeakcheckOptions(preset="optimized", episodes=20_000, max_episodes=20_000, every=100)
    )
    late = report.traced_late
    print(f"  {report.verdict}/{report.growth}: {report.reason}")
    if late is not None:
        print(
            f"  last third: {late.slope:+.2f} B/episode [{late.ci_low:+.2f}, {late.ci_high:+.2f}]"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run, not for figures")
    parser.add_argument("--slopes", action="store_true", help="also the slopes over 600")
    parser.add_argument("--engines", action="store_true", help="tracemalloc vs memray cost")
    parser.add_argument("--table", action="store_true", help="the issue's table, episodes needed")
    parser.add_argument("--long", action="store_true", help="20,000 reference episodes")
    parser.add_argument("--only", action="store_true", help="only the parts asked for")
    args = parser.parse_args()
    quick = args.quick
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
    print(f"date {time.strftime('%Y-%m-%d %H:%M')}, cwd {Path.cwd()}")
    if not args.only:
        part1(30 if quick else 100, 1 if quick else 2)
        part2(100 if quick else 1000, 10 if quick else 100, 1 if quick else 3)
        part3(100 if quick else 1000, 1 if quick else 2)
    if args.slopes:
        part4()
    if args.engines:
        engines(50 if quick else 300, 1 if quick else 3)
    if args.table:
        table()
    if args.long:
        long_run()
    print(f"load at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
