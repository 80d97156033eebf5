"""What a leakcheck run hands over: its episode errors and everything it measured as plain
data (``LeakMeasurement``, assembled into the report by ``ctool.analysis.leak_report``).
Which allocations are ctool's own is ``ctool.leak.bookkeeping``.

The run itself is ``ctool.leak.runner``; this module is what it hands over.
"""

from __future__ import annotations

import traceback
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ctool.analysis.leak_report import LeakMeasurement
from ctool.leak.bookkeeping import bookkeeping
from ctool.leak.heap import by_name
from ctool.spans import LOCATOR

if TYPE_CHECKING:
    from ctool.leak.runner import LeakRun

MAX_ERROR_SAMPLES = 3


class Errors:
    __slots__ = ("by_type", "count", "samples")

    def __init__(self) -> None:
        self.count = 0
        self.samples: list[tuple[int, str, str, str]] = []
        self.by_type: dict[str, int] = {}

    @bookkeeping
    def add(self, index: int, exc: BaseException) -> None:
        self.count += 1
        name = type(exc).__name__
        self.by_type[name] = self.by_type.get(name, 0) + 1
        if len(self.samples) < MAX_ERROR_SAMPLES:
            # File, line and function only: formatting source lines would fill linecache
            # and the caret-anchor caches, growth that is ctool's and not the pipeline's.
            frames = traceback.StackSummary.extract(
                traceback.walk_tb(exc.__traceback__), lookup_lines=False
            )
            stack = "\n".join(f"{f.filename}:{f.lineno} in {f.name}" for f in frames[-8:])
            # A copy made here, so that the retained text is ctool's, not the pipeline's.
            message = str(exc).encode("utf-8", "replace").decode("utf-8")
            self.samples.append((index, type(exc).__name__, message, stack))


@bookkeeping
def measured(run: LeakRun, ref: str, *, duration_s: float) -> LeakMeasurement:
    """What was measured, as plain data: sample columns cut to the samples taken, types
    by name, error samples as models."""
    from ctool.host.environment import capture_environment
    from ctool.model.schema import ErrorSample, LeakBudget, RunConfigModel, now_iso

    options, progress, meter = run.options, run.progress, run.meter
    census = meter.census
    episodes, traced, rss, objects = meter.samples.columns()
    return LeakMeasurement(
        config=RunConfigModel(
            pipeline=ref,
            preset=options.preset,
            seed=options.seed,
            episodes=options.episodes,
            warmup=options.warmup,
            settings=dict(options.settings),
            command=options.command,
        ),
        environment=capture_environment(),
        created_at=now_iso(),
        complete=not progress.interrupted,
        planned_episodes=progress.target,
        episodes=progress.done,
        warmup=options.warmup,
        every=options.every,
        criteria=options.criteria(),
        top=options.top,
        sample_episodes=episodes,
        sample_traced=traced,
        sample_rss=rss,
        sample_objects=objects,
        analysis=meter.verdicts.analysis,
        sites=run.sites.sites,
        start_types=by_name(census.start),
        end_types=by_name(census.end),
        latency_ns=meter.samples.latency_ns[: progress.done],
        error_count=run.errors.count,
        error_samples=[
            ErrorSample(episode=i, type=t, message=m, stack=s) for i, t, m, s in run.errors.samples
        ],
        traceback_frames=meter.tracing.frames,
        attribution_episodes=run.sites.attribution_episodes,
        duration_s=duration_s,
        engine=options.engine,
        budget=LeakBudget(
            first_round=options.episodes,
            max_episodes=options.budget_episodes(),
            max_seconds=options.max_seconds,
            horizon=options.horizon,
            resolution=options.resolution,
            rounds=list(progress.rounds),
            exhausted=progress.exhausted,
            max_rss=options.rss_budget(),
        ),
        mid_types=census.mid_types(),
        mid_episode=census.mid_episode,
        type_sites=named_type_sites(census.type_sites),
        error_by_type=dict(run.errors.by_type),
    )


def named_type_sites(
    type_sites: Mapping[str, Counter[tuple[str, int]]],
) -> dict[str, tuple[str, str | None]]:
    """Per type, its most frequent allocation line and that line's stage."""
    out: dict[str, tuple[str, str | None]] = {}
    for name, tally in type_sites.items():
        if tally:
            (filename, line), _ = tally.most_common(1)[0]
            out[name] = (f"{filename}:{line}", LOCATOR.stage_of_stack([(filename, line)]))
    return out


def growing_types(start: Counter[type], end: Counter[type], top: int) -> set[str]:
    """Names of the ``top`` types whose live count grew most."""
    before, after = by_name(start), by_name(end)
    grown = sorted(
        ((count - before.get(name, 0), name) for name, count in after.items()), reverse=True
    )
    return {name for growth, name in grown[:top] if growth > 0}
