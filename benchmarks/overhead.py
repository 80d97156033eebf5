"""What does the harness cost? Targets (issue 12), on the empty pipeline: <= 350 ns per
recorded span inside a run, <= 5 us of bookkeeping per episode (everything the harness does
for an episode, deferred work included); and spans <= 1 % of an optimized episode.

0. empty: ``ctool.run.cost`` (the calibration every profile report carries), with more
   blocks: an empty two-span pipeline unrecorded, recorded, and through
   ``LoadDriver.episode``, interleaved;

Two measurements, each a ratio taken side by side in one run (this machine is noisy):

1. micro: ``with span("x"): pass`` in a tight loop, with a recorder active (the harness is
   recording) and without one (a pipeline used outside ctool), interleaved in blocks;
2. pipeline: the same pipeline's episodes, interleaved in blocks (A B C A B C ...), with
   A: no recorder (spans cost two context-variable reads: "recording off"),
   B: a recorder per episode (what spans cost when the harness records), and
   C: the harness's full per-episode bookkeeping (``LoadDriver.episode``: recorder, stage
   aggregation, output digest), and
   D: C with the run's monitors on (loop heartbeat and watchdog, CPU/RSS sampler thread),
   compared with C in long alternating blocks (starting the monitors' threads must not
   weigh on a short block).
   Each round runs four short blocks in a rotated order (A B C D, B C D A, ...). The
   reference pipeline's work depends on the episode (an ignition costs milliseconds, most
   episodes a fraction of one), so the blocks are short and many, and each variant's median
   is taken over all of its episodes: every variant sees the same mix.

Run:  python benchmarks/overhead.py [--pipeline ctool.pipeline:create --preset optimized]
Without the reference pipeline installed it falls back to examples.etl_pipeline:create.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import sys
from pathlib import Path
from time import perf_counter_ns

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ctool.monitors.sampler import ResourceSampler  # noqa: E402
from ctool.monitors.watchdog import LoopWatchdog  # noqa: E402
from ctool.run.recorder import PartRecorder  # noqa: E402
from ctool.run.shapes import LoadDriver  # noqa: E402
from ctool.spans import EpisodeRecorder, activate, deactivate, span  # noqa: E402
from ctool.workload.digest import OutputDigest  # noqa: E402
from ctool.workload.loader import PipelineAdapter, build_pipeline  # noqa: E402


class _NoOp:
    """The cheapest Python context manager: the machine's yardstick for a ``with`` block."""

    __slots__ = ()

    def __enter__(self) -> _NoOp:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _per_iteration(cm: object, iterations: int, rec: EpisodeRecorder | None) -> float:
    token = activate(rec) if rec is not None else None
    t = perf_counter_ns()
    for _ in range(iterations):
        with cm:  # type: ignore[attr-defined]
            pass
    elapsed = perf_counter_ns() - t
    if token is not None:
        deactivate(token)
        rec.spans.clear()  # type: ignore[union-attr]
    return elapsed / iterations


def micro(iterations: int, blocks: int) -> tuple[float, float, float]:
    """ns per ``with``: a no-op context manager, a span unrecorded, a span recorded."""
    sp = span("x")
    noop: list[float] = []
    on: list[float] = []
    off: list[float] = []
    for _ in range(blocks):
        noop.append(_per_iteration(_NoOp(), iterations, None))
        off.append(_per_iteration(sp, iterations, None))
        on.append(_per_iteration(sp, iterations, EpisodeRecorder()))
    return statistics.median(noop), statistics.median(on), statistics.median(off)


async def pipeline_rounds(
    adapter: PipelineAdapter, episodes: int, rounds: int
) -> tuple[list[float], int, float]:
    driver = LoadDriver(adapter)
    index = 0

    async def raw() -> list[int]:
        nonlocal index
        out = []
        for _ in range(episodes):
            t = perf_counter_ns()
            await adapter.episode(index)
            out.append(perf_counter_ns() - t)
            index += 1
        return out

    async def recorded() -> list[int]:
        nonlocal index
        out = []
        for _ in range(episodes):
            rec = EpisodeRecorder()
            token = activate(rec)
            t = perf_counter_ns()
            await adapter.episode(index)
            out.append(perf_counter_ns() - t)
            deactivate(token)
            index += 1
        return out

    async def harness(count: int = episodes) -> list[int]:
        part = PartRecorder("bench", perf_counter_ns())
        digest = OutputDigest()
        driver.runner.next_index = index
        out = [await driver.episode(part, None, digest) for _ in range(count)]
        return out

    async def monitored(count: int = episodes) -> list[int]:
        watchdog = LoopWatchdog()
        watchdog.start()
        sampler = ResourceSampler(queue_depth=lambda: 1, loop_lag_ms=lambda: 0.0)
        sampler.start()
        try:
            return await harness(count)
        finally:
            sampler.stop()
            watchdog.stop()

    # Spans per episode, counted on one recorded episode.
    rec = EpisodeRecorder()
    token = activate(rec)
    await adapter.episode(index)
    deactivate(token)
    index += 1
    spans = len(rec.spans)
    for _ in range(3):  # warm-up of all four paths
        await raw()
        await recorded()
        await harness()
        await monitored()
        index = driver.runner.next_index
    pooled: list[list[int]] = [[], [], []]
    variants = [raw, recorded, harness]
    for r in range(rounds):
        for k in range(3):  # rotate the order each round: no variant always runs first
            which = (r + k) % 3
            pooled[which].extend(await variants[which]())
            index = driver.runner.next_index = max(index, driver.runner.next_index)
    long_off: list[int] = []
    long_on: list[int] = []
    for r in range(8):
        for on in (r % 2 == 0, r % 2 == 1):
            block = await (
                monitored(episodes_long(episodes)) if on else harness(episodes_long(episodes))
            )
            (long_on if on else long_off).extend(block)
            index = driver.runner.next_index
    pooled += [long_off, long_on]
    medians = [statistics.median(p) for p in pooled]
    return medians, spans, statistics.mean(pooled[0])


def episodes_long(episodes: int) -> int:
    return episodes * 30


def empty_pipeline(blocks: int, episodes: int) -> None:
    """Span and bookkeeping cost on the empty pipeline, against the targets."""
    from ctool.run.cost import measure_harness_cost

    cost = asyncio.run(measure_harness_cost(blocks=blocks, episodes=episodes))
    print(f"empty pipeline (ctool.run.cost, {blocks} rotated blocks of {episodes} episodes):")
    print(f"  recorded span, inside a run   : {cost.span_ns:6.0f} ns  (target <= 350 ns)")
    print(f"  bookkeeping per episode       : {cost.bookkeeping_us:6.2f} us  (target <= 5 us)")
    print(f"  empty episode through harness : {cost.empty_episode_us:6.2f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default = (
        "ctool.pipeline:create"
        if importlib.util.find_spec("ctool.pipeline")
        else "examples.etl_pipeline:create"
    )
    parser.add_argument("--pipeline", default=default)
    parser.add_argument("--preset", default=None)
    parser.add_argument("--episodes", type=int, default=10, help="episodes per block")
    parser.add_argument("--rounds", type=int, default=150, help="rounds of four blocks")
    args = parser.parse_args()
    preset = args.preset
    if preset is None and args.pipeline == "ctool.pipeline:create":
        preset = "optimized"

    empty_pipeline(61, 300)  # short blocks: a preemption by another process spoils few
    print()
    noop, on, off = micro(100_000, 21)
    print("micro: `with ...: pass` in a tight loop, median of 21 interleaved blocks of 100k")
    print(f"  no-op context manager    : {noop:6.0f} ns  (this machine's yardstick)")
    print(f"  span, no recorder        : {off:6.0f} ns  (a pipeline used outside ctool)")
    print(f"  span, recorder active    : {on:6.0f} ns")
    print(
        f"  cost of recording a span : {on - off:6.0f} ns = {(on - off) / noop:.2f} no-op "
        "`with` blocks (a 100k-span log: list growth included)"
    )

    adapter = build_pipeline(args.pipeline, seed=0, preset=preset)
    medians, spans, mean_off = asyncio.run(pipeline_rounds(adapter, args.episodes, args.rounds))
    a, b, c, c_long, d = medians
    label = args.pipeline + (f" --preset {preset}" if preset else "")
    print(f"\npipeline: {label}")
    print(
        f"  {spans} spans per episode; {args.rounds} rounds x 3 rotated blocks of {args.episodes}"
    )
    print(f"  median episode, recording off        : {a / 1e3:8.1f} us")
    print(
        f"  spans recorded                       : {b / 1e3:8.1f} us  x{b / a:.4f} "
        f"({100 * (b / a - 1):+.2f}%; target <= 1%)"
    )
    print(
        f"  + harness bookkeeping (driver.episode): {c / 1e3:8.1f} us  x{c / a:.4f} "
        f"({100 * (c / a - 1):+.2f}%)"
    )
    print(
        f"  monitors on / off, 16 alternating blocks of {episodes_long(args.episodes)}: "
        f"{d / 1e3:.1f} / {c_long / 1e3:.1f} us  x{d / c_long:.4f} ({100 * (d / c_long - 1):+.2f}%)"
    )
    bound = 100 * spans * (on - off) / a
    print(
        f"  from the micro cost: {spans} spans x {on - off:.0f} ns = {bound:.2f}% of the median "
        f"episode, {100 * spans * (on - off) / mean_off:.2f}% of the mean ({mean_off / 1e3:.0f} us)"
    )


if __name__ == "__main__":
    main()
