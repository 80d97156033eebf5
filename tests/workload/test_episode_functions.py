"""Functions and callable objects as the episode (`--episode`), and the factory rule."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import episode_functions
import pytest
from typer.testing import CliRunner

from ctool.cli.app import app
from ctool.model.errors import PipelineLoadError
from ctool.run.config import RunConfig
from ctool.run.runner import run_profile
from ctool.workload.loader import build_pipeline


@pytest.fixture(autouse=True)
def fresh_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for calls in episode_functions.CALLS.values():
        calls.clear()


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["profile", *args])


@pytest.mark.parametrize(
    ("ref", "key", "indexes"),
    [
        ("episode_functions:async_handle", "async", True),
        ("episode_functions:sync_handle", "sync", False),
        ("episode_functions:counter", "object", True),
    ],
)
def test_each_form_runs_exactly_the_requested_episodes(ref: str, key: str, indexes: bool) -> None:
    result = invoke("--episode", ref, "--episodes", "7", "--warmup", "2", "-f", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    calls = episode_functions.CALLS[key]
    assert len(calls) == 9  # 2 warm-up + 7 measured, no more, no fewer
    assert report["latency_ms"]["count"] == 7
    assert report["config"]["pipeline"] == f"episode:{ref}"
    if indexes:
        assert calls == list(range(9))  # called with the episode index
    else:
        assert calls == [None] * 9  # takes no argument: called with none


def test_a_callable_objects_hooks_are_used() -> None:
    report = run_profile(
        RunConfig(pipeline="episode:episode_functions:counter", episodes=5, warmup=0)
    )
    assert report.pipeline_metrics == {"calls": 5}


def test_third_party_code_as_the_episode() -> None:
    report = run_profile(
        RunConfig(pipeline="episode:episode_functions:validate_order", episodes=6, warmup=1)
    )
    assert episode_functions.CALLS["pydantic"] == list(range(7))
    assert report.latency_ms.count == 6 and report.errors.count == 0


def test_an_async_function_named_as_a_factory_is_refused_unawaited() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a "never awaited" RuntimeWarning would fail here
        with pytest.raises(PipelineLoadError, match="use --episode episode_functions:handle"):
            build_pipeline("episode_functions:handle")


def test_a_factory_returning_a_coroutine_is_closed_and_refused() -> None:
    import types

    module = types.ModuleType("coro_factory_mod")
    module.make = lambda: episode_functions.async_handle(0)  # type: ignore[attr-defined]
    import sys

    sys.modules["coro_factory_mod"] = module
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(PipelineLoadError, match="returned a coroutine"):
                build_pipeline("coro_factory_mod:make")
    finally:
        del sys.modules["coro_factory_mod"]
    assert episode_functions.CALLS["async"] == []  # the coroutine never ran


def test_the_cli_says_it_in_one_line_without_a_warning() -> None:
    result = invoke("--pipeline", "episode_functions:handle", "--episodes", "3")
    assert result.exit_code == 2
    assert "--episode episode_functions:handle" in result.output
    assert "never awaited" not in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--episode", "no_such_module_xyz:f"], "cannot import"),
        (["--episode", "episode_functions:nope"], "no attribute"),
        (["--episode", "episode_functions"], "--episode expects"),
        (["--episode", "episode_functions:two_arguments"], "requires (index, other)"),
        (["--episode", "episode_functions:Counter"], "is a class"),
        (["--episode", "episode_functions:sync_handle", "--set", "a=1"], "takes no settings"),
        (["--episode", "episode_functions:sync_handle", "-p", "x:y"], "choose one"),
    ],
)
def test_bad_episode_targets_are_one_line_and_exit_2(args: list[str], needle: str) -> None:
    result = invoke(*args, "--episodes", "2")
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_ab_takes_the_episode_form_in_its_worker_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from paths import subprocess_env

    monkeypatch.setenv("PYTHONPATH", subprocess_env()["PYTHONPATH"])
    out = tmp_path / "ab.json"
    ref = "episode:episode_functions:work_a"
    result: Any = CliRunner().invoke(
        app,
        [
            "ab",
            "--a-pipeline",
            ref,
            "--b-pipeline",
            ref,
            "--rounds",
            "3",
            "--block-ms",
            "20",
            "-q",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code in (0, 1), result.output
    report = json.loads(out.read_text())
    assert report["kind"] == "compare"
    assert ref in json.dumps(report)


def test_the_reference_pipelines_bound_episode_method_as_the_episode() -> None:
    report = run_profile(
        RunConfig(pipeline="episode:episode_functions:REFERENCE_EPISODE", episodes=5, warmup=1)
    )
    assert report.latency_ms.count == 5 and report.errors.count == 0
    assert {"TIG", "ESGT"} <= set(report.stages)  # its spans record as the pipeline's do
