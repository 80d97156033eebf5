"""memory_profiler backend: RSS over time, and per-line memory increments of named functions.

* **RSS over time**: a daemon thread samples the process's resident set size
  (``options.extra["memory_interval_s"]``, default 20 ms) for the whole measured region. The
  samples are written in mprof's format (``memory_rss.dat``; ``mprof plot memory_rss.dat``)
  and summarised in the metadata.
* **Per line**: for each ``--memory-target module:function``, memory_profiler's line
  profiler records the RSS after every line, the increment each line caused (summed over its
  executions) and how often it ran. Its tracer is scoped to the target functions' frames, so
  the rest of the program runs without line tracing; the target functions themselves run
  far slower (one RSS read per line), which the overhead calibration shows. RSS moves in
  pages, so lines that allocate a few small objects show 0.0 MiB.
"""

from __future__ import annotations

import linecache
import os
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
from ctool.profilers.stages import StageSampler, resolve_stage
from ctool.profilers.targets import resolve_target, target_name
from ctool.spans import LOCATOR

DEFAULT_INTERVAL_S = 0.02
TIMELINE_POINTS = 200
MIB = 1024.0 * 1024.0


def downsample(points: list[tuple[float, float]], limit: int) -> list[tuple[float, float]]:
    """At most ``limit`` points, evenly strided, always keeping the last one and the peak."""
    if len(points) <= limit:
        return list(points)
    stride = len(points) / (limit - 2)
    kept = {int(i * stride) for i in range(limit - 2)}
    kept.add(len(points) - 1)
    kept.add(max(range(len(points)), key=lambda i: points[i][1]))
    return [points[i] for i in sorted(kept)]


class RSSSampler:
    """Samples this process's RSS from a daemon thread; epoch timestamps, MiB."""

    def __init__(self, interval_s: float) -> None:
        import psutil

        self.interval_s = interval_s
        self._process = psutil.Process(os.getpid())
        self.samples: list[tuple[float, float]] = []
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ctool-rss", daemon=True)

    def _sample(self) -> None:
        self.samples.append((time.time(), self._process.memory_info().rss / MIB))

    def start(self) -> None:
        self._sample()
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        self._thread.join(timeout=5)
        self._sample()

    def _run(self) -> None:
        while not self._halt.wait(self.interval_s):
            self._sample()

    def write_mprof(self, path: str) -> None:
        """mprof's ``.dat`` format, so ``mprof plot`` draws it."""
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("CMDLINE " + " ".join(sys.argv) + "\n")
            for stamp, mib in self.samples:
                handle.write(f"MEM {mib:.6f} {stamp:.4f}\n")


class MemoryProfilerBackend:
    name: ClassVar[str] = "memory"
    description: ClassVar[str] = "memory_profiler: per-line memory of named functions; RSS"

    def __init__(self) -> None:
        self._options: ProfilerOptions | None = None
        self._targets: list[types.FunctionType] = []
        self._profiler: Any = None
        self._rss: RSSSampler | None = None
        self._sampler: StageSampler | None = None

    def claims(self, options: ProfilerOptions) -> frozenset[str]:
        return frozenset({"sys.settrace"}) if options.memory_targets else frozenset()

    def availability(self) -> Availability:
        for module, package in (("memory_profiler", "memory-profiler"), ("psutil", "psutil")):
            found = requires_module(module, package)
            if not found.ok:
                return found
        return Availability(True)

    def start(self, options: ProfilerOptions) -> None:
        self._targets = [
            resolve_target(ref, option="--memory-target") for ref in options.memory_targets
        ]
        self._options = options
        interval = float(options.extra.get("memory_interval_s", DEFAULT_INTERVAL_S))
        self._rss = RSSSampler(interval)
        self._rss.start()
        if not self._targets:
            return
        import memory_profiler

        self._sampler = StageSampler()
        self._sampler.start()
        profiler = memory_profiler.LineProfiler(backend="psutil")
        for function in self._targets:
            profiler.add_function(function)
        code_map = profiler.code_map
        trace_lines = profiler.trace_memory_usage

        def scoped(frame: types.FrameType, event: str, arg: Any) -> Any:
            # memory_profiler's own tracer traces every frame of the thread; only the
            # targets' frames need it.
            if frame.f_code in code_map:
                return trace_lines(frame, event, arg)
            return None

        profiler.enable()  # remembers the tracer it replaces, restored by disable()
        sys.settrace(scoped)
        self._profiler = profiler

    def stop(self) -> ProfilerFragment:
        options, rss = self._options, self._rss
        if options is None or rss is None:
            raise RuntimeError("memory: stop() without start()")
        self._options = self._rss = None
        profiler, self._profiler = self._profiler, None
        sampler, self._sampler = self._sampler, None
        if profiler is not None:
            profiler.disable()
        rss.stop()
        path = options.output_dir / "memory_rss.dat"
        rss.write_mprof(str(path))
        artifacts = {"memory_rss": str(path)}
        metadata = self._rss_metadata(rss)
        metadata["targets"] = [target_name(f) for f in self._targets]
        hotspots: list[Hotspot] = []
        if profiler is not None and sampler is not None:
            sampler.stop()
            table = self._line_table(profiler, sampler)
            metadata["functions"] = table
            hotspots = self._hotspots(table, options.top)
            text = options.output_dir / "memory_profile.txt"
            import memory_profiler

            with open(text, "w", encoding="utf-8") as handle:
                memory_profiler.show_results(profiler, stream=handle)
            artifacts["memory_profile"] = str(text)
        else:
            metadata["functions"] = []
            metadata["note"] = "name functions with --memory-target for per-line increments"
        return ProfilerFragment(self.name, hotspots, artifacts, metadata)

    @staticmethod
    def _rss_metadata(rss: RSSSampler) -> dict[str, Any]:
        samples = rss.samples
        start = samples[0][0]
        return {
            "interval_s": rss.interval_s,
            "rss_samples": len(samples),
            "rss_mb_start": samples[0][1],
            "rss_mb_end": samples[-1][1],
            "rss_mb_peak": max(mib for _, mib in samples),
            "rss_timeline": [
                [round(stamp - start, 4), round(mib, 3)]
                for stamp, mib in downsample(samples, TIMELINE_POINTS)
            ],
        }

    def _line_table(self, profiler: Any, sampler: StageSampler) -> list[dict[str, Any]]:
        votes = sampler.votes()
        table = []
        for function in self._targets:
            code = function.__code__
            measures: dict[int, tuple[float, float, int]] = profiler.code_map.get(code, {})
            filename = code.co_filename
            function_key = (filename, code.co_firstlineno, code.co_name)
            rows = []
            for lineno in sorted(measures):
                increment, usage, occurrences = measures[lineno]
                stage = LOCATOR.stage_at(filename, lineno) or resolve_stage(
                    votes, function_key, filename, name=code.co_name
                )
                rows.append(
                    {
                        "line": lineno,
                        "increment_mib": increment,
                        "mem_usage_mib": usage,
                        "occurrences": occurrences,
                        "source": linecache.getline(filename, lineno).strip(),
                        "stage": stage,
                    }
                )
            table.append(
                {
                    "function": function.__qualname__,
                    "target": target_name(function),
                    "file": filename,
                    "first_line": code.co_firstlineno,
                    "lines": rows,
                }
            )
        return table

    def _hotspots(self, table: list[dict[str, Any]], top: int) -> list[Hotspot]:
        # The ``def`` line's "increment" is memory_profiler's measure of what changed
        # between two calls, outside the function: the table keeps it, the rows do not.
        lines = [
            (entry, row)
            for entry in table
            for row in entry["lines"]
            if row["line"] != entry["first_line"]
        ]
        grown = sum(max(row["increment_mib"], 0.0) for _, row in lines)
        lines.sort(key=lambda p: (p[1]["increment_mib"], p[1]["occurrences"]), reverse=True)
        return [
            Hotspot(
                profiler=self.name,
                function=entry["function"],
                file=entry["file"],
                line=row["line"],
                calls=row["occurrences"],
                share=max(row["increment_mib"], 0.0) / grown if grown > 0 else None,
                stage=row["stage"],
                extra={
                    "increment_mib": row["increment_mib"],
                    "mem_usage_mib": row["mem_usage_mib"],
                    "source": row["source"],
                },
            )
            for entry, row in lines[:top]
        ]
