"""Load shapes: how episodes are offered to a pipeline (docs/design.md section 6).

* **sequential**: one episode after another, for N episodes or a duration.
* **closed loop** at concurrency c: c clients, each starting its next episode when its last
  one ends. Latency is measured from each episode's actual start.
* **open loop** at rate R: arrivals on a fixed schedule (t0 + i/R) whatever the pipeline is
  doing. Latency is measured from the *intended* arrival time, so an episode that could not
  start because the pipeline (or the event loop) was stuck carries that wait in its latency:
  a stall shows in the tail instead of being hidden (coordinated omission, as in wrk2).
* **burst** of N: N episodes queued at once; drain time and queue depth.

Queue depth is "arrived and not finished": for the open loop it is computed from the
schedule, so the sampler thread sees the backlog grow even while the loop is blocked.

Every episode runs with its own :class:`EpisodeRecorder` activated in its task's context, so
concurrent episodes record their spans separately. Exceptions in an episode are counted and
sampled by the part's recorder and the run goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from time import monotonic_ns, perf_counter_ns
from typing import Any

__all__ = ["EpisodeTimeout", "LoadDriver", "PartBook", "let_loop_run"]

from ctool.model.declared import paths_read
from ctool.model.records import PartRecords
from ctool.monitors.observer import RunObserver
from ctool.run.checkpoints import Checkpointer
from ctool.run.episode import EpisodeRunner, EpisodeTimeout
from ctool.run.recorder import PartRecorder
from ctool.spans import EpisodeRecorder, activate, deactivate
from ctool.workload.digest import OutputDigest
from ctool.workload.loader import PipelineAdapter

YIELD_EVERY_NS = 2_000_000
"""The sequential loop lets the event loop run (heartbeat, sampler hand-offs) this often."""


async def let_loop_run() -> None:
    """Give the event loop a full pass before the next episode.

    One ``sleep(0)`` is not enough: asyncio runs the timers that fell due *after* the
    callbacks already queued, i.e. after our own resumption, which would start the next
    episode first. The second yield lets those timers (the loop heartbeat) run in between.
    """
    await asyncio.sleep(0)
    await asyncio.sleep(0)


class PartBook:
    """The parts now running: their recorders, stray tasks, and the queue depth."""

    def __init__(self, declared: list[Any] | None = None, neutral: list[str] | None = None) -> None:
        self.depth: Callable[[], int] = lambda: 0
        self.open: list[PartRecorder] = []
        self.tasks: set[asyncio.Task[Any]] = set()
        self.declared = declared or []
        """The pipeline's declared metrics (``metric_specs()``), copied into every part."""
        self.neutral = neutral or []

    def queue_depth(self) -> int:
        """Episodes arrived and not finished (read from the sampler thread)."""
        try:
            return self.depth()
        except Exception:  # a racing read while a shape switches over: not worth a crash
            return 0

    def begin(self, label: str, *, separate_service: bool = False) -> PartRecorder:
        rec = PartRecorder(label, perf_counter_ns(), separate_service=separate_service)
        rec.records.t_start_mono_ns = monotonic_ns()
        rec.records.declared = [spec.model_copy() for spec in self.declared]
        rec.records.neutral_settings = list(self.neutral)
        self.open.append(rec)
        return rec

    def end(self, rec: PartRecorder, end_ns: int | None = None) -> PartRecords:
        if rec in self.open:
            self.open.remove(rec)
        self.depth = lambda: 0
        return rec.finish(end_ns or perf_counter_ns(), rec.records.t_start_mono_ns, monotonic_ns())

    def open_parts(self) -> list[PartRecorder]:
        """The recorders of the parts still running (a hung worker counts its last episode)."""
        return list(self.open)

    def abandon(self) -> list[PartRecords]:
        """After an interrupt: cancel stray tasks and close every part still open, as is."""
        for task in list(self.tasks):
            with contextlib.suppress(RuntimeError):  # after a second Ctrl-C the loop is closed
                task.cancel()
        return [self.end(rec) for rec in list(self.open)]


class LoadDriver:
    """Runs episodes of one pipeline under the load shapes, feeding part recorders (the
    open parts: ``PartBook``; each episode: ``EpisodeRunner``)."""

    def __init__(
        self,
        adapter: PipelineAdapter,
        *,
        observers: list[RunObserver] | None = None,
        on_observer_error: Callable[[RunObserver, BaseException], None] | None = None,
        first_index: int = 0,
        episode_timeout_s: float = 0.0,
    ) -> None:
        self.adapter = adapter
        self.runner = EpisodeRunner(
            adapter,
            observers=observers,
            on_observer_error=on_observer_error,
            first_index=first_index,
            episode_timeout_s=episode_timeout_s,
        )
        self.declared = adapter.declared_metrics()
        self.book = PartBook(self.declared, adapter.neutral_settings())
        self._has_outputs = getattr(adapter.target, "outputs", None) is not None
        for observer in observers or []:  # the exporter publishes each declared metric
            if self.declared and hasattr(observer, "on_declared"):
                observer.on_declared(self.declared)

    async def episode(
        self, rec: PartRecorder, intended_ns: int | None = None, digest: OutputDigest | None = None
    ) -> int:
        """Run one episode into ``rec``; returns its latency in ns (-1 if it failed)."""
        return await self.runner.run(rec, intended_ns, digest)

    # -- shapes --------------------------------------------------------------------------------

    async def warmup(self, episodes: int) -> None:
        """Unmeasured episodes, in locate mode so the watchdog can name stages later."""
        for _ in range(episodes):
            index = self.runner.next_index
            self.runner.next_index += 1
            token = activate(EpisodeRecorder(locate=True))
            try:
                await asyncio.wait_for(self.adapter.episode(index), self.runner.timeout_s or None)
            except Exception:  # counted when measured; warm-up only warms (a timeout too)
                pass
            finally:
                deactivate(token)
            await asyncio.sleep(0)

    async def sequential(
        self,
        *,
        episodes: int | None,
        duration_s: float | None = None,
        digest: bool = True,
        label: str = "sequential",
    ) -> PartRecords:
        rec = self.book.begin(label)
        dig = OutputDigest() if digest and self._has_outputs else None
        self.book.depth = lambda: 1
        deadline = rec.t0_ns + int(duration_s * 1e9) if duration_s is not None else None
        marks = Checkpointer(
            rec.records,
            self.adapter.metrics,
            paths_read(self.declared),
            episodes=episodes,
            duration_s=duration_s,
        )
        marks.start(perf_counter_ns())
        last_yield = perf_counter_ns()
        done = 0
        while episodes is None or done < episodes:
            await self.episode(rec, None, dig)
            done += 1
            now = perf_counter_ns()
            marks.after_episode(now)
            if deadline is not None and now >= deadline:
                break
            if now - last_yield > YIELD_EVERY_NS:
                await let_loop_run()
                last_yield = perf_counter_ns()
        marks.finish()
        if dig is not None:
            rec.records.digest = dig.hexdigest()
        rec.records.queue_depth_max = 1
        return self.book.end(rec)

    async def latencies(self, episodes: int) -> list[int]:
        """``episodes`` more sequential episodes, unrecorded: for profiler calibration."""
        rec = PartRecorder("calibration", perf_counter_ns())
        out = []
        for _ in range(episodes):
            latency = await self.episode(rec)
            if latency >= 0:
                out.append(latency)
            await asyncio.sleep(0)
        return out

    async def closed_loop(
        self, concurrency: int, *, episodes: int | None, duration_s: float | None = None
    ) -> PartRecords:
        rec = self.book.begin(f"concurrency {concurrency}")
        deadline = rec.t0_ns + int(duration_s * 1e9) if duration_s is not None else None
        remaining = episodes
        in_flight = 0
        peak = 0
        self.book.depth = lambda: in_flight

        async def client() -> None:
            nonlocal remaining, in_flight, peak
            while True:
                if remaining is not None:
                    if remaining <= 0:
                        return
                    remaining -= 1
                elif deadline is not None and perf_counter_ns() >= deadline:
                    return
                in_flight += 1
                peak = max(peak, in_flight)
                try:
                    await self.episode(rec)
                finally:
                    in_flight -= 1
                await asyncio.sleep(0)  # round-robin among clients even if episodes never yield

        await asyncio.gather(*(client() for _ in range(concurrency)))
        rec.records.queue_depth_max = peak
        return self.book.end(rec)
