"""`ctool report RUN.json --html FILE`: renders any saved report; bad input is one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import report_fixtures as F
from typer.testing import CliRunner

from ctool.cli.app import app
from ctool.model.io import write_report

runner = CliRunner()


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    write_report(F.profile_report(300, seed=1, scale=1.3, preset="baseline"), tmp_path / "b.json")
    write_report(F.profile_report(300, tmp=tmp_path), tmp_path / "a.json")
    cmp = F.compare_report()
    cmp.before, cmp.after = "b.json", "a.json"  # relative to the compare file
    write_report(cmp, tmp_path / "cmp.json")
    write_report(F.leakcheck_report(300), tmp_path / "leak.json")
    write_report(F.suite_report(), tmp_path / "suite.json")
    return tmp_path


@pytest.mark.parametrize("name", ["a", "cmp", "leak", "suite"])
def test_report_renders_every_kind(saved: Path, name: str) -> None:
    out = saved / f"{name}.html"
    result = runner.invoke(app, ["report", str(saved / f"{name}.json"), "--html", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_compare_report_overlays_the_files_it_names(
    saved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(saved.parent)  # the names are relative to the compare file, not here
    out = saved / "cmp.html"
    result = runner.invoke(app, ["report", str(saved / "cmp.json"), "--html", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "Cumulative distribution" in page and "were not available" not in page
    (saved / "b.json").unlink()
    result = runner.invoke(app, ["report", str(saved / "cmp.json"), "--html", str(out)])
    assert result.exit_code == 0
    assert "were not available" in out.read_text(encoding="utf-8")
    assert "before report b.json not found" in result.output


def test_format_json_round_trips(saved: Path) -> None:
    result = runner.invoke(app, ["report", str(saved / "leak.json"), "--format", "json"])
    assert result.exit_code == 0
    assert json.loads(result.output)["verdict"] == "leak"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.json", "--html", "x.html"], "no such file"),
        (["bad.json", "--html", "x.html"], "not valid JSON"),
        (["notreport.json", "--html", "x.html"], "not a ctool report"),
        (["a.json", "--html", "nodir/x.html"], "does not exist"),
        (["a.json", "--html", "."], "is a directory"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(saved: Path, args: list[str], message: str) -> None:
    (saved / "bad.json").write_text("{", encoding="utf-8")
    (saved / "notreport.json").write_text("[1, 2]", encoding="utf-8")
    full = [str(saved / a) if a.endswith(".json") else a for a in args]
    if full[-1] != ".":
        full[-1] = str(saved / full[-1])
    proc = subprocess.run(
        [sys.executable, "-m", "ctool", "report", *full],
        capture_output=True,
        text=True,
        cwd=saved,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("name", "fmt", "module"),
    [
        ("a", "table", "ctool.reports.terminal"),
        ("a", "markdown", "ctool.reports.markdown"),
        ("cmp", "table", "ctool.reports.compare_terminal"),
        ("cmp", "markdown", "ctool.reports.compare_markdown"),
        ("leak", "table", "ctool.reports.leak_view"),
        ("suite", "table", "ctool.reports.suite_terminal"),
        ("suite", "markdown", "ctool.reports.suite_terminal"),
    ],
)
def test_format_uses_the_commands_own_renderers(
    saved: Path, name: str, fmt: str, module: str
) -> None:
    pytest.importorskip(module, reason=f"{module} is not merged here")
    result = runner.invoke(app, ["report", str(saved / f"{name}.json"), "--format", fmt])
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) > 3


def test_format_without_a_renderer_is_one_line(
    saved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ctool.reports import registry

    # Every kind has every format today; take one renderer away to see the error.
    registry.renderer_for("leakcheck", "markdown")
    monkeypatch.delitem(registry.MODULES, ("leakcheck", "markdown"))
    monkeypatch.delitem(registry._REGISTERED, ("leakcheck", "markdown"))
    result = runner.invoke(app, ["report", str(saved / "leak.json"), "--format", "markdown"])
    assert result.exit_code == 2
    assert "not available for leakcheck reports" in result.output


@pytest.mark.parametrize("kind", ["profile", "compare", "leakcheck", "suite"])
@pytest.mark.parametrize("fmt", ["table", "markdown", "json"])
def test_every_kind_renders_in_every_format(kind: str, fmt: str) -> None:
    from ctool.cli.output import FORMATS
    from ctool.reports import registry

    assert set(FORMATS) == set(registry.FORMATS)
    assert registry.renderer_for(kind, fmt) is not None


def test_unknown_format_is_one_line_exit_2(saved: Path) -> None:
    for args in (
        ["report", str(saved / "leak.json"), "--format", "nonsense"],
        ["suite", "--format", "nonsense"],
        ["profile", "--format", "nonsense"],
        ["leakcheck", "--format", "nonsense"],
        ["compare", str(saved / "leak.json"), str(saved / "leak.json"), "--format", "nonsense"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert "--format must be one of table, json, markdown" in result.output, args


def test_ab_report_names_sides_not_files(tmp_path: Path) -> None:
    ab = F.compare_report()
    ab.mode, ab.before, ab.after = "ab", "A (preset=baseline)", "B (preset=optimized)"
    write_report(ab, tmp_path / "ab.json")
    out = tmp_path / "ab.html"
    result = runner.invoke(app, ["report", str(tmp_path / "ab.json"), "--html", str(out)])
    assert result.exit_code == 0 and "warning" not in result.output
    assert "ctool ab --html" in out.read_text(encoding="utf-8")
