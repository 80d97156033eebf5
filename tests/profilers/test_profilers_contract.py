"""Every registered profiler backend keeps the contract: it starts, stops, and returns a
well-formed fragment whose artifacts exist. A backend is skipped only when its own
availability check says it cannot run here, and the skip carries that reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from profiling_helpers import check_fragment, profile_toy

from ctool.profilers.base import Profiler, ProfilerOptions
from ctool.profilers.registry import discover

BACKENDS = sorted(discover())
BUILTINS = {"cprofile", "tracemalloc", "pyspy", "line", "memory"}


def test_builtins_are_registered_through_entry_points() -> None:
    found = discover()
    assert set(found) >= BUILTINS
    for name in BUILTINS:
        assert found[name].source == "ctool"
        assert found[name].value.startswith(f"ctool.profilers.{name}")


@pytest.mark.parametrize("name", BACKENDS)
def test_backend_contract(name: str, tmp_path: Path) -> None:
    info = discover()[name]
    profiler = info.create()
    assert isinstance(profiler, Profiler)
    availability = profiler.availability()
    if not availability.ok:
        pytest.skip(f"{name} cannot run here: {availability.reason}")
    options = ProfilerOptions(
        output_dir=tmp_path,
        top=5,
        memory_targets=["toy_pipeline:hoard"],
        extra={"line_pass_s": 0.05},
    )
    fragment, _ = profile_toy(profiler, options, seconds=0.3, episodes=5)
    check_fragment(fragment, name, top=5)
    if name in BUILTINS:
        # The toy pipeline spends its time in Python code every built-in can see.
        assert fragment.hotspots, fragment.metadata
        assert fragment.artifacts
