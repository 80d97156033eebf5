"""What a leakcheck run hands over: its episode errors, everything it measured as plain data
(``LeakMeasurement``, assembled into the report by ``ctool.analysis.leak_report``), and which
allocations are ctool's own (``is_own_trace``).

The run itself is ``ctool.leak.runner``; this module is what it hands over.
"""

from __future__ import annotations

import functools
import json
import traceback
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ctool.analysis.leak import Frame
from ctool.analysis.leak_report import LeakMeasurement
from ctool.leak.heap import (
    by_name,
    count_types,
    count_types_in_thread,
    ctool_roots,
    growth_since,
    resolved,
    type_sites,
)
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


def measured(run: LeakRun, ref: str, *, duration_s: float) -> LeakMeasurement:
    """What was measured, as plain data: sample columns cut to the samples taken, types
    by name, error samples as models."""
    from ctool.host.environment import capture_environment
    from ctool.model.schema import ErrorSample, LeakBudget, RunConfigModel, now_iso

    options = run.options
    n = run.taken
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
        complete=not run.interrupted,
        planned_episodes=run.target,
        episodes=run.done,
        warmup=options.warmup,
        every=options.every,
        criteria=options.criteria(),
        top=options.top,
        sample_episodes=list(run.sample_episode[:n]),
        sample_traced=list(run.sample_traced[:n]),
        sample_rss=list(run.sample_rss[:n]),
        sample_objects=list(run.sample_objects[:n]),
        analysis=run.analysis,
        sites=run.sites,
        start_types=by_name(run.start_types),
        end_types=by_name(run.end_types),
        latency_ns=run.latency_ns[: run.done],
        error_count=run.errors.count,
        error_samples=[
            ErrorSample(episode=i, type=t, message=m, stack=s) for i, t, m, s in run.errors.samples
        ],
        traceback_frames=run.traceback_frames,
        attribution_episodes=run.attribution_episodes,
        duration_s=duration_s,
        engine=options.engine,
        budget=LeakBudget(
            first_round=options.episodes,
            max_episodes=options.budget_episodes(),
            max_seconds=options.max_seconds,
            horizon=options.horizon,
            resolution=options.resolution,
            rounds=list(run.rounds),
            exhausted=run.exhausted,
            max_rss=options.rss_budget(),
        ),
        mid_types=json.loads(run.mid_blob) if run.mid_blob else None,
        mid_episode=run.mid_episode,
        type_sites=named_type_sites(run.type_sites),
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


@functools.cache
def _bookkeeping_code() -> tuple[tuple[str, int, int], ...]:
    """(file, first line, last line) of the functions that sample, snapshot and count."""
    from ctool.leak.runner import LeakRun, warm_analysis

    ranges = []
    for fn in (
        LeakRun.begin,
        LeakRun.sample,
        LeakRun.judge,
        LeakRun.count_mid_types,
        LeakRun.end,
        LeakRun.conclude,
        LeakRun.report,
        measured,
        Errors.add,
        growth_since,
        count_types,
        count_types_in_thread,
        type_sites,
        warm_analysis,
    ):
        code = fn.__code__
        lines = [line for _, _, line in code.co_lines() if line is not None]
        ranges.append((code.co_filename, min(lines), max(lines)))
    return tuple(ranges)


def inside_driver(frames: Sequence[Frame]) -> tuple[Frame, ...]:
    """The frames inside this module's driver: what called ``ctool leakcheck`` is not the
    pipeline's business (innermost first, so cut at the first frame of this file)."""
    from ctool.leak import runner as leak

    here = resolved(leak.__file__)
    kept: list[Frame] = []
    for frame in frames:
        if resolved(frame[0]) == here:
            break
        kept.append(frame)
    return tuple(kept)


def is_own_trace(frames: Sequence[Frame]) -> bool:
    """An allocation made by ctool itself: its innermost frame is ctool's, or it happened
    while ctool was sampling (a snapshot, a count, an error sample)."""
    if not frames:
        return True
    if resolved(frames[0][0]).startswith(ctool_roots()):
        return True
    ranges = _bookkeeping_code()
    return any(
        filename == name and first <= line <= last
        for filename, line in frames
        for name, first, last in ranges
    )
