"""Pipeline settings: presets, overrides, and one-line usage errors for bad input."""

from __future__ import annotations

import pytest

from ctool.model.errors import EXIT_USAGE, UsageError
from ctool.pipeline import PRESETS, create
from ctool.pipeline.config import (
    OPTIMISATION_SETTINGS,
    RESILIENCE_SETTINGS,
    PipelineConfig,
    SettingError,
    resolve_config,
)
from ctool.workload.loader import build_pipeline, parse_settings


def test_defaults_are_design_values_and_the_optimized_preset() -> None:
    config = PipelineConfig()
    assert (config.nodes, config.ba_m, config.episode_ms, config.vocabulary) == (32, 3, 50.0, 64)
    assert (config.kuramoto_coupling, config.dt_ms, config.sync_threshold) == (100.0, 0.5, 0.7)
    assert (config.sync_hold_steps, config.sync_max_steps) == (10, 600)
    assert (config.sustain_steps, config.dissolve_steps, config.refractory_ms) == (100, 50, 200.0)
    assert (config.coalition_min, config.coalition_max, config.phi_max_nodes) == (8, 24, 8)
    assert (config.arousal_baseline, config.leak_bytes) == (0.6, 0)
    assert resolve_config("optimized") == config


def test_presets_differ_in_exactly_the_optimisation_settings() -> None:
    baseline, optimized = resolve_config("baseline"), resolve_config("optimized")
    assert set(PRESETS) == {"baseline", "optimized", "resilient"}
    for name in PipelineConfig.__dataclass_fields__:
        same = getattr(baseline, name) == getattr(optimized, name)
        assert same == (name not in OPTIMISATION_SETTINGS), name
    assert (baseline.kuramoto, baseline.phi, baseline.phi_cache) == ("python", "loop", False)
    assert (baseline.health_probe, baseline.pooling) == ("inline", False)


def test_resilient_is_optimized_with_each_resilience_setting_on() -> None:
    optimized, resilient = resolve_config("optimized"), resolve_config("resilient")
    differ = {
        name
        for name in PipelineConfig.__dataclass_fields__
        if getattr(optimized, name) != getattr(resilient, name)
    }
    # the mechanisms' switches; their parameters (backoff, breaker counts) share defaults
    switches = {"stage_timeout_ms", "handoff_retries", "phi_breaker", "esgt_aggregation"}
    assert differ == switches | {"max_in_flight"} and differ <= set(RESILIENCE_SETTINGS)
    assert (optimized.stage_timeout_ms, optimized.handoff_retries) == (0.0, 0)
    assert (optimized.phi_breaker, optimized.esgt_aggregation) == (False, "mean")
    assert optimized.max_in_flight == 0
    assert (resilient.phi_breaker, resilient.esgt_aggregation) == (True, "median")


def test_each_setting_overrides_the_preset_alone() -> None:
    config = resolve_config("baseline", {"phi": "vectorized", "nodes": 40, "leak_bytes": 64})
    assert (config.phi, config.nodes, config.leak_bytes) == ("vectorized", 40, 64)
    assert config.kuramoto == "python"
    assert resolve_config("optimized", {"probe_interval_ms": 2}).probe_interval_ms == 2.0


@pytest.mark.parametrize(
    "preset,settings,fragment",
    [
        ("fast", {}, "unknown pipeline preset 'fast'"),
        ("optimized", {"colour": "red"}, "unknown pipeline setting 'colour'"),
        ("optimized", {"kuramoto": "fortran"}, "'python' or 'numpy'"),
        ("optimized", {"phi": "exact"}, "'loop' or 'vectorized'"),
        ("optimized", {"health_probe": "never"}, "'inline' or 'offloop'"),
        ("optimized", {"phi_cache": "maybe"}, "expects true or false"),
        ("optimized", {"pooling": 1}, "expects true or false"),
        ("resilient", {"esgt_aggregation": "mode"}, "'mean' or 'median' or 'trimmed'"),
        ("optimized", {"handoff_retries": -1}, "must be in [0, 100]"),
        ("optimized", {"nodes": 3}, "must be in [8, 2048]"),
        ("optimized", {"nodes": 32.5}, "expects an integer"),
        ("optimized", {"nodes": True}, "expects an integer"),
        ("optimized", {"leak_bytes": -1}, "must be in [0"),
        ("optimized", {"probe_interval_ms": "soon"}, "expects a number"),
        ("optimized", {"probe_interval_ms": float("nan")}, "must be finite"),
        ("optimized", {"weight_min": 0.9, "weight_max": 0.6}, "weight_min (0.9) exceeds"),
        ("optimized", {"coalition_min": 30}, "coalition_min (30) exceeds"),
        ("optimized", {"nodes": 8, "coalition_min": 9, "coalition_max": 9}, "too small"),
    ],
)
def test_bad_settings_raise_one_line_usage_errors(
    preset: str, settings: dict[str, object], fragment: str
) -> None:
    # The pipeline raises a ValueError; the loader turns it into ctool's one-line usage error.
    with pytest.raises(SettingError):
        create(0, preset, **settings)
    with pytest.raises(UsageError) as info:
        build_pipeline(None, seed=0, preset=preset, settings=settings)
    message = info.value.message
    assert fragment in message
    assert "\n" not in message
    assert info.value.exit_code == EXIT_USAGE


def test_seed_must_be_an_integer() -> None:
    with pytest.raises(SettingError, match="seed must be an integer"):
        create("zero")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="seed must be an integer"):
        build_pipeline(None, seed="zero")  # type: ignore[arg-type]


def test_loader_passes_cli_settings_through() -> None:
    adapter = build_pipeline(
        None,
        seed=3,
        preset="baseline",
        settings=parse_settings(["phi=vectorized", "phi_cache=true", "nodes=40"]),
    )
    try:
        config = adapter.target.config
        assert (config.phi, config.phi_cache, config.nodes) == ("vectorized", True, 40)
        assert adapter.target.seed == 3 and adapter.target.preset == "baseline"
    finally:
        adapter.target.close()
    with pytest.raises(UsageError, match="unknown pipeline setting 'bogus'"):
        build_pipeline(None, settings=parse_settings(["bogus=1"]))
