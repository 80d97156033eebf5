"""ctool leakcheck end to end on small pipelines (tests/helpers/leak_pipelines.py): a leak found
with its line and stage, clean runs, a bounded cache, errors, Ctrl-C, the CLI's exits."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ctool.cli.app import app
from ctool.leak.runner import LeakcheckOptions, run_leakcheck
from ctool.model.io import load_report
from ctool.model.schema import LeakcheckReport

HERE = Path(__file__).resolve().parents[1] / "helpers"
PIPES = HERE / "leak_pipelines.py"
SMALL = {"episodes": 200, "warmup": 10, "every": 10, "horizon": 100, "max_episodes": 400}
"""One round of 200 episodes settles a leak (past a horizon of 100) or a clean run; a
second (400) is the whole budget."""


def _line_of(marker: str) -> int:
    lines = PIPES.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if marker in line)


def _run(factory: str, **overrides: object) -> LeakcheckReport:
    settings = overrides.pop("settings", {})
    options = LeakcheckOptions(
        pipeline=f"leak_pipelines:{factory}",
        settings=settings,  # type: ignore[arg-type]
        **{**SMALL, **overrides},  # type: ignore[arg-type]
    )
    return run_leakcheck(options)


def test_leak_found_with_its_line_stage_and_type() -> None:
    report = _run("leaky")
    assert report.verdict == "leak", report.reason
    # 4096 bytes of payload plus the bytes header and the list's pointer.
    assert report.traced.slope == pytest.approx(4096, rel=0.05)
    assert report.traced.ci_low > report.threshold_bytes_per_episode
    assert report.growth == "steady" and report.budget is not None
    assert report.budget.rounds == [200]
    assert report.projection is not None
    assert report.projection.bytes_per_million_episodes == pytest.approx(4096e6, rel=0.05)
    assert any("bytes +1 per episode" in item for item in report.evidence) or report.evidence == []
    top = report.sites[0]
    assert Path(top.file).name == "leak_pipelines.py"
    assert top.line == _line_of("# LEAK-LINE")
    assert top.stage == "KEEP"
    assert top.function == "LeakyPipeline.episode"
    assert top.bytes_per_episode == pytest.approx(4096, rel=0.05)
    assert top.count_diff >= 200
    assert report.types[0].type == "bytes" and report.types[0].growth == 200
    assert len(report.samples) == 21 and report.samples[-1].episode == 200
    assert report.complete and report.episodes == 200
    assert report.latency_ms is not None and report.latency_ms.count == 200
    # Nothing left behind: no tracing, nothing frozen.
    assert not tracemalloc.is_tracing()
    assert gc.get_freeze_count() == 0


def test_leak_in_a_helper_is_traced_back_to_its_stage() -> None:
    report = _run("leaky", settings={"via_helper": True})
    assert report.verdict == "leak"
    top = report.sites[0]
    assert top.line == _line_of("# HELPER-LEAK-LINE")
    assert top.function == "LeakyPipeline._keep"
    assert top.stage == "KEEP"  # the caller's line is inside `with ctool.span("KEEP")`
    assert len(top.traceback) >= 2


def test_one_traceback_frame_still_finds_the_line() -> None:
    report = _run("leaky", frames=1)
    assert report.verdict == "leak"
    assert report.traceback_frames == 1
    assert report.sites[0].line == _line_of("# LEAK-LINE")
    assert report.sites[0].stage == "KEEP"


def test_clean_pipeline_is_clean_and_shows_no_big_site() -> None:
    report = _run("clean")
    assert report.verdict == "clean", report.reason
    assert report.detection_limit_bytes_per_episode is not None
    assert report.detection_limit_bytes_per_episode <= 8  # the last window is flat
    assert all(site.bytes_per_episode < 64 for site in report.sites)
    assert not report.types


def test_cache_that_fills_then_stops_is_not_a_leak() -> None:
    # 10 warm-up episodes + 60 measured ones fill the cache: growth stops at 30 % of the run.
    # No growth floor: the levelling-off rule alone must clear it.
    report = _run("bounded", settings={"bound": 70}, growth_floor_pct=0.0)
    assert report.verdict == "clean", report.reason
    assert report.growth == "stopped" and "growth that stopped" in report.reason
    assert report.plateau is not None and report.plateau.episode <= 80
    grew = report.samples[-1].traced_bytes - report.samples[0].traced_bytes
    assert grew > 100_000  # 60 entries of 2 kB: real growth, just bounded
    assert report.sites[0].stage == "CACHE"


def test_episode_errors_are_counted_and_the_run_goes_on() -> None:
    report = _run("failing")
    assert report.errors.count == 70  # indices 0, 3, ..., 207 of 210 episodes
    assert len(report.errors.samples) == 3
    assert report.errors.samples[0].type == "ValueError"
    assert "failed on purpose" in report.errors.samples[0].message
    assert report.verdict == "clean"


def test_ctrl_c_keeps_what_was_measured() -> None:
    report = _run("interrupted", settings={"stop_at": 10 + 120})
    assert not report.complete
    assert report.episodes == 120
    assert report.samples[-1].episode == 120
    assert report.verdict == "leak"
    assert report.reason.startswith("interrupted after 120 of 200 episodes")
    assert not tracemalloc.is_tracing() and gc.get_freeze_count() == 0


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["leakcheck", *args])
    return result.exit_code, result.stdout, result.stderr


SMALL_ARGS = [
    "--episodes",
    "200",
    "--warmup",
    "10",
    "--every",
    "10",
    "--horizon",
    "100",
    "--max-episodes",
    "400",
]


def test_cli_leak_exits_1_and_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "leak.json"
    code, stdout, _ = _invoke("--pipeline", "leak_pipelines:leaky", *SMALL_ARGS, "-o", str(out))
    assert code == 1
    assert "verdict: LEAK" in stdout
    report = load_report(out)
    assert isinstance(report, LeakcheckReport)
    assert report.verdict == "leak"
    assert report.config.pipeline == "leak_pipelines:leaky"
    assert report.config.command == "leakcheck"


def test_cli_clean_json_exits_0() -> None:
    code, stdout, _ = _invoke("--pipeline", "leak_pipelines:clean", *SMALL_ARGS, "--format", "json")
    assert code == 0
    data = json.loads(stdout)
    assert data["kind"] == "leakcheck" and data["verdict"] == "clean"


def test_cli_inconclusive_exits_0_or_1_with_strict() -> None:
    # The noisy pipeline holds 0..400 kB at random: over 400 episodes (the whole budget)
    # the last window cannot tell flat from a few hundred bytes per episode.
    args = ["--pipeline", "leak_pipelines:noisy", "--seed", "1", *SMALL_ARGS, "--format", "json"]
    code, stdout, _ = _invoke(*args)
    data = json.loads(stdout)
    assert data["verdict"] == "inconclusive"
    assert data["budget"]["exhausted"] and data["budget"]["rounds"] == [200, 400]
    assert data["detection_limit_bytes_per_episode"] > 8
    assert "would not have been seen" in data["reason"]
    assert code == 0
    code, _, _ = _invoke(*args, "--strict")
    assert code == 1


def test_cli_quiet_prints_nothing_and_ctrl_c_exits_130(tmp_path: Path) -> None:
    out = tmp_path / "partial.json"
    code, stdout, stderr = _invoke(
        "--pipeline",
        "leak_pipelines:interrupted",
        "--set",
        "stop_at=130",
        *SMALL_ARGS,
        "--quiet",
        "-o",
        str(out),
    )
    assert code == 130
    assert stdout == ""
    assert stderr == f"ctool: interrupted; partial report written to {out}\n"
    assert load_report(out).complete is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--episodes", "10", "--every", "20"], "--episodes (10) must be at least --every (20)"),
        (["--threshold", "-5"], "--threshold must be 0 or more"),
        (["--warmup", "-1"], "'--warmup': Input should be greater than or equal to 0"),
        (["--every", "0"], "--every must be at least 1"),
        (["--episodes", "60", "--every", "20"], "gives 4 samples"),
        (["--growth-floor", "-1"], "--growth-floor must be 0 or more"),
        (["--frames", "0"], "--frames must be between 1 and 100"),
        (["--set", "nokey"], "--set expects key=value"),
        (["--pipeline", "no_such_module_xyz:create"], "cannot import pipeline module"),
        (["--pipeline", "leak_pipelines:leaky", "--set", "bogus=1"], "has no setting 'bogus'"),
        (["-o", "/no/such/dir/leak.json"], "does not exist"),
        (["--max-episodes", "500"], "--max-episodes (500) must be at least --episodes (1000)"),
        (["--engine", "valgrind"], "unknown --engine 'valgrind'"),
        (["--horizon", "0"], "--horizon must be at least 1"),
        (["--max-seconds", "0"], "--max-seconds must be above 0"),
    ],
)
def test_bad_options_exit_2_with_one_line(args: list[str], message: str) -> None:
    code, stdout, stderr = _invoke(*args)
    assert code == 2
    assert stderr.count("\n") == 1 and stderr.startswith("ctool: error: ")
    assert message in stderr


def test_cli_defaults_are_the_service_defaults() -> None:
    import inspect

    from ctool.cli.leakcheck import leakcheck_command

    params = inspect.signature(leakcheck_command).parameters
    defaults = LeakcheckOptions()
    assert params["episodes"].default == defaults.episodes
    assert params["warmup"].default == defaults.warmup
    assert params["every"].default == defaults.every
    assert params["threshold"].default == defaults.threshold
    assert params["growth_floor"].default == defaults.growth_floor_pct
    assert params["frames"].default == defaults.frames
    assert params["top"].default == defaults.top
    assert params["max_episodes"].default == defaults.max_episodes
    assert params["max_seconds"].default == defaults.max_seconds
    assert params["horizon"].default == defaults.horizon
    assert params["resolution"].default == defaults.resolution
    assert params["engine"].default == defaults.engine


def test_engine_memray_missing_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "memray", None)  # import memray -> ImportError
    code, _, stderr = _invoke("--engine", "memray", *SMALL_ARGS)
    assert code == 2
    assert stderr.count("\n") == 1
    assert 'pip install "ctool[memray]"' in stderr


def test_html_without_its_writer_is_a_usage_error(tmp_path: Path) -> None:
    try:
        import ctool.reports.html  # noqa: F401
    except ImportError:
        code, _, stderr = _invoke("--html", str(tmp_path / "x.html"))
        assert code == 2 and "--html is unavailable here" in stderr
    else:
        code, _, _ = _invoke(
            "--pipeline",
            "leak_pipelines:clean",
            *SMALL_ARGS,
            "--quiet",
            "--html",
            str(tmp_path / "x.html"),
        )
        assert code == 0 and (tmp_path / "x.html").stat().st_size > 0


def test_real_process_bad_option_and_ctrl_c(tmp_path: Path) -> None:
    bad = subprocess.run(
        [sys.executable, "-m", "ctool", "leakcheck", "--threshold", "-1"],
        capture_output=True,
        text=True,
        cwd=HERE,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "--threshold" in bad.stderr
    # A real SIGINT: asyncio.run cancels the run; what was measured is still reported.
    out = tmp_path / "partial.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "ctool",
            "leakcheck",
            "--pipeline",
            "leak_pipelines:sigint",
            *SMALL_ARGS,
            "--quiet",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=HERE,
    )
    assert run.returncode == 130, run.stderr
    assert run.stdout == "" and run.stderr.startswith("ctool: interrupted")
    report = load_report(out)
    assert isinstance(report, LeakcheckReport)
    assert report.complete is False and 100 <= report.episodes < 200
