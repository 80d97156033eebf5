"""Boundary rows on code ctool did not write: examples/docpipe.py (PyYAML, networkx, Jinja2).

Its costs are known by construction: ``parse`` is mostly ``yaml.load`` (a deep pure-Python
call tree), ``route`` mostly ``networkx.betweenness_centrality``. For the async and the sync
form, cProfile's and py-spy's top two rows must be those two calls, at their call lines, in
their stages, with shares within 10 points of the stage table's; and no row may name ctool,
asyncio's loop or a helper thread.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest

from ctool.model.schema import Hotspot, ProfileReport
from ctool.profilers import frames
from ctool.profilers.registry import discover
from ctool.run.config import RunConfig
from ctool.run.runner import run_profile

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def importable(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.syspath_prepend(str(REPO))
    yield
    frames.set_user_code(())


def call_line(function: object, text: str) -> int:
    lines, first = inspect.getsourcelines(function)  # type: ignore[arg-type]
    (found,) = [first + i for i, line in enumerate(lines) if text in line]
    return found


def run(factory: str, profiler: str, tmp_path: Path, episodes: int) -> ProfileReport:
    config = RunConfig(
        pipeline=f"examples.docpipe:{factory}",
        episodes=episodes,
        warmup=2,
        profilers=(profiler,),
        pyspy_rate=200,
        top=6,
        block_threshold_ms=0,
        artifacts_dir=tmp_path,
    )
    return run_profile(config)


def check_top_two(report: ProfileReport, profiler: str, episode: object) -> None:
    rows = [row for row in report.hotspots if row.profiler == profiler]
    assert len(rows) >= 2, rows
    expected = [
        ("yaml.load", "parse", call_line(episode, "yaml.load(")),
        ("networkx.betweenness_centrality", "route", call_line(episode, "betweenness_centrality(")),
    ]
    top = sorted(rows[:2], key=lambda row: row.stage or "")
    for row, (callee, stage, line) in zip(top, expected, strict=True):
        assert row.extra["kind"] == "boundary", row
        assert row.extra["callee"] == callee, row
        assert row.function.endswith(f"episode -> {callee}"), row
        assert (row.stage, row.line, row.file) == (stage, line, str(REPO / "examples/docpipe.py"))
        assert row.share is not None
        assert abs(row.share - report.stages[stage].share) <= 0.10, (row, report.stages[stage])
    assert_no_machinery(rows)


def assert_no_machinery(rows: list[Hotspot]) -> None:
    for row in rows:
        assert "/ctool/" not in row.file or "/ctool/pipeline/" in row.file, row
        assert "asyncio" not in row.file and "threading" not in row.file, row
        assert "_run_once" not in row.function and "ctool" not in row.function, row


@pytest.mark.parametrize("factory", ["create", "create_sync"])
def test_cprofile_top_two_rows_are_the_known_library_calls(factory: str, tmp_path: Path) -> None:
    from examples import docpipe

    report = run(factory, "cprofile", tmp_path, episodes=25)
    episode = (
        docpipe.AsyncDocPipeline.episode if factory == "create" else docpipe.DocPipeline.episode
    )
    check_top_two(report, "cprofile", episode)
    # The Jinja filter, called back by Jinja, is a user row of its own in stage render.
    names = {row.function: row for row in report.hotspots}
    assert "money" not in names or names["money"].stage == "render"


@pytest.mark.parametrize("factory", ["create", "create_sync"])
def test_pyspy_top_two_rows_are_the_known_library_calls(factory: str, tmp_path: Path) -> None:
    availability = discover()["pyspy"].create().availability()
    if not availability.ok:
        pytest.skip(f"py-spy cannot run here: {availability.reason}")
    from examples import docpipe

    episode = (
        docpipe.AsyncDocPipeline.episode if factory == "create" else docpipe.DocPipeline.episode
    )
    # A sampler can miss a short run on a loaded machine: run longer until it has enough
    # samples (a bound on attempts, not a time).
    for episodes in (40, 160):
        report = run(factory, "pyspy", tmp_path, episodes=episodes)
        (spy,) = report.profilers
        if spy.metadata.get("samples", 0) >= 100:
            break
    check_top_two(report, "pyspy", episode)


def cprofile_sync(tmp_path: Path, episodes: int, **options: object) -> ProfileReport:
    """A short cProfile run of the sync form."""
    config = RunConfig(
        pipeline="examples.docpipe:create_sync",
        episodes=episodes,
        warmup=1,
        profilers=("cprofile",),
        top=30,
        block_threshold_ms=0,
        artifacts_dir=tmp_path,
        **options,  # type: ignore[arg-type]
    )
    return run_profile(config)


def test_hotspots_all_and_user_foldings(tmp_path: Path) -> None:
    report = cprofile_sync(tmp_path, 10, hotspots="user")
    assert all(row.extra["kind"] == "user" for row in report.hotspots)
    assert report.hotspots[0].function == "DocPipeline.episode"
    assert_no_machinery(report.hotspots)
    unfolded = cprofile_sync(tmp_path, 10, hotspots="all")
    kinds = {row.extra["kind"] for row in unfolded.hotspots}
    assert "library" in kinds  # yaml's own functions, unfolded
    assert any(
        row.file.endswith(("yaml/scanner.py", "yaml/reader.py")) for row in unfolded.hotspots
    )
    assert_no_machinery(unfolded.hotspots)


def test_user_code_makes_a_library_the_users(tmp_path: Path) -> None:
    """``--user-code yaml``: PyYAML's functions become user rows and its parse a user row."""
    report = cprofile_sync(tmp_path, 8, user_code=("yaml",))
    callees = {row.extra.get("callee") for row in report.hotspots}
    assert "yaml.load" not in callees
    assert any("/yaml/" in row.file and row.extra["kind"] == "user" for row in report.hotspots)
    assert any(
        row.extra.get("callee") == "networkx.betweenness_centrality" for row in report.hotspots
    )


def test_user_code_that_is_neither_a_path_nor_a_package_is_refused() -> None:
    with pytest.raises(ValueError, match="no-such-package-xyz"):
        frames.set_user_code(["no-such-package-xyz"])


def test_overhead_below_one_or_straddling_one_is_below_noise() -> None:
    from ctool.model.format import overhead
    from ctool.model.schema import ProfilerRun
    from ctool.profilers.session import ratio_interval

    assert overhead(0.82, None) == "below noise"
    assert overhead(0.59, (0.41, 0.97)) == "below noise [0.41, 0.97]"
    assert overhead(1.04, (0.93, 1.12)) == "below noise [0.93, 1.12]"
    assert overhead(1.42, (1.30, 1.55)) == "x1.42 [1.30, 1.55]"
    run = ProfilerRun(name="x", overhead_ratio=0.9, metadata={"calibration": {}})
    assert "0.9" not in run.overhead_label
    # The interval brackets the ratio of medians it was resampled from.
    lo, hi = ratio_interval([100, 101, 99, 100, 102] * 8, [150, 149, 151, 150, 152] * 8)
    assert 1.3 < lo <= 1.5 <= hi < 1.7
    lo, hi = ratio_interval([100, 120, 80, 110, 90] * 8, [101, 119, 82, 108, 91] * 8)
    assert lo <= 1.0 <= hi


def test_every_profile_report_carries_the_harness_cost(tmp_path: Path) -> None:
    """Calibrated after the run, written into the report, shown under the tables."""
    from ctool.reports.sections import footer

    report = run_profile(
        RunConfig(pipeline="examples.docpipe:create", episodes=3, warmup=1, block_threshold_ms=0)
    )
    cost = report.harness_cost
    assert cost is not None and cost.episodes > 0
    assert cost.span_ns > 0 and cost.bookkeeping_us > 0
    assert cost.empty_episode_us > cost.bookkeeping_us
    (line,) = [line for line in footer(report) if line.startswith("Harness cost")]
    assert "4.0 spans" in line  # parse, validate, route, render


class ExecutorPipeline:
    """A stage that hands its work to the loop's default executor."""

    async def episode(self, index: int) -> int:
        import asyncio

        import ctool

        def work() -> int:
            with ctool.span("route.io"):
                return sum(range(1000))

        with ctool.span("route"):
            return await asyncio.get_running_loop().run_in_executor(None, work)


def create_executor_pipeline(seed: int = 0) -> ExecutorPipeline:
    return ExecutorPipeline()


def test_work_handed_to_run_in_executor_keeps_its_stage(tmp_path: Path) -> None:
    report = run_profile(
        RunConfig(
            pipeline="test_hotspots_boundary:create_executor_pipeline",
            episodes=5,
            warmup=1,
            block_threshold_ms=0,
        )
    )
    nested = report.stages["route.io"]
    assert nested.count == 5 and nested.parent == "route"
