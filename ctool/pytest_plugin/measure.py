"""Run a test body under the harness: the timed run (``run_profile``), then, when the marker
asks, the memory pass and leakcheck (``run_leakcheck``), all in this process."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ctool.pytest_plugin.options import MarkOptions
from ctool.run.config import RunConfig

if TYPE_CHECKING:
    from ctool.model.leak_schema import LeakcheckReport
    from ctool.model.schema import ProfileReport
    from ctool.workload.episode_memory import EpisodeMemory


@dataclass(frozen=True)
class LevelConfig(RunConfig):
    """A run of one closed-loop level of exactly ``level_count`` episodes (no sequential part)."""

    level_count: int = 0

    def level_episodes(self, concurrency: int) -> int:
        return self.level_count or super().level_episodes(concurrency)


@dataclass
class Measured:
    report: ProfileReport
    memory: EpisodeMemory | None = None
    leak: LeakcheckReport | None = None


def run_config(ref: str, options: MarkOptions, command: str) -> RunConfig:
    """The ``ctool profile`` configuration of a marked test: warm-up, then ``episodes``
    episodes, one at a time or ``concurrency`` at once."""
    common: dict[str, Any] = {
        "pipeline": ref,
        "warmup": options.warmup,
        "block_threshold_ms": options.block_threshold_ms,
        "command": command,
    }
    if options.concurrency == 1:
        return RunConfig(episodes=options.episodes, **common)
    return LevelConfig(
        episodes=0,
        concurrency=(options.concurrency,),
        level_count=options.episodes,
        **common,
    )


def measure(ref: str, body: Any, options: MarkOptions, command: str) -> Measured:
    """Everything the marker asks for, on ``body`` provided as the pipeline ``ref``."""
    from ctool.run.runner import run_profile
    from ctool.workload.loader import provided

    with provided(ref, body):
        measured = Measured(report=run_profile(run_config(ref, options, command)))
        if not measured.report.complete:
            raise KeyboardInterrupt
        if options.measures_memory:
            measured.memory = memory_pass(ref, body, options)
        if options.no_leak:
            measured.leak = leak_pass(ref, options, command)
    return measured


def memory_pass(ref: str, body: Any, options: MarkOptions) -> EpisodeMemory:
    from ctool.workload.episode_memory import measure_episode_memory
    from ctool.workload.loader import PipelineAdapter

    adapter = PipelineAdapter(body, ref)
    first = options.warmup + options.episodes
    return asyncio.run(
        measure_episode_memory(adapter, episodes=options.memory_episodes, first_index=first)
    )


def leak_pass(ref: str, options: MarkOptions, command: str) -> LeakcheckReport:
    from ctool.leak.config import LeakcheckOptions
    from ctool.leak.runner import run_leakcheck
    from ctool.model.errors import UsageError

    defaults = LeakcheckOptions()
    leak_options = LeakcheckOptions(
        pipeline=ref,
        command=command,
        episodes=_or(options.leak_episodes, defaults.episodes),
        warmup=_or(options.leak_warmup, defaults.warmup),
        every=_or(options.leak_every, defaults.every),
    )
    # One round of the marker's episodes (leakcheck is sequential by default: rounds that
    # double up to a horizon); growth steady over that round is the marker's leak.
    leak_options = dataclasses.replace(
        leak_options, horizon=leak_options.episodes, max_episodes=leak_options.episodes
    )
    try:
        leak_options.validate()
    except UsageError as exc:  # worded for the command line: name the marker's options
        raise UsageError(
            f"no_leak: leak_episodes={leak_options.episodes}, leak_every={leak_options.every}"
            f", leak_warmup={leak_options.warmup}: {exc.message}"
        ) from None
    report = run_leakcheck(leak_options)
    if not report.complete:
        raise KeyboardInterrupt
    return report


def _or(value: int | None, default: int) -> int:
    return default if value is None else value
