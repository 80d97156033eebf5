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

``--slopes`` adds the figures behind the default threshold (docs/leakcheck.md): the slope
of the clean reference pipeline, both presets, five seeds, and of the ``leak_bytes`` knob at
a few sizes, 600 measured episodes after 100 warm-up (about a minute more).

Run: ``.venv/bin/python benchmarks/leakcheck.py`` (about a minute);
``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from ctool.harness.leak import LeakcheckOptions, run_leakcheck
from ctool.harness.loader import build_pipeline
from ctool.spans import EpisodeRecorder, activate, deactivate

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
    run_leakcheck(LeakcheckOptions(preset="optimized", episodes=episodes, warmup=warmup))


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
        leak = ["leakcheck", "--episodes", str(episodes), "--quiet", "-o", f"{tmp}/l.json"]
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
memory across episodes; see tests/test_leakcheck_reference.py)."""


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
            LeakcheckOptions(preset=preset, settings=settings, seed=seed, episodes=600)
        )
        traced, late, rss = report.traced, report.traced_late, report.rss
        print(
            f"  {label:<26} {report.verdict:<12} traced {traced.slope:7.1f} "
            f"[{traced.ci_low:7.1f}, {traced.ci_high:7.1f}] last third "
            f"{late.slope if late else float('nan'):7.1f}  RSS {rss.slope:7.1f} "
            f"[{rss.ci_low:7.1f}, {rss.ci_high:7.1f}]  growth {traced.growth_pct_of_rss:5.2f}%"
        )
    print("  * kuramoto=numpy phi=vectorized health_probe=offloop; pooling and phi_cache off")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run, not for figures")
    parser.add_argument("--slopes", action="store_true", help="also the threshold's figures")
    args = parser.parse_args()
    quick = args.quick
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
    print(f"date {time.strftime('%Y-%m-%d %H:%M')}, cwd {Path.cwd()}")
    part1(30 if quick else 100, 1 if quick else 2)
    part2(100 if quick else 1000, 10 if quick else 100, 1 if quick else 3)
    part3(100 if quick else 1000, 1 if quick else 2)
    if args.slopes:
        part4()
    print(f"load at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
