"""The memray profiler backend: sites with their stage, native allocations included, and a
one-line reason when memray is missing."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import leak_pipelines
import pytest

from ctool.profilers.base import ProfilerOptions
from ctool.profilers.memray import INSTALL_HINT, MemrayBackend
from ctool.spans import EpisodeRecorder, activate, deactivate


async def _episodes(pipeline: leak_pipelines.NativeLeakPipeline, start: int, count: int) -> None:
    for index in range(start, start + count):
        token = activate(EpisodeRecorder(locate=True))
        try:
            await pipeline.episode(index)
        finally:
            deactivate(token)


def test_native_allocations_are_sites_with_their_stage(tmp_path: Path) -> None:
    pytest.importorskip("memray")
    pipeline = leak_pipelines.native_leak()
    asyncio.run(_episodes(pipeline, 0, 5))  # the span locator learns the stage's lines
    backend = MemrayBackend()
    assert backend.availability().ok
    backend.start(ProfilerOptions(output_dir=tmp_path, extra={"episodes": 100}))
    asyncio.run(_episodes(pipeline, 5, 100))
    fragment = backend.stop()
    top = fragment.hotspots[0]
    source = Path(leak_pipelines.__file__).read_text().splitlines()
    line = next(i for i, text in enumerate(source, 1) if "NATIVE-LEAK-LINE" in text)
    assert Path(top.file).name == "leak_pipelines.py" and top.line == line
    assert top.stage == "NATIVE"
    assert top.extra["retained_bytes"] == 100 * 4096
    assert fragment.metadata["retained_bytes_per_episode"] == pytest.approx(4096, rel=0.05)
    assert fragment.metadata["peak_memory_bytes"] >= 100 * 4096
    assert Path(fragment.artifacts["memray"]).exists()


def test_missing_memray_is_a_one_line_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "memray", None)
    availability = MemrayBackend().availability()
    assert not availability.ok
    assert availability.reason == INSTALL_HINT
    assert 'pip install "ctool[memray]"' in availability.reason
