"""What a ``ctool profile`` run is asked to do: one frozen value, validated once.

How the options combine (documented in docs/profiling.md):

* The **sequential part** runs ``episodes`` episodes one after another (``episodes = 0``
  skips it). With ``duration_s`` and no concurrency or rate, it runs for that long instead
  (a sustained run; drift is measured between its first and last windows). It gives the
  headline latency, the stage table, the batches, the rounds and the output digest.
* **Load shapes** run after it, in the same process, each adding rows to ``load``:
  ``concurrency`` (closed loop; per level ``duration_s`` seconds if given, else
  ``max(episodes, 10 x level)`` episodes), ``rate`` (open loop for ``duration_s``, else for
  ``episodes`` arrivals), ``burst`` (that many episodes queued at once).
* With ``episodes = 0`` the headline comes from all load-shape episodes together.
* ``workers`` runs the sequential part in N processes at once (plus 1, 2, 4, ... workers for
  the scaling rows); ``rounds`` runs it in R fresh processes one after another.
* ``executor`` says where the N replicas run: ``local`` worker processes, or ``dask`` tasks
  on a cluster (``scheduler``, else a LocalCluster); load shapes always run in this process
  (docs/scale-out.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ctool.model.errors import UsageError
from ctool.workload.loader import DEFAULT_PIPELINE

if TYPE_CHECKING:
    from ctool.model.schema import RunConfigModel

DEFAULT_EPISODES = 200
DEFAULT_WARMUP = 5
DEFAULT_TOP = 10
DEFAULT_PYSPY_RATE = 100
DEFAULT_BLOCK_THRESHOLD_MS = 5.0
MAX_CONCURRENCY = 10_000
MAX_WORKERS = 256
MAX_COUNT = 1_000_000_000
"""The most episodes a count takes (ctool.cli.options bounds the options alike)."""
MAX_ROUNDS = 10_000
MIN_LEVEL_EPISODES_PER_SLOT = 10
DEFAULT_CONNECT_TIMEOUT_S = 10.0
EXECUTORS = ("local", "dask")
DEFAULT_EPISODE_TIMEOUT_S = 300.0
"""``--episode-timeout``: five minutes. Far above any episode one would run hundreds of times
(profiling a 5-minute episode 200 times takes 17 hours), so it never cuts a real measurement,
and short enough that a hung episode is reported in minutes instead of never. 0 turns it off."""


@dataclass(frozen=True)
class RunConfig:
    pipeline: str = DEFAULT_PIPELINE
    preset: str | None = None
    seed: int = 0
    settings: Mapping[str, Any] = field(default_factory=dict)
    episodes: int = DEFAULT_EPISODES
    warmup: int = DEFAULT_WARMUP
    concurrency: tuple[int, ...] = ()
    rate: float | None = None
    duration_s: float | None = None
    burst: int | None = None
    workers: int = 1
    rounds: int = 1
    profilers: tuple[str, ...] = ()
    require: bool = False
    pyspy_rate: int = DEFAULT_PYSPY_RATE
    line_targets: tuple[str, ...] = ()
    memory_targets: tuple[str, ...] = ()
    top: int = DEFAULT_TOP
    hotspots: str = "boundary"
    user_code: tuple[str, ...] = ()
    block_threshold_ms: float = DEFAULT_BLOCK_THRESHOLD_MS
    episode_timeout_s: float = DEFAULT_EPISODE_TIMEOUT_S
    artifacts_dir: Path | None = None
    command: str | None = None
    executor: str = "local"
    """Where replicas run: ``local`` (worker processes here) or ``dask`` (a Dask cluster)."""
    scheduler: str | None = None
    """``--executor dask``: the scheduler's address; ``None`` starts a LocalCluster."""
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    replica_samples_dir: Path | None = None
    """Each replica also writes its raw latencies (ns, one a line) here, on its own host."""

    def __post_init__(self) -> None:
        self.validate()

    @property
    def has_load_shapes(self) -> bool:
        return bool(self.concurrency) or self.rate is not None or self.burst is not None

    @property
    def measures_in_process(self) -> bool:
        """Whether measured episodes run in this process (so its metrics are theirs): the
        sequential part without rounds or replicas, or any load shape."""
        sequential_here = self.runs_sequential and not self.replicated and self.rounds == 1
        return sequential_here or self.has_load_shapes

    @property
    def replicated(self) -> bool:
        """The sequential part runs in replica processes (``--workers N``, ``--executor dask``)."""
        return self.workers > 1 or self.executor != "local"

    @property
    def sequential_duration_s(self) -> float | None:
        """The sustained sequential part's length, when ``duration_s`` applies to it."""
        if self.duration_s is not None and not self.concurrency and self.rate is None:
            return self.duration_s
        return None

    @property
    def runs_sequential(self) -> bool:
        return self.episodes > 0 or self.sequential_duration_s is not None

    def to_model(self, settings: Mapping[str, Any] | None = None) -> RunConfigModel:
        """The report's form of this configuration (``config`` in every report).

        ``settings`` are the pipeline's resolved settings (its preset applied), when known;
        the settings asked for on the command line win over them.
        """
        from ctool.model.schema import RunConfigModel

        return RunConfigModel(
            pipeline=self.pipeline,
            preset=self.preset,
            seed=self.seed,
            episodes=self.episodes,
            warmup=self.warmup,
            concurrency=list(self.concurrency) or None,
            rate=self.rate,
            duration_s=self.duration_s,
            burst=self.burst,
            workers=self.workers,
            rounds=self.rounds,
            profilers=list(self.profilers),
            settings={**(settings or {}), **self.settings},
            command=self.command,
            block_threshold_ms=self.block_threshold_ms,
            executor=None if self.executor == "local" else self.executor,
            scheduler=self.scheduler,
        )

    @classmethod
    def from_model(cls, model: RunConfigModel) -> RunConfig:
        """The configuration a report was made with, to run it again (checked as a new one)."""
        return cls(
            pipeline=model.pipeline,
            preset=model.preset,
            seed=model.seed if model.seed is not None else 0,
            settings=dict(model.settings),
            episodes=model.episodes if model.episodes is not None else DEFAULT_EPISODES,
            warmup=model.warmup,
            concurrency=tuple(model.concurrency or ()),
            rate=model.rate,
            duration_s=model.duration_s,
            burst=model.burst,
            workers=model.workers,
            rounds=model.rounds,
            profilers=tuple(model.profilers),
            block_threshold_ms=(
                model.block_threshold_ms
                if model.block_threshold_ms is not None
                else DEFAULT_BLOCK_THRESHOLD_MS
            ),
            command=model.command,
            executor=model.executor or "local",
            scheduler=model.scheduler,
        )

    def level_episodes(self, concurrency: int) -> int:
        return max(self.episodes or DEFAULT_EPISODES, MIN_LEVEL_EPISODES_PER_SLOT * concurrency)

    def validate(self) -> None:
        _at_least("--episodes", self.episodes, 0, MAX_COUNT)
        _at_least("--warmup", self.warmup, 0, MAX_COUNT)
        _at_least("--workers", self.workers, 1, MAX_WORKERS)
        _at_least("--rounds", self.rounds, 1, MAX_ROUNDS)
        _at_least("--top", self.top, 1)
        _at_least("--pyspy-rate", self.pyspy_rate, 1, 10_000)
        if self.hotspots not in ("boundary", "user", "all"):
            raise UsageError(
                f"--hotspots must be one of boundary, user, all; got {self.hotspots!r}"
            )
        for level in self.concurrency:
            _at_least("--concurrency", level, 1, MAX_CONCURRENCY)
        if self.burst is not None:
            _at_least("--burst", self.burst, 1, 1_000_000)
        _positive("--rate", self.rate)
        _positive("--duration", self.duration_s)
        if not math.isfinite(self.block_threshold_ms) or self.block_threshold_ms < 0:
            raise UsageError(
                f"--block-threshold-ms must be >= 0 (0 turns the watchdog off), "
                f"got {self.block_threshold_ms}"
            )
        if not math.isfinite(self.episode_timeout_s) or self.episode_timeout_s < 0:
            raise UsageError(
                f"--episode-timeout must be >= 0 seconds (0 turns it off), "
                f"got {self.episode_timeout_s}"
            )
        if not self.runs_sequential and not self.has_load_shapes:
            raise UsageError(
                "nothing to run: --episodes 0 needs --concurrency, --rate, --burst or --duration"
            )
        self._validate_executor()
        if self.workers > 1 and self.rounds > 1:
            raise UsageError("--workers and --rounds cannot be combined; pick one")
        if self.profilers and (self.workers > 1 or self.rounds > 1):
            raise UsageError(
                "--profiler runs in this process; it cannot be combined with --workers or --rounds"
            )
        if (self.workers > 1 or self.rounds > 1) and not self.runs_sequential:
            raise UsageError("--workers and --rounds run the sequential part; --episodes is 0")

    def _validate_executor(self) -> None:
        if self.executor not in EXECUTORS:
            raise UsageError(f"--executor must be local or dask, got {self.executor!r}")
        _positive("--connect-timeout", self.connect_timeout_s)
        if self.scheduler is not None and self.executor != "dask":
            raise UsageError("--scheduler needs --executor dask")
        if self.executor == "dask":
            if self.rounds > 1 or self.profilers:
                raise UsageError("--executor dask cannot be combined with --rounds or --profiler")
            if not self.runs_sequential:
                raise UsageError("--executor dask runs the sequential part; --episodes is 0")


def _at_least(option: str, value: int, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{option} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"between {low} and {high}"
        raise UsageError(f"{option} must be {bounds}, got {value}")


def _positive(option: str, value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(f"{option} must be a number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"{option} must be a positive number, got {value}")


def parse_levels(text: str) -> tuple[int, ...]:
    """``"1,5,10"`` -> ``(1, 5, 10)``: positive integers, sorted, without repeats."""
    levels: set[int] = set()
    for item in text.replace(" ", "").split(","):
        if not item:
            continue
        try:
            level = int(item)
        except ValueError:
            raise UsageError(
                f"--concurrency expects comma-separated positive integers, got {text!r}"
            ) from None
        _at_least("--concurrency", level, 1, MAX_CONCURRENCY)
        levels.add(level)
    if not levels:
        raise UsageError(f"--concurrency expects comma-separated positive integers, got {text!r}")
    return tuple(sorted(levels))
