"""What a ``ctool leakcheck`` run is asked to do: plain values, validated before it starts.

The run itself (episodes, memory samples, the attribution window) is ``ctool.leak.runner``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ctool.analysis.leak import (
    DEFAULT_GROWTH_FLOOR_PCT,
    DEFAULT_HORIZON,
    DEFAULT_RESOLUTION,
    DEFAULT_THRESHOLD,
    MIN_SAMPLES,
    Criteria,
)
from ctool.model.errors import UsageError

DEFAULT_EPISODES = 1000
DEFAULT_WARMUP = 100
DEFAULT_EVERY = 20
DEFAULT_MAX_EPISODES = 40_000
DEFAULT_MAX_SECONDS = 600.0
ENGINES = ("tracemalloc", "memray")
DEFAULT_FRAMES = 8
"""Traceback depth of the attribution window: enough to climb from an allocation a few
helper calls deep back to the ``with ctool.span(...)`` line of its stage."""
MIB = 1 << 20
MAX_RSS_SHARE = 0.5
"""The default memory budget: this share of the machine's physical memory."""


def default_max_rss() -> int:
    """Half of this machine's physical memory (4 GiB where it cannot be read): a leak
    check never takes the machine, and a leak proven before the budget stops earlier."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        total = 8 << 30
    return int(MAX_RSS_SHARE * total)


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
    max_episodes: int | None = None
    """Budget; ``None``: ``DEFAULT_MAX_EPISODES``, or ``episodes`` when that is larger."""
    max_seconds: float = DEFAULT_MAX_SECONDS
    horizon: int = DEFAULT_HORIZON
    resolution: float = DEFAULT_RESOLUTION
    engine: str = "tracemalloc"
    max_rss: int | None = None
    """Memory budget, bytes of RSS: the run stops before the process grows past it;
    ``None``: ``default_max_rss()``."""

    def sample_points(self) -> list[int]:
        """Measured-episode counts at which memory is sampled in the first round: 0, k,
        2k, ..., and its end."""
        return self.points_between(0, self.episodes)

    def points_between(self, done: int, target: int) -> list[int]:
        """Sample points after ``done`` up to ``target``: multiples of ``every``, and
        ``target`` itself (``0`` too when ``done`` is 0)."""
        points = [p for p in range(done - done % self.every, target + 1, self.every) if p > done]
        if done == 0:
            points.insert(0, 0)
        if points[-1] != target:
            points.append(target)
        return points

    def budget_episodes(self) -> int:
        if self.max_episodes is not None:
            return self.max_episodes
        return max(DEFAULT_MAX_EPISODES, self.episodes)

    def rss_budget(self) -> int:
        return self.max_rss if self.max_rss is not None else default_max_rss()

    def max_samples(self) -> int:
        """Room for every sample the whole budget can take (each round's end included)."""
        return self.budget_episodes() // self.every + 2 + 2 * len(self.rounds())

    def rounds(self) -> list[int]:
        """Measured episodes at the end of each round: doubling from ``episodes``, with a
        stop at the horizon, up to ``max_episodes``."""
        budget = self.budget_episodes()
        ends = [min(self.episodes, budget)]
        while ends[-1] < budget:
            nxt = 2 * ends[-1]
            if ends[-1] < self.horizon < nxt:
                nxt = self.horizon
            ends.append(min(nxt, budget))
        return ends

    def criteria(self) -> Criteria:
        return Criteria(
            threshold=self.threshold,
            growth_floor_pct=self.growth_floor_pct,
            resolution=self.resolution,
            horizon=self.horizon,
        )

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
        if self.max_episodes is not None and self.max_episodes < self.episodes:
            raise UsageError(
                f"--max-episodes ({self.max_episodes}) must be at least --episodes "
                f"({self.episodes})"
            )
        if not self.max_seconds > 0:
            raise UsageError(f"--max-seconds must be above 0 (got {self.max_seconds:g})")
        if self.horizon < 1:
            raise UsageError(f"--horizon must be at least 1 (got {self.horizon})")
        if not self.resolution >= 0:
            raise UsageError(f"--resolution must be 0 or more (got {self.resolution:g})")
        if self.max_rss is not None and self.max_rss <= 0:
            raise UsageError(f"--max-rss must be above 0 (got {self.max_rss // MIB} MiB)")
        if self.engine not in ENGINES:
            raise UsageError(f"unknown --engine {self.engine!r} (choose from {', '.join(ENGINES)})")
        samples = len(self.sample_points())
        if samples < MIN_SAMPLES:
            raise UsageError(
                f"--episodes {self.episodes} with --every {self.every} gives {samples} samples; "
                f"a slope needs at least {MIN_SAMPLES} (raise --episodes or lower --every)"
            )
