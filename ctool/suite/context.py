"""What the scenarios share: the pipeline under test, the mode, the targets, and cached runs.

Several scenarios read the same run (the headline sequential run feeds latency, stages,
blocking calls, hand-offs, bytes/s and Φ), so runs are made once and cached by name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ctool.model.errors import UsageError
from ctool.model.schema import ProfileReport
from ctool.suite.targets import Target

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Sizes:
    """How long each kind of run lasts; ``quick`` keeps the whole suite under two minutes."""

    episodes: int
    warmup: int
    level_episodes: int
    profiled_episodes: int
    sustained_s: float
    burst: int
    rate: float
    rate_duration_s: float
    workers: int
    worker_episodes: int
    leak_episodes: int
    leak_warmup: int
    leak_every: int
    behaviour_episodes: int
    ab_rounds: int
    ab_episodes: int
    phi_warmup: int
    phi_episodes: int
    correctness_episodes: int

    @classmethod
    def for_mode(cls, quick: bool) -> Sizes:
        cores = os.cpu_count() or 1
        if quick:
            return cls(
                episodes=200, warmup=10, level_episodes=20, profiled_episodes=40,
                sustained_s=5.0, burst=100, rate=15.0, rate_duration_s=8.0,
                workers=min(2, cores), worker_episodes=100, leak_episodes=200,
                leak_warmup=20, leak_every=10, behaviour_episodes=60, ab_rounds=6,
                ab_episodes=30, phi_warmup=1000, phi_episodes=1000,
                correctness_episodes=300,
            )  # fmt: skip
        return cls(
            episodes=1000, warmup=20, level_episodes=200, profiled_episodes=200,
            sustained_s=60.0, burst=100, rate=15.0, rate_duration_s=600.0,
            workers=min(4, cores), worker_episodes=500, leak_episodes=1000,
            leak_warmup=100, leak_every=20, behaviour_episodes=300, ab_rounds=10,
            ab_episodes=100, phi_warmup=1000, phi_episodes=3000,
            correctness_episodes=1000,
        )  # fmt: skip


@dataclass
class SuiteContext:
    pipeline: str
    preset: str | None
    seed: int
    settings: Mapping[str, Any]
    quick: bool
    targets: dict[str, Target]
    progress: Progress = field(default=lambda _: None)
    executor: str = "local"
    """Where the scaling scenario's replicas run (``ctool suite --executor``)."""
    scheduler: str | None = None
    pool_factory: Callable[..., Any] | None = None
    sizes: Sizes = field(init=False)
    resolved_preset: str | None = field(default=None, init=False)
    """The preset the pipeline says it runs (its default when ``preset`` is None)."""
    _runs: dict[str, ProfileReport] = field(default_factory=dict, init=False)
    _cache: dict[str, Any] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.sizes = Sizes.for_mode(self.quick)

    def profile(self, name: str, **overrides: Any) -> ProfileReport:
        """A ``ctool profile`` run of the pipeline under test, made once per ``name``."""
        if name not in self._runs:
            from ctool.run.config import RunConfig
            from ctool.run.runner import run_profile

            options: dict[str, Any] = {
                "pipeline": self.pipeline,
                "preset": self.preset,
                "seed": self.seed,
                "settings": dict(self.settings),
                "warmup": self.sizes.warmup,
            }
            options.update(overrides)
            self.progress(f"running {name}")
            replicated = options.get("executor", "local") != "local"
            factory = self.pool_factory if replicated else None
            report = run_profile(RunConfig(**options), pool_factory=factory)
            if not report.complete:
                raise KeyboardInterrupt
            self._runs[name] = report
        return self._runs[name]

    def cached(self, name: str, make: Callable[[], Any]) -> Any:
        if name not in self._cache:
            self.progress(f"running {name}")
            self._cache[name] = make()
        return self._cache[name]

    def main_run(self) -> ProfileReport:
        return self.profile("sequential", episodes=self.sizes.episodes)

    def supports(self, **settings: Any) -> str | None:
        """None when the pipeline accepts these settings / preset, else the reason it does not."""
        import asyncio

        from ctool.workload.loader import build_pipeline

        preset = settings.pop("preset", self.preset)
        try:
            adapter = build_pipeline(
                self.pipeline, seed=self.seed, preset=preset,
                settings={**self.settings, **settings},
            )  # fmt: skip
        except UsageError as exc:
            return exc.message
        if not settings and preset == self.preset:
            published = adapter.metrics().get("preset")
            self.resolved_preset = published if isinstance(published, str) else self.preset
        asyncio.run(adapter.aclose())
        return None
