"""Worker processes: ``--rounds`` (fresh processes in turn) and ``--workers`` (replicas)."""

from __future__ import annotations

import os

import pytest

from ctool.harness.runconfig import RunConfig
from ctool.harness.runner import run_profile
from ctool.harness.workers import scaling_steps
from ctool.model.errors import UsageError

QUICK = "harness_pipelines:create"


def test_scaling_steps() -> None:
    assert scaling_steps(1) == [1]
    assert scaling_steps(2) == [1, 2]
    assert scaling_steps(6) == [1, 2, 4, 6]
    assert scaling_steps(8) == [1, 2, 4, 8]


def test_rounds_run_in_fresh_processes_with_the_same_behaviour() -> None:
    local = run_profile(RunConfig(pipeline=QUICK, episodes=25, warmup=2, seed=5))
    report = run_profile(RunConfig(pipeline=QUICK, episodes=25, warmup=2, seed=5, rounds=2))
    assert report.complete and report.config.rounds == 2
    assert [r.index for r in report.rounds] == [0, 1]
    pids = {r.pid for r in report.rounds}
    assert len(pids) == 2 and os.getpid() not in pids
    assert all(r.episodes == 25 for r in report.rounds)
    assert report.rounds[0].stages["parse"]["mean_ms"] > 0
    assert report.rounds[0].metrics["episodes.count"] == 27  # warm-up + episodes, per process
    assert report.latency_ms.count == 50
    assert report.output_digest == local.output_digest
    assert not report.warnings  # same digest in both rounds
    assert {"parse", "score", "emit"} <= set(report.stages)


def test_workers_merge_records_and_report_scaling() -> None:
    local = run_profile(RunConfig(pipeline=QUICK, episodes=20, warmup=1, seed=2))
    report = run_profile(RunConfig(pipeline=QUICK, episodes=20, warmup=1, seed=2, workers=2))
    assert report.latency_ms.count == 40  # two replicas x 20 episodes
    assert [row.workers for row in report.scaling] == [1, 2]
    assert report.scaling[0].efficiency == pytest.approx(1.0)
    assert report.scaling[1].throughput_eps > 0
    assert report.output_digest == local.output_digest
    assert report.resources.cpu_percent_mean is not None


def test_worker_errors_in_episodes_come_back_counted() -> None:
    report = run_profile(
        RunConfig(pipeline=QUICK, episodes=10, warmup=0, rounds=2, settings={"fail_every": 5})
    )
    assert report.errors.count == 4 and report.latency_ms.count == 16
    assert report.errors.samples[0].type == "ValueError"


def test_a_bad_setting_fails_before_any_worker_starts() -> None:
    with pytest.raises(UsageError, match="no setting"):
        run_profile(RunConfig(pipeline=QUICK, episodes=5, rounds=2, settings={"bogus": 1}))
