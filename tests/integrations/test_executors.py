"""Replicas on a real Dask ``LocalCluster`` (worker processes) and in ``--workers`` processes:
exact merging, lost replicas, an unreachable scheduler, a missing extra."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ctool.model.samples import decode_ns
from ctool.run.config import RunConfig
from ctool.run.runner import run_profile

pytest.importorskip("distributed", reason='needs the dask extra: pip install "ctool[dask]"')

from replica_helpers import free_port, subprocess_env  # noqa: E402

from ctool.executors.dask import pool_factory  # noqa: E402

QUICK = "harness_pipelines:create"
TESTS = Path(__file__).resolve().parents[1] / "helpers"


def _read_ns(path: Path) -> np.ndarray:
    return np.array([int(line) for line in path.read_text().split()], dtype=np.int64)


def _check_exact_merge(report, samples: Path, replicas: int, episodes: int) -> None:
    """Merged figures equal plain numpy on the replicas' own sample files."""
    files = [samples / f"step{replicas}-replica{i}.ns" for i in range(replicas)]
    raw = [_read_ns(f) for f in files]
    assert [len(r) for r in raw] == [episodes] * replicas  # sample count == episodes run
    assert [row.episodes for row in report.replicas] == [episodes] * replicas
    both = np.concatenate(raw)
    lat = report.latency_ms
    assert lat.count == both.size == replicas * episodes
    expected = np.percentile(both, [50, 90, 95, 99, 99.9]) / 1e6
    assert [lat.p50, lat.p90, lat.p95, lat.p99, lat.p999] == pytest.approx(
        list(expected), rel=1e-12
    )
    assert lat.min == both.min() / 1e6 and lat.max == both.max() / 1e6
    assert lat.mean == pytest.approx(both.mean() / 1e6, rel=1e-12)
    stored = decode_ns(lat.samples.data, lat.samples.count)
    assert sorted(stored.tolist()) == sorted(both.tolist())  # the report keeps every sample


def test_dask_local_cluster_merges_replicas_exactly(tmp_path: Path) -> None:
    config = RunConfig(
        pipeline=QUICK, episodes=30, warmup=1, seed=3, workers=2, executor="dask",
        replica_samples_dir=tmp_path,
    )  # fmt: skip
    report = run_profile(config, pool_factory=pool_factory())
    assert report.complete and report.config.executor == "dask"
    _check_exact_merge(report, tmp_path, replicas=2, episodes=30)
    rows = report.replicas
    assert [r.index for r in rows] == [0, 1]
    assert len({r.pid for r in rows}) == 2 and os.getpid() not in {r.pid for r in rows}
    assert all(r.address and r.address.startswith("tcp://127.0.0.1:") for r in rows)
    assert all(r.host == socket.gethostname() and r.failed is None for r in rows)
    assert all(r.throughput_eps and r.throughput_eps > 0 and r.errors == 0 for r in rows)
    assert {r.pipeline_hash for r in rows} != {None}
    assert [s.workers for s in report.scaling] == [1, 2]
    assert report.scaling[1].episodes == 60
    assert (
        report.output_digest
        == run_profile(RunConfig(pipeline=QUICK, episodes=30, warmup=1, seed=3)).output_digest
    )


def test_local_workers_merge_replicas_exactly(tmp_path: Path) -> None:
    config = RunConfig(
        pipeline=QUICK, episodes=25, warmup=1, workers=2, replica_samples_dir=tmp_path
    )
    report = run_profile(config)
    assert report.complete
    _check_exact_merge(report, tmp_path, replicas=2, episodes=25)
    assert all(r.address and r.address.startswith("local pid") for r in report.replicas)


def _killing_config() -> RunConfig:
    # Replica 0 runs the 1-replica step, then dies 5 episodes into the 2-replica step.
    settings = {"die_after": 1 + 20 + 5}
    return RunConfig(pipeline=QUICK, episodes=20, warmup=1, workers=2, settings=settings)


def _check_lost_replica(report) -> None:
    assert not report.complete and report.incomplete_reason == "replica-failed"
    failed = [r for r in report.replicas if r.failed]
    assert [r.index for r in failed] == [0]
    assert failed[0].failed.startswith(f"replica 0 (pid {failed[0].pid} on ")
    survivor = report.replicas[1]
    assert survivor.failed is None and survivor.episodes == 20
    assert report.latency_ms.count == 20  # what the surviving replica measured
    assert [s.workers for s in report.scaling] == [1]  # the step that lost one is no row
    assert any("replica 0" in w for w in report.warnings)


def test_a_killed_local_worker_is_a_failed_row_and_the_run_completes() -> None:
    _check_lost_replica(run_profile(_killing_config()))


def test_a_killed_dask_worker_is_a_failed_row_and_exit_3(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    proc = subprocess.run(
        [
            sys.executable, "-m", "ctool", "profile", "--pipeline", QUICK,
            "--executor", "dask", "--workers", "2", "--episodes", "20", "--warmup", "1",
            "--set", "die_after=26", "-q", "-o", str(out),
        ],
        capture_output=True, text=True, env=subprocess_env(), timeout=240,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    assert "incomplete: replica 0 (pid " in proc.stderr
    assert ", Dask worker tcp://127.0.0.1:" in proc.stderr and "was lost" in proc.stderr
    from ctool.model.io import load_report

    _check_lost_replica(load_report(out))


def test_an_unreachable_scheduler_is_one_line_and_exit_2() -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    proc = subprocess.run(
        [
            sys.executable, "-m", "ctool", "profile", "--executor", "dask",
            "--scheduler", address, "--connect-timeout", "1", "--episodes", "5", "-q",
        ],
        capture_output=True, text=True, env=subprocess_env(), timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("ctool: error: cannot reach the Dask scheduler at " + address)
    assert "within 1 s" in lines[0]


def test_a_missing_dask_extra_names_the_install_command() -> None:
    code = (
        "import sys\nsys.modules['distributed'] = None\n"
        "sys.argv = ['ctool', 'profile', '--executor', 'dask', '--episodes', '5', '-q']\n"
        "from ctool.cli.app import main\nmain()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == (
        'ctool: error: --executor dask needs Dask distributed: pip install "ctool[dask]"'
    )


def test_executor_options_are_checked() -> None:
    from ctool.model.errors import UsageError

    with pytest.raises(UsageError, match="--executor must be local or dask"):
        RunConfig(executor="ray")
    with pytest.raises(UsageError, match="--scheduler needs --executor dask"):
        RunConfig(scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(UsageError, match="--connect-timeout"):
        RunConfig(executor="dask", connect_timeout_s=0)


def test_a_replica_running_other_code_is_refused() -> None:
    from ctool.model.errors import UsageError
    from ctool.run.replicas import ReplicaInfo, check_versions, local_info

    here = local_info(-1, QUICK)
    same = ReplicaInfo(**{**here.__dict__, "index": 0})
    assert check_versions(here, [same]) == []
    patch = ReplicaInfo(**{**here.__dict__, "index": 1, "python": here.python + "1"})
    assert "runs Python" in check_versions(here, [patch])[0]
    other = ReplicaInfo(**{**here.__dict__, "index": 2, "pipeline_hash": "0" * 16})
    with pytest.raises(UsageError, match="replica 2 .* pipeline source hash"):
        check_versions(here, [other])
    with pytest.raises(UsageError, match="ctool 9.9"):
        check_versions(here, [ReplicaInfo(**{**here.__dict__, "ctool": "9.9"})])


def test_report_json_names_each_replica(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    proc = subprocess.run(
        [
            sys.executable, "-m", "ctool", "profile", "--pipeline", QUICK,
            "--workers", "2", "--episodes", "10", "--warmup", "0", "-o", str(out),
        ],
        capture_output=True, text=True, env=subprocess_env(), timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert [r["episodes"] for r in data["replicas"]] == [10, 10]
    assert "Replicas (headline step" in proc.stdout


def test_the_suite_scaling_scenario_runs_on_a_local_cluster() -> None:
    from ctool.suite.runner import SuiteOptions, run_suite
    from ctool.suite.targets import resolve_targets

    options = SuiteOptions(
        pipeline=QUICK, quick=True, only=["scaling"], targets=resolve_targets({}),
        executor="dask", pool_factory=pool_factory(),
    )  # fmt: skip
    (scaling,) = run_suite(options).scenarios
    if (os.cpu_count() or 1) < 2:
        assert scaling.status == "skipped"
        return
    assert scaling.data["executor"] == "dask" and scaling.detail.endswith("(dask)")
    assert [row["workers"] for row in scaling.data["rows"]] == [1, 2]


def test_an_existing_cluster_runs_the_replicas_and_too_few_workers_is_one_line() -> None:
    import logging

    from distributed import LocalCluster

    from ctool.model.errors import UsageError

    with LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as cluster:  # fmt: skip
        address = cluster.scheduler_address
        config = RunConfig(
            pipeline=QUICK, episodes=10, warmup=0, workers=2, executor="dask",
            scheduler=address, connect_timeout_s=30,
        )  # fmt: skip
        report = run_profile(config, pool_factory=pool_factory())
        assert report.complete and report.config.scheduler == address
        assert {r.address for r in report.replicas} == set(cluster.scheduler.workers)
        assert len(cluster.scheduler.workers) == 2  # ctool left the cluster it was given up
        too_many = RunConfig(
            pipeline=QUICK, episodes=10, workers=3, executor="dask", scheduler=address,
            connect_timeout_s=1,
        )  # fmt: skip
        with pytest.raises(UsageError, match=r"has 2 worker\(s\); 3 replicas need 3"):
            run_profile(too_many, pool_factory=pool_factory())
