"""A dead replica never takes the others' episodes with it on Dask either (issue 26,
defect 3): replica 0's process on a real ``LocalCluster`` worker dies by a real SIGKILL in
the one-replica step; replica 1 runs the step and its episodes are the headline."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctool.run.config import RunConfig
from ctool.run.runner import run_profile

pytest.importorskip("distributed", reason='needs the dask extra: pip install "ctool[dask]"')

from ctool.executors.dask import pool_factory  # noqa: E402

EPISODES = 20


def test_dask_replica_0_killed_keeps_replica_1s_episodes(tmp_path: Path) -> None:
    settings = {"marker": str(tmp_path / "claimed"), "after": 5, "how": "kill"}
    config = RunConfig(
        pipeline="dying_pipelines:die_once", episodes=EPISODES, warmup=1, workers=2,
        executor="dask", settings=settings,
    )  # fmt: skip
    report = run_profile(config, pool_factory=pool_factory())
    assert not report.complete and report.incomplete_reason == "replica-failed"
    rows = {row.index: row for row in report.replicas}
    assert rows[0].failed and rows[1].failed is None
    assert rows[1].episodes == EPISODES
    assert report.latency_ms.count == EPISODES
