"""Drive the toy pipeline under a profiler the way the harness does: inside an event loop,
one ``EpisodeRecorder`` per episode in locate mode, profilers started and stopped on the
loop's thread."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import toy_pipeline

from ctool.harness.spans import EpisodeRecorder, activate, deactivate
from ctool.profilers.base import Profiler, ProfilerFragment, ProfilerOptions
from ctool.reports.schema import Hotspot, ProfilerRun


async def run_episodes(pipeline: Any, *, seconds: float = 0.0, episodes: int = 0) -> int:
    """Run episodes until both ``seconds`` have passed and ``episodes`` were run."""
    began = time.perf_counter()
    index = 0
    while index < episodes or time.perf_counter() - began < seconds:
        recorder = EpisodeRecorder(locate=True)
        token = activate(recorder)
        try:
            await pipeline.episode(index)
        finally:
            deactivate(token)
        index += 1
    return index


def profile_toy(
    profiler: Profiler,
    options: ProfilerOptions,
    *,
    seconds: float = 0.0,
    episodes: int = 0,
    work: int = 3000,
) -> tuple[ProfilerFragment, int]:
    """Start ``profiler``, run the toy pipeline, stop; the fragment and episodes run."""

    async def main() -> tuple[ProfilerFragment, int]:
        pipeline = toy_pipeline.create(work=work)
        await run_episodes(pipeline, episodes=2)  # warm: imports, locator blocks
        profiler.start(options)
        try:
            ran = await run_episodes(pipeline, seconds=seconds, episodes=episodes)
        except BaseException:
            profiler.stop()
            raise
        return profiler.stop(), ran

    return asyncio.run(main())


def check_fragment(fragment: ProfilerFragment, name: str, top: int) -> None:
    """The contract every backend's fragment keeps."""
    assert fragment.name == name
    assert len(fragment.hotspots) <= top
    for row in fragment.hotspots:
        assert isinstance(row, Hotspot)
        assert row.profiler == name
        assert row.function and row.file
        assert row.line >= 0
        assert row.share is None or 0.0 <= row.share <= 1.0 + 1e-9
        for value in (row.self_ms, row.cumulative_ms):
            assert value is None or value >= 0
        assert row.calls is None or row.calls >= 0
        json.dumps(row.model_dump())
    for key, path in fragment.artifacts.items():
        assert key and Path(path).is_file() and Path(path).stat().st_size > 0, (key, path)
    ProfilerRun(name=fragment.name, metadata=fragment.metadata)
    json.dumps(fragment.metadata)


def rows_where(fragment: ProfilerFragment, test: Callable[[Hotspot], bool]) -> list[Hotspot]:
    return [row for row in fragment.hotspots if test(row)]
