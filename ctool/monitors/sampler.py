"""A sampler thread: process CPU, RSS and queue depth over time.

Every ``interval`` it reads the process's CPU times and resident set size (with
``include_children``, the worker processes too: CPU of live children plus that of children
already reaped), the harness's current queue depth and the latest loop lag, appends a
timeline point, and hands the point to the observers (``on_sample``).

CPU percent is of one core (100 = one core busy; it can exceed 100 with threads or
workers); the mean over the run is total CPU time over wall time, not a mean of samples.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Sequence
from time import perf_counter_ns
from typing import Any

from ctool.monitors.observer import RunObserver

DEFAULT_INTERVAL_S = 0.1
MAX_TIMELINE_POINTS = 600


class ResourceSampler:
    def __init__(
        self,
        *,
        queue_depth: Callable[[], int],
        loop_lag_ms: Callable[[], float],
        observers: Sequence[RunObserver] = (),
        interval_s: float = DEFAULT_INTERVAL_S,
        include_children: bool = False,
        on_observer_error: Callable[[RunObserver, BaseException], None] | None = None,
    ) -> None:
        import psutil

        self._process = psutil.Process(os.getpid())
        self._queue_depth = queue_depth
        self._loop_lag_ms = loop_lag_ms
        self._observers = list(observers)
        self._interval = interval_s
        self._children = include_children
        self._on_observer_error = on_observer_error
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._points: list[dict[str, float]] = []
        self._t0 = 0
        self._cpu0 = 0.0
        self._rss0 = 0.0
        self._peak = 0.0
        self._cpu_max = 0.0
        self._last: tuple[int, float] = (0, 0.0)
        self._child_cpu: dict[int, float] = {}

    def _cpu_and_rss(self) -> tuple[float, float]:
        """CPU seconds and RSS bytes of the process (and its children when asked)."""
        import psutil

        times = self._process.cpu_times()
        cpu = times.user + times.system
        rss = float(self._process.memory_info().rss)
        if self._children:
            cpu += times.children_user + times.children_system  # children already reaped
            live: set[int] = set()
            for child in self._process.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    ct = child.cpu_times()
                    child_rss = child.memory_info().rss
                    self._child_cpu[child.pid] = ct.user + ct.system
                    rss += child_rss
                    live.add(child.pid)
            cpu += sum(v for pid, v in self._child_cpu.items() if pid in live)
        return cpu, rss

    def start(self) -> None:
        self._t0 = perf_counter_ns()
        self._cpu0, rss = self._cpu_and_rss()
        self._rss0 = self._peak = rss
        self._last = (self._t0, self._cpu0)
        self._thread = threading.Thread(target=self._run, name="ctool-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._tick()

    def _tick(self) -> dict[str, float]:
        import psutil

        try:
            cpu, rss = self._cpu_and_rss()
        except psutil.Error:
            return {}
        now = perf_counter_ns()
        last_t, last_cpu = self._last
        percent = 100.0 * (cpu - last_cpu) / ((now - last_t) / 1e9) if now > last_t else 0.0
        self._last = (now, cpu)
        # CPU times tick in 10 ms steps: a window much shorter than the interval (the last
        # one, cut by stop()) can read several hundred percent. Only full windows set the max.
        if now - last_t >= self._interval * 0.5e9:
            self._cpu_max = max(self._cpu_max, percent)
        self._peak = max(self._peak, rss)
        depth = self._queue_depth()
        lag = self._loop_lag_ms()
        point = {
            "t_s": (now - self._t0) / 1e9,
            "cpu_percent": percent,
            "rss_mb": rss / 2**20,
            "queue_depth": float(depth),
            "loop_lag_ms": lag,
        }
        self._points.append(point)
        for observer in list(self._observers):
            try:
                observer.on_sample(
                    queue_depth=depth, loop_lag_ms=lag, cpu_percent=percent, rss_mb=rss / 2**20
                )
            except Exception as exc:
                self._observers.remove(observer)
                if self._on_observer_error is not None:
                    self._on_observer_error(observer, exc)
        return point

    def stop(self) -> dict[str, Any]:
        """What was sampled, keyed by the report's ``Resources`` field names."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        end = self._tick()
        wall = (perf_counter_ns() - self._t0) / 1e9
        mean = 100.0 * (self._last[1] - self._cpu0) / wall if wall > 0 else None
        peak = self._peak
        with contextlib.suppress(ImportError, AttributeError, OSError):
            import resource

            # ru_maxrss is in KiB on Linux: the true peak, even between samples.
            own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0
            if not self._children:
                peak = max(peak, own_peak)
        cpus = os.cpu_count() or 1
        return {
            "cpu_percent_mean": mean,
            "cpu_percent_max": max(self._cpu_max, mean or 0.0),
            "cpu_percent_total_mean": mean / cpus if mean is not None else None,
            "rss_mb_start": self._rss0 / 2**20,
            "rss_mb_end": end.get("rss_mb", self._rss0 / 2**20),
            "rss_mb_peak": peak / 2**20,
            "timeline": downsample(self._points, MAX_TIMELINE_POINTS),
        }


def downsample(points: list[dict[str, Any]], limit: int) -> list[dict[str, float]]:
    """Keep at most ``limit`` points; of each group keep the one with the deepest queue."""
    if len(points) <= limit:
        return points
    step = len(points) / limit
    out = []
    for i in range(limit):
        group = points[int(i * step) : int((i + 1) * step)] or [points[int(i * step)]]
        out.append(max(group, key=lambda p: (p.get("queue_depth", 0), p.get("loop_lag_ms", 0))))
    return out
