"""The hardening corpus: what bad files, bad options, misbehaving pipelines, writes and
hostile strings do to ctool (issue 14; docs/promises.md). Signals: test_hardening_signals.py.

Every case names what it expects:

* bad input: exit 2 and one line on stderr, no traceback, no file damaged;
* hostile strings: exit 0, and what reaches the terminal or a markdown file holds no
  control character and no interpreted Rich markup or emoji code;
* misbehaving pipelines: an episode error (counted, sampled) or one line and exit 2 before
  the run; never the pipeline's own exit code, never a traceback.

In process (``CliRunner``) wherever the behaviour allows, so the corpus stays fast.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import report_fixtures as F
from click.testing import Result
from misbehaving_pipelines import HOSTILE
from typer.testing import CliRunner

from ctool.cli.app import app
from ctool.model.io import write_report

runner = CliRunner()
CONTROL = [chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))]
WIDE = {"COLUMNS": "400", "NO_COLOR": "1"}


def invoke(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> Result:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return runner.invoke(app, [str(a) for a in args], env={**WIDE, **(env or {})})
    finally:
        os.chdir(old)


def expect_usage_error(result: Result, message: str = "") -> None:
    """Exit 2, one line on stderr that starts ``ctool: error:``, no traceback."""
    shown = f"exit {result.exit_code}; stderr={result.stderr!r}; exception={result.exception!r}"
    assert result.exit_code == 2, shown
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ctool: error:"), shown
    assert message in lines[0], shown
    assert "Traceback" not in result.output


def expect_safe(result: Result, *, escaped: bool = True) -> None:
    """Exit 0; no control character on stdout or stderr; markup and emoji codes as written."""
    shown = f"exit {result.exit_code}; exception={result.exception!r}; out={result.output[-600:]!r}"
    assert result.exit_code == 0, shown
    for char in CONTROL:
        assert char not in result.stdout, f"{char!r} on stdout: {shown}"
        assert char not in result.stderr, f"{char!r} on stderr: {shown}"
    assert "🆗" not in result.output and "👍" not in result.output, shown
    if escaped:  # markdown also escapes the bracket (\\[): it renders as [
        assert "\\x1b[2J" in result.output or "\\x1b\\[2J" in result.output, shown


# -- report files ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def good_report_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("good") / "a.json"
    write_report(F.profile_report(200), path)
    return path.read_text()


def _mutated(text: str, change: Callable[[dict[str, Any]], None]) -> str:
    data = json.loads(text)
    change(data)
    return json.dumps(data)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[key]
        node[last] = value

    return change


def _bomb(data: dict[str, Any]) -> None:
    """50 M samples claimed by a tiny block (what a zlib bomb looks like to the loader)."""
    data["latency_ms"]["samples"]["count"] = 50_000_000


def _nan_share(text: str) -> str:
    data = json.loads(text)
    first = next(iter(data["stages"]))
    data["stages"][first]["share"] = "NANPLACEHOLDER"
    return json.dumps(data).replace('"NANPLACEHOLDER"', "NaN")


BAD_FILES: list[tuple[str, Callable[[str], bytes | None], str]] = [
    # (case, file content from a good report's text (None: no file), expected message part)
    ("missing file", lambda t: None, "no such file"),
    ("empty file", lambda t: b"", "empty file"),
    ("truncated JSON", lambda t: t[: len(t) // 2].encode(), "not valid JSON"),
    ("binary garbage", lambda t: bytes(range(256)) * 4, "not valid JSON"),
    ("top level is a list", lambda t: b"[1, 2, 3]", "not a ctool report"),
    (
        "no schema_version",
        lambda t: _mutated(t, lambda d: d.pop("schema_version")).encode(),
        "no schema_version",
    ),  # noqa: E501
    (
        "schema_version from the future",
        lambda t: _mutated(t, _set("schema_version", 99)).encode(),
        "newer",
    ),  # noqa: E501
    (
        "schema_version is a string",
        lambda t: _mutated(t, _set("schema_version", "1")).encode(),
        "no schema_version",
    ),  # noqa: E501
    ("unknown kind", lambda t: _mutated(t, _set("kind", "nope")).encode(), "unknown report kind"),
    ("NaN stage share", lambda t: _nan_share(t).encode(), "NaN"),
    (
        "1e999 overflows to infinity",
        lambda t: (
            _mutated(t, _set("latency_ms.p50", 0.5)).replace('"p50": 0.5', '"p50": 1e999').encode()
        ),
        "Infinity",
    ),  # noqa: E501
    ("nested too deeply", lambda t: b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (
        "nested 900 deep (json parses it)",
        lambda t: b'{"a":' * 900 + b"1" + b"}" * 900,
        "nested too deeply",
    ),  # noqa: E501
    (
        "negative latency",
        lambda t: _mutated(t, _set("latency_ms.p50", -1)).encode(),
        "latency_ms.p50",
    ),  # noqa: E501
    ("50 M samples claimed by a 2 kB block", lambda t: _mutated(t, _bomb).encode(), "claim"),
    ("not UTF-8 and not JSON", lambda t: b"\xff\xfe{\x00", "not valid JSON"),
]


@pytest.mark.parametrize(("case", "make", "message"), BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_bad_report_file_is_one_line_exit_2(
    tmp_path: Path,
    good_report_text: str,
    case: str,
    make: Callable[[str], bytes | None],
    message: str,
) -> None:
    content = make(good_report_text)
    if content is not None:
        (tmp_path / "r.json").write_bytes(content)
    expect_usage_error(invoke(["report", "r.json", "--html", "r.html"], tmp_path), message)
    assert not (tmp_path / "r.html").exists()


def test_corrupt_samples_are_refused_when_compared(tmp_path: Path, good_report_text: str) -> None:
    """Compare decodes the samples: a block holding fewer values than it claims is refused."""
    no_batches = _mutated(_mutated(good_report_text, _set("batches", [])), _set("rounds", []))
    (tmp_path / "a.json").write_text(no_batches)
    (tmp_path / "b.json").write_text(_mutated(no_batches, _set("latency_ms.samples.count", 150)))
    expect_usage_error(invoke(["compare", "a.json", "b.json"], tmp_path), "samples")


def test_a_character_device_is_not_read(tmp_path: Path) -> None:
    """``/dev/zero`` never ends: refused as not a regular file, not read into memory."""
    expect_usage_error(invoke(["compare", "/dev/zero", "/dev/zero"], tmp_path), "device")


def test_a_fifo_without_writer_is_refused_not_waited_on(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.json")
    expect_usage_error(invoke(["report", "pipe.json"], tmp_path), "FIFO")


def test_a_report_over_the_size_limit_names_the_way_to_raise_it(
    tmp_path: Path, good_report_text: str
) -> None:
    (tmp_path / "a.json").write_text(good_report_text)
    result = invoke(["report", "a.json"], tmp_path, env={"CTOOL_MAX_REPORT_MB": "0.001"})
    expect_usage_error(result, "CTOOL_MAX_REPORT_MB")
    assert invoke(["report", "a.json"], tmp_path, env={"CTOOL_MAX_REPORT_MB": "50"}).exit_code == 0


def test_a_directory_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "d.json").mkdir()
    expect_usage_error(invoke(["report", "d.json"], tmp_path), "is a directory")


# -- options --------------------------------------------------------------------------------

QUICK = ["profile", "-p", "misbehaving_pipelines:prints", "--episodes", "3", "--warmup", "0"]
BAD_OPTIONS: list[tuple[str, list[str], str]] = [
    ("negative episodes", [*QUICK, "--episodes", "-1"], "--episodes"),
    ("episodes not a number", [*QUICK, "--episodes", "many"], "--episodes"),
    ("unknown format", [*QUICK, "--format", "xml"], "--format"),
    ("concurrency zero", [*QUICK, "--concurrency", "0"], "--concurrency"),
    ("rate zero", [*QUICK, "--rate", "0"], "--rate"),
    ("negative episode timeout", [*QUICK, "--episode-timeout", "-1"], "--episode-timeout"),
    ("episode timeout not a number", [*QUICK, "--episode-timeout", "soon"], "--episode-timeout"),
    ("NaN episode timeout", [*QUICK, "--episode-timeout", "nan"], "--episode-timeout"),
    ("workers zero", [*QUICK, "--workers", "0"], "--workers"),
    ("metrics port out of range", [*QUICK, "--metrics-port", "70000"], "--metrics-port"),
    ("unknown option", [*QUICK, "--bogus"], "bogus"),
    ("-o and --html both to stdout", [*QUICK, "-o", "-", "--html", "-"], "standard output"),
    ("-o into a missing directory", [*QUICK, "-o", "nodir/x.json"], "does not exist"),
    ("-o a directory", [*QUICK, "-o", "."], "is a directory"),
    (
        "-o under /proc (the probe writes a real file)",
        [*QUICK, "-o", "/proc/x.json"],
        "cannot write",
    ),
    ("--set without =", [*QUICK, "--set", "novalue"], "--set"),
    ("-o /dev/stdout (a pipe or a tty, not a file)", [*QUICK, "-o", "/dev/stdout"], "use -"),
    ("-o /dev/null (a device)", [*QUICK, "-o", "/dev/null"], "device"),
    ("negative warm-up", [*QUICK, "--warmup", "-1"], "--warmup"),
]


@pytest.mark.parametrize(("case", "args", "message"), BAD_OPTIONS, ids=[c[0] for c in BAD_OPTIONS])
def test_bad_option_is_one_line_exit_2(
    tmp_path: Path, case: str, args: list[str], message: str
) -> None:
    result = invoke(args, tmp_path)
    expect_usage_error(result, message)
    assert "episode 0 says hello" not in result.output  # refused before the run


# -- writes ---------------------------------------------------------------------------------

REPORT = ["report", "a.json"]
COMPARE = ["compare", "a.json", "a.json"]


@pytest.fixture
def saved(tmp_path: Path, good_report_text: str) -> Path:
    (tmp_path / "a.json").write_text(good_report_text)
    return tmp_path


def test_symlink_target_is_written_through_atomically(saved: Path) -> None:
    (saved / "real.json").write_text("old")
    (saved / "link.json").symlink_to("real.json")
    assert invoke([*COMPARE, "-o", "link.json"], saved).exit_code == 0
    assert (saved / "link.json").is_symlink()
    assert json.loads((saved / "real.json").read_text())["kind"] == "compare"


def test_fifo_target_is_refused_and_stays_a_fifo(saved: Path) -> None:
    os.mkfifo(saved / "out.html")
    expect_usage_error(invoke([*REPORT, "--html", "out.html"], saved), "FIFO")
    assert stat.S_ISFIFO(os.lstat(saved / "out.html").st_mode)


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")
def test_device_target_is_refused_and_stays_a_device(saved: Path) -> None:
    os.mknod(saved / "dev", stat.S_IFCHR | 0o666, os.makedev(1, 7))  # like /dev/full
    expect_usage_error(invoke([*COMPARE, "-o", "dev"], saved), "device")
    assert stat.S_ISCHR(os.lstat(saved / "dev").st_mode)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO, errno.EROFS])
def test_failed_write_is_one_line_old_file_intact_no_temp_left(
    saved: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    (saved / "out.json").write_text("previous")

    def fail(fd: int) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "fsync", fail)
    expect_usage_error(invoke([*REPORT, "--html", "out.json"], saved), os.strerror(code))
    assert (saved / "out.json").read_text() == "previous"
    assert sorted(p.name for p in saved.iterdir()) == ["a.json", "out.json"]


def test_compare_output_on_a_full_disk(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(src: str, dst: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full)
    result = invoke(["compare", "a.json", "a.json", "-o", "c.json"], saved)
    expect_usage_error(result, "No space left")
    assert sorted(p.name for p in saved.iterdir()) == ["a.json"]


def test_dash_writes_the_report_to_stdout_and_the_table_to_stderr(saved: Path) -> None:
    result = invoke([*COMPARE, "-o", "-"], saved)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["kind"] == "compare"
    assert "p50" in result.stderr and not (saved / "-").exists()


def test_html_dash_writes_the_page_to_stdout(saved: Path) -> None:
    result = invoke([*REPORT, "--html", "-"], saved)
    assert result.exit_code == 0 and result.stdout.lstrip().lower().startswith("<!doctype html")
    assert not (saved / "-").exists()


def test_read_only_file_is_not_replaced(saved: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root may write any file")
    (saved / "ro.json").write_text("keep")
    (saved / "ro.json").chmod(0o444)
    expect_usage_error(invoke([*COMPARE, "-o", "ro.json"], saved), "not writable")
    assert (saved / "ro.json").read_text() == "keep"


# -- hostile strings ------------------------------------------------------------------------


def _hostile(report: Any) -> str:
    """A report whose every hostile fixture string carries terminal escapes and markup."""
    text = report.model_dump_json()
    assert F.XSS in text
    return text.replace(F.XSS, json.dumps(HOSTILE)[1:-1] + F.XSS)


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    profile = F.profile_report(200, hostile=True)
    profile.config.pipeline = "mod:ok"
    (folder / "profile.json").write_text(_hostile(profile))
    (folder / "compare.json").write_text(_hostile(F.compare_report(hostile=True)))
    (folder / "leak.json").write_text(_hostile(F.leakcheck_report(300, hostile=True)))
    (folder / "suite.json").write_text(_hostile(F.suite_report(hostile=True)))
    surrogate = F.profile_report(200).model_dump_json()
    surrogate = surrogate.replace('"warnings":[]', '"warnings":["bench\\ud800"]')
    assert "ud800" in surrogate
    (folder / "surrogate.json").write_text(surrogate)
    return folder


HOSTILE_CASES = [
    ("profile table", ["report", "profile.json"]),
    ("profile markdown", ["report", "profile.json", "-f", "markdown"]),
    ("compare table", ["report", "compare.json"]),
    ("compare markdown", ["report", "compare.json", "-f", "markdown"]),
    ("leakcheck table", ["report", "leak.json"]),
    ("leakcheck markdown", ["report", "leak.json", "-f", "markdown"]),
    ("suite table", ["report", "suite.json"]),
]


def test_hostile_suite_markdown_holds_no_control_character(hostile_dir: Path) -> None:
    """The suite's markdown table shows no free text of the report: nothing to escape."""
    expect_safe(invoke(["report", "suite.json", "-f", "markdown"], hostile_dir), escaped=False)


@pytest.mark.parametrize(("case", "args"), HOSTILE_CASES, ids=[c[0] for c in HOSTILE_CASES])
def test_hostile_report_strings_are_shown_escaped(
    hostile_dir: Path, case: str, args: list[str]
) -> None:
    expect_safe(invoke(args, hostile_dir))


def test_module_name_with_emoji_code_is_shown_as_written(hostile_dir: Path) -> None:
    result = invoke(["report", "profile.json"], hostile_dir)
    expect_safe(result)
    assert "mod:ok" in result.stdout


@pytest.mark.parametrize("fmt", ["table", "markdown", "json"])
def test_lone_surrogate_is_escaped_on_load_and_renders(hostile_dir: Path, fmt: str) -> None:
    result = invoke(["report", "surrogate.json", "-f", fmt], hostile_dir)
    assert result.exit_code == 0, (result.output, result.exception)
    assert "bench\\ud800" in result.stdout.replace("\\\\", "\\")


def test_help_shows_brackets_as_written(tmp_path: Path) -> None:
    result = invoke(["suite", "--help"], tmp_path)
    flat = "".join(result.stdout.replace("│", "").split())  # however the panel wraps
    assert result.exit_code == 0 and "[tool.ctool.targets]" in flat, result.stdout


def test_hostile_pipeline_strings_are_escaped_in_a_run(tmp_path: Path) -> None:
    """Stage names, error messages, metrics and settings from the pipeline itself."""
    args = ["profile", "-p", "misbehaving_pipelines:hostile", "--episodes", "6", "--warmup", "0"]
    expect_safe(invoke([*args, "-o", "h.json"], tmp_path))
    report = json.loads((tmp_path / "h.json").read_text())
    assert any(HOSTILE in name for name in report["stages"])  # JSON keeps them exact
    expect_safe(invoke(["report", "h.json", "-f", "markdown"], tmp_path))


def test_hostile_text_in_a_warning_is_escaped_on_stderr(tmp_path: Path) -> None:
    args = ["profile", "-p", "misbehaving_pipelines:hostile_warning", "--episodes", "3"]
    result = invoke([*args, "--warmup", "0"], tmp_path)
    expect_safe(result)
    assert "ctool: warning: the pipeline's metrics() failed" in result.stderr


# -- misbehaving pipelines ------------------------------------------------------------------


def _run(tmp_path: Path, factory: str, *extra: str) -> Result:
    return invoke(
        ["profile", "-p", f"misbehaving_pipelines:{factory}", "--episodes", "6", "--warmup", "1",
         "-o", "run.json", *extra],
        tmp_path,
    )  # fmt: skip


def _errors(tmp_path: Path) -> dict[str, int]:
    by_type: dict[str, int] = json.loads((tmp_path / "run.json").read_text())["errors"]["by_type"]
    return by_type


PIPELINE_LOAD_FAILURES = [
    ("sys.exit in the module", "misbehaving_exit_on_import:create", "sys.exit(9)"),
    ("sys.exit in the factory", "misbehaving_pipelines:exit_in_factory", "sys.exit(7)"),
    ("factory returns no pipeline", "misbehaving_pipelines:not_a_pipeline", "no episode"),
]


@pytest.mark.parametrize(
    ("case", "ref", "message"), PIPELINE_LOAD_FAILURES, ids=[c[0] for c in PIPELINE_LOAD_FAILURES]
)
def test_pipeline_that_cannot_start_is_one_line_exit_2(
    tmp_path: Path, case: str, ref: str, message: str
) -> None:
    expect_usage_error(invoke(["profile", "-p", ref, "--episodes", "3"], tmp_path), message)


EPISODE_ERRORS = [
    # (case, factory, error kind expected in the report)
    ("sys.exit in an async episode", "exit_in_episode", "PipelineExit"),
    ("SystemExit in a sync episode", "exit_in_sync_episode", "PipelineExit"),
    ("outputs() returns what cannot be digested", "undigestible_outputs", "TypeError"),
    ("outputs() raises", "outputs_raise", "RuntimeError"),
    ("sys.exit in outputs()", "outputs_exit", "PipelineExit"),
]


@pytest.mark.parametrize(
    ("case", "factory", "kind"), EPISODE_ERRORS, ids=[c[0] for c in EPISODE_ERRORS]
)
def test_pipeline_failure_in_an_episode_is_an_episode_error(
    tmp_path: Path, case: str, factory: str, kind: str
) -> None:
    result = _run(tmp_path, factory, "-q")
    assert result.exit_code in (0, 1), (result.output, result.exception)  # 1: every one failed
    assert "Traceback" not in result.output
    assert _errors(tmp_path).get(kind, 0) >= 1


HOOK_FAILURES = [
    ("sys.exit in metrics()", "metrics_exit", "metrics()"),
    ("metrics() returns no mapping", "metrics_not_mapping", "metrics()"),
    ("sys.exit in close()", "close_exit", "close()"),
    ("close() raises", "close_raise", "close()"),
]


@pytest.mark.parametrize(
    ("case", "factory", "hook"), HOOK_FAILURES, ids=[c[0] for c in HOOK_FAILURES]
)
def test_failing_hook_is_a_warning_and_the_report_is_kept(
    tmp_path: Path, case: str, factory: str, hook: str
) -> None:
    result = _run(tmp_path, factory)
    assert result.exit_code == 0, (result.output, result.exception)
    assert hook in result.stderr and "warning" in result.stderr
    assert json.loads((tmp_path / "run.json").read_text())["complete"] is True


@pytest.mark.parametrize("factory", ["prints", "prints_in_factory"])
def test_pipeline_print_does_not_corrupt_json_on_stdout(tmp_path: Path, factory: str) -> None:
    result = _run(tmp_path, factory, "-f", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["kind"] == "profile"
    assert "says hello" in result.stderr


def test_episode_that_never_returns_times_out_and_the_run_goes_on(tmp_path: Path) -> None:
    result = invoke(
        ["profile", "-p", "misbehaving_pipelines:hangs", "--episodes", "10", "--warmup", "0",
         "--episode-timeout", "0.2", "-o", "run.json", "-q"],
        tmp_path,
    )  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    report = json.loads((tmp_path / "run.json").read_text())
    assert report["errors"]["by_type"] == {"timeout": 1}
    assert report["latency_ms"]["count"] == 9 and report["complete"] is True


def test_hung_sync_episode_in_a_worker_ends_the_worker_and_the_run_goes_on(tmp_path: Path) -> None:
    """A sync episode cannot be cancelled; with --workers its worker is ended and replaced."""
    result = invoke(
        ["profile", "-p", "misbehaving_pipelines:sync_hangs", "--set", "at=25", "--workers", "2",
         "--episodes", "40", "--warmup", "0", "--episode-timeout", "0.5", "-o", "run.json", "-q"],
        tmp_path,
    )  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    report = json.loads((tmp_path / "run.json").read_text())
    assert report["errors"]["by_type"] == {"timeout": 2}  # one per worker of the 2-worker step
    assert report["latency_ms"]["count"] == 50 and report["complete"] is True


def test_html_render_of_a_hostile_report_prints_no_library_warning(hostile_dir: Path) -> None:
    result = invoke(["report", "profile.json", "--html", "p.html"], hostile_dir)
    assert result.exit_code == 0 and result.stderr == "", result.stderr
    assert "\x1b" not in (hostile_dir / "p.html").read_text()
