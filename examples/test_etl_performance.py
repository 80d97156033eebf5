"""Performance checks for the example ETL job (examples/etl_pipeline.py), with ctool's
pytest plugin: how a project would write them for its own pipeline.

Run them (from the repository root)::

    pytest examples/test_etl_performance.py -v
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from etl_pipeline import create  # examples/ is on sys.path: pytest puts a test file's folder there


@pytest.fixture(scope="module")
def etl() -> Iterator[Any]:
    job = create(seed=0, batch=200)
    yield job
    job.close()


@pytest.fixture(scope="module")
def index() -> Iterator[int]:
    return itertools.count()


@pytest.mark.ctool(episodes=100, warmup=5, p50_ms=50, p95_ms=100, min_eps=20, no_blocking=True)
async def test_batch_latency_and_throughput(etl: Any, index: Iterator[int]) -> None:
    """A 200-row batch: p50 < 50 ms, p95 < 100 ms, > 20 batches/s, nothing blocks the loop."""
    await etl.episode(next(index))


@pytest.mark.ctool(episodes=10, memory_episodes=20, max_memory_kb=2048)
async def test_memory_in_flight_per_batch(etl: Any, index: Iterator[int]) -> None:
    """Parsing 200 JSON lines holds < 2 MiB in flight per batch."""
    await etl.episode(next(index))


def test_stages_and_bottleneck(ctool_profile: Any) -> None:
    """Each stage is timed; the bottleneck is one of them."""
    report = ctool_profile("examples.etl_pipeline:create", episodes=60, warmup=5)
    assert {"extract", "transform", "transform.validate", "load"} <= set(report.stages)
    assert report.bottleneck in {"extract", "transform", "load"}
    assert report.errors.count == 0


async def test_a_synchronous_audit_call_is_caught(ctool_profile: Any) -> None:
    """The mistake the watchdog is for: ``sync_audit=True`` sleeps 15 ms on the loop in
    stage ``load``; the report names the line and the stage."""
    job = create(seed=0, batch=50, sync_audit=True)
    try:
        report = await ctool_profile(job, episodes=10, warmup=1)
    finally:
        job.close()
    calls = [c for c in report.resources.blocking_calls if c.kind != "cpu"]
    assert calls, "the 15 ms sleep was not seen"
    assert calls[0].file.endswith("etl_pipeline.py") and calls[0].stage == "load"


def test_same_seed_same_behaviour(ctool_profile: Any) -> None:
    """Two runs of one seed decide the same (identical output digests)."""
    first = ctool_profile("examples.etl_pipeline:create", episodes=30, warmup=0)
    second = ctool_profile("examples.etl_pipeline:create", episodes=30, warmup=0)
    assert first.output_digest is not None and first.output_digest == second.output_digest
