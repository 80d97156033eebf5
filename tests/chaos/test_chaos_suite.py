"""Day 9 in ``ctool suite``: honest rows on pipelines whose truth is known."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from paths import REPO
from typer.testing import CliRunner

from ctool.cli.app import app


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(REPO))
    yield tmp_path


def rows(*args: str) -> dict[str, dict[str, object]]:
    result = CliRunner().invoke(app, ["suite", "--quick", "-f", "json", *args])
    assert result.exit_code in (0, 1), result.output
    return {r["name"]: r for r in json.loads(result.output)["scenarios"]}


def test_a_pipeline_that_lets_nan_through_fails_the_corruption_row() -> None:
    found = rows("-p", "chaos_pipelines:create", "--only", "25,27")
    assert found["chaos_corruption"]["status"] == "fail"
    assert found["chaos_corruption"]["measured"] > 0
    assert found["chaos_exhaustion"]["status"] == "pass"


def test_a_pipeline_that_flags_nan_passes_it() -> None:
    found = rows("-p", "chaos_pipelines:create", "--set", "flag=true", "--only", "25")
    row = found["chaos_corruption"]
    assert row["status"] == "pass" and row["measured"] == 0
    assert row["data"]["accounting"]["wrong_caught"] > 0


def test_a_pipeline_without_fault_points_skips_the_byzantine_row() -> None:
    found = rows("-p", "chaos_pipelines:flaky", "--only", "25")
    assert found["chaos_corruption"]["status"] == "skipped"
