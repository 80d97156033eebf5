"""Event-loop stalls, each counted and timed, their call sites and classes; GC pauses.

How the watchdog works:

* A *step timer* (``ctool.monitors.steps``) times every step the loop runs (a callback, a
  task from one ``await`` to the next). A step at least ``threshold`` long is a stall:
  every one is counted with its exact duration (``stalls``, ``stalled_ns``, ``stall_ns``),
  whether or not a sample named it. On a loop whose steps cannot be timed (uvloop) a
  *heartbeat* counts them instead: a timer callback re-armed every ``period``, a stall being
  a beat at least ``threshold`` late (a lower bound of the stall). The heartbeat runs in
  both cases: its lateness is the loop lag (one sample per beat).
* A *watchdog thread* names the calls: when the step running now has lasted half the
  threshold, it samples the loop thread's stack (``sys._current_frames``) until the step
  ends. When the step turns out a stall, its duration is shared among its samples and
  credited to each sample's *call site* (``ctool.monitors.sites``: the innermost frame of
  the pipeline's own code, the library call under it, the stage from the span blocks).
  A stall in which no sample named a site is counted as such (``attributed_stalls`` and
  ``attributed_ns`` say how much was named).
* Each sample is classed by what the loop thread was doing (``ctool.monitors.threads``,
  read from the kernel without releasing the GIL): ``cpu`` (it ran, or ran in most of the
  time since the last look: it was only waiting for the GIL the watchdog itself took),
  ``gil`` (it waited for the GIL while another thread ran: that thread and its frame are
  kept as the site's ``holder``), ``blocking`` (it waited in the kernel for anything else:
  a sleep, I/O, a lock). Where the kernel hides the state, by the share of time the thread
  was busy since the last look.

Sampling costs the loop thread a GIL hand-off per look while it computes, and nothing while
it waits. So the thread looks at most every 20 ms while the loop keeps time, and every half
threshold for 250 ms after a stall that was not plain computation (blocking, gil, or not
seen at all): such stalls recur at the same call sites. A computing loop thread only lets
the watchdog look at the interpreter's switch interval (5 ms), so cpu stalls shorter than
that are counted and timed but mostly not named.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from time import perf_counter_ns
from typing import Any

from ctool.model.records import BlockingSite, MonitorSummary
from ctool.monitors.sites import FrameClassifier, pipeline_roots, site_of, thread_at
from ctool.monitors.steps import StepTimer, attach
from ctool.monitors.threads import OtherThreads, ThreadProbe, gil_addresses
from ctool.spans import LOCATOR, StageLocator

__all__ = ["GCMonitor", "LoopWatchdog", "pipeline_roots", "watch_loop"]

DEFAULT_THRESHOLD_MS = 5.0
DEFAULT_PERIOD_MS = 3.0
DEFAULT_SLACK_MS = 3.0
DEFAULT_SAMPLE_MS = 2.0
IDLE_CHECK_MS = 20.0
"""While the loop keeps time the watchdog looks at most this often. Each look takes the GIL:
while the loop thread computes, that forces a GIL hand-off, and on a busy machine a hand-off
can cost the loop thread far more than the look itself."""
ALERT_MS = 250.0
"""For this long after a stall that was not plain computation, the watchdog looks every half
threshold: such stalls recur, and a loop thread that waits has released the GIL, so looking
then costs it nothing."""
FAST_SAMPLES = 5
SLOW_SAMPLE_MS = 10.0
"""Within a stall, samples every ``sample`` ms while the loop thread waits (cheap, see
above), at most ``FAST_SAMPLES`` of them; every SLOW_SAMPLE_MS while it computes."""
BLOCKED_RATIO = 0.5
GIL_SHARE = 1 / 3
"""A loop thread waiting for the GIL lacked it (``gil``) when other Python threads ran at
least this share of the CPU time it and they had since the last look (two threads taking
turns share it half and half); below, it was computing (``cpu``) and waits only because the
watchdog took the GIL to look. CPU time, not wall time: on a busy machine every thread waits
for a CPU most of the time, which says nothing about the GIL."""


@dataclass
class _Sample:
    site: BlockingSite | None
    kind: str | None
    holder: str | None


class GCMonitor:
    """Total and count of garbage-collector pauses, via ``gc.callbacks``."""

    def __init__(self) -> None:
        self.pause_ns = 0
        self.collections = 0
        self._t0 = 0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._t0 = perf_counter_ns()
        elif self._t0:
            self.pause_ns += perf_counter_ns() - self._t0
            self.collections += 1
            self._t0 = 0

    def start(self) -> None:
        gc.callbacks.append(self._callback)

    def stop(self) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._callback)


class LoopWatchdog:
    """Step timer, heartbeat and watchdog thread for one event loop.

    ``start()`` on the loop's thread (inside a coroutine or callback), or ``attach(loop)``
    from any thread, for any running ``asyncio`` loop (ctool's or a user script's);
    ``stop()`` from any thread returns the :class:`MonitorSummary`.
    """

    def __init__(
        self,
        *,
        threshold_ms: float = DEFAULT_THRESHOLD_MS,
        period_ms: float = DEFAULT_PERIOD_MS,
        slack_ms: float = DEFAULT_SLACK_MS,
        sample_ms: float = DEFAULT_SAMPLE_MS,
        locator: StageLocator = LOCATOR,
        user_roots: Sequence[str] = (),
    ) -> None:
        self.enabled = threshold_ms > 0
        self._threshold = int(threshold_ms * 1e6)
        self._period = int(period_ms * 1e6)
        self._slack = int(slack_ms * 1e6)
        self._sample_ns = int(sample_ms * 1e6)
        self._locator = locator
        self._classifier = FrameClassifier(user_roots)
        self.summary = MonitorSummary()
        self._gc = GCMonitor()
        self._beat = perf_counter_ns()
        self._beat_stalls: list[tuple[int, int]] = []
        self._stop = threading.Event()
        self.started = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._due = 0
        self._tid = 0
        self._probe: ThreadProbe | None = None
        self._others: OtherThreads | None = None
        self._others_ran: dict[int, int] = {}
        self._last_busy = (0, 0, 0)
        self.steps: StepTimer | None = None
        self._to_monotonic = time.monotonic_ns() - perf_counter_ns()
        self.error: str | None = None

    # -- loop side ---------------------------------------------------------------------------

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start watching ``loop`` from any thread: at once on its own thread, else by its
        next pass (``started`` is set then)."""
        if getattr(loop, "_thread_id", None) == threading.get_ident() or not loop.is_running():
            self.start(loop)
        else:
            loop.call_soon_threadsafe(self.start, loop)

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Start on the loop's thread (``loop``: the running loop by default)."""
        self._tid = threading.get_ident()
        self._loop = loop if loop is not None else asyncio.get_running_loop()
        if self.enabled:
            probe = ThreadProbe(self._tid, threading.get_native_id())
            self._probe = probe if probe.available else None
            if self._probe is not None:
                gil_addresses()  # learned once per process, before anything is measured
            timer = attach(self._loop, threshold_ms=self._threshold / 1e6)
            self.steps = timer if timer.unavailable is None else None
            self.summary.step_timed = self.steps is not None
        self._beat = perf_counter_ns()
        self._gc.start()
        self._due = self._beat + self._period
        self._handle = self._loop.call_later(self._period / 1e9, self._tick)
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="ctool-watchdog", daemon=True)
            self._thread.start()
        self.started.set()

    def stop(self) -> MonitorSummary:
        """Stop the timer, the heartbeat, the thread and the GC hook (from any thread; safe
        after the loop is gone, and twice)."""
        self._stop.set()
        if self._handle is not None:
            self._handle.cancel()
        if self.steps is not None:
            self.steps.detach()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._probe is not None:
            self._probe.close()
        self._gc.stop()
        self.summary.gc_pause_ns = self._gc.pause_ns
        self.summary.gc_collections = self._gc.collections
        return self.summary

    @property
    def last_lag_ms(self) -> float:
        lags = self.summary.lag_ns
        return lags[-1] / 1e6 if lags else 0.0

    def _tick(self) -> None:
        """The heartbeat: a timer callback (not a task, which would wake one loop pass late)."""
        now = perf_counter_ns()
        lag = max(now - self._due, 0)
        self.summary.lag_ns.append(lag)
        if self.enabled and self.steps is None and lag >= self._threshold:
            self._beat_stalls.append((self._beat, lag))
        self._beat = now
        self._due = now + self._period
        if not self._stop.is_set() and self._loop is not None:
            self._handle = self._loop.call_later(self._period / 1e9, self._tick)

    # -- watchdog thread ---------------------------------------------------------------------

    def _run(self) -> None:
        if self._probe is not None:
            self._others = OtherThreads(skip={self._tid, threading.get_ident()})
        try:
            self._watch()
        except Exception as exc:  # never take the run down; say so in the report
            self.error = f"the loop watchdog stopped: {type(exc).__name__}: {exc}"
        finally:
            if self._others is not None:
                self._others.close()

    def _current(self, now: int) -> tuple[int, bool]:
        """The key of the step (or late beat) running now, and whether it is long enough to
        sample; key 0: none."""
        if self.steps is not None:
            start = self.steps.start
            return start, bool(start) and now - start >= self._threshold // 2
        beat = self._beat
        return beat, now >= beat + self._period + self._slack

    def _finished(self) -> list[tuple[int, int]]:
        return self.steps.stalls if self.steps is not None else self._beat_stalls

    def _watch(self) -> None:
        pending: dict[int, list[_Sample]] = {}
        done = 0
        alert_ns = int(ALERT_MS * 1e6)
        alert_until = 0
        self._note_busy(perf_counter_ns())
        while not self._stop.is_set():
            now = perf_counter_ns()
            key, long = self._current(now)  # before the finished list: see _fold
            done, alert = self._fold(pending, done, keep=key)
            if alert:
                alert_until = now + alert_ns
            if long:
                sample = self._take(key, now)
                if sample is not None:
                    pending.setdefault(key, []).append(sample)
                count = len(pending.get(key, ()))
                waiting = sample is not None and sample.kind == "blocking"
                fast = waiting and count < FAST_SAMPLES
                self._stop.wait((self._sample_ns if fast else SLOW_SAMPLE_MS * 1e6) / 1e9)
                continue
            self._note_busy(now)
            if now < alert_until:
                wait = self._threshold / 2 if self.steps is not None else self._beat_wait(now)
            else:
                wait = IDLE_CHECK_MS * 1e6
            self._stop.wait(max(wait, 2e5) / 1e9)
        # A stall still open at stop is the harness's own shutdown (the loop thread is
        # stopping the watchdog): not the pipeline's doing, so it is dropped.
        self._fold(pending, done, keep=0)

    def _beat_wait(self, now: int) -> float:
        return float(max(self._beat + self._period + self._slack - now, 0))

    def _fold(self, pending: dict[int, list[_Sample]], done: int, keep: int) -> tuple[int, bool]:
        """Count the stalls that ended since the last call; True if one of them was not
        plain computation. ``keep``: the key of the step running now, read *before* the
        finished list (the loop thread records a stall before it starts the next step, so a
        key that is neither running nor finished was a step shorter than the threshold)."""
        finished = self._finished()
        ended = len(finished)
        alert = False
        for key, duration in finished[done:ended]:
            if self.steps is not None:
                self.summary.stall_start_ns.append(key + self._to_monotonic)
            kind = self._finish(duration, pending.pop(key, []))
            alert = alert or kind != "cpu"
        for key in [k for k in pending if k != keep]:
            del pending[key]
        return ended, alert

    def _note_busy(self, now: int) -> None:
        """Read the loop thread's and the other threads' CPU time: the next look's baseline."""
        cpu, queued = self._probe.times() if self._probe is not None else (0, 0)
        self._last_busy = (now, cpu, queued)
        if self._others is not None:
            self._others_ran = self._others.look()

    def _take(self, key: int, now: int) -> _Sample | None:
        """One look at the loop thread, or None if its step ended meanwhile."""
        frame = sys._current_frames().get(self._tid)
        site = site_of(frame, self._classifier, self._locator) if frame is not None else None
        del frame
        state = self._probe.state() if self._probe is not None else None
        if self._current(perf_counter_ns())[0] != key:
            return None  # the step ended while we looked: the stack is another step's
        then, cpu_before, queued_before = self._last_busy
        self._note_busy(now)
        _, cpu, queued = self._last_busy
        span = now - then
        busy = (cpu + queued - cpu_before - queued_before) / span if span > 0 else None
        # Since the last look the loop thread was in this step (not idle in select).
        within = self.steps is not None and then >= key
        # Waiting for the GIL, or runnable but off the CPU most of the time (on a busy
        # machine, a thread handed the GIL waits for a CPU): did other threads have it?
        starved = span > 0 and (cpu - cpu_before) / span < BLOCKED_RATIO
        if state == "gil" or (state == "running" and starved):
            holder = self._contender(cpu - cpu_before)
            if holder is not None:
                return _Sample(site, "gil", holder)
            if state == "gil":
                return _Sample(site, "cpu", None)
        return _Sample(
            site, self._kind(state, busy if within or state != "running" else None), None
        )

    def _kind(self, state: str | None, busy: float | None) -> str | None:
        """A sample's class from the thread's state now and the share of the time since the
        last look it was busy (ran or queued to run)."""
        if state == "running":
            # Runnable but asleep most of the step so far: woken from a wait a moment ago
            # (a sleep that ended, on a busy machine): the wait is what held the loop.
            return "blocking" if busy is not None and busy < BLOCKED_RATIO else "cpu"
        if state == "waiting":
            return "blocking"
        if self._probe is None or busy is None:
            return None
        return "cpu" if busy >= BLOCKED_RATIO else "blocking"

    def _contender(self, mine: int) -> str | None:
        """The loop thread waits for the GIL. If other threads that may hold it (running,
        queued to run, or waiting for it now that this thread holds it; not asleep in
        another call) ran at least ``GIL_SHARE`` of the CPU time the loop thread and they
        had since the last look, the GIL is what the loop thread lacked: name the one that
        ran most, and where. Else it waits only because this thread took the GIL to look (it
        was computing). A thread computing in C with the GIL released (numpy) looks the
        same from here: its name and frame are shown so that the reader can tell."""
        others = self._others
        if others is None:
            return None
        ran = {i: ns for i, ns in self._others_ran.items() if ns > 0 and others.may_hold_gil(i)}
        theirs = sum(ran.values())
        if not ran or theirs < GIL_SHARE * (theirs + max(mine, 0)):
            return None
        top = max(ran, key=lambda i: ran[i])
        frame = sys._current_frames().get(top)
        try:
            return thread_at(others.name(top), frame, self._classifier)
        finally:
            del frame

    def _finish(self, duration: int, samples: list[_Sample]) -> str:
        """Count one stall and credit it to its sampled sites; its class (``?``: unseen)."""
        summary = self.summary
        summary.stalls += 1
        summary.stalled_ns += duration
        if self.steps is not None:
            summary.stall_ns.append(duration)
        kinds = Counter(s.kind for s in samples if s.kind is not None)
        kind = max(kinds, key=lambda k: (kinds[k], k == "gil", k == "blocking")) if kinds else "?"
        tally = summary.kinds.setdefault(kind, [0, 0])
        tally[0] += 1
        tally[1] += duration
        named = [s for s in samples if s.site is not None]
        if not named:
            return kind
        share = duration // len(samples)
        summary.attributed_stalls += 1
        summary.attributed_ns += share * len(named)
        per_key: dict[tuple[str, int, str, str | None], BlockingSite] = {}
        for sample in named:
            site = sample.site
            assert site is not None
            key: tuple[str, int, str, str | None] = (site.file, site.line, site.function, None)
            held = per_key.setdefault(key, site)
            held.holder = held.holder or sample.holder
            held.total_ns += share
            sample_kind = sample.kind or "?"
            held.kind_ns[sample_kind] = held.kind_ns.get(sample_kind, 0) + share
        for key, site in per_key.items():
            site.count = 1
            site.max_ns = site.total_ns
            best = max(site.kind_ns, key=lambda k: site.kind_ns[k])
            site.kind = best if best != "?" else None
            known = summary.sites.get(key)
            if known is None:
                summary.sites[key] = site
            else:
                known.merge(site)
        return kind


def watch_loop(
    loop: asyncio.AbstractEventLoop,
    *,
    threshold_ms: float = DEFAULT_THRESHOLD_MS,
    user_roots: Sequence[str] = (),
    locator: StageLocator = LOCATOR,
) -> LoopWatchdog:
    """Watch any running ``asyncio`` loop (a user script's too), from any thread:
    ``watchdog = watch_loop(loop, threshold_ms=1)``, later ``summary = watchdog.stop()``."""
    watchdog = LoopWatchdog(threshold_ms=threshold_ms, user_roots=user_roots, locator=locator)
    watchdog.attach(loop)
    return watchdog
