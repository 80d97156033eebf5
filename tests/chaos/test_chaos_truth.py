"""ctool chaos against pipelines whose truth is known by construction (chaos_pipelines)."""

from __future__ import annotations

import dataclasses
import math
import resource
from collections.abc import Iterator
from pathlib import Path

import chaos_pipelines
import pytest

from ctool import faults, spans
from ctool.chaos.account import OUTCOME_LIMIT
from ctool.chaos.options import chaos_options
from ctool.chaos.runner import run_chaos
from ctool.model.chaos_schema import ChaosReport

PIPELINE = "chaos_pipelines:create"


@pytest.fixture(autouse=True)
def no_fault_left_installed() -> Iterator[None]:
    """Faults act only inside a chaos run: nothing installed before or after a test."""
    assert faults.install(None) is None
    assert spans.install_fault(None) == (None, None)
    chaos_pipelines.BUILT.clear()
    yield
    assert faults.install(None) is None, "a fault-point injector was left installed"
    assert spans.install_fault(None) == (None, None), "a span fault hook was left installed"


def chaos(
    *fault: str,
    episodes: int | None = 200,
    duration: float | None = None,
    timeout: float = 5.0,
    settings: dict[str, object] | None = None,
    pipeline: str = PIPELINE,
    abort_burn: float | None = None,
    hypothesis: dict[str, float] | None = None,
) -> ChaosReport:
    options = chaos_options(
        plan_path=None,
        faults=list(fault),
        pipeline=pipeline,
        preset=None,
        settings=dict(settings or {}),
        seed=3,
        duration_s=duration,
        episodes=None if duration is not None else episodes,
        concurrency=None,
        episode_timeout_s=timeout,
        window_s=0.25,
        abort_burn=abort_burn,
        proxies=None,
    )
    if hypothesis is not None:
        options.plan = dataclasses.replace(options.plan, hypothesis=hypothesis)
    return run_chaos(options)


def experiment_pipeline() -> chaos_pipelines.Stateless:
    assert len(chaos_pipelines.BUILT) == 2  # the control, then the experiment
    return chaos_pipelines.BUILT[1]


def each_episode_once(report: ChaosReport) -> None:
    """The invariant: every started episode has exactly one outcome."""
    a = report.accounting
    assert a.accounted
    total = (
        a.ok + a.failed_total + a.timed_out + a.lost + a.duplicated
        + a.wrong_escaped + a.wrong_caught
    )  # fmt: skip
    assert total == a.started
    named = [o.index for o in report.outcomes]  # the first OUTCOME_LIMIT not ok, by name
    assert len(named) == len(set(named)) == min(a.started - a.ok, OUTCOME_LIMIT)


def wilson(successes: int, n: int, z: float = 3.29) -> tuple[float, float]:
    """The Wilson score interval (z = 3.29: 99.9 %)."""
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def test_five_percent_errors_measured_within_their_binomial_interval() -> None:
    report = chaos("error:span:B:probability=0.05,exception=ConnectionError", episodes=2000)
    each_episode_once(report)
    failed = report.accounting.failed
    assert set(failed) == {"ConnectionError"}
    low, high = wilson(failed["ConnectionError"], report.accounting.started)
    assert low <= 0.05 <= high
    assert failed["ConnectionError"] == report.faults[0].applied
    # The others returned the control's outputs exactly: an error fault corrupts nothing.
    assert report.accounting.ok == report.accounting.started - failed["ConnectionError"]


def test_the_same_seed_faults_the_same_episodes() -> None:
    first = chaos("error:span:B:probability=0.1", episodes=300)
    second = chaos("error:span:B:probability=0.1", episodes=300)
    assert [o.index for o in first.outcomes] == [o.index for o in second.outcomes]


@pytest.mark.serial
@pytest.mark.parametrize(
    "fault",
    ["latency:span:A:ms=100", "latency:span:B:ms=100,mode=blocking"],
    ids=["awaited", "blocking"],
)
def test_latency_inflation_equals_the_injected_amount(fault: str) -> None:
    report = chaos(fault, episodes=20)
    each_episode_once(report)
    assert report.accounting.ok == 20
    assert report.experiment.p50_ms is not None and report.control.p50_ms is not None
    inflation = report.experiment.p50_ms - report.control.p50_ms
    assert inflation == pytest.approx(100.0, rel=0.10)


@pytest.mark.parametrize("mode", ["nan", "sign", "stale", "drop"])
def test_every_corrupted_episode_is_found_by_digest(mode: str) -> None:
    report = chaos(f"corrupt:point:B.value:mode={mode},probability=0.1", episodes=400)
    each_episode_once(report)
    truth = experiment_pipeline().changed
    assert truth, "the fault should have changed some values"
    wrong = {o.index for o in report.outcomes if o.outcome == "wrong_escaped"}
    assert wrong == truth
    assert report.accounting.wrong_escaped == len(truth)
    assert report.accounting.ok == 400 - len(truth)


def test_a_pipeline_that_flags_bad_values_has_them_caught() -> None:
    report = chaos(
        "corrupt:point:B.value:mode=nan,probability=0.1", episodes=300, settings={"flag": True}
    )
    each_episode_once(report)
    truth = experiment_pipeline().changed
    assert report.accounting.wrong_caught == len(truth) > 0
    assert report.accounting.wrong_escaped == 0


def test_a_hang_is_ended_by_the_episode_timeout() -> None:
    report = chaos("hang:span:A:probability=0.05,mode=awaited", episodes=200, timeout=0.05)
    each_episode_once(report)
    assert report.accounting.timed_out == report.faults[0].applied > 0
    assert report.accounting.ok == 200 - report.accounting.timed_out


def test_duplicated_deliveries_are_counted_once_each() -> None:
    report = chaos("corrupt:point:B.value:mode=duplicate,every=10", episodes=200)
    each_episode_once(report)
    assert report.accounting.duplicated == 20 == report.faults[0].applied


@pytest.mark.parametrize(
    "fault",
    [
        "latency:span:A:ms=1,probability=0.2",
        "latency:span:B:ms=1,probability=0.2,mode=blocking",
        "error:span:A:probability=0.1,exception=TimeoutError",
        "hang:span:B:probability=0.02,mode=blocking,start_s=0,duration_s=0.05",
        "corrupt:point:B.value:mode=perturb,scale=0.5,probability=0.1",
        "message:point:B.value:action=drop,probability=0.1",
        "message:point:B.value:action=delay,ms=1,probability=0.1",
        "cpu::threads=1",
        "cpu::processes=1",
        "memory::mb=16",
        "fds::consume=16",
        "starve::block_ms=2,every_ms=10",
    ],
)
def test_every_started_episode_is_accounted_exactly_once(fault: str) -> None:
    report = chaos(fault, episodes=150, timeout=0.5)
    each_episode_once(report)
    assert report.accounting.started == 150
    if fault.startswith("error"):  # an injected TimeoutError is an error, not a timeout
        assert report.accounting.failed.get("TimeoutError", 0) == report.faults[0].applied > 0
        assert report.accounting.timed_out == 0


def test_fds_come_back_to_their_baseline_after_exhaustion() -> None:
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)
    report = chaos(
        "fds::consume=100000,cap=512,start_s=0.2,duration_s=0.8",
        duration=1.2,
        settings={"files": True},
    )
    each_episode_once(report)
    assert report.accounting.failed.get("OSError", 0) > 0  # exhausted: opens failed
    left = report.leftovers
    assert left.fds_before is not None and left.fds_after == left.fds_before
    assert resource.getrlimit(resource.RLIMIT_NOFILE) == limit
    window = report.fault_windows[0]
    failed = [o.index for o in report.outcomes if o.outcome == "failed:OSError"]
    assert failed and window.end_s is not None


def test_a_capped_descriptor_limit_is_restored() -> None:
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)
    report = chaos("fds::cap=8,start_s=0.1,duration_s=0.8", duration=1.0, settings={"files": True})
    each_episode_once(report)
    assert report.accounting.failed.get("OSError", 0) > 0
    assert resource.getrlimit(resource.RLIMIT_NOFILE) == limit


def test_cpu_hogs_and_balloons_leave_nothing_behind() -> None:
    report = chaos("cpu::threads=2,processes=1", "memory::mb=32", episodes=100)
    each_episode_once(report)
    left = report.leftovers
    assert left.threads_after == left.threads_before
    assert not left.threads_left
    assert left.tasks_after == left.tasks_before


def test_an_unsteady_pipeline_is_refused_with_the_reason() -> None:
    report = chaos("error:span:B", pipeline="chaos_pipelines:flaky", episodes=60)
    assert report.verdict == "refused"
    assert "not steady" in report.verdict_reason or "control failed" in report.verdict_reason
    assert report.accounting.started == 0


def test_abort_burn_ends_the_experiment_early() -> None:
    report = chaos("error:span:B:start_s=0.3", duration=5.0, abort_burn=2.0)
    assert report.verdict == "aborted"
    assert not report.complete and report.incomplete_reason == "aborted"
    assert report.experiment.duration_s < 4.0
    each_episode_once(report)


def test_recovery_is_measured_after_the_fault_window() -> None:
    # Errors and wrong outputs only: throughput on a shared machine is not steady enough.
    steady = {"error_rate": 0.01, "wrong_rate": 0.0}
    report = chaos("error:span:B:start_s=0.25,duration_s=0.5", duration=1.5, hypothesis=steady)
    each_episode_once(report)
    phases = {c.phase: c.verdict for c in report.checks}
    assert phases["before"] == "held" and phases["during"] == "violated"
    # Errors happen only inside the window: after it, only an episode that entered B before
    # it closed (and ended late on a busy machine) can fail, in the first window after.
    after = [w for w in report.timeline if w.phase == "after"]
    assert len(after) >= 2 and all(w.holds for w in after[1:])
    recovery = report.recovery
    assert recovery.time_to_detect_s is not None and recovery.time_to_detect_s < 0.5
    assert recovery.time_to_recover_s is not None  # recovered before the run's last window


def test_an_output_the_hypothesis_watches_breaks_it_only_while_corrupted(
    tmp_path: Path,
) -> None:
    """``[hypothesis.outputs] value = 0.05``: the sign of every value flipped in one window
    puts that window's mean 200 % off the control's; the others are exact."""
    plan = tmp_path / "plan.toml"
    plan.write_text(
        "[hypothesis]\nerror_rate = 0.01\n[hypothesis.outputs]\nvalue = 0.05\n"
        '[[fault]]\nkind = "corrupt"\ntarget = "point:B.value"\nmode = "sign"\n'
        "start_s = 0.5\nduration_s = 0.5\n"
    )
    options = chaos_options(
        plan_path=plan,
        faults=None,
        pipeline=PIPELINE,
        preset=None,
        settings={},
        seed=3,
        duration_s=2.0,
        episodes=None,
        concurrency=None,
        episode_timeout_s=None,
        window_s=0.5,
        abort_burn=None,
        proxies=None,
    )
    report = run_chaos(options)
    each_episode_once(report)
    assert report.hypothesis["output:value"] == 0.05
    by_phase = {c.phase: c for c in report.checks}
    assert by_phase["before"].verdict == "held" and by_phase["after"].verdict == "held"
    assert by_phase["during"].verdict == "violated"
    during = [w for w in report.timeline if w.phase == "during"]
    assert during and all(w.outputs["value"] == pytest.approx(2.0, rel=0.01) for w in during)
    # The window right after the fault may hold episodes that started while it was on
    # (a window is cut by time, an episode by when it started): judge the ones past it.
    after_edge = {
        id(b)
        for a, b in zip(report.timeline, report.timeline[1:], strict=False)
        if a.phase == "during" and b.phase != "during"
    }
    others = [
        w
        for w in report.timeline
        if w.phase != "during" and "value" in w.outputs and id(w) not in after_edge
    ]
    assert others and all(w.outputs["value"] == 0.0 for w in others)
