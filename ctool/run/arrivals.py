"""Open-system shapes: arrivals that do not wait for the pipeline (docs/design.md section 6).

* **open loop** at rate R: arrivals on a fixed schedule (t0 + i/R) whatever the pipeline is
  doing. Latency is measured from the *intended* arrival time, so an episode that could not
  start because the pipeline (or the event loop) was stuck carries that wait in its latency:
  a stall shows in the tail instead of being hidden (coordinated omission, as in wrk2).
  Service time (from the actual start) is kept beside it.
* **burst** of N: N episodes queued at once; drain time and queue depth.

Queue depth is "arrived and not finished": for the open loop it is computed from the
schedule, so the sampler thread sees the backlog grow even while the loop is blocked.
"""

from __future__ import annotations

import asyncio
from time import perf_counter_ns
from typing import Any

from ctool.model.records import PartRecords
from ctool.run.shapes import LoadDriver


async def open_loop(
    driver: LoadDriver, rate: float, *, arrivals: int | None = None, duration_s: float | None = None
) -> PartRecords:
    count = arrivals if arrivals is not None else max(int(rate * (duration_s or 0.0)), 1)
    interval = 1e9 / rate
    rec = driver.book.begin(f"rate {rate:g}/s", separate_service=True)
    t0 = rec.t0_ns
    completed_before = driver.runner.completed
    peak = 0

    def depth() -> int:
        now = perf_counter_ns()
        arrived = min(count, int((now - t0) / interval) + 1) if now >= t0 else 0
        return max(arrived - (driver.runner.completed - completed_before), 0)

    driver.book.depth = depth
    start_delays: list[int] = []

    async def arrival(intended: int) -> None:
        start_delays.append(perf_counter_ns() - intended)
        await driver.episode(rec, intended)

    for launched, i in enumerate(range(count), start=1):
        intended = t0 + int(i * interval)
        delay = intended - perf_counter_ns()
        if delay > 0:
            await asyncio.sleep(delay / 1e9)
        task = asyncio.get_running_loop().create_task(arrival(intended))
        driver.book.tasks.add(task)
        task.add_done_callback(driver.book.tasks.discard)
        peak = max(peak, launched - (driver.runner.completed - completed_before))
    if driver.book.tasks:
        await asyncio.gather(*list(driver.book.tasks))
    rec.records.queue_depth_max = max(peak, 1)
    records = driver.book.end(rec)
    records.extra.update(_open_loop_extra(records, rate, start_delays))
    return records


async def burst(driver: LoadDriver, size: int) -> PartRecords:
    rec = driver.book.begin(f"burst {size}", separate_service=True)
    t0 = rec.t0_ns
    completed_before = driver.runner.completed
    driver.book.depth = lambda: size - (driver.runner.completed - completed_before)
    tasks = [asyncio.get_running_loop().create_task(driver.episode(rec, t0)) for _ in range(size)]
    driver.book.tasks.update(tasks)
    try:
        await asyncio.gather(*tasks)
    finally:
        driver.book.tasks.difference_update(tasks)
    end = perf_counter_ns()
    rec.records.queue_depth_max = size
    records = driver.book.end(rec, end)
    records.extra["drain_s"] = (end - t0) / 1e9
    return records


def _open_loop_extra(records: PartRecords, rate: float, start_delays: list[int]) -> dict[str, Any]:
    """Service time next to latency: the gap between them is time spent waiting to start."""
    from ctool.analysis.summary import as_array, percentiles_ms

    service = as_array(records.service_ns())
    s50, s99 = percentiles_ms(service, (50.0, 99.0))
    delays = as_array(start_delays)
    d50, d99 = percentiles_ms(delays, (50.0, 99.0))
    wall_s = records.wall_ns / 1e9
    extra: dict[str, Any] = {
        "target_rate": rate,
        "achieved_rate": records.attempted / wall_s if wall_s > 0 else 0.0,
        "service_p50_ms": s50,
        "service_p99_ms": s99,
        "service_max_ms": float(service.max()) / 1e6 if service.size else 0.0,
        "start_delay_p50_ms": d50,
        "start_delay_p99_ms": d99,
        "start_delay_max_ms": float(delays.max()) / 1e6 if delays.size else 0.0,
        "duration_s": wall_s,
    }
    return extra
