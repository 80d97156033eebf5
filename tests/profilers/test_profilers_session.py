"""ProfilerSession: the harness's one seam to profilers."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import ClassVar

import pytest
import toy_pipeline
from profiling_helpers import run_episodes

from ctool.model.errors import ProfilerUnavailable, UsageError
from ctool.profilers.base import Availability, ProfilerFragment, ProfilerOptions
from ctool.profilers.cprofile import CProfileBackend
from ctool.profilers.session import ProfilerSession


class RefusedAtStart:
    """Available on paper, refused when it tries to attach (like py-spy without ptrace)."""

    name: ClassVar[str] = "refused"
    description: ClassVar[str] = "refuses to start"

    def availability(self) -> Availability:
        return Availability(True)

    def start(self, options: ProfilerOptions) -> None:
        raise ProfilerUnavailable("profiler 'refused' cannot run here: attach refused")

    def stop(self) -> ProfilerFragment:
        raise AssertionError("never started")


class FailsToStop(RefusedAtStart):
    name: ClassVar[str] = "failstop"

    def start(self, options: ProfilerOptions) -> None:
        pass

    def stop(self) -> ProfilerFragment:
        raise OSError("disk full")


def opts(tmp_path: Path, **kwargs: object) -> ProfilerOptions:
    return ProfilerOptions(output_dir=tmp_path, **kwargs)  # type: ignore[arg-type]


def test_hooks_in_conflict_are_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as raised:
        ProfilerSession.open(["cprofile", "line"], require=False, options=opts(tmp_path))
    message = raised.value.message
    assert "'cprofile' and 'line' cannot run together" in message and "--line-target" in message
    with pytest.raises(UsageError, match="'line' and 'memory' cannot run together"):
        ProfilerSession.open(
            ["line", "memory"], require=False, options=opts(tmp_path, memory_targets=["m:f"])
        )
    named = opts(tmp_path, line_targets=["toy_pipeline:spin"])
    assert ProfilerSession.open(["cprofile", "line"], require=False, options=named).names == [
        "cprofile",
        "line",
    ]
    assert ProfilerSession.open(["line", "memory"], require=False, options=named).names


def test_unknown_profiler_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown profiler 'nope' \\(available: .*cprofile"):
        ProfilerSession.open(["nope"], require=False, options=opts(tmp_path))


def test_refused_at_start_warns_or_fails_when_required(tmp_path: Path) -> None:
    session = ProfilerSession([CProfileBackend(), RefusedAtStart()], opts(tmp_path))
    session.start()
    result = session.stop()
    assert session.names == ["cprofile"]
    assert session.warnings == [
        "profiler 'refused' cannot run here: attach refused; continuing without it"
    ]
    assert [(run.name, run.ok) for run in result.runs] == [("refused", False), ("cprofile", True)]

    required = ProfilerSession([CProfileBackend(), RefusedAtStart()], opts(tmp_path), require=True)
    with pytest.raises(ProfilerUnavailable, match="attach refused"):
        required.start()
    assert sys.getprofile() is None  # cProfile, started first, was stopped


def test_bad_target_stops_what_started(tmp_path: Path) -> None:
    session = ProfilerSession.open(
        ["cprofile", "memory"],
        require=False,
        options=opts(tmp_path, memory_targets=["toy_pipeline:missing"]),
    )
    with pytest.raises(UsageError, match="--memory-target 'toy_pipeline:missing'"):
        session.start()
    assert sys.getprofile() is None


def test_a_backend_failing_to_stop_is_reported(tmp_path: Path) -> None:
    session = ProfilerSession([CProfileBackend(), FailsToStop()], opts(tmp_path))
    session.start()
    result = session.stop()
    runs = {run.name: run for run in result.runs}
    assert not runs["failstop"].ok and runs["failstop"].reason == "OSError: disk full"
    assert runs["cprofile"].ok and result.hotspots is not None


def test_calibrate_records_overhead_ratio(tmp_path: Path) -> None:
    session = ProfilerSession.open(["cprofile"], require=True, options=opts(tmp_path))
    assert session.wants_locate

    async def main() -> None:
        pipeline = toy_pipeline.create(work=300)

        async def timed(count: int) -> list[int]:
            latencies = []
            for _ in range(count):
                began = time.perf_counter_ns()
                await run_episodes(pipeline, episodes=1)
                latencies.append(time.perf_counter_ns() - began)
            return latencies

        session.start()
        await run_episodes(pipeline, episodes=5)
        session.stop()
        await session.calibrate(timed, episodes_per_slice=3, slices=2)

    asyncio.run(main())
    (run,) = session.result.runs
    assert run.overhead_ratio is not None and run.overhead_ratio > 0
    calibration = run.metadata["calibration"]
    assert calibration["slices"] == 2 and calibration["episodes_per_slice"] == 3
    assert calibration["median_ms_with"] > 0 and calibration["median_ms_without"] > 0
    assert Path(session.result.artifacts["cprofile"]).parent == tmp_path  # not overwritten


def test_stop_passes_the_episode_count_to_backends(tmp_path: Path) -> None:
    session = ProfilerSession.open(["tracemalloc"], require=True, options=opts(tmp_path))

    async def main() -> None:
        pipeline = toy_pipeline.create(work=200)
        session.start()
        await run_episodes(pipeline, episodes=8)
        session.stop(episodes=8)

    asyncio.run(main())
    (run,) = session.result.runs
    assert run.metadata["episodes"] == 8
    assert run.metadata["retained_allocations_per_episode"] >= 1
