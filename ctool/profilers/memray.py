"""memray backend: allocation sites with their stage, native allocations included.

memray hooks the C allocator (``malloc`` and friends through the PLT of every loaded
library) as well as Python's, and records each allocation with its full Python stack, so an
allocation a C extension makes shows up at the Python line that called it -- what
tracemalloc cannot see. One ``memray.Tracker`` runs from :meth:`start` to :meth:`stop`
(memray allows one active Tracker per process; its results are read from its file after
it closes), in the aggregated file format (small, cheap to read):

* **at peak**: the allocations alive at the run's high-water mark, by site -- the rows;
* **retained**: the allocations still alive at :meth:`stop`, by site, and per episode
  (``options.extra["episodes"]``) -- the leak rate, native memory included;
* **peak memory**: memray's high-water mark of the heap during the run -- one figure for
  the run: memray keeps no per-episode peak (``ctool leakcheck --engine memray`` gives the
  retained bytes per episode over time).

A site is the innermost frame that is not library code (as in the tracemalloc backend), so
``np.zeros`` called by the pipeline is charged to the pipeline's line; its stage is the
span enclosing its stack. Optional: ``pip install "ctool[memray]"``.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from ctool.profilers.base import Availability, ProfilerFragment, ProfilerOptions
from ctool.profilers.tracemalloc import SiteTable, retained_site_rows, site_rows

INSTALL_HINT = 'memray is not installed; pip install "ctool[memray]"'


class MemrayBackend:
    name: ClassVar[str] = "memray"
    description: ClassVar[str] = (
        "memray: allocation sites at peak and retained, native (malloc) included"
    )

    def __init__(self) -> None:
        self._options: ProfilerOptions | None = None
        self._tracker: Any = None
        self._path: str | None = None
        self._started_at = 0.0

    def availability(self) -> Availability:
        try:
            import memray  # noqa: F401
        except ImportError:
            return Availability(False, INSTALL_HINT)
        return Availability(True)

    def start(self, options: ProfilerOptions) -> None:
        import memray

        self._options = options
        path = options.output_dir / "memray.bin"
        path.unlink(missing_ok=True)  # memray refuses to overwrite
        self._path = str(path)
        self._tracker = memray.Tracker(
            self._path,
            native_traces=bool(options.extra.get("memray_native_traces", False)),
            trace_python_allocators=bool(options.extra.get("memray_python_allocators", False)),
            file_format=memray.FileFormat.AGGREGATED_ALLOCATIONS,
        )
        self._started_at = time.perf_counter()
        self._tracker.__enter__()

    def stop(self) -> ProfilerFragment:
        import memray

        if self._options is None or self._tracker is None or self._path is None:
            raise RuntimeError("memray: stop() without start()")
        options, path = self._options, self._path
        self._tracker.__exit__(None, None, None)
        self._tracker = None
        duration_s = time.perf_counter() - self._started_at
        reader = memray.FileReader(path)
        try:
            peak = _table(reader.get_high_watermark_allocation_records(merge_threads=True))
            retained = _table(reader.get_leaked_allocation_records(merge_threads=True))
            peak_bytes = int(reader.metadata.peak_memory)
            total_allocations = int(reader.metadata.total_allocations)
        finally:
            reader.close()
        return ProfilerFragment(
            name=self.name,
            hotspots=site_rows(self.name, peak, retained, options.top),
            artifacts={"memray": path},
            metadata=_metadata(peak, retained, options, peak_bytes, total_allocations, duration_s),
        )


def _table(records: Any) -> SiteTable:
    table = SiteTable()
    table.snapshots = 1
    for record in records:
        stack = [(file, line) for _, file, line in record.stack_trace()]
        table.add_stack(stack, int(record.size), int(record.n_allocations))
    return table


def _metadata(
    peak: SiteTable,
    retained: SiteTable,
    options: ProfilerOptions,
    peak_bytes: int,
    total_allocations: int,
    duration_s: float,
) -> dict[str, Any]:
    episodes = options.extra.get("episodes")
    retained_bytes = retained.total_size()
    per_episode = None
    if isinstance(episodes, int) and episodes > 0:
        per_episode = retained_bytes / episodes
    return {
        "episodes": episodes,
        "duration_s": duration_s,
        "peak_memory_bytes": peak_bytes,
        "total_allocations": total_allocations,
        "retained_bytes": retained_bytes,
        "retained_bytes_per_episode": per_episode,
        "peak_bytes_left_out": peak.dropped_bytes,
        "retained_sites": retained_site_rows(retained, options.top),
    }
