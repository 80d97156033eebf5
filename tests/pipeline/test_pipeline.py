"""The reference pipeline's contract: episode/outputs/metrics/close, spans, knobs, probe."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import tracemalloc
from typing import Any

import psutil
import pytest

from ctool.pipeline import create
from ctool.pipeline.engine import EpisodeResult, ReferencePipeline
from ctool.spans import LOCATOR, EpisodeRecorder, activate, deactivate
from ctool.workload.digest import output_digest
from ctool.workload.loader import DEFAULT_PIPELINE, build_pipeline

STAGES = {"TIG", "ESGT", "MEA", "MCEA", "MMEI", "MCEA.phi"}


def drive(pipeline: ReferencePipeline, episodes: int) -> list[EpisodeResult]:
    async def go() -> list[EpisodeResult]:
        return [await pipeline.episode(i) for i in range(episodes)]

    try:
        return asyncio.run(go())
    finally:
        pipeline.close()


def test_default_pipeline_reference_builds_it() -> None:
    adapter = build_pipeline(DEFAULT_PIPELINE, seed=0, preset="optimized")
    assert isinstance(adapter.target, ReferencePipeline)
    assert adapter.is_async

    async def go() -> dict[str, Any]:
        result = await adapter.episode(0)
        outputs = adapter.outputs(result)
        await adapter.aclose()
        return dict(outputs or {})

    outputs = asyncio.run(go())
    assert outputs["index"] == 0 and outputs["time_ms"] == 0.0
    json.dumps(outputs)  # plain values only


@pytest.fixture(scope="module")
def run300() -> tuple[list[EpisodeResult], dict[str, Any]]:
    pipeline = create(0)
    results = drive(pipeline, 300)
    return results, pipeline.metrics()


def test_episode_result_fields_and_simulated_time(
    run300: tuple[list[EpisodeResult], dict[str, Any]],
) -> None:
    results, _ = run300
    for index, result in enumerate(results):
        assert result.index == index
        assert result.time_ms == index * 50.0  # simulated, whatever the wall clock did
        assert 0.0 <= result.arousal <= 1.0 and 0.30 <= result.threshold <= 0.95
        assert set(result.needs) == {"rest", "repair", "efficiency", "connectivity", "curiosity"}
        assert all(0.0 <= v <= 1.0 for v in result.needs.values())
        assert result.focus.startswith(("target:", "node:"))
        if result.ignited:
            assert 8 <= len(result.coalition) <= 24
            assert result.coherence >= 0.0 and result.time_to_sync_ms is not None
            assert len(result.phi_nodes) == 8 and result.phi >= 0.0
            assert result.messages > 0 and result.bytes > result.messages
        else:
            assert result.phi == 0.0 and result.messages == 0
    assert any(r.ignited for r in results)


def test_refractory_period_separates_ignition_attempts(
    run300: tuple[list[EpisodeResult], dict[str, Any]],
) -> None:
    results, _ = run300
    attempts = [r.time_ms for r in results if r.triggered]
    assert len(attempts) > 10
    assert all(b - a >= 200.0 for a, b in zip(attempts, attempts[1:], strict=False))
    assert any(r.ignition == "refractory" for r in results)


def test_stage_spans_are_named_ordered_and_nested() -> None:
    pipeline = create(0)
    recorders: list[EpisodeRecorder] = []

    async def go() -> None:
        for index in range(40):
            recorder = EpisodeRecorder()
            token = activate(recorder)
            try:
                await pipeline.episode(index)
            finally:
                deactivate(token)
            recorders.append(recorder)

    try:
        asyncio.run(go())
    finally:
        pipeline.close()
    for recorder in recorders:
        names = {name for name, *_ in recorder.spans}
        assert names == STAGES
        top = sorted((s for s in recorder.spans if s[3] == 0), key=lambda s: s[1])
        assert [s[0] for s in top] == ["MMEI", "MCEA", "TIG", "MEA", "ESGT", "MCEA"]
        (phi,) = [s for s in recorder.spans if s[0] == "MCEA.phi"]
        assert phi[3] == 1
        outer = top[-1]
        assert outer[1] <= phi[1] <= phi[2] <= outer[2]


def test_metrics_have_the_agreed_shape(
    run300: tuple[list[EpisodeResult], dict[str, Any]],
) -> None:
    results, metrics = run300
    phi = metrics["phi"]
    for key in ("p50_ms", "p95_ms", "cache_hits", "cache_misses", "hit_rate", "computations"):
        assert key in phi
    ignited = sum(r.ignited for r in results)
    assert phi["cache_hits"] + phi["cache_misses"] == ignited
    assert phi["computations"] == phi["cache_misses"]
    assert set(metrics["messages"]) >= {"count", "bytes", "bytes_per_s"}
    assert metrics["messages"]["count"] == sum(r.messages for r in results)
    assert metrics["messages"]["bytes"] == sum(r.bytes for r in results)
    assert metrics["messages"]["bytes_per_s"] == pytest.approx(
        metrics["messages"]["bytes"] / (300 * 0.05)
    )
    ignitions = metrics["ignitions"]
    assert ignitions["ignited"] == ignited
    assert ignitions["attempts"] == sum(r.triggered for r in results)
    assert ignitions["failed"] == sum(r.ignition == "failed" for r in results)
    assert metrics["tig"]["articulation_points"] == []
    json.dumps(metrics)


def test_leak_knob_retains_bytes_in_mea_only() -> None:
    leaky = create(0, leak_bytes=1000)
    drive(leaky, 25)
    assert len(leaky.mea.retained) == 25
    assert all(len(block) == 1000 for block in leaky.mea.retained)
    clean = create(0)
    clean_results = drive(clean, 25)
    assert clean.mea.retained == []
    leaky_again = create(0, leak_bytes=1000)
    leaky_results = drive(leaky_again, 25)
    assert output_digest([leaky_again.outputs(r) for r in leaky_results]) == output_digest(
        [clean.outputs(r) for r in clean_results]
    )


def test_leak_is_attributed_to_the_mea_stage() -> None:
    """What leakcheck does: the largest retained allocation site maps to the MEA span."""
    pipeline = create(0, leak_bytes=50_000)

    async def go() -> None:
        for index in range(20):
            token = activate(EpisodeRecorder(locate=True))
            try:
                await pipeline.episode(index)
            finally:
                deactivate(token)

    tracemalloc.start(25)
    try:
        asyncio.run(go())
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
        pipeline.close()
    top = snapshot.statistics("traceback")[0]
    assert top.size >= 20 * 50_000
    frames = [(frame.filename, frame.lineno) for frame in reversed(top.traceback)]
    assert LOCATOR.stage_of_stack(frames) == "MEA"


def test_concurrent_episodes_run_and_sequential_order_is_reproducible() -> None:
    async def concurrent() -> list[EpisodeResult]:
        pipeline = create(0)
        try:
            return list(await asyncio.gather(*(pipeline.episode(i) for i in range(40))))
        finally:
            pipeline.close()

    results = asyncio.run(concurrent())
    assert [r.index for r in results] == list(range(40))
    # A stimulus is a function of (seed, index) alone, whatever the interleaving.
    sequential = drive(create(0), 40)
    assert [(r.target, r.modality) for r in results] == [(r.target, r.modality) for r in sequential]


def _record_probe_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, float | None]]:
    calls: list[tuple[str, float | None]] = []
    original = psutil.Process.cpu_percent

    def recording(self: psutil.Process, interval: float | None = None) -> float:
        calls.append((threading.current_thread().name, interval))
        return float(original(self, interval))

    monkeypatch.setattr(psutil.Process, "cpu_percent", recording)
    return calls


def test_inline_probe_blocks_on_the_event_loop_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _record_probe_calls(monkeypatch)
    pipeline = create(0, "baseline", probe_interval_ms=1.0)
    drive(pipeline, 10)
    loop_thread = threading.current_thread().name
    assert calls == [(loop_thread, 0.001)] * 10
    assert pipeline.metrics()["health"]["samples"] == 10


def test_offloop_probe_samples_in_a_thread_and_stops_on_close(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _record_probe_calls(monkeypatch)
    pipeline = create(0, "optimized", probe_interval_ms=1.0)
    thread_started = threading.Event()

    async def go() -> None:
        for index in range(10):
            await pipeline.episode(index)
        await asyncio.to_thread(lambda: thread_started.wait(5) or None)

    original_read = pipeline.probe._read

    def read() -> None:
        original_read()
        thread_started.set()

    monkeypatch.setattr(pipeline.probe, "_read", read)
    asyncio.run(go())
    pipeline.close()
    pipeline.close()  # idempotent
    assert calls and all(name == "ctool-health" for name, _ in calls)
    assert all(interval == 0.001 for _, interval in calls)
    assert not any(t.name == "ctool-health" for t in threading.enumerate())


def test_import_is_light() -> None:
    code = "import ctool.pipeline, sys, json; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = set(json.loads(out))
    assert "numpy" not in loaded and "psutil" not in loaded


def test_pool_counts_objects_built_and_reused() -> None:
    import asyncio

    from ctool.pipeline import create

    counts = {}
    for pooling in (True, False):
        pipeline = create(seed=0, pooling=pooling)

        async def drive(p: object = pipeline) -> None:
            for index in range(120):
                await p.episode(index)  # type: ignore[attr-defined]

        asyncio.run(drive())
        counts[pooling] = pipeline.metrics()["pool"]
        pipeline.close()
    assert counts[True]["acquired"] == counts[False]["acquired"] > 0
    assert counts[False]["reused"] == 0
    assert counts[False]["created"] == counts[False]["acquired"]
    assert counts[True]["created"] < 0.05 * counts[True]["acquired"]
