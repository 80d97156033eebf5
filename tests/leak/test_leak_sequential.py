"""The sequential leakcheck's table: each pipeline in a fresh process, five seeds, no wrong
verdict ("inconclusive" counts as wrong for the leaks and for the reference pipeline).

The seeds change each pipeline's jitter and background churn (tests/helpers/leak_pipelines.py).
Each pipeline's five seeds run one after another in one fresh ``python tests/helpers/leak_table.py``
process (one import of numpy/scipy/pydantic per pipeline, not per seed), with the
default budget (first round 1000 episodes, doubling, horizon 10,000). What they cost on
this 2-core machine and how many episodes each case needed: docs/leakcheck.md ("Episodes
needed") and ``benchmarks/leakcheck.py --table``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parents[1] / "helpers"
ROOT = TESTS.parents[1]
SEEDS = ["0", "1", "2", "3", "4"]


def _table(ref: str, *args: str, seeds: list[str] = SEEDS) -> list[dict[str, Any]]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), str(TESTS), *filter(None, [env.get("PYTHONPATH")])]
    )
    done = subprocess.run(
        [sys.executable, str(TESTS / "leak_table.py"), ref, *seeds, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [str(row["seed"]) for row in rows] == seeds
    return rows


def _line_of(marker: str) -> int:
    source = (TESTS / "leak_pipelines.py").read_text().splitlines()
    return next(i for i, line in enumerate(source, 1) if marker in line)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("pipeline", "marker", "rate"),
    [
        ("slow_leak", "SLOW-LEAK-LINE", 32),
        ("stepwise_dict", "DICT-LEAK-LINE", 64),
        ("kilobyte_leak", "KB-LEAK-LINE", 1040),
    ],
)
def test_leaks_are_leaks_with_their_line(pipeline: str, marker: str, rate: float) -> None:
    line = _line_of(marker)
    for row in _table(f"leak_pipelines:{pipeline}"):
        assert row["verdict"] == "leak", row
        assert row["growth"] == "steady"
        assert row["slope"] == pytest.approx(rate, rel=0.3), row
        assert row["top_site"].endswith(f"leak_pipelines.py:{line}"), row
        assert row["evidence"], row  # a type growing by a constant count per episode


@pytest.mark.slow
@pytest.mark.parametrize(
    ("pipeline", "rise_by"),
    [("lru", 5000), ("ring", 2000)],
)
def test_bounded_growth_is_clean_with_its_plateau(pipeline: str, rise_by: int) -> None:
    for row in _table(f"leak_pipelines:{pipeline}"):
        assert row["verdict"] == "clean", row
        assert row["growth"] == "stopped", row
        plateau = row["plateau"]
        assert plateau is not None and plateau["growth_bytes"] > 0
        # Filled after ``rise_by`` episodes in all (100 of them warm-up), reached by then
        # or a little later (a dict that evicts keeps using fresh slots until it compacts).
        assert rise_by * 0.7 <= plateau["episode"] <= rise_by * 1.25, row
        assert row["episodes"] > plateau["episode"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ("--preset", "optimized"),
        (
            "--preset",
            "baseline",
            "--set",
            "kuramoto=numpy",
            "--set",
            "phi=vectorized",
            "--set",
            "health_probe=offloop",
        ),
    ],
    ids=["optimized", "baseline"],
)
def test_reference_pipeline_is_clean(args: tuple[str, ...]) -> None:
    for row in _table("ctool.pipeline:create", *args):
        assert row["verdict"] == "clean", row
        assert row["growth"] in ("stopped", "none"), row


@pytest.mark.slow
@pytest.mark.parametrize("seed", ["0", "1"])
def test_native_leak_seen_as_rss_beyond_traced_memory(seed: str) -> None:
    """tracemalloc cannot see libc malloc: no site, but the report says RSS grew beyond
    traced memory, and points at --engine memray. One fresh process per seed: RSS is the
    only witness here, and a process that already ran (and freed) a check reuses its
    resident pages."""
    line = _line_of("NATIVE-LEAK-LINE")
    for row in _table("leak_pipelines:native_leak", seeds=[seed]):
        assert row["verdict"] == "leak", row
        assert row["rss_beyond_traced"] == pytest.approx(4096, rel=0.2), row
        assert "beyond traced memory" in row["reason"] and "memray" in row["reason"]
        assert row["top_site"] is None or not row["top_site"].endswith(f":{line}")


@pytest.mark.slow
@pytest.mark.parametrize("seed", ["0", "1"])
def test_memray_engine_finds_the_native_leak_with_its_python_line(seed: str) -> None:
    pytest.importorskip("memray")
    line = _line_of("NATIVE-LEAK-LINE")
    (row,) = _table("leak_pipelines:native_leak", "--engine", "memray", seeds=[seed])
    assert row["verdict"] == "leak", row
    assert row["slope"] == pytest.approx(4096, rel=0.05)
    assert row["top_site"].endswith(f"leak_pipelines.py:{line}"), row
    assert row["top_site_stage"] == "NATIVE"
    assert row["rss_beyond_traced"] is None  # memray's retained memory includes it


@pytest.mark.slow
def test_memray_engine_clean_and_bounded() -> None:
    pytest.importorskip("memray")
    rows = _table("leak_pipelines:ring", "--engine", "memray", seeds=["0"])
    assert rows[0]["verdict"] == "clean" and rows[0]["growth"] == "stopped", rows[0]
