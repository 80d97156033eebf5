"""MCEA, arousal: how awake the system is, which sets the ESGT ignition threshold.

* Arousal lives in [0, 1] with baseline 0.6. Its target is the baseline plus the needs'
  contributions (repair +0.3, rest -0.2, efficiency +0.1, connectivity +0.15), clamped.
  Arousal moves toward the target at most 0.05 up / 0.02 down per simulated second.
* A refractory drop after an ignition: the effective arousal is lowered by
  ``refractory_drop``, decaying exponentially with time constant ``refractory_recovery_ms``.
  It is transient (it does not accumulate into the slow arousal), so a busy workspace
  cannot ratchet the system to sleep.
* Φ nudges arousal: after an ignition, arousal rises by ``phi_arousal_gain * tanh(Φ)``
  times the headroom ``1 - arousal``.
* Five levels: sleep < 0.2 <= drowsy < 0.4 <= relaxed < 0.6 <= alert < 0.8 <= hyperalert.
* ESGT threshold = clamp(0.70 / (0.5 + 1.5 * effective arousal), 0.30, 0.95).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ctool.pipeline.mmei import Needs, clamp

LEVELS = ("sleep", "drowsy", "relaxed", "alert", "hyperalert")


def arousal_level(arousal: float) -> str:
    return LEVELS[min(int(arousal / 0.2), len(LEVELS) - 1)]


def ignition_threshold(arousal: float) -> float:
    return clamp(0.70 / (0.5 + 1.5 * arousal), 0.30, 0.95)


@dataclass(frozen=True, slots=True)
class ArousalState:
    arousal: float
    """Effective arousal (the slow arousal minus the transient refractory drop)."""
    level: str
    threshold: float


class ArousalController:
    def __init__(
        self,
        *,
        baseline: float,
        rise_per_s: float,
        fall_per_s: float,
        refractory_drop: float,
        refractory_recovery_ms: float,
        phi_gain: float,
    ) -> None:
        self.baseline = baseline
        self.arousal = baseline
        self._rise = rise_per_s
        self._fall = fall_per_s
        self._drop = refractory_drop
        self._recovery_ms = refractory_recovery_ms
        self._phi_gain = phi_gain
        self._last_ms: float | None = None
        self._last_ignition_ms: float | None = None

    def update(self, needs: Needs, time_ms: float) -> ArousalState:
        elapsed_s = 0.0 if self._last_ms is None else max(0.0, time_ms - self._last_ms) / 1000.0
        self._last_ms = time_ms if self._last_ms is None else max(self._last_ms, time_ms)
        target = clamp(
            self.baseline
            + 0.3 * needs.repair
            - 0.2 * needs.rest
            + 0.1 * needs.efficiency
            + 0.15 * needs.connectivity
        )
        delta = target - self.arousal
        if delta > 0:
            self.arousal += min(delta, self._rise * elapsed_s)
        else:
            self.arousal += max(delta, -self._fall * elapsed_s)
        effective = self.arousal
        if self._last_ignition_ms is not None:
            since = max(0.0, time_ms - self._last_ignition_ms)
            effective = clamp(effective - self._drop * math.exp(-since / self._recovery_ms))
        return ArousalState(effective, arousal_level(effective), ignition_threshold(effective))

    def ignited(self, time_ms: float, phi: float) -> None:
        """After an ignition: start the refractory drop; Φ nudges the slow arousal up."""
        self._last_ignition_ms = time_ms
        self.arousal = clamp(self.arousal + self._phi_gain * math.tanh(phi) * (1.0 - self.arousal))
