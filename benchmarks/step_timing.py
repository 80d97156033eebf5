"""What does timing every event-loop step cost? Target (issue 25): <= 2 % on the reference
pipeline.

The reference pipeline (optimized preset) runs through the harness's per-episode path
(``LoadDriver.episode``, as ``ctool profile`` runs it) in blocks of episodes, three
variants interleaved and rotated each round (A B C, B C A, C A B, ...), each driving its own
instance of the deterministic pipeline through the same episodes:

  A: no step timer, no watchdog;
  B: the step timer alone (``ctool.monitors.steps.attach``): what timing every step costs;
  C: the whole watchdog (``LoopWatchdog``: step timer, heartbeat, sampling thread) at the
     default threshold, as every ``ctool profile`` run has it.

A block's cost is its wall time (throughput: what the user waits for). Each round gives a
ratio B/A and C/A of block times; the figure is the median ratio, with a 95 % bootstrap
interval over rounds. The number of loop steps per episode is counted once (a counting
ready queue), to give the cost per step.

Run:  python benchmarks/step_timing.py [--rounds 40] [--episodes 200]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import random
import statistics
import sys
from pathlib import Path
from time import perf_counter_ns, thread_time_ns
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ctool.monitors.steps import attach  # noqa: E402
from ctool.monitors.threads import gil_addresses  # noqa: E402
from ctool.monitors.watchdog import LoopWatchdog  # noqa: E402
from ctool.run.recorder import PartRecorder  # noqa: E402
from ctool.run.shapes import LoadDriver  # noqa: E402
from ctool.workload.digest import OutputDigest  # noqa: E402
from ctool.workload.loader import build_pipeline  # noqa: E402


class _Counting(collections.deque):  # type: ignore[type-arg]
    steps = 0

    def popleft(self) -> Any:
        _Counting.steps += 1
        return super().popleft()


async def _block(driver: LoadDriver, episodes: int) -> tuple[int, int]:
    """(wall ns, loop thread CPU ns) of a block of episodes."""
    part = PartRecorder("bench", perf_counter_ns())
    digest = OutputDigest()
    t, cpu = perf_counter_ns(), thread_time_ns()
    for _ in range(episodes):
        await driver.episode(part, None, digest)
    return perf_counter_ns() - t, thread_time_ns() - cpu


async def _steps_per_episode(driver: LoadDriver, episodes: int) -> float:
    loop: Any = asyncio.get_running_loop()
    plain = loop._ready
    loop._ready = _Counting(plain)
    await asyncio.sleep(0)
    _Counting.steps = 0
    await _block(driver, episodes)
    counted = _Counting.steps
    loop._ready = collections.deque(loop._ready)
    return counted / episodes


async def _variant(name: str, driver: LoadDriver, episodes: int) -> tuple[int, int]:
    if name == "A":
        return await _block(driver, episodes)
    if name == "B":
        timer = attach(threshold_ms=5.0)
        try:
            return await _block(driver, episodes)
        finally:
            timer.detach()
    watchdog = LoopWatchdog()
    watchdog.start()
    try:
        return await _block(driver, episodes)
    finally:
        watchdog.stop()


def _interval(ratios: list[float], draws: int = 4000) -> tuple[float, float]:
    rng = random.Random(25)
    medians = sorted(statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(draws))
    return medians[int(0.025 * draws)], medians[int(0.975 * draws) - 1]


async def _run(rounds: int, episodes: int) -> None:
    # Each variant drives its own instance of the deterministic pipeline through the same
    # episodes: the pipeline's state (caches) evolves alike in all three.
    drivers = {
        name: LoadDriver(build_pipeline("ctool.pipeline:create", seed=0, preset="optimized"))
        for name in "ABC"
    }
    gil_addresses()  # learned once per process, as in a real run: not part of any block
    for name, driver in drivers.items():  # warm-up of every path
        await _variant(name, driver, episodes)
    counter = LoadDriver(build_pipeline("ctool.pipeline:create", seed=0, preset="optimized"))
    steps = await _steps_per_episode(counter, episodes)
    wall: dict[str, list[int]] = {"A": [], "B": [], "C": []}
    cpu: dict[str, list[int]] = {"A": [], "B": [], "C": []}
    order = "ABC"
    for r in range(rounds):
        for k in range(3):  # the same episodes for each variant of a round, order rotated
            name = order[(r + k) % 3]
            took, ran = await _variant(name, drivers[name], episodes)
            wall[name].append(took)
            cpu[name].append(ran)
    per_episode = statistics.median(wall["A"]) / episodes
    print("reference pipeline, --preset optimized, through LoadDriver.episode")
    print(f"  {rounds} rounds x 3 rotated blocks of {episodes} episodes (the same per round)")
    print(f"  loop steps per episode : {steps:.1f}")
    print(f"  A none, median block   : {per_episode / 1e3:8.1f} us per episode (wall)")
    for name, what in (("B", "step timer alone"), ("C", "whole watchdog")):
        for clock, times in (("wall", wall), ("CPU", cpu)):
            ratios = [x / y for x, y in zip(times[name], times["A"], strict=True)]
            mid = statistics.median(ratios)
            lo, hi = _interval(ratios)
            print(
                f"  {name} {what:<17} {clock:>4}: x{mid:.4f} [{lo:.4f}, {hi:.4f}] "
                f"({100 * (mid - 1):+.2f} %)"
            )
    print("  target: step timing (B) <= 2 %; CPU: the loop thread's own time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--episodes", type=int, default=200, help="episodes per block")
    args = parser.parse_args()
    asyncio.run(_run(args.rounds, args.episodes))


if __name__ == "__main__":
    main()
