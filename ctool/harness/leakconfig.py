"""What a ``ctool leakcheck`` run is asked to do: plain values, validated before it starts.

The run itself (episodes, memory samples, the attribution window) is ``ctool.harness.leak``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ctool.analysis.leak import DEFAULT_GROWTH_FLOOR_PCT, DEFAULT_THRESHOLD, MIN_SAMPLES
from ctool.model.errors import UsageError

DEFAULT_EPISODES = 1000
DEFAULT_WARMUP = 100
DEFAULT_EVERY = 20
DEFAULT_FRAMES = 8
"""Traceback depth of the attribution window: enough to climb from an allocation a few
helper calls deep back to the ``with ctool.span(...)`` line of its stage."""


@dataclass(frozen=True)
class LeakcheckOptions:
    """What ``ctool leakcheck`` was asked to do, as plain values."""

    pipeline: str | None = None
    preset: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    episodes: int = DEFAULT_EPISODES
    warmup: int = DEFAULT_WARMUP
    every: int = DEFAULT_EVERY
    threshold: float = DEFAULT_THRESHOLD
    growth_floor_pct: float = DEFAULT_GROWTH_FLOOR_PCT
    top: int = 10
    frames: int = DEFAULT_FRAMES
    command: str | None = None

    def sample_points(self) -> list[int]:
        """Measured-episode counts at which memory is sampled: 0, k, 2k, ..., and the end."""
        points = list(range(0, self.episodes + 1, self.every))
        if points[-1] != self.episodes:
            points.append(self.episodes)
        return points

    def validate(self) -> None:
        """Raise a one-line ``UsageError`` for options that cannot give a verdict."""
        if self.every < 1:
            raise UsageError(f"--every must be at least 1 (got {self.every})")
        if self.episodes < 1:
            raise UsageError(f"--episodes must be at least 1 (got {self.episodes})")
        if self.episodes < self.every:
            raise UsageError(
                f"--episodes ({self.episodes}) must be at least --every ({self.every})"
            )
        if self.warmup < 0:
            raise UsageError(f"--warmup must be 0 or more (got {self.warmup})")
        if not self.threshold >= 0:  # also rejects NaN
            raise UsageError(
                f"--threshold must be 0 or more bytes per episode (got {self.threshold:g})"
            )
        if not self.growth_floor_pct >= 0:
            raise UsageError(f"--growth-floor must be 0 or more (got {self.growth_floor_pct:g})")
        if self.top < 1:
            raise UsageError(f"--top must be at least 1 (got {self.top})")
        if not 1 <= self.frames <= 100:
            raise UsageError(f"--frames must be between 1 and 100 (got {self.frames})")
        samples = len(self.sample_points())
        if samples < MIN_SAMPLES:
            raise UsageError(
                f"--episodes {self.episodes} with --every {self.every} gives {samples} samples; "
                f"a slope needs at least {MIN_SAMPLES} (raise --episodes or lower --every)"
            )
