"""ctool leakcheck on the reference pipeline: the ``leak_bytes`` knob is found, measured and
traced to MEA. (Both presets clean on five seeds: tests/leak/test_leak_sequential.py, each
preset in a fresh process with the default budget.)

Costs: tracemalloc makes an episode some 3-4x slower, so each run here is 600 measured
episodes after a 50-episode warm-up: about 3 s of CPU, marked slow. The baseline preset
runs with three of its settings swapped for their optimized counterparts --
``kuramoto=numpy``, ``phi=vectorized`` (CPU: pure-Python loops allocate a float per pair
per step, which under tracemalloc makes a 600-episode run take half a minute) and
``health_probe=offloop`` (wall time: the inline probe sleeps 10 ms per episode). None of
the three keeps memory across episodes; what does -- fresh objects every episode
(``pooling=false``) and no Φ cache (``phi_cache=false``) -- is the baseline's own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import ctool.pipeline.mea
from ctool.leak.runner import LeakcheckOptions, run_leakcheck
from ctool.model.schema import LeakcheckReport

RUN = {"episodes": 600, "warmup": 50, "every": 20, "horizon": 600}
"""One round: the knob's steady growth is a leak once it has lasted the (short) horizon."""
BASELINE_AFFORDABLE = {"kuramoto": "numpy", "phi": "vectorized", "health_probe": "offloop"}


def _run(preset: str, seed: int = 0, **settings: object) -> LeakcheckReport:
    return run_leakcheck(
        LeakcheckOptions(preset=preset, seed=seed, settings=settings, **RUN)  # type: ignore[arg-type]
    )


@pytest.mark.slow
def test_leak_knob_is_found_measured_and_traced_to_mea() -> None:
    report = _run("optimized", leak_bytes=1024)
    assert report.verdict == "leak", report.reason
    # The knob's 1024 bytes (plus a bytearray header) dominate the slope.
    assert report.traced.slope == pytest.approx(1024, rel=0.25)
    top = report.sites[0]
    source = Path(ctool.pipeline.mea.__file__)
    knob_line = next(
        i
        for i, line in enumerate(source.read_text().splitlines(), 1)
        if "bytearray(self._leak_bytes)" in line
    )
    assert Path(top.file) == source and top.line == knob_line
    assert top.stage == "MEA"
    assert top.bytes_per_episode == pytest.approx(1024, rel=0.25)
    assert any(row.type == "bytearray" and row.growth >= 600 for row in report.types)
    assert any(row.type == "bytearray" and row.site for row in report.types)
