"""``ctool profile``'s options as typed, and how they resolve into a :class:`RunConfig`.

Command line first, then ``[tool.ctool]`` defaults (:mod:`ctool.cli.defaults`), then the
built-ins of :mod:`ctool.run.config`; the result is validated once, by ``RunConfig``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ctool.cli.defaults import Defaults, pick
from ctool.model.errors import UsageError
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
    """``ctool profile``'s options exactly as typed (None: not given), before defaults apply."""

    pipeline: str | None = None
    preset: str | None = None
    settings: list[str] = field(default_factory=list)
    seed: str | None = None
    episodes: str | None = None
    warmup: str | None = None
    concurrency: str | None = None
    rate: str | None = None
    duration: str | None = None
    burst: str | None = None
    workers: str | None = None
    rounds: str | None = None
    profilers: list[str] = field(default_factory=list)
    require: bool | None = None
    pyspy_rate: str | None = None
    line_targets: list[str] = field(default_factory=list)
    memory_targets: list[str] = field(default_factory=list)
    top: str | None = None
    hotspots: str | None = None
    user_code: list[str] = field(default_factory=list)
    block_threshold_ms: str | None = None
    episode_timeout: str | None = None
    command: str | None = None
    executor: str | None = None
    scheduler: str | None = None
    connect_timeout: str | None = None
    replica_samples: str | None = None


def parse_int(option: str, text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text.strip().replace("_", ""))
    except ValueError:
        raise UsageError(f"{option} must be an integer, got {text!r}") from None


def parse_float(option: str, text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text.strip())
    except ValueError:
        raise UsageError(f"{option} must be a number, got {text!r}") from None


def resolve(options: ProfileOptions, defaults: Defaults | None = None) -> RunConfig:
    """Command line first, then ``[tool.ctool]`` defaults, then built-ins; validated."""
    d = defaults or Defaults()
    levels_text = pick(options.concurrency, d.get_levels("concurrency"), "")
    settings = {**d.get_settings(), **parse_settings(options.settings)}
    profilers = options.profilers or d.get_str_list("profilers") or []
    return RunConfig(
        pipeline=pick(options.pipeline, d.get_str("pipeline"), DEFAULT_PIPELINE),
        preset=pick(options.preset, d.get_str("preset"), None),
        seed=pick(parse_int("--seed", options.seed), d.get_int("seed"), 0),
        settings=settings,
        episodes=pick(
            parse_int("--episodes", options.episodes), d.get_int("episodes"), DEFAULT_EPISODES
        ),
        warmup=pick(parse_int("--warmup", options.warmup), d.get_int("warmup"), DEFAULT_WARMUP),
        concurrency=parse_levels(levels_text) if levels_text else (),
        rate=pick(parse_float("--rate", options.rate), d.get_float("rate"), None),
        duration_s=pick(parse_float("--duration", options.duration), d.get_float("duration"), None),
        burst=pick(parse_int("--burst", options.burst), d.get_int("burst"), None),
        workers=pick(parse_int("--workers", options.workers), d.get_int("workers"), 1),
        rounds=pick(parse_int("--rounds", options.rounds), d.get_int("rounds"), 1),
        profilers=tuple(profilers),
        require=pick(options.require, d.get_bool("require"), False),
        pyspy_rate=pick(
            parse_int("--pyspy-rate", options.pyspy_rate),
            d.get_int("pyspy_rate"),
            DEFAULT_PYSPY_RATE,
        ),
        line_targets=tuple(options.line_targets or d.get_str_list("line_target") or ()),
        memory_targets=tuple(options.memory_targets or d.get_str_list("memory_target") or ()),
        top=pick(parse_int("--top", options.top), d.get_int("top"), DEFAULT_TOP),
        hotspots=pick(options.hotspots, d.get_str("hotspots"), "boundary"),
        user_code=tuple(options.user_code or d.get_str_list("user_code") or ()),
        block_threshold_ms=pick(
            parse_float("--block-threshold-ms", options.block_threshold_ms),
            d.get_float("block_threshold_ms"),
            DEFAULT_BLOCK_THRESHOLD_MS,
        ),
        episode_timeout_s=pick(
            parse_float("--episode-timeout", options.episode_timeout),
            d.get_float("episode_timeout"),
            DEFAULT_EPISODE_TIMEOUT_S,
        ),
        command=options.command,
        executor=pick(options.executor, d.get_str("executor"), "local"),
        scheduler=pick(options.scheduler, d.get_str("scheduler"), None),
        connect_timeout_s=pick(
            parse_float("--connect-timeout", options.connect_timeout),
            d.get_float("connect_timeout"),
            DEFAULT_CONNECT_TIMEOUT_S,
        ),
        replica_samples_dir=Path(options.replica_samples) if options.replica_samples else None,
    )
