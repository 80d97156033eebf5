"""line_profiler backend: time per line of a few functions.

Which functions: the ones named with ``--line-target module:function`` (repeatable), or,
when none is named, the 3 hottest functions of the user's code found by a short cProfile
*pass* at the start of the run (``options.extra["line_pass_s"]``, default 0.2 s: enough
for the hot functions to stand out, short enough to leave most of a default run to line
timing).

The pass and the switch to line timing must both happen on the episode thread (cProfile and
line_profiler hook the thread that enables them). So during the pass a minimal trace
function watches function calls on that thread (it returns at once, asking for no line
events) and, once a timer has marked the pass as over, the next call performs the switch:
cProfile off, functions chosen, line_profiler on. This works for sync and async drivers
alike and costs one cheap callback per Python call during the pass only.

Line timings cover the run after the switch. A run that ends during the pass reports the
functions it chose and no line timings. The chosen targets are kept, so a restart (the
overhead calibration) times the same functions without a second pass.

Artifacts: ``line_profile.lprof`` (``python -m line_profiler line_profile.lprof``) and the
same table as text in ``line_profile.txt``.
"""

from __future__ import annotations

import linecache
import sys
import threading
import time
import types
from typing import Any, ClassVar

from ctool.model.schema import Hotspot
from ctool.profilers.base import (
    Availability,
    ProfilerFragment,
    ProfilerOptions,
    requires_module,
)
from ctool.profilers.cprofile import (
    FunctionStat,
    fold_library,
    function_stats,
    hottest_workload,
)
from ctool.profilers.stages import StageSampler, StageVotes, resolve_stage
from ctool.profilers.targets import function_for_code, resolve_target, target_name
from ctool.spans import LOCATOR

DEFAULT_PASS_S = 0.2
AUTO_TARGETS = 3


def line_table(
    timings: dict[tuple[str, int, str], list[tuple[int, int, int]]],
    unit: float,
    names: dict[tuple[str, int], str],
    votes: StageVotes,
) -> list[dict[str, Any]]:
    """One entry per profiled function: its lines with hits, time and share of the function."""
    table = []
    for (filename, first_line, code_name), lines in sorted(timings.items()):
        function = names.get((filename, first_line), code_name)
        total = sum(time for _, _, time in lines) * unit
        rows = []
        for lineno, hits, raw in lines:
            if hits == 0:
                continue
            seconds = raw * unit
            stage = (
                LOCATOR.stage_at(filename, lineno)
                or votes.stage((filename, lineno))
                or resolve_stage(votes, (filename, first_line, code_name), filename, name=code_name)
            )
            rows.append(
                {
                    "line": lineno,
                    "hits": hits,
                    "time_ms": seconds * 1e3,
                    "per_hit_us": seconds * 1e6 / hits,
                    "share": seconds / total if total else 0.0,
                    "source": linecache.getline(filename, lineno).strip(),
                    "stage": stage,
                }
            )
        table.append(
            {
                "function": function,
                "file": filename,
                "first_line": first_line,
                "total_ms": total * 1e3,
                "lines": rows,
            }
        )
    return table


def line_hotspots(
    table: list[dict[str, Any]], *, top: int, profiler: str, timed_ms: float
) -> list[Hotspot]:
    """The hottest lines across all profiled functions, with their share of the ``timed_ms``
    the line profiler ran (a line's time includes the calls it makes)."""
    total = timed_ms or 1.0
    lines = [(entry, row) for entry in table for row in entry["lines"]]
    lines.sort(key=lambda pair: pair[1]["time_ms"], reverse=True)
    return [
        Hotspot(
            profiler=profiler,
            function=entry["function"],
            file=entry["file"],
            line=row["line"],
            calls=row["hits"],
            self_ms=row["time_ms"],
            share=row["time_ms"] / total,
            stage=row["stage"],
            extra={"source": row["source"], "per_hit_us": row["per_hit_us"]},
        )
        for entry, row in lines[:top]
    ]


class LineProfilerBackend:
    name: ClassVar[str] = "line"
    description: ClassVar[str] = "line_profiler: time per line of named or auto-chosen functions"

    def __init__(self) -> None:
        self._options: ProfilerOptions | None = None
        self._chosen: list[types.FunctionType] = []
        self._chosen_by = ""
        self._line: Any = None
        self._pass: Any = None
        self._pass_stats: list[FunctionStat] = []
        self._pass_s = 0.0
        self._switched_after_s: float | None = None
        self._thread = 0
        self._started_at = 0.0
        self._lines_since = 0.0
        self._due = threading.Event()
        self._timer: threading.Timer | None = None
        self._previous_trace: Any = None
        self._sampler: StageSampler | None = None

    def claims(self, options: ProfilerOptions) -> frozenset[str]:
        """Hooks it sets on the episode thread (the session refuses two users of one hook)."""
        if options.line_targets or self._chosen:
            return frozenset({"sys.settrace"})
        return frozenset({"sys.settrace", "sys.setprofile"})

    def availability(self) -> Availability:
        return requires_module("line_profiler", "line-profiler")

    def start(self, options: ProfilerOptions) -> None:
        if options.line_targets:
            self._chosen = [resolve_target(t, option="--line-target") for t in options.line_targets]
            self._chosen_by = "--line-target"
        self._options = options
        self._thread = threading.get_ident()
        self._switched_after_s = None
        self._started_at = time.perf_counter()
        self._sampler = StageSampler(self._thread)
        self._sampler.start()
        if self._chosen:
            self._begin_lines()
            return
        import cProfile

        self._pass_s = float(options.extra.get("line_pass_s", DEFAULT_PASS_S))
        self._pass = cProfile.Profile()
        self._pass.enable()
        self._schedule_switch()

    def _schedule_switch(self) -> None:
        self._due.clear()
        self._timer = threading.Timer(self._pass_s, self._due.set)
        self._timer.daemon = True
        self._timer.start()
        self._previous_trace = sys.gettrace()
        sys.settrace(self._watch)

    def _watch(self, frame: types.FrameType, event: str, arg: Any) -> None:
        """Trace function of the pass: on the first call after the pass is due, switch."""
        if self._due.is_set():
            self._switch()

    def _unschedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if sys.gettrace() == self._watch:
            sys.settrace(self._previous_trace)
        self._previous_trace = None

    def _end_pass(self) -> None:
        """Stop the cProfile pass and choose the hottest functions of the user's code."""
        profile, self._pass = self._pass, None
        if profile is None:
            return
        profile.disable()
        self._pass_stats = function_stats(profile.getstats())
        fold_library(self._pass_stats)
        self._chosen = [
            function
            for stat in hottest_workload(self._pass_stats, AUTO_TARGETS)
            if stat.code is not None and (function := function_for_code(stat.code)) is not None
        ]
        self._chosen_by = f"cProfile pass of {self._pass_s:g} s"

    def _switch(self) -> None:
        if self._pass is None:
            return
        self._unschedule()
        self._end_pass()
        self._switched_after_s = time.perf_counter() - self._started_at
        if self._chosen:
            self._begin_lines()

    def _begin_lines(self) -> None:
        import line_profiler

        profiler = line_profiler.LineProfiler()
        for function in self._chosen:
            profiler.add_function(function)
        profiler.enable_by_count()
        self._line = profiler
        self._lines_since = time.perf_counter()

    def stop(self) -> ProfilerFragment:
        options, sampler = self._options, self._sampler
        if options is None or sampler is None:
            raise RuntimeError("line: stop() without start()")
        self._options = self._sampler = None
        self._unschedule()
        self._end_pass()
        line, self._line = self._line, None
        sampler.stop()
        votes = sampler.votes()
        metadata: dict[str, Any] = {
            "targets": [target_name(f) for f in self._chosen],
            "chosen_by": self._chosen_by,
            "switched_after_s": self._switched_after_s,
            "pass_top": [  # what the cProfile pass saw: own time, library calls folded in
                {"function": stat.function, "file": stat.filename, "own_ms": stat.self_s * 1e3}
                for stat in hottest_workload(self._pass_stats, AUTO_TARGETS * 2)
            ],
        }
        if line is None:
            metadata["functions"] = []
            metadata["note"] = (
                "the run ended during the cProfile pass that chooses functions to time; "
                "run longer or name them with --line-target"
                if self._chosen
                else "the cProfile pass saw no Python function of the workload; "
                "name one with --line-target"
            )
            return ProfilerFragment(name=self.name, metadata=metadata)
        line.disable_by_count()
        timed_ms = (time.perf_counter() - self._lines_since) * 1e3
        stats = line.get_stats()
        names = {
            (f.__code__.co_filename, f.__code__.co_firstlineno): f.__qualname__
            for f in self._chosen
        }
        table = line_table(stats.timings, stats.unit, names, votes)
        lprof = options.output_dir / "line_profile.lprof"
        text = options.output_dir / "line_profile.txt"
        line.dump_stats(str(lprof))
        with open(text, "w", encoding="utf-8") as handle:
            line.print_stats(stream=handle, stripzeros=True)
        metadata["functions"] = table
        metadata["timed_ms"] = timed_ms
        metadata["open_with"] = f"python -m line_profiler {lprof}"
        return ProfilerFragment(
            name=self.name,
            hotspots=line_hotspots(table, top=options.top, profiler=self.name, timed_ms=timed_ms),
            artifacts={"line_profile": str(lprof), "line_profile_text": str(text)},
            metadata=metadata,
        )
