"""One run configuration, one conversion to and from the report's form."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from ctool.model.io import load_report
from ctool.model.schema import ProfileReport
from ctool.run.config import RunConfig
from ctool.run.workers import WorkerSpec

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "reports"


def test_round_trip_through_the_report_form() -> None:
    config = RunConfig(
        preset="baseline",
        seed=7,
        settings={"nodes": 40},
        episodes=50,
        warmup=3,
        concurrency=(1, 4),
        rate=12.5,
        duration_s=3.0,
        burst=20,
        profilers=("cprofile",),
        block_threshold_ms=7.5,
        command="ctool profile",
    )
    model = config.to_model()
    assert model.concurrency == [1, 4] and model.settings == {"nodes": 40}
    back = RunConfig.from_model(model)
    kept = {f.name for f in fields(RunConfig)} & set(type(model).model_fields)
    assert kept >= {"pipeline", "preset", "seed", "episodes", "concurrency", "rate", "burst"}
    for name in kept:
        assert getattr(back, name) == getattr(config, name), name


def test_resolved_settings_fill_in_and_the_command_line_wins() -> None:
    model = RunConfig(settings={"phi": "loop"}).to_model({"phi": "vectorized", "nodes": 32})
    assert model.settings == {"phi": "loop", "nodes": 32}


@pytest.mark.parametrize("name", ["profile", "profile_baseline", "profile_rounds"])
def test_a_real_reports_config_converts_back_unchanged(name: str) -> None:
    report = load_report(GOLDEN / f"{name}.json")
    assert isinstance(report, ProfileReport)
    again = RunConfig.from_model(report.config).to_model()
    assert again.model_dump() == report.config.model_dump()


def test_worker_spec_round_trips_typed() -> None:
    spec = WorkerSpec("m:create", 3, "baseline", {"nodes": 40}, 5, 5.0, ["/x"])
    assert WorkerSpec.from_json(spec.to_json()) == spec
    with pytest.raises(KeyError):
        WorkerSpec.from_json(b'{"seed": 1}')
