"""Event-loop lag, GC pauses, and a watchdog that names the calls blocking the loop.

How the watchdog works:

* A *heartbeat* timer callback on the loop re-arms itself every ``period`` and notes when
  it ran: the delay past its deadline is the loop lag (one sample per beat), and the time it
  ran is the beat.
* A *watchdog thread* sleeps until the next beat is due (plus a slack). When the beat is
  late, the loop thread is stuck in something that does not yield: the thread samples the
  loop thread's stack (``sys._current_frames``) every ``sample`` ms until the beat comes.
* When the stall ends, if it lasted at least ``threshold``, its duration is shared among its
  samples and credited to each sample's *call site*: the innermost frame in the pipeline's
  own code (not the standard library, not an installed third-party package, not ctool's
  harness). The innermost frame is kept too, as the ``callee`` (say ``psutil.cpu_percent``),
  and the stage comes from ``LOCATOR`` (span blocks seen in locate mode, ``@stage``).
* Samples in which no frame of the pipeline's code is on the stack above ctool's own frames
  (the loop idling in ``select``, ctool's bookkeeping between episodes) are not attributed.
* Each sample is classed ``blocking`` (the loop thread was waiting: sleep, I/O, a lock) or
  ``cpu`` (it computed, or was runnable but pre-empted on a busy machine). On Linux the
  kernel says so at the moment of the sample (``/proc/self/task/<tid>/stat`` state and
  ``wchan``; the watchdog releases the GIL while reading them, so a thread that only waits
  for the GIL shows as running; a futex wait that outlasts a few reads is a lock). Where
  the kernel hides this (other systems), the sample is classed by the thread's time asleep
  until the next sample (neither on a CPU nor queued for one, from ``schedstat`` or the
  thread's CPU clock).

A stall is a heartbeat at least ``threshold`` late; the heartbeat counts every one exactly
(``stalls``, ``stalled_ns``). The time credited is that lateness, a lower bound: a call that
starts just after a beat holds the loop up to one ``period`` longer (with the defaults,
period 3 ms and threshold 5 ms, a call holding the loop 8 ms or more always stalls it).
Naming the call is sampling: the watchdog thread looks at most every 20 ms while the loop
keeps time (each look takes the GIL), and at every heartbeat deadline for 250 ms after a
stall in which it saw a blocking call; a short stall may pass unseen, so a site's ``count``
is the stalls in which it was *seen*. Costs: a timer callback every 3 ms on the loop
(microseconds) and a GIL hand-off per look while the loop thread computes.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import sys
import sysconfig
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter_ns
from types import FrameType
from typing import Any

from ctool.model.records import BlockingSite, MonitorSummary
from ctool.spans import LOCATOR, StageLocator

DEFAULT_THRESHOLD_MS = 5.0
DEFAULT_PERIOD_MS = 3.0
DEFAULT_SLACK_MS = 3.0
DEFAULT_SAMPLE_MS = 2.0
IDLE_CHECK_MS = 20.0
"""While the loop keeps time the watchdog looks at most this often. Each look takes the GIL:
while the loop thread computes, that forces a GIL hand-off, and on a busy machine a hand-off
can cost the loop thread far more than the look itself."""
ALERT_MS = 250.0
"""For this long after a stall in which a *blocking* call was seen, the watchdog looks at
every heartbeat deadline: such calls recur, and a loop thread that waits in one has released
the GIL, so looking then costs it nothing."""
FAST_SAMPLES = 5
SLOW_SAMPLE_MS = 10.0
"""Within a stall, samples every ``sample`` ms while the loop thread waits (cheap, see
above), at most ``FAST_SAMPLES`` of them; every SLOW_SAMPLE_MS while it computes."""
BLOCKED_RATIO = 0.5
STACK_DEPTH = 64
STACK_KEEP = 8

_CTOOL_DIR = Path(__file__).resolve().parent.parent
_TOOL_DIRS = tuple(
    str(p) + os.sep for p in _CTOOL_DIR.iterdir() if p.is_dir() and p.name != "pipeline"
)
"""Every package of ctool but the reference pipeline (user code as far as ctool is concerned)."""


def _library_prefixes() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    found = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    found |= {p for p in sys.path if p.endswith(("site-packages", "dist-packages"))}
    return tuple(sorted({str(Path(p).resolve()) + os.sep for p in found if p}, key=len))


class FrameClassifier:
    """Sorts source files into the pipeline's code, libraries, and ctool's own machinery.

    ``user_roots`` are directories that always hold the pipeline's code (its own package),
    even when it is installed under site-packages.
    """

    def __init__(self, user_roots: Sequence[str] = ()) -> None:
        self._libs = _library_prefixes()
        resolved = [Path(r).resolve() for r in user_roots]
        self._user = tuple(str(r) + os.sep if r.is_dir() else str(r) for r in resolved)
        self._cache: dict[str, str] = {}

    def kind(self, filename: str) -> str:
        known = self._cache.get(filename)
        if known is not None:
            return known
        if filename.startswith("<"):
            result = "library"  # <frozen ...>, <string>
        else:
            path = str(Path(filename).resolve())
            if path.startswith(_TOOL_DIRS):
                result = "tool"
            elif self._user and path.startswith(self._user):
                result = "user"
            elif path.startswith(str(_CTOOL_DIR) + os.sep):
                result = "user"  # ctool.pipeline and friends: a pipeline, even if installed
            elif path.startswith(self._libs):
                result = "library"
            else:
                result = "user"
        self._cache[filename] = result
        return result


def pipeline_roots(ref: str) -> list[str]:
    """Where the pipeline's own code lives: its top-level package's directories, or its file.

    Call after the pipeline was imported.
    """
    top = ref.partition(":")[0].split(".")[0]
    module = sys.modules.get(top)
    if module is None:
        return []
    paths = [str(p) for p in getattr(module, "__path__", None) or []]
    file = getattr(module, "__file__", None)
    if not paths and file:
        paths = [str(file)]
    return paths


@dataclass
class _Frame:
    file: str
    line: int
    function: str
    module: str


def _walk(frame: FrameType | None) -> list[_Frame]:
    frames: list[_Frame] = []
    while frame is not None and len(frames) < STACK_DEPTH:
        code = frame.f_code
        module = frame.f_globals.get("__name__", "?")
        # f_lineno is None between instructions that carry no line (e.g. a RESUME).
        line = frame.f_lineno or code.co_firstlineno
        frames.append(_Frame(code.co_filename, line, code.co_qualname, str(module)))
        frame = frame.f_back
    return frames


class ThreadClock:
    """On-CPU and run-queue nanoseconds of one thread, read from any thread."""

    def __init__(self, ident: int, native_id: int) -> None:
        task_dir = f"/proc/self/task/{native_id}/"
        self._task_dir: str | None = task_dir if os.path.isdir(task_dir) else None
        self._schedstat: str | None = task_dir + "schedstat"
        self._cpu_clock: int | None = None
        getclock = getattr(time, "pthread_getcpuclockid", None)
        if getclock is not None:
            with contextlib.suppress(OSError):
                self._cpu_clock = getclock(ident)
        if self.read_schedstat() is None:
            self._schedstat = None

    @property
    def available(self) -> bool:
        return self._schedstat is not None or self._cpu_clock is not None

    def read_schedstat(self) -> tuple[int, int] | None:
        if self._schedstat is None:
            return None
        try:
            with open(self._schedstat, "rb") as handle:
                on_cpu, queued, _ = handle.read().split()
            return int(on_cpu), int(queued)
        except (OSError, ValueError):
            return None

    def state(self, rereads: int = 3) -> str | None:
        """``running``, ``sleeping`` (waiting in the kernel) or None (unknown).

        A futex wait is the GIL or a lock. Each /proc read releases the GIL, so a thread that
        only waited for the GIL holds it again a read or two later; a futex wait that lasts
        over ``rereads`` reads is a lock (or a condition, a queue): a blocking wait.
        """
        if self._task_dir is None:
            return None
        for _ in range(rereads):
            kind = self._read_state()
            if kind != "futex":
                return kind
        return "sleeping"

    def _read_state(self) -> str | None:
        assert self._task_dir is not None
        try:
            with open(self._task_dir + "stat", "rb") as handle:
                stat = handle.read()
            code = stat[stat.rindex(b")") + 2 : stat.rindex(b")") + 3]
            if code == b"R":
                return "running"
            if code not in (b"S", b"D"):
                return None
            with open(self._task_dir + "wchan", "rb") as handle:
                wchan = handle.read()
        except (OSError, ValueError):
            return None
        if b"futex" in wchan:
            return "futex"
        if not wchan or wchan == b"0":
            return None  # the kernel hides wchan here: fall back to the CPU-time estimate
        return "sleeping"

    def busy_ns(self) -> int:
        """Time the thread ran or wanted to run (waited in a run queue)."""
        stat = self.read_schedstat()
        if stat is not None:
            return stat[0] + stat[1]
        if self._cpu_clock is not None:
            with contextlib.suppress(OSError):
                return time.clock_gettime_ns(self._cpu_clock)
        return 0


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
    """Heartbeat + watchdog thread for the running event loop. ``start`` on the loop thread."""

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
        self._sample_s = sample_ms / 1e3
        self._locator = locator
        self._classifier = FrameClassifier(user_roots)
        self.summary = MonitorSummary()
        self._gc = GCMonitor()
        self._beat = perf_counter_ns()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._due = 0
        self._tid = 0
        self._clock: ThreadClock | None = None
        self.error: str | None = None

    # -- loop side ---------------------------------------------------------------------------

    def start(self) -> None:
        self._tid = threading.get_ident()
        clock = ThreadClock(self._tid, threading.get_native_id())
        self._clock = clock if clock.available else None
        self._beat = perf_counter_ns()
        self._gc.start()
        self._loop = asyncio.get_running_loop()
        self._due = self._beat + self._period
        self._handle = self._loop.call_later(self._period / 1e9, self._tick)
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="ctool-watchdog", daemon=True)
            self._thread.start()

    def stop(self) -> MonitorSummary:
        """Stop the heartbeat, the thread and the GC hook (safe after the loop is gone)."""
        self._stop.set()
        if self._handle is not None:
            self._handle.cancel()
        if self._thread is not None:
            self._thread.join()
        self._gc.stop()
        self.summary.gc_pause_ns = self._gc.pause_ns
        self.summary.gc_collections = self._gc.collections
        return self.summary

    @property
    def last_lag_ms(self) -> float:
        lags = self.summary.lag_ns
        return lags[-1] / 1e6 if lags else 0.0

    def _busy_ns(self) -> int:
        return self._clock.busy_ns() if self._clock is not None else 0

    def _tick(self) -> None:
        """The heartbeat: a timer callback (not a task, which would wake one loop pass late)."""
        now = perf_counter_ns()
        lag = max(now - self._due, 0)
        self.summary.lag_ns.append(lag)
        if self.enabled and lag >= self._threshold:
            self.summary.stalls += 1
            self.summary.stalled_ns += lag
        self._beat = now
        self._due = now + self._period
        if not self._stop.is_set() and self._loop is not None:
            self._handle = self._loop.call_later(self._period / 1e9, self._tick)

    # -- watchdog thread ---------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._watch()
        except Exception as exc:  # never take the run down; say so in the report
            self.error = f"the loop watchdog stopped: {type(exc).__name__}: {exc}"

    def _watch(self) -> None:
        stall: int | None = None
        samples: list[tuple[BlockingSite | None, str | None, int, int]] = []
        idle_ns = int(IDLE_CHECK_MS * 1e6)
        alert_ns = int(ALERT_MS * 1e6)
        last_alert = -alert_ns
        while not self._stop.is_set():
            beat = self._beat
            if stall is not None and beat != stall:
                if self._finish(stall, beat, samples, self._busy_ns()):
                    last_alert = beat
                stall, samples = None, []
            now = perf_counter_ns()
            due = beat + self._period + self._slack
            if now < due:
                alert = now - last_alert < alert_ns
                self._stop.wait((due - now if alert else max(due - now, idle_ns)) / 1e9)
                continue
            stall = beat
            site = self._sample()
            state = self._clock.state() if self._clock is not None and site is not None else None
            samples.append((site, state, perf_counter_ns(), self._busy_ns()))
            waiting = state == "sleeping" or (state is None and self._clock is None)
            fast = waiting and len(samples) < FAST_SAMPLES
            self._stop.wait(self._sample_s if fast else SLOW_SAMPLE_MS / 1e3)
        # A stall still open at stop is the harness's own shutdown (the heartbeat is being
        # cancelled by the loop thread itself): not the pipeline's doing, so it is dropped.

    def _sample(self) -> BlockingSite | None:
        frame = sys._current_frames().get(self._tid)
        if frame is None:
            return None
        frames = _walk(frame)
        del frame
        if not frames:
            return None
        # The episode's frames are those inside (innermost from) ctool's own: beyond the
        # first harness frame lie the event loop and the program that started the run.
        site_at: int | None = None
        for i, f in enumerate(frames):
            kind = self._classifier.kind(f.file)
            if kind == "tool":
                break
            if kind == "user":
                site_at = i
                break
        if site_at is None:
            return None  # the loop is idle or in ctool's own code: no pipeline call to blame
        site = frames[site_at]
        innermost = frames[0]
        callee = None
        if site_at > 0:
            callee = f"{innermost.module}.{innermost.function}"
        stage = self._locator.stage_of_stack((f.file, f.line) for f in frames)
        stack = [f"{f.file}:{f.line} in {f.function}" for f in frames[:STACK_KEEP]]
        return BlockingSite(site.function, site.file, site.line, None, callee, stage, stack)

    def _finish(
        self,
        beat_ns: int,
        end_ns: int,
        samples: list[tuple[BlockingSite | None, str | None, int, int]],
        busy_end: int,
    ) -> bool:
        """Credit a finished stall to its sampled sites; True if a blocking call was seen."""
        stalled = end_ns - beat_ns - self._period
        if stalled < self._threshold or not samples:
            return False
        share = stalled // len(samples)
        per_key: dict[tuple[str, int, str, str | None], tuple[BlockingSite, int]] = {}
        now = perf_counter_ns()
        for i, (site, state, t, busy) in enumerate(samples):
            if site is None:
                continue
            t_next, busy_next = samples[i + 1][2:] if i + 1 < len(samples) else (now, busy_end)
            kind: str | None = None
            if state is not None:
                kind = "cpu" if state == "running" else "blocking"
            elif self._clock is not None and t_next > t:
                asleep = 1.0 - (busy_next - busy) / (t_next - t)
                kind = "blocking" if asleep >= BLOCKED_RATIO else "cpu"
            key = (site.file, site.line, site.function, kind)
            held = per_key.get(key)
            if held is None:
                site.kind = kind
                per_key[key] = (site, share)
            else:
                per_key[key] = (held[0], held[1] + share)
        for key, (site, attributed) in per_key.items():
            known = self.summary.sites.get(key)
            if known is None:
                known = self.summary.sites[key] = site
            known.count += 1
            known.total_ns += attributed
            known.max_ns = max(known.max_ns, attributed)
            known.stage = known.stage or site.stage
        return any(site.kind == "blocking" for site, _ in per_key.values())
