"""The resilient preset's mechanisms, each alone, against faults known by construction.

A fault is an injector installed with ``ctool.faults.install`` for the length of a test: it
sees every hand-off's value by name and returns another value, raises, or delays. Each test
states the truth the injector makes and checks the pipeline against it, and where the
optimized preset fails under the same fault, shows that too.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from ctool import faults
from ctool.pipeline import create
from ctool.pipeline.resilience import StageTimeout, aggregate
from ctool.workload.digest import output_digest

EPISODES = 200
Outputs = list[dict[str, Any]]


@contextmanager
def injected(injector: Callable[[str, Any], Any]) -> Iterator[None]:
    previous = faults.install(injector)
    try:
        yield
    finally:
        faults.install(previous)


def only(point: str, change: Callable[[Any], Any]) -> Callable[[str, Any], Any]:
    """An injector that changes the value at ``point`` and passes every other one."""
    return lambda name, value: change(value) if name == point else value


def run(
    preset: str = "optimized", episodes: int = EPISODES, start: int = 0, **settings: Any
) -> tuple[Outputs, dict[str, Any]]:
    async def drive() -> tuple[Outputs, dict[str, Any]]:
        pipeline = create(0, preset, **settings)
        try:
            rows = [pipeline.outputs(await pipeline.episode(i)) for i in range(start, episodes)]
            return rows, pipeline.metrics()
        finally:
            pipeline.close()

    return asyncio.run(drive())


@pytest.fixture(scope="module")
def control() -> Outputs:
    return run()[0]


def test_resilient_preset_outputs_equal_optimized(control: Outputs) -> None:
    outputs, metrics = run("resilient")
    assert outputs == control  # bit-identical
    assert output_digest(outputs) == output_digest(control)
    resilience = metrics["resilience"]
    assert resilience["settings"]["esgt_aggregation"] == "median"
    assert resilience["handoffs"] == {"retries": 0, "recovered": 0, "timeouts": 0}
    assert resilience["phi_breaker"]["failures"] == 0


def nan_minority(reports: list[float]) -> list[float]:
    """A Byzantine quarter of the coalition reports NaN, another node a wild value."""
    bad = len(reports) // 4
    return [math.nan] * bad + [5.0] + reports[bad + 1 :]


def test_median_ignores_nan_node_reports_where_mean_does_not(control: Outputs) -> None:
    reasons = [o["ignition"] for o in control]
    assert reasons.count("ignited") >= 20
    with injected(only("esgt.sync_reports", nan_minority)):
        mean, _ = run()
        median, _ = run(esgt_aggregation="median")
        trimmed, _ = run(esgt_aggregation="trimmed")
    # mean: a NaN report makes the agreed r NaN, so no synchronised ignition is confirmed
    assert "ignited" not in [o["ignition"] for o in mean]
    assert median == control and trimmed == control


def test_median_sustain_coherence_survives_byzantine_reports(control: Outputs) -> None:
    with injected(only("esgt.sustain_reports", nan_minority)):
        mean, _ = run()
        median, _ = run(esgt_aggregation="median")
    ignited = [i for i, o in enumerate(control) if o["ignited"]]
    assert all(math.isnan(mean[i]["coherence"]) for i in ignited)
    assert median == control


def test_aggregate_rules() -> None:
    honest = [0.8123456789] * 7
    for how in ("mean", "median", "trimmed"):
        assert aggregate(honest, how) == honest[0]  # bit for bit
    assert math.isnan(aggregate([1.0, math.nan], "mean"))
    assert aggregate([1.0, 2.0, math.nan, 100.0, 3.0], "median") == 2.5
    assert aggregate([0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 50.0], "trimmed") == 1.0
    assert math.isnan(aggregate([math.nan, math.inf], "median"))
    assert math.isnan(aggregate(None, "median"))  # type: ignore[arg-type]  # dropped reports
    assert aggregate([None, 0.9, 0.9, "x"], "trimmed") == 0.9  # type: ignore[list-item]


FAULT_POINTS = {
    "stimulus": "Stimulus",
    "mmei.needs": "Needs",
    "mcea.arousal": "ArousalState",
    "tig.activation": "ndarray",
    "mea.signal": "Attention",
    "esgt.sync_reports": "list",
    "esgt.sustain_reports": "list",
    "esgt.outcome": "IgnitionOutcome",
    "mcea.phi.nodes": "tuple",
    "mcea.phi": "float",
}


@pytest.mark.parametrize("preset", ["baseline", "optimized", "resilient"])
def test_every_handoff_is_a_fault_point_in_every_preset(preset: str) -> None:
    """The points and value types docs/pipeline.md lists ("Fault points"), in every preset."""
    seen: dict[str, set[str]] = {}

    def record(name: str, value: Any) -> Any:
        seen.setdefault(name, set()).add(type(value).__name__)
        return value

    settings = {"probe_interval_ms": 0.0} if preset == "baseline" else {}
    with injected(record):
        run(preset, episodes=60, **settings)
    assert seen == {name: {kind} for name, kind in FAULT_POINTS.items()}


def test_phi_failure_without_breaker_fails_the_episode() -> None:
    def fail(_: Any) -> Any:
        raise RuntimeError("Φ backend down")

    with injected(only("mcea.phi.nodes", fail)), pytest.raises(RuntimeError, match="Φ backend"):
        run()


def test_phi_breaker_opens_and_falls_back_to_the_cache(control: Outputs) -> None:
    """Episodes 0..99 run clean; from 100 on every Φ request fails. Truth: an ignition whose
    node set was seen before gets that set's Φ from the cache; any other gets the last Φ
    computed before the fault (stale); the breaker opens after 3 failures and stays open."""

    async def drive() -> tuple[Outputs, dict[str, Any]]:
        pipeline = create(0, "optimized", phi_breaker=True, phi_breaker_reset_ms=1e6)
        try:
            rows = [pipeline.outputs(await pipeline.episode(i)) for i in range(100)]

            def fail(_: Any) -> Any:
                raise ConnectionError("Φ backend down")

            with injected(only("mcea.phi.nodes", fail)):
                rows += [pipeline.outputs(await pipeline.episode(i)) for i in range(100, 300)]
            return rows, pipeline.metrics()
        finally:
            pipeline.close()

    rows, metrics = asyncio.run(drive())
    assert rows[:100] == control[:100]
    seen = {o["phi_nodes"]: o["phi"] for o in rows[:100] if o["ignited"]}
    last_good = [o["phi"] for o in rows[:100] if o["ignited"]][-1]
    faulted = [o for o in rows[100:] if o["ignited"]]
    assert len(faulted) >= 10
    stale = 0
    for o in faulted:
        if o["phi_nodes"] in seen:
            assert o["phi"] == seen[o["phi_nodes"]]
        else:
            stale += 1
            assert o["phi"] == last_good
    breaker = metrics["resilience"]["phi_breaker"]
    assert breaker["state"] == "open" and breaker["opened"] == 1
    assert breaker["failures"] == 3
    assert breaker["short_circuits"] == len(faulted) - 3
    assert breaker["fallbacks"] == len(faulted)
    assert metrics["phi"]["stale_fallbacks"] == stale
    # during the fault no request reached the calculator: the breaker answered them all
    assert metrics["phi"]["requests"] == len([o for o in rows[:100] if o["ignited"]])


def test_phi_breaker_half_opens_and_closes_after_the_fault() -> None:
    async def drive() -> dict[str, Any]:
        pipeline = create(0, "optimized", phi_breaker=True, phi_breaker_reset_ms=0)
        try:
            with injected(only("mcea.phi", lambda _: math.nan)):
                for i in range(60):
                    await pipeline.episode(i)
            during = dict(pipeline.metrics()["resilience"]["phi_breaker"])
            for i in range(60, 200):
                await pipeline.episode(i)
            return {"during": during, "after": pipeline.metrics()["resilience"]["phi_breaker"]}
        finally:
            pipeline.close()

    states = asyncio.run(drive())
    assert states["during"]["state"] == "open" and states["during"]["opened"] >= 1
    assert states["after"]["state"] == "closed"
    assert states["after"]["failures"] == states["during"]["failures"]


class EveryOther:
    """Raises ``error`` on every other call at ``point`` (the 1st, 3rd, ...)."""

    def __init__(self, point: str, error: type[Exception]) -> None:
        self.point, self.error, self.calls, self.raised = point, error, 0, 0

    def __call__(self, name: str, value: Any) -> Any:
        if name != self.point:
            return value
        self.calls += 1
        if self.calls % 2:
            self.raised += 1
            raise self.error(f"transient fault at {name}")
        return value


def test_transient_errors_are_retried_with_backoff(control: Outputs) -> None:
    with injected(EveryOther("mea.signal", ConnectionError)), pytest.raises(ConnectionError):
        run()
    flaky = EveryOther("mea.signal", ConnectionError)
    with injected(flaky):
        outputs, metrics = run(handoff_retries=3, retry_backoff_ms=0.1)
    assert outputs == control
    assert flaky.raised == EPISODES
    assert metrics["resilience"]["handoffs"]["retries"] == EPISODES
    assert metrics["resilience"]["handoffs"]["recovered"] == EPISODES


def test_retries_give_up_and_leave_other_errors_alone() -> None:
    def always(_: Any) -> Any:
        raise ConnectionError("down")

    with injected(only("mmei.needs", always)), pytest.raises(ConnectionError):
        run(episodes=1, handoff_retries=3, retry_backoff_ms=0.1)
    with injected(EveryOther("mmei.needs", ValueError)), pytest.raises(ValueError):
        run(episodes=1, handoff_retries=3, retry_backoff_ms=0.1)


def test_stage_timeout_turns_a_late_handoff_into_an_error() -> None:
    def slow(value: Any) -> Any:
        time.sleep(0.03)  # the injected fault: a hand-off 30 ms late, against a 5 ms budget
        return value

    with injected(only("tig.activation", slow)):
        run(episodes=1)  # without a timeout the late value passes
        with pytest.raises(StageTimeout, match="tig.activation"):
            run(episodes=1, stage_timeout_ms=5)


def test_slow_phi_counts_against_the_breaker_but_keeps_its_value(control: Outputs) -> None:
    def slow(value: Any) -> Any:
        time.sleep(0.01)  # every Φ request 10 ms late, against a 1 ms budget
        return value

    with injected(only("mcea.phi.nodes", slow)):
        outputs, metrics = run(
            episodes=40, phi_breaker=True, stage_timeout_ms=1, phi_breaker_reset_ms=1e6
        )
    ignited = [i for i, o in enumerate(control[:40]) if o["ignited"]]
    assert len(ignited) >= 4
    breaker = metrics["resilience"]["phi_breaker"]
    assert breaker["slow"] == 3 and breaker["state"] == "open"
    third = ignited[2] + 1
    assert outputs[:third] == control[:third]  # the three slow Φ values were kept


def test_admission_bounds_episodes_in_flight() -> None:
    async def drive(**settings: Any) -> tuple[int, dict[str, Any]]:
        pipeline = create(0, "optimized", **settings)
        inside = peak = 0

        def count(name: str, value: Any) -> Any:
            nonlocal inside, peak
            if name == "stimulus":
                inside += 1
                peak = max(peak, inside)
            elif name == "esgt.outcome":
                inside -= 1
            return value

        try:
            with injected(count):
                await asyncio.gather(*(pipeline.episode(i) for i in range(10)))
            return peak, pipeline.metrics()["resilience"]["admission"]
        finally:
            pipeline.close()

    unbounded, _ = asyncio.run(drive())
    bounded, admission = asyncio.run(drive(max_in_flight=2))
    assert unbounded == 10
    assert bounded == 2
    assert admission["waited"] == 8 and admission["max_waiting"] == 8
