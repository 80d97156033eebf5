"""`ctool profile` in process through Typer's CliRunner: formats, options, config, errors."""

from __future__ import annotations

import json
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ctool.cli.app import app
from ctool.model.io import load_report
from ctool.model.schema import ProfileReport

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = "examples.etl_pipeline:create"
QUICK = "harness_pipelines:create"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run in an empty directory (no stray [tool.ctool]) with the example importable."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(REPO))
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    yield tmp_path


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, ["profile", *args], env=env)


def test_table_output_on_the_example_pipeline() -> None:
    result = invoke("-p", EXAMPLE, "--episodes", "40", "--warmup", "2")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in ("Latency (ms)", "Stages", "extract", "└ transform.validate", "◀"):
        assert text in out
    for text in ("(between stages)", "Resources", "Pipeline metrics", "Output digest"):
        assert text in out
    assert "rows bytes" in out  # the example's own metrics


def test_json_format_is_a_valid_report() -> None:
    result = invoke("-p", EXAMPLE, "--episodes", "30", "--format", "json", "--seed", "4")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    report = ProfileReport.model_validate(data)
    for field in ("schema_version", "kind", "ctool_version", "created_at", "complete"):
        assert field in data
    for field in ("environment", "config", "latency_ms", "throughput_eps", "errors", "stages"):
        assert field in data
    for field in ("load", "resources", "pipeline_metrics", "hotspots", "artifacts"):
        assert field in data
    assert "output_digest" in data and data["kind"] == "profile"
    lat = report.latency_ms
    assert lat.count == 30 and lat.p50 <= lat.p95 <= lat.p99 <= lat.max
    assert report.config.pipeline == EXAMPLE and report.config.seed == 4
    assert report.config.command is not None and report.config.command.startswith("ctool")
    for key in ("cpu_percent_mean", "rss_mb_peak", "gc_pause_ms_total", "blocking_calls"):
        assert key in data["resources"]


def test_markdown_format() -> None:
    result = invoke("-p", QUICK, "--episodes", "20", "--format", "markdown")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("## ctool profile: `harness_pipelines:create")
    assert "### Stages" in result.stdout and "### Latency (ms)" in result.stdout
    assert re.search(r"^\| \*\*(parse|score) ◀\*\* \|", result.stdout, re.MULTILINE)
    assert "|:---|---:|" in result.stdout  # left-aligned names, right-aligned numbers


def test_quiet_with_output_prints_nothing_and_writes_the_report(isolated: Path) -> None:
    out = isolated / "run.json"
    result = invoke("-p", QUICK, "--episodes", "15", "--quiet", "-o", str(out))
    assert result.exit_code == 0
    assert result.stdout == "" and result.stderr == ""
    report = load_report(out)
    assert isinstance(report, ProfileReport) and report.complete
    assert report.latency_ms.count == 15
    assert not list(isolated.glob(".run.json.*.tmp"))  # atomic write left nothing behind


def test_load_shape_options_reach_the_report() -> None:
    result = invoke(
        "-p", QUICK, "--episodes", "10", "--concurrency", "1,2", "--burst", "5",
        "--rate", "400", "--duration", "0.1", "--format", "json", "--set", "work=50",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = ProfileReport.model_validate_json(result.stdout)
    assert [lv.concurrency for lv in report.load[:2]] == [1, 2]
    assert report.load[2].rate == 400 and report.load[3].label == "burst 5"
    assert report.config.concurrency == [1, 2] and report.config.settings == {"work": 50}


def test_episode_errors_are_shown_and_do_not_fail_the_run() -> None:
    result = invoke("-p", QUICK, "--episodes", "20", "--set", "fail_every=4")
    assert result.exit_code == 0, result.output
    assert "Errors (5, 25.0% of episodes)" in result.stdout
    assert "ValueError" in result.stdout and "5 errors (25.0% of episodes)" in result.stdout


def test_every_episode_failing_exits_1() -> None:
    result = invoke("-p", QUICK, "--episodes", "5", "--set", "fail_all=true", "-q")
    assert result.exit_code == 1
    assert result.stderr.strip() == "ctool: every episode failed (5 errors)"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--episodes", "abc"], "'--episodes': Input should be a valid integer"),
        (["--episodes", "-3"], "'--episodes': Input should be greater than or equal to 0"),
        (["--concurrency", "1,x"], "--concurrency expects comma-separated positive integers"),
        (["--concurrency", "0"], "--concurrency must be between 1 and 10000, got 0"),
        (["--rate", "-5"], "--rate must be a positive number, got -5.0"),
        (["--duration", "soon"], "'--duration': Input should be a valid number"),
        (["--format", "xml"], "--format must be one of table, json, markdown, got 'xml'"),
        (["--set", "novalue"], "--set expects key=value, got 'novalue'"),
        (["--set", "colour=red"], "has no setting 'colour'"),
        (["-p", "no_such_module_xyz:create"], "cannot import pipeline module"),
        (["-p", "harness_broken_pipeline:create"], "this pipeline module is broken"),
        (["-p", "harness_pipelines"], "--pipeline expects 'package.module:factory'"),
        (["--workers", "2", "--rounds", "3"], "cannot be combined"),
        (["--profiler", "surely-not-a-profiler"], "unknown profiler 'surely-not-a-profiler'"),
        (["--metrics-port", "0"], "--metrics-port must be between 1 and 65535"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = invoke("-p", QUICK, "--episodes", "3", *args)
    assert result.exit_code == 2, result.output
    err = result.stderr
    assert err.count("\n") == 1 and err.startswith("ctool: error: "), err
    assert message in err
    assert "Traceback" not in result.output


def test_unwritable_output_fails_before_the_run(isolated: Path) -> None:
    marker = isolated / "ran"
    missing = isolated / "no" / "such" / "dir" / "run.json"
    result = invoke("-p", QUICK, "--set", f"marker={marker}", "-o", str(missing))
    assert result.exit_code == 2
    assert "does not exist" in result.stderr
    assert not marker.exists()  # the pipeline never ran
    result = invoke("-p", QUICK, "--set", f"marker={marker}", "-o", str(isolated))
    assert result.exit_code == 2 and "is a directory" in result.stderr
    assert not marker.exists()


def test_defaults_from_ctool_toml_and_the_command_line_wins(isolated: Path) -> None:
    (isolated / "ctool.toml").write_text(
        f'pipeline = "{QUICK}"\nseed = 9\n\n[profile]\nepisodes = 7\nwarmup = 0\n'
        'format = "json"\nset = { work = 40 }\n'
    )
    result = invoke()
    assert result.exit_code == 0, result.stderr
    report = ProfileReport.model_validate_json(result.stdout)
    assert report.latency_ms.count == 7 and report.config.seed == 9
    assert report.config.settings == {"work": 40} and report.config.warmup == 0
    result = invoke("--episodes", "9", "--set", "work=60")
    report = ProfileReport.model_validate_json(result.stdout)
    assert report.latency_ms.count == 9 and report.config.settings == {"work": 60}


def test_defaults_from_pyproject_tool_ctool(isolated: Path) -> None:
    (isolated / "pyproject.toml").write_text(
        f'[project]\nname = "x"\n\n[tool.ctool]\npipeline = "{QUICK}"\n'
        "[tool.ctool.profile]\nepisodes = 6\nconcurrency = [1, 3]\n"
    )
    result = invoke("--format", "json")
    assert result.exit_code == 0, result.stderr
    report = ProfileReport.model_validate_json(result.stdout)
    assert report.latency_ms.count == 6 and report.config.concurrency == [1, 3]


def test_bad_config_value_names_the_file(isolated: Path) -> None:
    (isolated / "ctool.toml").write_text('episodes = "many"\n')
    result = invoke("-p", QUICK)
    assert result.exit_code == 2
    assert result.stderr == "ctool: error: ctool.toml: 'episodes' must be an integer, got 'many'\n"
    (isolated / "ctool.toml").write_text("episodes = [\n")
    result = invoke("-p", QUICK)
    assert result.exit_code == 2 and "ctool.toml: invalid TOML" in result.stderr


def test_html_and_metrics_port_are_wired(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, Any]] = []

    def write_html(report: ProfileReport, path: Path, **_: Any) -> None:
        calls.append(("html", (report.kind, Path(path))))

    class FakeObserver:
        def __init__(self, port: int) -> None:
            calls.append(("port", port))

        def on_start(self, **_: Any) -> None:
            calls.append(("start", None))

        def on_episode(self, *_: Any) -> None:
            pass

        def on_sample(self, **_: Any) -> None:
            pass

        def on_metrics(self, _: Any) -> None:
            pass

        def on_finish(self, *, complete: bool) -> None:
            calls.append(("finish", complete))

    monkeypatch.setitem(
        sys.modules, "ctool.reports.html", types.SimpleNamespace(write_html=write_html)
    )
    monkeypatch.setitem(
        sys.modules,
        "ctool.exporters.prometheus",
        types.SimpleNamespace(PrometheusObserver=FakeObserver),
    )
    page = isolated / "run.html"
    result = invoke("-p", QUICK, "--episodes", "5", "-q", "--html", str(page),
                    "--metrics-port", "9123")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert calls == [("port", 9123), ("start", None), ("finish", True), ("html", ("profile", page))]


def test_missing_html_and_prometheus_modules_are_usage_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "ctool.reports.html", None)
    monkeypatch.setitem(sys.modules, "ctool.exporters.prometheus", None)
    result = invoke("-p", QUICK, "--episodes", "3", "--html", "x.html")
    assert result.exit_code == 2 and "--html is unavailable here" in result.stderr
    result = invoke("-p", QUICK, "--episodes", "3", "--metrics-port", "9000")
    assert result.exit_code == 2 and "--metrics-port is unavailable here" in result.stderr


def test_no_color_is_respected() -> None:
    args = ("-p", QUICK, "--episodes", "10")
    colour = invoke(*args, env={"FORCE_COLOR": "1"})
    plain = invoke(*args, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert colour.exit_code == plain.exit_code == 0
    colour_code = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-8]|9[0-7])[;m]")
    assert colour_code.search(colour.stdout)  # e.g. the cyan share bars
    assert not colour_code.search(plain.stdout)
