"""Drive the toy pipeline under a profiler the way the harness does: inside an event loop,
one ``EpisodeRecorder`` per episode in locate mode, profilers started and stopped on the
loop's thread."""

from __future__ import annotations

import asyncio
import json
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import toy_pipeline

from ctool.model.schema import Hotspot, ProfilerRun
from ctool.profilers.base import Profiler, ProfilerFragment, ProfilerOptions
from ctool.spans import EpisodeRecorder, activate, deactivate


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


# A third-party plugin, installed as a distribution in a folder put on sys.path (or
# PYTHONPATH for a subprocess): one working sampler, one backend that cannot run here, one
# whose module is missing and one that is not a profiler.
PLUGIN = '''
"""A third party's profiler: samples the starting thread's innermost frame."""
import sys
import threading
from collections import Counter
from typing import ClassVar

from ctool.profilers.base import Availability, ProfilerFragment
from ctool.model.schema import Hotspot


class SamplerBackend:
    name: ClassVar[str] = "testsampler"
    description: ClassVar[str] = "test plugin: innermost-frame sampler"

    def availability(self):
        return Availability(True)

    def start(self, options):
        self.options = options
        self.target = threading.get_ident()
        self.counts = Counter()
        self.halt = threading.Event()
        self.thread = threading.Thread(target=self.run, name="ctool-testsampler", daemon=True)
        self.thread.start()

    def run(self):
        while not self.halt.wait(0.001):
            frame = sys._current_frames().get(self.target)
            if frame is not None:
                code = frame.f_code
                self.counts[(code.co_name, code.co_filename, frame.f_lineno)] += 1

    def stop(self):
        self.halt.set()
        self.thread.join()
        total = sum(self.counts.values()) or 1
        path = self.options.output_dir / "testsampler.txt"
        path.write_text("\\n".join(f"{k} {v}" for k, v in self.counts.items()) or "empty")
        rows = [
            Hotspot(profiler=self.name, function=f, file=file, line=line, share=n / total)
            for (f, file, line), n in self.counts.most_common(self.options.top)
        ]
        return ProfilerFragment(self.name, rows, {"testsampler": str(path)}, {"samples": total})


class NeedsHardware(SamplerBackend):
    name: ClassVar[str] = "testunavailable"
    description: ClassVar[str] = "test plugin that cannot run here"

    def availability(self):
        return Availability(False, "needs the frobnicator device")


class NotAProfiler:
    name = "testnotaprofiler"
'''

ENTRY_POINTS = """\
[ctool.profilers]
testsampler = ctool_testplugin:SamplerBackend
testunavailable = ctool_testplugin:NeedsHardware
testbroken = ctool_testplugin_missing:Backend
testnotaprofiler = ctool_testplugin:NotAProfiler
"""


def install_test_plugin(root: Path) -> Path:
    """Write the test plugin's module and ``*.dist-info`` into ``root``; return ``root``."""
    dist = root / "ctool_testplugin-1.2.3.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: ctool-testplugin\nVersion: 1.2.3\n"
    )
    (dist / "entry_points.txt").write_text(ENTRY_POINTS)
    (root / "ctool_testplugin.py").write_text(textwrap.dedent(PLUGIN))
    return root
