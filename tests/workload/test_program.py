"""`ctool profile --script` / `-m`: a program run once, as python would run it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from paths import HELPERS, subprocess_env
from typer.testing import CliRunner

from ctool.cli.app import app
from ctool.run.program import ProgramRunConfig, run_program_profile
from ctool.workload.program import Program

SCRIPT = HELPERS / "blocking_script.py"


def line_of(path: Path, marker: str) -> int:
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if marker in line)


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_a_blocking_sleep_in_the_programs_own_loop_is_named_by_its_line() -> None:
    report = run_program_profile(ProgramRunConfig(Program("script", str(SCRIPT))))
    blocking_line = line_of(SCRIPT, "# the blocking call")
    sites = [c for c in report.resources.blocking_calls if c.line == blocking_line and c.kind]
    assert sites, report.resources.blocking_calls
    assert sites[0].function == "handler" and sites[0].file == str(SCRIPT)
    assert sites[0].stage == "handle"  # the span around it
    assert report.resources.loop_stalls and report.resources.loop_stalls >= 10
    assert report.stages["handle"].count == 15
    assert report.program["exit_code"] == 0 and report.program["event_loops"] == 1  # type: ignore[attr-defined]
    assert any(h.line == blocking_line for h in report.hotspots)  # cProfile's boundary row
    assert report.resources.gc_collections is not None


def test_exit_code_and_output_pass_through_and_the_report_renders(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ctool",
            "profile",
            "--script",
            str(SCRIPT),
            "-o",
            str(out),
            "--",
            "3",
            "x",
        ],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=120,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    assert done.stdout.startswith("served 2 args: 3 x")  # the program's output first
    assert "Event-loop stalls" in done.stdout  # then ctool's report
    assert "the program exited with code 3" in done.stdout + done.stderr
    saved = json.loads(out.read_text())
    assert saved["program"]["argv"] == [str(SCRIPT), "3", "x"]
    runner = CliRunner()
    for fmt, needle in (("markdown", "blocking_script.py"), ("json", '"program"')):
        shown: Any = runner.invoke(app, ["report", str(out), "-f", fmt])
        assert shown.exit_code == 0 and needle in shown.stdout, shown.output
    compared: Any = runner.invoke(app, ["compare", str(out), str(out)])
    assert compared.exit_code in (0, 1) and "Traceback" not in compared.output


def test_a_crash_is_reported_not_hidden(tmp_path: Path) -> None:
    script = tmp_path / "crash.py"
    script.write_text("def boom():\n    raise ValueError('bad input 42')\n\nboom()\n")
    report = run_program_profile(ProgramRunConfig(Program("script", str(script)), profilers=()))
    assert report.program["exit_code"] == 1  # type: ignore[attr-defined]
    assert "ValueError: bad input 42" in report.program["error"]  # type: ignore[attr-defined]
    assert report.errors.count == 1
    assert any("crashed" in w for w in report.warnings)


def test_a_module_runs_as_python_m(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "svc"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(
        "import asyncio, sys, time\n"
        "async def main():\n"
        "    for _ in range(8):\n"
        "        time.sleep(0.03)  # blocks\n"
        "        await asyncio.sleep(0.01)\n"
        "loop = asyncio.new_event_loop()\n"
        "loop.run_until_complete(main())\n"
        "loop.close()\n"
        "sys.exit(len(sys.argv))\n"
    )
    report = run_program_profile(
        ProgramRunConfig(Program("module", "svc", ("a", "b")), profilers=())
    )
    assert report.program["exit_code"] == 3  # type: ignore[attr-defined]
    assert any(c.line == 4 for c in report.resources.blocking_calls)  # on new_event_loop's loop


def test_third_party_code_in_a_script_is_folded_at_the_user_call() -> None:
    script = HELPERS / "pydantic_script.py"
    report = run_program_profile(ProgramRunConfig(Program("script", str(script))))
    call_line = line_of(script, "model_validate(row)")
    # the stall is named at the user's line that calls into pydantic ...
    assert any(c.line == call_line for c in report.resources.blocking_calls)
    # ... and the hotspot row folds pydantic's time into that call
    rows = [h.function for h in report.hotspots if h.line == call_line]
    assert any("pydantic" in row for row in rows), rows


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--script", "no/such/file.py"], "no such file"),
        (["-m", "no_such_module_xyz"], "no module named"),
        (["-m", "json"], "no __main__"),
        (["--pid", "99999999"], "no such process"),
        (["--pid", "abc"], "must be an integer"),
        (["--script", "x.py", "--episodes", "5"], "episode runs only"),
        (["extra", "args"], "only --script and -m take ARGS"),
    ],
)
def test_bad_program_targets_are_one_line_and_exit_2(args: list[str], needle: str) -> None:
    result: Any = CliRunner().invoke(app, ["profile", *args])
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_the_reference_pipeline_in_a_program_records_its_stages() -> None:
    script = HELPERS / "reference_script.py"
    report = run_program_profile(
        ProgramRunConfig(Program("script", str(script), ("4",)), profilers=())
    )
    assert report.program["exit_code"] == 0  # type: ignore[attr-defined]
    assert {"TIG", "ESGT", "MEA"} <= set(report.stages)
    assert report.stages["TIG"].count == 4  # one span per episode, in the program's task


def test_a_machine_format_on_stdout_stays_clean() -> None:
    result: Any = CliRunner().invoke(
        app, ["profile", "--script", str(SCRIPT), "-f", "json", "--profiler", "tracemalloc"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # only ctool's JSON on stdout
    assert report["program"]["exit_code"] == 0
    assert report["config"]["profilers"] == ["tracemalloc"]
    assert "served 0 args" in result.stderr  # the program's print went to stderr
