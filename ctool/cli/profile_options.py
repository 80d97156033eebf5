"""``ctool profile``'s options as typed (parsed by Typer), resolved into one
:class:`RunConfig` that goes from the command line to the report (its ``config``).

Command line first, then ``[tool.ctool]`` defaults (:mod:`ctool.cli.defaults`), then the
built-ins of :mod:`ctool.run.config`; the result is validated once, by ``RunConfig``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ctool.cli.defaults import Defaults, pick
from ctool.run.config import (
    DEFAULT_BLOCK_THRESHOLD_MS,
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_EPISODE_TIMEOUT_S,
    DEFAULT_EPISODES,
    DEFAULT_PYSPY_RATE,
    DEFAULT_TOP,
    DEFAULT_WARMUP,
    RunConfig,
    parse_levels,
)
from ctool.workload.loader import DEFAULT_PIPELINE, parse_settings


@dataclass
class ProfileOptions:
    """``ctool profile``'s options as typed and parsed by Typer (None: not given), before
    ``[tool.ctool]`` defaults and the built-ins apply (:func:`resolve`)."""

    pipeline: str | None = None
    preset: str | None = None
    settings: list[str] = field(default_factory=list)
    seed: int | None = None
    episodes: int | None = None
    warmup: int | None = None
    concurrency: str | None = None
    rate: float | None = None
    duration: float | None = None
    burst: int | None = None
    workers: int | None = None
    rounds: int | None = None
    profilers: list[str] = field(default_factory=list)
    require: bool | None = None
    pyspy_rate: int | None = None
    line_targets: list[str] = field(default_factory=list)
    memory_targets: list[str] = field(default_factory=list)
    top: int | None = None
    hotspots: str | None = None
    user_code: list[str] = field(default_factory=list)
    block_threshold_ms: float | None = None
    episode_timeout: float | None = None
    command: str | None = None
    executor: str | None = None
    scheduler: str | None = None
    connect_timeout: float | None = None
    replica_samples: str | None = None


def resolve(options: ProfileOptions, defaults: Defaults | None = None) -> RunConfig:
    """Command line first, then ``[tool.ctool]`` defaults, then built-ins; validated."""
    d = defaults or Defaults()
    levels_text = pick(options.concurrency, d.get_levels("concurrency"), "")
    settings = {**d.get_settings(), **parse_settings(options.settings)}
    profilers = options.profilers or d.get_str_list("profilers") or []
    return RunConfig(
        pipeline=pick(options.pipeline, d.get_str("pipeline"), DEFAULT_PIPELINE),
        preset=pick(options.preset, d.get_str("preset"), None),
        seed=pick(options.seed, d.get_int("seed"), 0),
        settings=settings,
        episodes=pick(options.episodes, d.get_int("episodes"), DEFAULT_EPISODES),
        warmup=pick(options.warmup, d.get_int("warmup"), DEFAULT_WARMUP),
        concurrency=parse_levels(levels_text) if levels_text else (),
        rate=pick(options.rate, d.get_float("rate"), None),
        duration_s=pick(options.duration, d.get_float("duration"), None),
        burst=pick(options.burst, d.get_int("burst"), None),
        workers=pick(options.workers, d.get_int("workers"), 1),
        rounds=pick(options.rounds, d.get_int("rounds"), 1),
        profilers=tuple(profilers),
        require=pick(options.require, d.get_bool("require"), False),
        pyspy_rate=pick(
            options.pyspy_rate,
            d.get_int("pyspy_rate"),
            DEFAULT_PYSPY_RATE,
        ),
        line_targets=tuple(options.line_targets or d.get_str_list("line_target") or ()),
        memory_targets=tuple(options.memory_targets or d.get_str_list("memory_target") or ()),
        top=pick(options.top, d.get_int("top"), DEFAULT_TOP),
        hotspots=pick(options.hotspots, d.get_str("hotspots"), "boundary"),
        user_code=tuple(options.user_code or d.get_str_list("user_code") or ()),
        block_threshold_ms=pick(
            options.block_threshold_ms,
            d.get_float("block_threshold_ms"),
            DEFAULT_BLOCK_THRESHOLD_MS,
        ),
        episode_timeout_s=pick(
            options.episode_timeout,
            d.get_float("episode_timeout"),
            DEFAULT_EPISODE_TIMEOUT_S,
        ),
        command=options.command,
        executor=pick(options.executor, d.get_str("executor"), "local"),
        scheduler=pick(options.scheduler, d.get_str("scheduler"), None),
        connect_timeout_s=pick(
            options.connect_timeout,
            d.get_float("connect_timeout"),
            DEFAULT_CONNECT_TIMEOUT_S,
        ),
        replica_samples_dir=Path(options.replica_samples) if options.replica_samples else None,
    )
