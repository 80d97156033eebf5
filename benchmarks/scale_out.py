"""``--executor dask`` (a LocalCluster) against ``--workers`` (local worker processes), side by
side on this machine: replica start-up cost, and scaling efficiency at 1 and 2 replicas.

    PYTHONPATH=. python benchmarks/scale_out.py [--duration 3] [--repeats 3]

Each repeat runs both executors, in alternating order, on the reference pipeline:

* start-up: seconds from asking for N replicas to all N built, warmed up and ready (for dask
  this includes starting the LocalCluster's worker processes and connecting), for N = 1, 2;
* scaling: the sequential part for ``--duration`` seconds on 1 replica, then on 2 at once
  (``ScalingRun``, what ``ctool profile --workers 2 [--executor dask]`` runs); efficiency is
  throughput(2) / (2 x throughput(1)), each replica's throughput on its own clock.

Medians over the repeats are printed with every value. On a 2-core machine shared with other
work, 2 replicas contend with everything else: read the efficiencies side by side, not alone.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

from ctool.executors.dask import DaskPool
from ctool.model.records import PartRecords
from ctool.run.replicas import ReplicaPool, ScalingRun
from ctool.run.workers import LocalPool, WorkerSpec

PIPELINE = "ctool.pipeline:create"


class Timed:
    """A pool whose ``start`` is timed."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.start_s = 0.0

    @property
    def infos(self) -> Any:
        return self.pool.infos

    async def start(self, count: int) -> None:
        t0 = time.perf_counter()
        await self.pool.start(count)
        self.start_s = time.perf_counter() - t0

    async def run(
        self, index: int, *, episodes: int | None, duration_s: float | None, tag: str
    ) -> PartRecords:
        part: PartRecords = await self.pool.run(
            index, episodes=episodes, duration_s=duration_s, tag=tag
        )
        return part

    async def interrupt(self, indices: list[int]) -> dict[int, PartRecords]:
        parts: dict[int, PartRecords] = await self.pool.interrupt(indices)
        return parts

    async def close(self, *, graceful: bool) -> None:
        await self.pool.close(graceful=graceful)


def _spec() -> WorkerSpec:
    return WorkerSpec(PIPELINE, 0, None, {}, warmup=5, block_threshold_ms=5.0)


MAKERS: dict[str, Callable[[], ReplicaPool]] = {
    "workers": lambda: LocalPool(_spec()),
    "dask": lambda: DaskPool(_spec(), scheduler=None, connect_timeout_s=60.0),
}


async def startup(name: str, count: int) -> float:
    timed = Timed(MAKERS[name]())
    try:
        await timed.start(count)
    finally:
        await timed.close(graceful=True)
    return timed.start_s


async def scaling(name: str, duration: float) -> tuple[float, float, float]:
    run = ScalingRun(MAKERS[name](), PIPELINE)
    result = await run.run(2, episodes=None, duration_s=duration)
    (k1, t1, _), (k2, t2, _) = result.scaling
    assert (k1, k2) == (1, 2)
    return t1, t2, t2 / (2 * t1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, dict[str, list[float]]] = {
        n: {"start1": [], "start2": [], "eps1": [], "eps2": [], "eff": []} for n in MAKERS
    }
    for repeat in range(args.repeats):
        order = list(MAKERS) if repeat % 2 == 0 else list(reversed(MAKERS))
        for name in order:
            r = results[name]
            r["start1"].append(asyncio.run(startup(name, 1)))
            r["start2"].append(asyncio.run(startup(name, 2)))
            t1, t2, eff = asyncio.run(scaling(name, args.duration))
            r["eps1"] += [t1]
            r["eps2"] += [t2]
            r["eff"] += [eff]
            print(
                f"repeat {repeat} {name:7s} start 1: {r['start1'][-1]:.2f} s, start 2: "
                f"{r['start2'][-1]:.2f} s; 1 replica {t1:.0f} eps, 2 replicas {t2:.0f} eps, "
                f"efficiency {100 * eff:.0f} %",
                flush=True,
            )
    print(f"\nmedians over {args.repeats} repeats, --duration {args.duration:g} s per step:")
    print(f"{'executor':9s} {'start 1 (s)':>11s} {'start 2 (s)':>11s} {'1-replica eps':>14s} "
          f"{'2-replica eps':>14s} {'efficiency':>10s}")  # fmt: skip
    for name, r in results.items():
        med = {k: statistics.median(v) for k, v in r.items()}
        print(
            f"{name:9s} {med['start1']:11.2f} {med['start2']:11.2f} {med['eps1']:14.0f} "
            f"{med['eps2']:14.0f} {100 * med['eff']:9.0f} %"
        )
    dask, local = results["dask"], results["workers"]
    ratio = statistics.median(dask["start2"]) / statistics.median(local["start2"])
    print(f"\ndask / workers start-up for 2 replicas: {ratio:.2f}x")
    eff = statistics.median(dask["eff"]) / statistics.median(local["eff"])
    print(f"dask / workers scaling efficiency at 2 replicas: {eff:.2f}x")


if __name__ == "__main__":
    main()
