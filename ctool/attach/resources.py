"""CPU and RSS of a foreign process over time (psutil), in the report's ``Resources`` form."""

from __future__ import annotations

import os
import threading
from time import perf_counter_ns
from typing import Any

INTERVAL_S = 0.1


class ProcessSampler:
    """A thread reading the target's CPU times and RSS every ``interval_s``."""

    def __init__(self, pid: int, interval_s: float = INTERVAL_S) -> None:
        import psutil

        self._process = psutil.Process(pid)
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ctool-attach-sampler", daemon=True)
        self._points: list[dict[str, float]] = []
        self._t0 = 0
        self._cpu0 = 0.0
        self._last = (0, 0.0)
        self._rss0 = 0.0
        self._rss = 0.0
        self._peak = 0.0
        self._cpu_max = 0.0
        self.ended = False

    def _read(self) -> tuple[float, float] | None:
        import psutil

        try:
            with self._process.oneshot():
                times = self._process.cpu_times()
                rss = float(self._process.memory_info().rss)
        except psutil.Error:
            self.ended = True
            return None
        return times.user + times.system, rss

    def start(self) -> None:
        first = self._read()
        self._t0 = perf_counter_ns()
        cpu, rss = first if first is not None else (0.0, 0.0)
        self._cpu0, self._rss0, self._rss, self._peak = cpu, rss, rss, rss
        self._last = (self._t0, cpu)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval) and not self.ended:
            self._tick()

    def _tick(self) -> None:
        read = self._read()
        if read is None:
            return
        cpu, rss = read
        now = perf_counter_ns()
        last_t, last_cpu = self._last
        percent = 100.0 * (cpu - last_cpu) / ((now - last_t) / 1e9) if now > last_t else 0.0
        if now - last_t >= self._interval * 0.5e9:
            self._cpu_max = max(self._cpu_max, percent)
        self._last = (now, cpu)
        self._rss = rss
        self._peak = max(self._peak, rss)
        self._points.append(
            {
                "t_s": (now - self._t0) / 1e9,
                "cpu_percent": percent,
                "rss_mb": rss / 2**20,
                "queue_depth": 0.0,
                "loop_lag_ms": 0.0,
            }
        )

    def stop(self) -> dict[str, Any]:
        """The ``Resources`` fields: CPU of one core (mean, max), of the machine, RSS."""
        self._stop.set()
        self._thread.join()
        self._tick()
        wall = (self._last[0] - self._t0) / 1e9
        mean = 100.0 * (self._last[1] - self._cpu0) / wall if wall > 0 else None
        return {
            "cpu_percent_mean": mean,
            "cpu_percent_max": max(self._cpu_max, mean or 0.0),
            "cpu_percent_total_mean": mean / (os.cpu_count() or 1) if mean is not None else None,
            "rss_mb_start": self._rss0 / 2**20,
            "rss_mb_end": self._rss / 2**20,
            "rss_mb_peak": self._peak / 2**20,
            "timeline": self._points,
        }
