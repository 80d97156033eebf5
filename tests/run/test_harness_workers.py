"""Worker processes: ``--rounds`` (fresh processes in turn) and ``--workers`` (replicas)."""

from __future__ import annotations

import os
from array import array

import pytest

from ctool.model.errors import UsageError
from ctool.model.records import PartRecords
from ctool.run.config import RunConfig
from ctool.run.replicas import merge_replica_parts, part_throughput
from ctool.run.runner import run_profile
from ctool.run.workers import scaling_steps

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


def _part(host: str, latencies: list[int], start_mono: int, wall: int) -> PartRecords:
    part = PartRecords("p", latencies=array("q", latencies))
    part.offsets = array("q", [i * 10 for i in range(len(latencies))])
    part.t_start_mono_ns, part.t_end_mono_ns, part.wall_ns = start_mono, start_mono + wall, wall
    part.extra = {"host": host}
    return part


def test_replica_parts_from_other_hosts_are_never_compared_by_timestamp() -> None:
    # Host b's monotonic clock is 10^12 ns ahead: an alignment would stretch the run.
    a = _part("a", [5, 7, 9], start_mono=1_000, wall=100)
    b = _part("b", [6, 8], start_mono=10**12, wall=300)
    merged = merge_replica_parts("2 workers", [a, b])
    assert list(merged.latencies) == [5, 7, 9, 6, 8]  # every sample, exactly
    assert list(merged.offsets) == [0, 10, 20, 0, 10]  # each on its own replica's clock
    assert merged.wall_ns == 300  # the longest replica's own wall time
    assert part_throughput(a) == pytest.approx(3 / 100e-9)
    # One host: one CLOCK_MONOTONIC, merged on it (as --workers always did).
    same = merge_replica_parts("2 workers", [a, _part("a", [6], start_mono=1_050, wall=100)])
    assert same.wall_ns == 150 and list(same.offsets) == [0, 10, 20, 50]
