"""Profiler overhead and hotspot checks on the reference pipeline (issue 4 targets).

    python benchmarks/profilers.py                  # full run, about a minute on 2 cores
    python benchmarks/profilers.py --quick          # a smoke run, a few seconds
    python benchmarks/profilers.py --json out.json  # also write the figures
    python benchmarks/profilers.py --only tracemalloc,memray --no-hotspots
                                    # the tracemalloc backend (8 frames), raw tracemalloc at
                                    # the same depth, the backend at 16 frames (before), and
                                    # memray, side by side

Part 1, overhead: on the optimized preset, every backend is measured side by side in one
process. Each round runs a slice of episodes with no profiler and one slice under each
backend, the order rotating from round to round so that drift and warm-up hit every backend
alike; each slice starts with a few unmeasured episodes (py-spy's first samples after
attaching are slower than its steady ones; start and stop times are shown apart). A
backend's ratio in a round is its slice's mean episode time (the inverse of
throughput: py-spy's pauses hit only the episodes being sampled, a median would hide them)
over the no-profiler slice's in that round. Every backend drives its own instance of the
(deterministic) pipeline through the same episode indices, so the two slices of a ratio do
the same work. The figure is the median of the per-round ratios with a bootstrap 95 %
interval (a round disturbed by another process on the machine does not decide it); the
load average is printed with the figures. The CPU ratio (the episode thread's CPU time) is
blind to other processes, so it is steady where wall time is not; it measures what a
backend adds on the thread, not py-spy's pauses, when the thread is stopped. Throughput
cost = 1 - 1/ratio. Target: py-spy at 100 Hz costs <= 5 % throughput.

Part 2, hotspots: on the baseline and optimized presets, the top cProfile and py-spy rows of
``ctool profile --profiler NAME`` (run as a subprocess, exactly as a user runs it).
Expected: on baseline the Kuramoto step (``PythonKuramoto.step``) and the Φ bipartition loop
(``phi_loop``) are in the top 3 (the third is the baseline's blocking health probe, which
sleeps 10 ms on the event loop every episode: cProfile counts wall time, so it ranks with
the Kuramoto step; py-spy skips idle threads, so it ranks it lower); on optimized neither
appears in the top rows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ctool.model.io import load_report
from ctool.model.schema import ProfileReport
from ctool.profilers.base import Profiler, ProfilerOptions
from ctool.profilers.registry import discover
from ctool.reports.hotspots import hotspots_table
from ctool.spans import EpisodeRecorder, activate, deactivate
from ctool.workload.loader import PipelineAdapter, build_pipeline

KURAMOTO_STEP = "PythonKuramoto.step"
PHI_LOOP = "phi_loop"
MEMORY_TARGET = "ctool.pipeline.mea:AttentionSchema.attend"


@dataclass
class Config:
    """One column of the comparison: a backend (or none) and its own pipeline instance.

    Every config drives its own instance of the same deterministic pipeline through the
    same episode indices, so in a round every config does exactly the same work.
    """

    label: str
    profiler: Profiler | None
    options: ProfilerOptions | None
    adapter: PipelineAdapter
    means_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    """The episode thread's CPU time per episode: blind to other processes taking the CPU
    (and to py-spy's pauses, when the thread is stopped)."""
    switch_ms: list[float] = field(default_factory=list)
    """start() + stop() of the backend, outside the measured slice."""


async def run_episodes(
    adapter: PipelineAdapter, start: int, count: int, *, locate: bool = False
) -> list[int]:
    """``count`` episodes from index ``start``; each one's latency in ns."""
    latencies = []
    for index in range(start, start + count):
        token = activate(EpisodeRecorder(locate=locate))
        began = time.perf_counter_ns()
        try:
            await adapter.episode(index)
        finally:
            latencies.append(time.perf_counter_ns() - began)
            deactivate(token)
    return latencies


class RawTracemalloc:
    """Plain ``tracemalloc.start(frames)`` .. ``stop()``: the floor the tracemalloc backend
    is measured against at the same traceback depth."""

    name = "tracemalloc-raw"
    description = "raw tracemalloc"

    def __init__(self, frames: int) -> None:
        self.frames = frames

    def availability(self) -> Any:
        from ctool.profilers.base import Availability

        return Availability(True)

    def start(self, options: ProfilerOptions) -> None:
        import tracemalloc

        tracemalloc.start(self.frames)

    def stop(self) -> Any:
        import tracemalloc

        from ctool.profilers.base import ProfilerFragment

        tracemalloc.stop()
        return ProfilerFragment(name=self.name)


def backend(name: str) -> Profiler | None:
    info = discover().get(name)
    if name == "tracemalloc-raw":
        from ctool.profilers.tracemalloc import DEFAULT_FRAMES

        return RawTracemalloc(DEFAULT_FRAMES)
    if info is None and name == "memray":  # registered by this checkout's pyproject
        from ctool.profilers.memray import MemrayBackend

        profiler: Profiler = MemrayBackend()
    elif info is None:
        return None
    else:
        profiler = info.create()
    availability = profiler.availability()
    if not availability.ok:
        print(f"skipping {name}: {availability.reason}", file=sys.stderr)
        return None
    return profiler


async def overhead(args: argparse.Namespace, scratch: Path) -> list[dict[str, Any]]:
    def opts(**kwargs: Any) -> ProfilerOptions:
        return ProfilerOptions(output_dir=scratch, **kwargs)

    def pipeline() -> PipelineAdapter:
        return build_pipeline(None, seed=0, preset="optimized")

    configs = [Config("none", None, None, pipeline())]
    for label, name, options in [
        ("cprofile", "cprofile", opts()),
        ("tracemalloc", "tracemalloc", opts()),
        ("tracemalloc raw (same depth)", "tracemalloc-raw", opts()),
        ("tracemalloc 16 frames (before)", "tracemalloc", opts(extra={"tracemalloc_frames": 16})),
        ("memray", "memray", opts()),
        (f"pyspy {args.pyspy_rate} Hz", "pyspy", opts(pyspy_rate=args.pyspy_rate)),
        (
            f"pyspy {args.pyspy_rate} Hz blocking",
            "pyspy",
            opts(pyspy_rate=args.pyspy_rate, extra={"pyspy_blocking": True}),
        ),
        ("line (auto targets)", "line", opts(extra={"line_pass_s": 0.2})),
        ("memory (RSS only)", "memory", opts()),
        ("memory (1 target)", "memory", opts(memory_targets=[MEMORY_TARGET])),
    ]:
        if args.only and not any(label.startswith(word) for word in args.only.split(",")):
            continue
        profiler = backend(name)
        if profiler is not None:
            configs.append(Config(label, profiler, options, pipeline()))
    index = 0
    for config in configs:  # warm-up, then one unmeasured profiled run (line picks targets)
        await run_episodes(config.adapter, 0, args.warmup, locate=True)
        if config.profiler is not None and config.options is not None:
            config.profiler.start(config.options)
        await run_episodes(config.adapter, args.warmup, args.prerun)
        if config.profiler is not None:
            fragment = config.profiler.stop()
            if "targets" in fragment.metadata:
                print(f"{config.label}: {fragment.metadata['targets']}", file=sys.stderr)
    index = args.warmup + args.prerun
    for round_index in range(args.rounds):
        shift = round_index % len(configs)
        for config in configs[shift:] + configs[:shift]:
            began = time.perf_counter()
            if config.profiler is not None and config.options is not None:
                config.profiler.start(config.options)
            switch = time.perf_counter() - began
            try:
                # A few unmeasured episodes first: a just-attached py-spy reads the
                # process's memory maps before its steady sampling.
                await run_episodes(config.adapter, index, args.settle)
                cpu = time.thread_time_ns()
                latencies = await run_episodes(config.adapter, index + args.settle, args.slice)
                cpu = time.thread_time_ns() - cpu
            finally:
                began = time.perf_counter()
                if config.profiler is not None:
                    config.profiler.stop()
                switch += time.perf_counter() - began
            config.means_ms.append(statistics.fmean(latencies) / 1e6)
            config.cpu_ms.append(cpu / len(latencies) / 1e6)
            config.switch_ms.append(switch * 1e3)
        index += args.settle + args.slice
    for config in configs:
        await config.adapter.aclose()
    base = configs[0].means_ms
    rows = []
    for config in configs:
        ratios = sorted(mine / ref for mine, ref in zip(config.means_ms, base, strict=True))
        median = statistics.median(ratios)
        low, high = median_interval(ratios)
        cpu_base = configs[0].cpu_ms
        cpu_ratios = [mine / ref for mine, ref in zip(config.cpu_ms, cpu_base, strict=True)]
        rows.append(
            {
                "profiler": config.label,
                "episode_ms": statistics.fmean(config.means_ms),
                "ratio": median,
                "ratio_ci95": [low, high],
                "ratio_of_totals": sum(config.means_ms) / sum(base),
                "cpu_ratio": statistics.median(cpu_ratios),
                "throughput_cost": 1 - 1 / median,
                "throughput_cost_ci95": [1 - 1 / low, 1 - 1 / high],
                "start_stop_ms": statistics.median(config.switch_ms),
            }
        )
    return rows


def median_interval(values: list[float], *, resamples: int = 4000) -> tuple[float, float]:
    """A bootstrap 95 % interval of the median (seeded: the same data give the same interval)."""
    import numpy as np

    data = np.asarray(values)
    rng = np.random.default_rng(0)
    medians = np.median(rng.choice(data, size=(resamples, len(data)), replace=True), axis=1)
    low, high = np.percentile(medians, [2.5, 97.5])
    return float(low), float(high)


def hotspots(preset: str, name: str, episodes: int, args: argparse.Namespace) -> ProfileReport:
    """``ctool profile`` itself, in a fresh process, as a user runs it."""
    with tempfile.TemporaryDirectory(prefix="ctool-bench-") as scratch:
        out = Path(scratch) / "report.json"
        command = [sys.executable, "-m", "ctool", "profile", "--preset", preset]
        command += ["--episodes", str(episodes), "--warmup", str(args.warmup)]
        command += ["--profiler", name, "--pyspy-rate", str(args.pyspy_rate)]
        command += ["--top", str(args.top), "-o", str(out), "--quiet"]
        subprocess.run(command, check=True, cwd=scratch)
        report = load_report(out)
    assert isinstance(report, ProfileReport)
    return report


def verdicts(preset: str, functions: list[str]) -> tuple[bool, str]:
    """Rows are boundary rows (``caller -> library function``): a function's time is its own
    row plus the library calls it makes, so the rule reads the callers."""
    callers = [function.split(" -> ", 1)[0] for function in functions]
    if preset == "baseline":
        ok = {KURAMOTO_STEP, PHI_LOOP} <= set(callers[:5])
        return ok, f"{KURAMOTO_STEP} and {PHI_LOOP} call or are the top 5 rows"
    ok = KURAMOTO_STEP not in callers and PHI_LOOP not in callers
    return ok, f"neither {KURAMOTO_STEP} nor {PHI_LOOP} in the top {len(functions)}"


ROUTE_ROW = "episode -> networkx.betweenness_centrality [route]"


def movers_check(args: argparse.Namespace, console: Console) -> bool:
    """Issue 12's "where time moved" check on examples/docpipe.py: route's library work made
    1.3x (``route_sources`` 40 -> 52, a real change to the work), both runs under py-spy;
    the route boundary row must be the biggest mover and no other row may move beyond
    noise. Prints the compare's movers table."""
    repo = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(repo)}
    with tempfile.TemporaryDirectory(prefix="ctool-bench-") as scratch:
        for name, sources in (("before", 40), ("after", 52)):
            command = [sys.executable, "-m", "ctool", "profile"]
            command += ["--pipeline", "examples.docpipe:create_sync"]
            command += [
                "--set",
                f"route_sources={sources}",
                "--episodes",
                str(args.movers_episodes),
            ]
            command += ["--warmup", "3", "--profiler", "pyspy", "--pyspy-rate", "200"]
            command += ["--block-threshold-ms", "0", "-o", f"{name}.json", "--quiet"]
            subprocess.run(command, check=True, cwd=scratch, env=env)
        out = Path(scratch) / "compare.json"
        command = [sys.executable, "-m", "ctool", "compare", "before.json", "after.json"]
        done = subprocess.run(
            [*command, "--format", "markdown", "-o", str(out)],
            cwd=scratch,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        console.print(done.stdout, markup=False)
        report = load_report(out)
    from ctool.model.schema import CompareReport

    assert isinstance(report, CompareReport)
    movers = report.movers
    top_is_route = bool(movers) and movers[0].row.endswith(ROUTE_ROW) and movers[0].moved
    others = [m.row for m in movers[1:] if m.moved]
    ok = top_is_route and not others
    console.print(
        f"[{'PASS' if ok else 'FAIL'}] route 1.3x: the route boundary row is the biggest mover "
        f"({'yes' if top_is_route else 'no'}); other rows beyond noise: {others or 'none'}",
        markup=False,
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--slice", type=int, default=40, help="episodes per slice")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--prerun", type=int, default=200, help="unmeasured profiled episodes")
    parser.add_argument("--settle", type=int, default=10, help="unmeasured episodes per slice")
    parser.add_argument("--baseline-episodes", type=int, default=120)
    parser.add_argument("--optimized-episodes", type=int, default=400)
    parser.add_argument("--pyspy-rate", type=int, default=100)
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="tiny counts, a smoke run")
    parser.add_argument("--only", help="overhead of these backends only, e.g. pyspy,cprofile")
    parser.add_argument("--no-hotspots", action="store_true", help="skip part 2")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument(
        "--movers", action="store_true", help="only the where-time-moved check (issue 12)"
    )
    parser.add_argument("--movers-episodes", type=int, default=200)
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.slice, args.warmup, args.prerun, args.settle = 2, 10, 5, 80, 2
        args.baseline_episodes, args.optimized_episodes = 10, 30
    console = Console(highlight=False)
    console.print(
        f"ctool profilers benchmark -- {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, "
        f"command: python {' '.join(sys.argv)}"
    )
    if args.movers:
        return 0 if movers_check(args, console) else 1
    figures: dict[str, Any] = {"argv": sys.argv, "hotspots": {}}
    with tempfile.TemporaryDirectory(prefix="ctool-bench-") as scratch:
        rows = asyncio.run(overhead(args, Path(scratch)))
    figures["overhead"] = rows
    table = Table(
        title=f"overhead on the optimized preset ({args.rounds} interleaved rounds of "
        f"{args.slice} episodes per backend; cost = throughput lost)",
        title_justify="left",
    )
    headers = ("profiler", "ms/ep", "wall ratio", "95% CI", "cost", "CPU ratio", "start+stop")
    for header in headers:
        table.add_column(header, justify="left" if header == "profiler" else "right")
    for row in rows:
        low, high = row["ratio_ci95"]
        table.add_row(
            row["profiler"],
            f"{row['episode_ms']:.3f}",
            f"x{row['ratio']:.3f}",
            f"{low:.2f}..{high:.2f}",
            f"{row['throughput_cost'] * 100:+.1f}%",
            f"x{row['cpu_ratio']:.3f}",
            f"{row['start_stop_ms']:.0f} ms",
        )
    console.print(table)
    failures = 0
    pyspy_rows = [row for row in rows if row["profiler"] == f"pyspy {args.pyspy_rate} Hz"]
    if pyspy_rows:
        row = pyspy_rows[0]
        cost, (low, high) = row["throughput_cost"], row["throughput_cost_ci95"]
        verdict = "PASS" if high <= 0.05 else "FAIL" if low > 0.05 else "UNSURE"
        failures += verdict == "FAIL"
        why = " (the interval holds both sides of the target)" if verdict == "UNSURE" else ""
        console.print(
            f"[{verdict}] py-spy at {args.pyspy_rate} Hz costs {cost * 100:.1f}% throughput, "
            f"95% CI {low * 100:.1f}%..{high * 100:.1f}% (target <= 5%){why}",
            markup=False,
        )
    for preset, episodes in (
        ("baseline", 0 if args.no_hotspots else args.baseline_episodes),
        ("optimized", 0 if args.no_hotspots else args.optimized_episodes),
    ):
        if not episodes:
            continue
        for name in ("cprofile", "pyspy"):
            if backend(name) is None:
                continue
            result = hotspots(preset, name, episodes, args)
            functions = [row.function for row in result.hotspots]
            figures["hotspots"][f"{preset}/{name}"] = [
                row.model_dump(exclude={"extra"}) for row in result.hotspots
            ]
            (run,) = result.profilers
            table = hotspots_table(result.hotspots, name, top=args.top, run=run)
            table.title = f"{preset}, {episodes} episodes: {table.title}"
            console.print(table)
            if name == "pyspy":
                cpu = run.metadata.get("pyspy_cpu_percent")
                if cpu is not None:
                    console.print(f"py-spy itself used {cpu:.1f}% of one CPU over this run")
            ok, rule = verdicts(preset, functions)
            failures += not ok
            console.print(f"[{'PASS' if ok else 'FAIL'}] {preset} {name}: {rule}", markup=False)
    console.print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
