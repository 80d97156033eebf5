"""MMEI, interoception: synthetic bodily metrics -> needs, plus a real process-health probe.

The needs come from deterministic synthetic "physical" metrics driven by the stimulus
stream (so they are identical on every machine): a CPU load (moving average of stimulus
intensity and urgency), a memory working set (moving average of novelty), an error count
(urgent threat stimuli in a sliding window), a latency that rises with load, and idle time
(consecutive low-intensity episodes). From them:

* rest = 0.6 cpu + 0.4 memory
* repair = errors / 10
* efficiency = (latency - 20 ms) / 180 ms
* connectivity = 1 - mean relevance over the window
* curiosity = 1 - exp(-idle / tau), growing while idle

all clamped to [0, 1].

:class:`HealthProbe` is separate and real: psutil's CPU percent (over an interval) and RSS
of this process, for telemetry only -- it never feeds an output. ``inline`` mode calls it
on the event loop every episode, blocking the loop for the interval, as such probes do in
the wild; ``offloop`` mode samples the same call in a daemon thread and the episode only
reads the latest sample.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from ctool.pipeline.stimulus import Stimulus


def clamp(value: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return lo if value < lo else hi if value > hi else value


@dataclass(frozen=True, slots=True)
class Needs:
    rest: float
    repair: float
    efficiency: float
    connectivity: float
    curiosity: float

    def as_dict(self) -> dict[str, float]:
        return {
            "rest": self.rest,
            "repair": self.repair,
            "efficiency": self.efficiency,
            "connectivity": self.connectivity,
            "curiosity": self.curiosity,
        }


class InteroceptionMonitor:
    """Synthetic physical metrics and the needs derived from them (MMEI)."""

    def __init__(self, *, window: int, curiosity_tau_s: float, episode_ms: float) -> None:
        self.cpu = 0.3
        self.memory = 0.4
        self.idle_s = 0.0
        self._episode_s = episode_ms / 1000.0
        self._curiosity_tau_s = curiosity_tau_s
        self._errors: deque[bool] = deque(maxlen=window)
        self._relevance: deque[float] = deque(maxlen=window)
        self._error_count = 0
        self._relevance_sum = 0.0

    def update(self, stimulus: Stimulus) -> Needs:
        load = 0.1 + 0.9 * stimulus.intensity * (0.5 + 0.5 * stimulus.urgency)
        self.cpu = 0.85 * self.cpu + 0.15 * load
        self.memory = 0.97 * self.memory + 0.03 * (0.2 + 0.8 * stimulus.novelty)
        error = stimulus.modality == "threat" and stimulus.urgency > 0.85
        if len(self._errors) == self._errors.maxlen:
            self._error_count -= self._errors[0]
            self._relevance_sum -= self._relevance[0]
        self._errors.append(error)
        self._relevance.append(stimulus.relevance)
        self._error_count += error
        self._relevance_sum += stimulus.relevance
        self.idle_s = self.idle_s + self._episode_s if stimulus.intensity < 0.3 else 0.0
        latency_ms = 20.0 + 180.0 * self.cpu * self.cpu
        return Needs(
            rest=clamp(0.6 * self.cpu + 0.4 * self.memory),
            repair=clamp(self._error_count / 10.0),
            efficiency=clamp((latency_ms - 20.0) / 180.0),
            connectivity=clamp(1.0 - self._relevance_sum / len(self._relevance)),
            curiosity=clamp(1.0 - math.exp(-self.idle_s / self._curiosity_tau_s)),
        )


class HealthProbe:
    """psutil CPU percent and RSS of this process: inline (blocking) or off the loop."""

    def __init__(self, mode: str, interval_s: float) -> None:
        import psutil

        self.mode = mode
        self.interval_s = interval_s
        self._process = psutil.Process()
        self.samples = 0
        self.cpu_percent = 0.0
        self.rss_bytes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _read(self) -> None:
        # The interval makes psutil sleep between its two CPU-time readings: on the event
        # loop this blocks every other task for that long.
        cpu = self._process.cpu_percent(interval=self.interval_s or None)
        rss = self._process.memory_info().rss
        self.cpu_percent, self.rss_bytes = float(cpu), int(rss)
        self.samples += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            self._read()
            if self.interval_s <= 0.0:
                self._stop.wait(0.01)  # psutil does not block at interval 0: pace the thread

    def sample(self) -> None:
        """Called once per episode, on the event loop."""
        if self.mode == "inline":
            self._read()
        elif self._thread is None and not self._stop.is_set():
            self._thread = threading.Thread(target=self._run, name="ctool-health", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def stats(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "interval_ms": self.interval_s * 1000.0,
            "samples": self.samples,
            "cpu_percent": self.cpu_percent,
            "rss_mb": self.rss_bytes / 1e6,
        }
