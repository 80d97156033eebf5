"""Benchmark the reference pipeline: baseline vs optimized, side by side in one process.

    python benchmarks/pipeline.py                 # the figures quoted in docs/pipeline.md
    python benchmarks/pipeline.py --quick         # a smoke run (seconds)

Parts:

1. Episodes, interleaved. One pipeline per preset, same seed, each warmed up; then blocks of
   ``--block`` episodes alternate A B A B ... (the first of each pair alternates too), so
   machine drift hits both presets alike. Per preset: mean / p50 / p95 / p99 episode time
   and throughput (episodes / wall time of its blocks); the baseline/optimized ratio of the
   means, and the median of the per-block-pair ratios (robust to drift). ``CPU ms`` is the
   mean CPU time of the event-loop thread per episode: it leaves out time spent waiting
   for a core on a busy machine (and the inline probe's sleep, which is wall time).
2. Φ on cache misses, 8-node coalitions: distinct random 8-node subsets of the fabric, each
   computed once (a miss) by the loop and by the vectorised implementation, alternating.
3. Φ cache hit rate on the default stimulus stream after warm-up: a fresh optimized
   pipeline runs ``--cache-warmup`` episodes, then the hit rate over the next
   ``--cache-episodes`` episodes.
4. Ablation: the optimized preset with one optimisation reverted at a time, interleaved
   with the optimized preset, to show what each setting buys.

The baseline's health probe blocks the event loop for ``probe_interval_ms`` (default 10 ms)
every episode; that is part of what the baseline costs (see docs/pipeline.md).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import platform
import random
import statistics
import sys
from collections.abc import Sequence
from time import perf_counter_ns, thread_time_ns

from ctool.pipeline import create
from ctool.pipeline.config import PRESETS
from ctool.pipeline.engine import ReferencePipeline
from ctool.pipeline.phi import PhiCalculator

TARGETS = {
    "optimized p50 episode (ms)": ("<=", 5.0),
    "optimized throughput (episodes/s)": (">=", 200.0),
    "baseline/optimized mean ratio": (">=", 8.0),
    "Φ 8-node miss p95, vectorized (ms)": ("<=", 2.0),
    "Φ cache hit rate after warm-up": (">=", 0.90),
}


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(q / 100.0 * len(ordered) + 0.5) - 1))
    return ordered[rank]


class Runner:
    """One pipeline, its next episode index, and its measured episode times."""

    def __init__(self, name: str, pipeline: ReferencePipeline) -> None:
        self.name = name
        self.pipeline = pipeline
        self.next_index = 0
        self.times_ns: list[int] = []
        self.cpu_ns: list[int] = []
        self.wall_ns = 0

    async def run(self, episodes: int, *, record: bool) -> None:
        start_block = perf_counter_ns()
        for _ in range(episodes):
            start, cpu = perf_counter_ns(), thread_time_ns()
            await self.pipeline.episode(self.next_index)
            if record:
                self.times_ns.append(perf_counter_ns() - start)
                self.cpu_ns.append(thread_time_ns() - cpu)
            self.next_index += 1
        if record:
            self.wall_ns += perf_counter_ns() - start_block

    def summary(self) -> dict[str, float]:
        ms = [t / 1e6 for t in self.times_ns]
        return {
            "episodes": len(ms),
            "mean": statistics.fmean(ms),
            "p50": percentile(ms, 50),
            "p95": percentile(ms, 95),
            "p99": percentile(ms, 99),
            "throughput": len(ms) / (self.wall_ns / 1e9),
            "cpu": statistics.fmean(self.cpu_ns) / 1e6,
        }


async def interleave(a: Runner, b: Runner, *, warmup: int, blocks: int, block: int) -> list[float]:
    """Warm both up, then alternate blocks; return per-pair ratios of mean episode time a/b."""
    await a.run(warmup, record=False)
    await b.run(warmup, record=False)
    ratios = []
    for pair in range(blocks):
        order = (a, b) if pair % 2 == 0 else (b, a)
        means = {}
        for runner in order:
            before = len(runner.times_ns)
            await runner.run(block, record=True)
            means[runner.name] = statistics.fmean(runner.times_ns[before:])
        ratios.append(means[a.name] / means[b.name])
    return ratios


def phi_misses(seed: int, subsets: int) -> dict[str, list[float]]:
    """Wall and CPU (this thread) milliseconds per Φ miss, for each implementation."""
    pipeline = create(seed)
    pipeline.close()
    weights = pipeline.tig.weights
    rng = random.Random(f"bench-phi:{seed}")
    keys: set[tuple[int, ...]] = set()
    while len(keys) < subsets:
        keys.add(tuple(sorted(rng.sample(range(pipeline.config.nodes), 8))))
    calculators = {
        method: PhiCalculator(weights, method=method, cache=True, cache_size=subsets, radius=0.9)
        for method in ("loop", "vectorized")
    }
    for calc in calculators.values():  # warm the code paths on a key outside the sample
        calc.compute(tuple(range(8)))
    times: dict[str, list[float]] = {}
    for i, key in enumerate(sorted(keys)):
        methods = ("loop", "vectorized") if i % 2 == 0 else ("vectorized", "loop")
        for method in methods:
            wall, cpu = perf_counter_ns(), thread_time_ns()
            calculators[method].compute(key)
            times.setdefault(method, []).append((perf_counter_ns() - wall) / 1e6)
            times.setdefault(f"{method} cpu", []).append((thread_time_ns() - cpu) / 1e6)
    for calc in calculators.values():
        assert calc.hits == 0 and calc.misses == subsets + 1, "every sampled key is a miss"
    return times


async def hit_rate(seed: int, warmup: int, episodes: int) -> tuple[float, int, int]:
    pipeline = create(seed)
    try:
        for index in range(warmup):
            await pipeline.episode(index)
        hits, misses = pipeline.phi.hits, pipeline.phi.misses
        for index in range(warmup, warmup + episodes):
            await pipeline.episode(index)
        hits, misses = pipeline.phi.hits - hits, pipeline.phi.misses - misses
    finally:
        pipeline.close()
    return (hits / (hits + misses) if hits + misses else 0.0), hits, misses


def fmt_row(name: str, s: dict[str, float]) -> str:
    return (
        f"  {name:<24} {s['episodes']:>6.0f} {s['mean']:>9.3f} {s['p50']:>9.3f} "
        f"{s['p95']:>9.3f} {s['p99']:>9.3f} {s['throughput']:>11.1f} {s['cpu']:>9.3f}"
    )


HEADER = (
    f"  {'':<24} {'n':>6} {'mean ms':>9} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9} "
    f"{'episodes/s':>11} {'CPU ms':>9}"
)


async def main_async(args: argparse.Namespace) -> dict[str, float]:
    results: dict[str, float] = {}
    print("== 1. episodes: baseline vs optimized, interleaved blocks ==")
    print(
        f"  seed {args.seed}; warm-up {args.warmup} episodes each; {args.blocks} block pairs "
        f"of {args.block} episodes; probe interval {args.probe_interval_ms} ms"
    )
    base = Runner(
        "baseline", create(args.seed, "baseline", probe_interval_ms=args.probe_interval_ms)
    )
    opt = Runner(
        "optimized", create(args.seed, "optimized", probe_interval_ms=args.probe_interval_ms)
    )
    try:
        ratios = await interleave(
            base, opt, warmup=args.warmup, blocks=args.blocks, block=args.block
        )
    finally:
        base.pipeline.close()
        opt.pipeline.close()
    sb, so = base.summary(), opt.summary()
    print(HEADER)
    print(fmt_row("baseline", sb))
    print(fmt_row("optimized", so))
    ratio_mean = sb["mean"] / so["mean"]
    print(
        f"  ratio baseline/optimized: mean {ratio_mean:.1f}x, p50 {sb['p50'] / so['p50']:.1f}x,"
        f" p95 {sb['p95'] / so['p95']:.1f}x; median of per-block-pair mean ratios "
        f"{statistics.median(ratios):.1f}x (min {min(ratios):.1f}x, max {max(ratios):.1f}x)"
    )
    for name, runner in (("baseline", base), ("optimized", opt)):
        phi = runner.pipeline.metrics()["phi"]
        print(
            f"  Φ in the {name} run: {phi['requests']} requests, hits {phi['cache_hits']}, "
            f"misses {phi['cache_misses']}, p50 {phi['p50_ms']:.3f} ms, "
            f"miss p95 {phi['miss_p95_ms']:.3f} ms"
        )
    results["optimized p50 episode (ms)"] = so["p50"]
    results["optimized throughput (episodes/s)"] = so["throughput"]
    results["baseline/optimized mean ratio"] = ratio_mean

    print()
    print(f"== 2. Φ on cache misses: {args.phi_subsets} distinct 8-node coalitions ==")
    times = phi_misses(args.seed, args.phi_subsets)
    for method in ("loop", "vectorized"):
        wall, cpu = times[method], times[f"{method} cpu"]
        print(
            f"  {method:<11} wall p50 {percentile(wall, 50):.3f} ms  p95 "
            f"{percentile(wall, 95):.3f} ms  mean {statistics.fmean(wall):.3f} ms   "
            f"CPU p50 {percentile(cpu, 50):.3f} ms  p95 {percentile(cpu, 95):.3f} ms"
        )
    print(
        "  ratio loop/vectorized (wall p50): "
        f"{percentile(times['loop'], 50) / percentile(times['vectorized'], 50):.1f}x"
    )
    results["Φ 8-node miss p95, vectorized (ms)"] = percentile(times["vectorized"], 95)

    print()
    print("== 3. Φ cache hit rate after warm-up (optimized, default stimulus stream) ==")
    rate, hits, misses = await hit_rate(args.seed, args.cache_warmup, args.cache_episodes)
    print(
        f"  warm-up {args.cache_warmup} episodes, then {args.cache_episodes}: "
        f"{hits} hits, {misses} misses, hit rate {rate:.1%}"
    )
    results["Φ cache hit rate after warm-up"] = rate

    if args.ablation_blocks:
        print()
        print("== 4. ablation: optimized with one optimisation reverted (interleaved) ==")
        print(HEADER)
        for setting in PRESETS["baseline"]:
            value = PRESETS["baseline"][setting]
            reverted = Runner(
                f"{setting}={value}",
                create(
                    args.seed,
                    "optimized",
                    probe_interval_ms=args.probe_interval_ms,
                    **{setting: value},
                ),
            )
            reference = Runner("optimized", create(args.seed, "optimized"))
            try:
                pair_ratios = await interleave(
                    reverted,
                    reference,
                    warmup=args.warmup,
                    blocks=args.ablation_blocks,
                    block=args.block,
                )
            finally:
                reverted.pipeline.close()
                reference.pipeline.close()
            sr = reverted.summary()
            print(
                fmt_row(reverted.name, sr)
                + f"   x{sr['mean'] / reference.summary()['mean']:.2f} mean vs optimized "
                f"(pairs: median x{statistics.median(pair_ratios):.2f})"
            )
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--block", type=int, default=50)
    parser.add_argument("--blocks", type=int, default=8, help="block pairs in part 1")
    parser.add_argument("--probe-interval-ms", type=float, default=10.0)
    parser.add_argument("--phi-subsets", type=int, default=300)
    parser.add_argument("--cache-warmup", type=int, default=1000)
    parser.add_argument("--cache-episodes", type=int, default=3000)
    parser.add_argument("--ablation-blocks", type=int, default=8, help="0 skips part 4")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.warmup, args.block, args.blocks = 10, 10, 2
        args.phi_subsets, args.cache_warmup, args.cache_episodes = 20, 50, 100
        args.ablation_blocks = 1
    started = datetime.datetime.now().isoformat(timespec="seconds")
    print(f"ctool reference pipeline benchmark -- {started}")
    print(
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{platform.platform()}"
    )
    print("command: python " + " ".join([sys.argv[0], *sys.argv[1:]]))
    print("load average at start: " + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    print()
    results = asyncio.run(main_async(args))
    print()
    print("load average at end: " + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    print("== targets (benchmark, not test) ==")
    for name, (op, bound) in TARGETS.items():
        value = results[name]
        ok = value <= bound if op == "<=" else value >= bound
        shown = f"{value:.1%}" if "rate" in name else f"{value:.3g}"
        bound_shown = f"{bound:.0%}" if "rate" in name else f"{bound:g}"
        print(f"  {name:<38} {shown:>9}  (target {op} {bound_shown})  {'met' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
