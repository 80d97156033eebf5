"""Issue 26, the file and option defects of the fault corpus (in process, through the CLI).

Defect 10: a 5,000-digit integer in a report, ``CTOOL_MAX_REPORT_MB=inf``; defect 11: a
sample block that is not base64 or holds more values than it claims; defect 12: ``ab
--rounds 0`` and ``--episodes 99999999999999999999999``; and from "also inconsistent":
``ctool report`` showing "-5.0 episodes/s" for a file ``compare`` refuses, and markdown that
passed HTML, links and @mentions from report strings. Each is one line and exit 2 (or, for
markdown, inert text), never a traceback and never a silently different run.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import report_fixtures as F
from click.testing import Result
from typer.testing import CliRunner

from ctool.cli.app import app
from ctool.model.io import write_report

runner = CliRunner()


def invoke(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> Result:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return runner.invoke(app, args, env={"COLUMNS": "200", "NO_COLOR": "1", **(env or {})})
    finally:
        os.chdir(old)


def one_line_exit_2(result: Result, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ctool: error: "), result.output
    assert message in lines[0], lines[0]


@pytest.fixture
def good(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "good.json"
    write_report(F.profile_report(200), path)
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _write(tmp_path: Path, data: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> None:
    change(data)
    (tmp_path / "r.json").write_text(json.dumps(data))


@pytest.mark.parametrize(
    "where",
    ["count", "pipeline_metrics"],
)
def test_a_five_thousand_digit_integer_is_one_line(
    tmp_path: Path, good: dict[str, Any], where: str
) -> None:
    text = json.dumps(good)
    if where == "count":
        text = text.replace('"count": 200', '"count": ' + "9" * 5000, 1)
    else:
        text = text.replace(
            '"pipeline_metrics": {', '"pipeline_metrics": {"n": ' + "9" * 5000 + ", ", 1
        )
    assert "9" * 5000 in text
    (tmp_path / "r.json").write_text(text)
    for command in (["report", "r.json"], ["compare", "r.json", "r.json"]):
        one_line_exit_2(invoke(command, tmp_path), "5,000 digits")


@pytest.mark.parametrize("value", ["inf", "1e400", "nan"])
def test_an_infinite_report_size_limit_is_one_line(
    tmp_path: Path, good: dict[str, Any], value: str
) -> None:
    _write(tmp_path, good, lambda d: None)
    result = invoke(["report", "r.json"], tmp_path, env={"CTOOL_MAX_REPORT_MB": value})
    one_line_exit_2(result, "CTOOL_MAX_REPORT_MB")


def _samples(data: dict[str, Any]) -> dict[str, Any]:
    block: dict[str, Any] = data["latency_ms"]["samples"]
    return block


@pytest.mark.parametrize(
    ("case", "change", "message"),
    [
        ("not base64", lambda b: b.update(data="!!not base64!!"), "corrupt"),
        ("claims 5, holds 200", lambda b: b.update(count=5), "more than the 5 values"),
        ("claims 2000, holds 200", lambda b: b.update(count=2000), "expected 2000"),
        (
            "base64 of no zlib",
            lambda b: b.update(data=base64.b64encode(b"x" * 64).decode()),
            "corrupt",
        ),
        ("unknown encoding", lambda b: b.update(encoding="float32;raw"), "unknown encoding"),
    ],
)
def test_a_bad_sample_block_is_an_error_not_no_raw_samples(
    tmp_path: Path,
    good: dict[str, Any],
    case: str,
    change: Callable[[dict[str, Any]], None],
    message: str,
) -> None:
    _write(tmp_path, good, lambda d: change(_samples(d)))
    one_line_exit_2(invoke(["report", "r.json", "--html", "x.html"], tmp_path), message)
    assert not (tmp_path / "x.html").exists()


def test_report_refuses_what_compare_refuses(tmp_path: Path, good: dict[str, Any]) -> None:
    """One validation for both: a negative throughput is refused by report and compare
    alike (report printed "-5.0 episodes/s")."""
    _write(tmp_path, good, lambda d: d.update(throughput_eps=-5.0))
    for command in (["report", "r.json"], ["compare", "r.json", "r.json"]):
        one_line_exit_2(invoke(command, tmp_path), "throughput_eps is -5.0")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ab", "--rounds", "0"], "--rounds 0"),
        (["ab", "--episodes", "99999999999999999999999"], "--episodes"),
        (["profile", "--episodes", "99999999999999999999999"], "--episodes"),
        (["leakcheck", "--episodes", "99999999999999999999999"], "--episodes"),
        (["profile", "--rounds", "99999999999999999999999"], "--rounds"),
        (["profile", "--episodes", "ten"], "--episodes"),
        (["profile", "--seed", "x"], "--seed"),
        (["suite", "--seed", "-1"], "--seed"),
    ],
)
def test_an_out_of_range_number_is_refused_not_defaulted(
    tmp_path: Path, args: list[str], message: str
) -> None:
    one_line_exit_2(invoke(args, tmp_path), message)


def test_a_config_file_number_meets_the_same_bound(tmp_path: Path) -> None:
    (tmp_path / "ctool.toml").write_text("[profile]\nepisodes = 99999999999999999999999\n")
    one_line_exit_2(invoke(["profile"], tmp_path), "--episodes")


HOSTILE_MD = (
    "<script>alert(1)</script> <img src=x onerror=alert(2)> [click](https://evil.example) "
    "![i](https://evil.example/p.png) @octocat @org/team https://evil.example www.evil.example `x`"
)


def test_markdown_neutralises_html_links_and_mentions(tmp_path: Path) -> None:
    """Safe to post as a PR comment: nothing from a report string becomes a tag, a link, an
    image or a mention."""
    report = F.profile_report(200, hostile=True)
    report.warnings.append(HOSTILE_MD)
    text = report.model_dump_json().replace(json.dumps(F.XSS)[1:-1], json.dumps(HOSTILE_MD)[1:-1])
    (tmp_path / "r.json").write_text(text)
    result = invoke(["report", "r.json", "-f", "markdown"], tmp_path)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "@octocat" in out.replace("\u200b", "")  # the text is still there, to read
    for live in ("<script", "<img", "](https://", "@octocat", "@org", "https://evil", "www.evil"):
        assert live not in out, live
    assert "&lt;script&gt;" in out
