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
import contextvars
from collections.abc import Callable, Coroutine, Generator, Sequence
from time import monotonic_ns, perf_counter_ns
from typing import Any, cast

from ctool.model.declared import paths_read
from ctool.model.records import PartRecords
from ctool.monitors.observer import RunObserver
from ctool.run.checkpoints import Checkpointer
from ctool.run.recorder import PartRecorder
from ctool.spans import EpisodeRecorder, activate, deactivate
from ctool.workload.digest import OutputDigest
from ctool.workload.loader import PipelineAdapter, PipelineExit

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


class EpisodeTimeout(Exception):
    """An episode ran longer than ``--episode-timeout``: an episode error of kind ``timeout``."""

    kind = "timeout"

    def __init__(self, index: int, timeout_s: float, *, cancelled: bool) -> None:
        how = "cancelled" if cancelled else "a sync episode cannot be cancelled; it finished late"
        super().__init__(f"episode {index} ran longer than {timeout_s:g} s ({how})")


def _fired(timer: asyncio.TimerHandle) -> bool:
    """Whether the timer's time has come (it cancelled the episode)."""
    return timer.when() <= asyncio.get_running_loop().time()


class LoadDriver:
    """Runs episodes of one pipeline under the load shapes, feeding part recorders."""

    def __init__(
        self,
        adapter: PipelineAdapter,
        *,
        observers: Sequence[RunObserver] = (),
        on_observer_error: Callable[[RunObserver, BaseException], None] | None = None,
        first_index: int = 0,
        episode_timeout_s: float = 0.0,
    ) -> None:
        self.adapter = adapter
        self.timeout_s = episode_timeout_s
        self.sync_started_ns: int | None = None
        """When the sync episode now blocking the loop started (read by a hang monitor)."""
        self.observers = list(observers)
        self._on_observer_error = on_observer_error
        self.next_index = first_index
        self.completed = 0
        self._depth: Callable[[], int] = lambda: 0
        self._open: list[PartRecorder] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._has_outputs = getattr(adapter.target, "outputs", None) is not None
        self._episode_coro: Callable[[int], Any] | None = adapter.episode_coroutine
        self._eager = True
        """Start episodes eagerly until one yields (``_run_one``)."""
        self.declared = adapter.declared_metrics()
        self.neutral_settings = adapter.neutral_settings()
        for observer in self.observers:  # the exporter publishes each declared metric
            if self.declared and hasattr(observer, "on_declared"):
                observer.on_declared(self.declared)

    # -- plumbing ------------------------------------------------------------------------------

    def queue_depth(self) -> int:
        """Episodes arrived and not finished (read from the sampler thread)."""
        try:
            return self._depth()
        except Exception:  # a racing read while a shape switches over: not worth a crash
            return 0

    def _begin(self, label: str, *, separate_service: bool = False) -> PartRecorder:
        rec = PartRecorder(label, perf_counter_ns(), separate_service=separate_service)
        rec.records.t_start_mono_ns = monotonic_ns()
        rec.records.declared = [spec.model_copy() for spec in self.declared]
        rec.records.neutral_settings = list(self.neutral_settings)
        self._open.append(rec)
        return rec

    def _end(self, rec: PartRecorder, end_ns: int | None = None) -> PartRecords:
        if rec in self._open:
            self._open.remove(rec)
        self._depth = lambda: 0
        return rec.finish(end_ns or perf_counter_ns(), rec.records.t_start_mono_ns, monotonic_ns())

    def open_parts(self) -> list[PartRecorder]:
        """The recorders of the parts still running (a hung worker counts its last episode)."""
        return list(self._open)

    def abandon(self) -> list[PartRecords]:
        """After an interrupt: cancel stray tasks and close every part still open, as is."""
        for task in list(self._tasks):
            with contextlib.suppress(RuntimeError):  # after a second Ctrl-C the loop is closed
                task.cancel()
        return [self._end(rec) for rec in list(self._open)]

    def _notify(self, index: int, latency: int, spans: Any, error: BaseException | None) -> None:
        for observer in list(self.observers):
            try:
                observer.on_episode(index, latency, spans, error)
            except Exception as exc:
                self.observers.remove(observer)
                if self._on_observer_error is not None:
                    self._on_observer_error(observer, exc)

    async def _timed(
        self, index: int, recorder: EpisodeRecorder | None = None
    ) -> tuple[int, int, Any, Exception | None]:
        """One episode, timed: (start, end, result, exception); ``recorder`` is activated in
        the running task's own context (nothing to reset afterwards)."""
        episode = self._episode_coro
        assert episode is not None
        if recorder is not None:
            activate(recorder)
        start = perf_counter_ns()
        try:
            result = await episode(index)
        except Exception as exc:
            return start, perf_counter_ns(), None, exc
        except SystemExit as exc:  # never ctool's exit code: an episode error
            return start, perf_counter_ns(), None, PipelineExit(exc, "episode()")
        return start, perf_counter_ns(), result, None

    async def _run_one(
        self, index: int, recorder: EpisodeRecorder
    ) -> tuple[int, int, Any, Exception | None]:
        if self._episode_coro is None:
            return await self._run_inline(index, recorder)
        loop = asyncio.get_running_loop()
        if not self._eager:
            # Its own task: when the pipeline yields (between stages, say), only this short
            # chain of frames is suspended and resumed, not the harness's whole await chain;
            # that walk would otherwise be timed as part of every yielding episode.
            return await self._awaited(loop.create_task(self._timed(index, recorder)), index)
        # Started eagerly, here, until an episode yields: an episode that never yields then
        # costs no task. The first that yields goes on in a task of its own (which copies
        # this context, recorder included), and later ones start in their own task.
        token = activate(recorder)
        coro = self._timed(index)
        try:
            first = coro.send(None)
        except StopIteration as done:
            return cast(tuple[int, int, Any, Exception | None], done.value)
        finally:
            deactivate(token)
        self._eager = False
        task = loop.create_task(_Resumed(coro, first).run(), context=_with(recorder))
        return await self._awaited(task, index)

    async def _awaited(
        self, task: asyncio.Task[Any], index: int
    ) -> tuple[int, int, Any, Exception | None]:
        """An episode's task, cancelled by a timer after ``timeout_s`` (when one is set).

        The timer is cheaper than ``wait_for`` (no extra future, no extra pass of the loop per
        episode); the timing is taken inside the task. An episode started eagerly runs its
        first, synchronous stretch before the timer is armed: only what follows can be cut.
        """
        if not self.timeout_s:
            return cast(tuple[int, int, Any, Exception | None], await task)
        start = perf_counter_ns()
        timer = asyncio.get_running_loop().call_later(self.timeout_s, task.cancel)
        try:
            return cast(tuple[int, int, Any, Exception | None], await task)
        except asyncio.CancelledError:
            if not task.cancelled() or timer.cancelled() or not _fired(timer):
                raise  # the run itself was cancelled (Ctrl-C), not the episode
            late = EpisodeTimeout(index, self.timeout_s, cancelled=True)
            return start, perf_counter_ns(), None, late
        finally:
            timer.cancel()

    async def _run_inline(
        self, index: int, recorder: EpisodeRecorder
    ) -> tuple[int, int, Any, Exception | None]:
        token = activate(recorder)
        start = perf_counter_ns()
        self.sync_started_ns = start
        try:
            result = await self.adapter.episode(index)
        except Exception as exc:
            return start, perf_counter_ns(), None, exc
        finally:
            self.sync_started_ns = None
            deactivate(token)
        end = perf_counter_ns()
        if self.timeout_s and end - start > self.timeout_s * 1e9:
            return start, end, None, EpisodeTimeout(index, self.timeout_s, cancelled=False)
        return start, end, result, None

    async def episode(
        self, rec: PartRecorder, intended_ns: int | None = None, digest: OutputDigest | None = None
    ) -> int:
        """Run one episode into ``rec``; returns its latency in ns (-1 if it failed)."""
        index = self.next_index
        self.next_index += 1
        er = EpisodeRecorder()
        start, end, result, error = await self._run_one(index, er)
        line = None
        if error is None and digest is not None:
            try:
                outputs = self.adapter.outputs(result)
                if outputs is not None:  # what cannot be digested is this episode's error
                    line = digest.encode(outputs)
            except Exception as exc:
                error = exc
        self.completed += 1
        intended = start if intended_ns is None else intended_ns
        if error is not None:
            rec.add_error(index, error)
            if digest is not None:
                digest.update({"__error__": type(error).__name__})
            if self.observers:
                self._notify(index, end - intended, er.spans, error)
            return -1
        rec.add(intended, start, end, er.spans)
        if line is not None and digest is not None:
            digest.add(line)
        if self.observers:
            self._notify(index, end - intended, er.spans, None)
        return end - intended

    # -- shapes --------------------------------------------------------------------------------

    async def warmup(self, episodes: int) -> None:
        """Unmeasured episodes, in locate mode so the watchdog can name stages later."""
        for _ in range(episodes):
            index = self.next_index
            self.next_index += 1
            token = activate(EpisodeRecorder(locate=True))
            try:
                await asyncio.wait_for(self.adapter.episode(index), self.timeout_s or None)
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
        rec = self._begin(label)
        dig = OutputDigest() if digest and self._has_outputs else None
        self._depth = lambda: 1
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
        return self._end(rec)

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
        rec = self._begin(f"concurrency {concurrency}")
        deadline = rec.t0_ns + int(duration_s * 1e9) if duration_s is not None else None
        remaining = episodes
        in_flight = 0
        peak = 0
        self._depth = lambda: in_flight

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
        return self._end(rec)

    async def open_loop(
        self, rate: float, *, arrivals: int | None = None, duration_s: float | None = None
    ) -> PartRecords:
        count = arrivals if arrivals is not None else max(int(rate * (duration_s or 0.0)), 1)
        interval = 1e9 / rate
        rec = self._begin(f"rate {rate:g}/s", separate_service=True)
        t0 = rec.t0_ns
        completed_before = self.completed
        peak = 0

        def depth() -> int:
            now = perf_counter_ns()
            arrived = min(count, int((now - t0) / interval) + 1) if now >= t0 else 0
            return max(arrived - (self.completed - completed_before), 0)

        self._depth = depth
        start_delays: list[int] = []

        async def arrival(intended: int) -> None:
            start_delays.append(perf_counter_ns() - intended)
            await self.episode(rec, intended)

        for launched, i in enumerate(range(count), start=1):
            intended = t0 + int(i * interval)
            delay = intended - perf_counter_ns()
            if delay > 0:
                await asyncio.sleep(delay / 1e9)
            task = asyncio.get_running_loop().create_task(arrival(intended))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            peak = max(peak, launched - (self.completed - completed_before))
        if self._tasks:
            await asyncio.gather(*list(self._tasks))
        rec.records.queue_depth_max = max(peak, 1)
        records = self._end(rec)
        records.extra.update(_open_loop_extra(records, rate, start_delays))
        return records

    async def burst(self, size: int) -> PartRecords:
        rec = self._begin(f"burst {size}", separate_service=True)
        t0 = rec.t0_ns
        completed_before = self.completed
        self._depth = lambda: size - (self.completed - completed_before)
        tasks = [asyncio.get_running_loop().create_task(self.episode(rec, t0)) for _ in range(size)]
        self._tasks.update(tasks)
        try:
            await asyncio.gather(*tasks)
        finally:
            self._tasks.difference_update(tasks)
        end = perf_counter_ns()
        rec.records.queue_depth_max = size
        records = self._end(rec, end)
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


def _with(recorder: EpisodeRecorder) -> contextvars.Context:
    """A copy of this context with ``recorder`` active."""
    context = contextvars.copy_context()
    context.run(activate, recorder)
    return context


class _Resumed:
    """The rest of an eagerly started coroutine: re-yields what it yielded to the task that
    runs it (a future to wait on, or ``None`` to let the loop run) and sends the answers
    back, until it returns."""

    __slots__ = ("coro", "first")

    def __init__(self, coro: Coroutine[Any, Any, Any], first: Any) -> None:
        self.coro = coro
        self.first = first

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, pending = self.coro, self.first
        self.first = None
        if pending is None:  # a bare yield asked the loop to run once: starting this task did
            try:
                pending = coro.send(None)
            except StopIteration as done:
                return done.value
        while True:
            try:
                sent = yield pending
            except BaseException as exc:  # cancellation: the episode sees it where it waits
                try:
                    pending = coro.throw(exc)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    pending = coro.send(sent)
                except StopIteration as done:
                    return done.value

    async def run(self) -> Any:
        return await self
