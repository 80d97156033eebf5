"""The order of a profile run's shapes (docs/design.md section 3): the sequential part (in
process, in rounds or on replicas), the concurrency levels, the open loop, the burst. Each
part lands in :class:`~ctool.run.parts.Parts` as it ends."""

from __future__ import annotations

from collections.abc import Callable

from ctool.model.records import PartRecords
from ctool.run.arrivals import burst, open_loop
from ctool.run.config import DEFAULT_EPISODES, RunConfig
from ctool.run.observing import Notices, Observers
from ctool.run.parts import Parts
from ctool.run.replicas import ReplicaOutcome, ReplicaPool, ScalingRun
from ctool.run.shapes import LoadDriver
from ctool.run.workers import WorkerSpec, run_rounds

PoolFactory = Callable[[WorkerSpec, RunConfig], ReplicaPool]
"""Makes the replicas of a replicated run (``--executor dask``: ``ctool.executors.dask``)."""


def planned_episodes(cfg: RunConfig) -> int | None:
    """The measured episodes the run plans (``None`` for a duration run)."""
    if cfg.duration_s is not None:
        return None
    total = 0
    if cfg.runs_sequential:
        if cfg.rounds > 1:
            total += cfg.episodes * cfg.rounds
        elif cfg.replicated:
            total += cfg.episodes * cfg.workers
        else:
            total += cfg.episodes
    total += sum(cfg.level_episodes(c) for c in cfg.concurrency)
    if cfg.rate is not None:
        total += cfg.episodes or DEFAULT_EPISODES
    total += cfg.burst or 0
    return total


def worker_spec(cfg: RunConfig) -> WorkerSpec:
    return WorkerSpec(
        pipeline=cfg.pipeline,
        seed=cfg.seed,
        preset=cfg.preset,
        settings=dict(cfg.settings),
        warmup=cfg.warmup,
        block_threshold_ms=cfg.block_threshold_ms,
        samples_dir=str(cfg.replica_samples_dir) if cfg.replica_samples_dir else None,
        episode_timeout_s=cfg.episode_timeout_s,
    )


class Schedule:
    """Drives the shapes ``config`` asks for, in order, into ``parts``."""

    def __init__(
        self, config: RunConfig, driver: LoadDriver, observers: Observers, notices: Notices
    ) -> None:
        self.config = config
        self.driver = driver
        self.observers = observers
        self.notices = notices
        self.parts = Parts()
        self.scaling: ScalingRun | None = None

    async def run(self, pool_factory: PoolFactory) -> None:
        cfg, driver, parts = self.config, self.driver, self.parts
        if cfg.runs_sequential:
            parts.current = ("sequential", 0)
            episodes = None if cfg.sequential_duration_s is not None else cfg.episodes
            if cfg.rounds > 1:
                await run_rounds(
                    worker_spec(cfg),
                    cfg.rounds,
                    episodes=episodes,
                    duration_s=cfg.sequential_duration_s,
                    on_round=self._round_done,
                )
            elif cfg.replicated:
                await self._replicas(pool_factory, episodes)
            else:
                parts.sequential = await driver.sequential(
                    episodes=episodes, duration_s=cfg.sequential_duration_s
                )
        for level in cfg.concurrency:
            parts.current = ("concurrency", level)
            episodes = None if cfg.duration_s is not None else cfg.level_episodes(level)
            part = await driver.closed_loop(level, episodes=episodes, duration_s=cfg.duration_s)
            parts.levels.append((level, part))
        if cfg.rate is not None:
            parts.current = ("rate", 0)
            arrivals = None if cfg.duration_s is not None else (cfg.episodes or DEFAULT_EPISODES)
            parts.open_loop = await open_loop(
                driver, cfg.rate, arrivals=arrivals, duration_s=cfg.duration_s
            )
        if cfg.burst is not None:
            parts.current = ("burst", cfg.burst)
            parts.burst = await burst(driver, cfg.burst)

    async def _replicas(self, pool_factory: PoolFactory, episodes: int | None) -> None:
        cfg = self.config
        self.scaling = ScalingRun(pool_factory(worker_spec(cfg), cfg), cfg.pipeline)
        result = self.parts.workers = await self.scaling.run(
            cfg.workers, episodes=episodes, duration_s=cfg.sequential_duration_s
        )
        for message in result.warnings:
            self.notices(message)
        for failed in result.failed:
            self.notices(f"{failed.error}; the run went on with the other replicas")
        # Dask replicas serve their own exporters: the parent's (the observer that lists
        # them, ``set_targets``) must not count their episodes a second time.
        self._replay(result.merged, skip_exporters=cfg.executor != "local")

    def _round_done(self, outcome: ReplicaOutcome) -> None:
        self.parts.rounds.append(outcome)
        if outcome.part is not None:
            self._replay(outcome.part)
        else:
            self.notices(f"{outcome.error}; the run went on with the other rounds")

    def _replay(self, part: PartRecords, *, skip_exporters: bool = False) -> None:
        """Observers see the episodes of worker processes when their part comes back."""
        if not self.observers:
            return
        for latency in part.latencies:
            self.observers.episode(
                self.driver.runner.next_index, latency, skip_exporters=skip_exporters
            )
            self.driver.runner.next_index += 1

    def abandon(self) -> None:
        """The run was cut: what the replicas measured so far, and the parts still open."""
        if self.scaling is not None and self.scaling.result is not None:
            self.parts.workers = self.scaling.result
        self.parts.keep_open(self.driver.book.abandon())
