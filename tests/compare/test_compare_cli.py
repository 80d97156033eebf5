"""`ctool compare` through Typer's CliRunner (and two real subprocess runs)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ctool.analysis.synthetic import LatencyModel, leakcheck_report, profile_report
from ctool.cli.app import app
from ctool.model.io import load_report, write_report
from ctool.model.schema import CompareReport

MODEL = LatencyModel()


def _write(path: Path, seed: int, factor: float = 1.0, rounds: int = 10) -> Path:
    rng = np.random.default_rng(seed)
    latencies = MODEL.episodes(rng, (rounds,), 100) * MODEL.machine(rng, (rounds,)) * factor
    write_report(profile_report(list(latencies), stage_shares={"TIG": 0.4, "ESGT": 0.6}), path)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("reports")
    return {
        "base": _write(root / "base.json", 1),
        "same": _write(root / "same.json", 2),
        "slow": _write(root / "slow.json", 3, 1.3),
        "fast": _write(root / "fast.json", 4, 0.7),
        "single": _write(root / "single.json", 5, rounds=1),
    }


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["compare", *args])
    return result.exit_code, result.stdout, result.stderr


def test_table_output(files: dict[str, Path]) -> None:
    code, out, err = _run(str(files["base"]), str(files["fast"]))
    assert code == 0, err
    assert "latency p50" in out and "faster" in out and "TIG p50" in out
    assert "mode: rounds (10 vs 10 fresh processes)" in out
    assert "behaviour: outputs identical" in out


def test_markdown_fits_a_pr_comment(files: dict[str, Path]) -> None:
    code, out, _ = _run(str(files["base"]), str(files["slow"]), "--format", "markdown")
    assert code == 0
    assert out.startswith("### 🔴 ctool compare: regression: latency p50")
    assert "| metric | before | after | ratio | 95 % interval | p | verdict |" in out
    assert "<details>" in out and "**Behaviour:** outputs identical" in out


def test_json_and_output_file(files: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "cmp.json"
    code, out, _ = _run(
        str(files["base"]), str(files["slow"]), "--format", "json", "-o", str(target)
    )
    assert code == 0
    printed = CompareReport.model_validate(json.loads(out))
    saved = load_report(target)
    assert isinstance(saved, CompareReport)
    assert saved.regressions == printed.regressions == ["latency.p50"]
    assert [p.name for p in tmp_path.iterdir()] == ["cmp.json"]  # atomic: no leftovers


def test_gates_and_exit_codes(files: dict[str, Path]) -> None:
    base, same, slow, fast = (str(files[k]) for k in ("base", "same", "slow", "fast"))
    assert _run(base, slow)[0] == 0  # no gate asked for
    code, _, err = _run(base, slow, "--fail-on-regression")
    assert code == 1 and "regression in latency.p50" in err
    assert _run(base, fast, "--fail-on-regression")[0] == 0  # faster is no regression
    assert _run(base, fast, "--fail-on-change")[0] == 1  # but it is a change
    assert _run(base, same, "--fail-on-change", "--fail-on-regression")[0] == 0
    # A 30 % slowdown under a 40 % threshold is no regression.
    assert _run(base, slow, "--fail-on-regression", "--threshold", "40%")[0] == 0
    # Gate on a metric that did not move: the slowdown elsewhere does not fail the build.
    assert _run(base, slow, "--fail-on-regression", "--gate", "phi.hit_rate,rss")[0] == 2
    assert _run(base, slow, "--fail-on-regression", "--gate", "stage.TIG.p50")[0] == 1


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--threshold", "abc"], "--threshold expects a percentage"),
        (["--threshold", "150"], "between 0 and 100"),
        (["--alpha", "0.7"], "--alpha must be between"),
        (["--gate", "p42"], "unknown metric 'p42'"),
        (["--gate", "stage.NOPE.p50"], "matches no metric"),
        (["-o", "/nonexistent/dir/x.json"], "does not exist"),
        (["--html", "out.html"], "ctool.reports.html"),
    ],
)
def test_bad_options_are_one_line(
    files: dict[str, Path], args: list[str], fragment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ctool.reports.html", None)  # the feature is missing
    code, _, err = _run(str(files["base"]), str(files["same"]), *args)
    assert code == 2
    assert fragment in err
    assert err.count("\n") == 1 and err.startswith("ctool: error: ")


def _profile_dict(path: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads(path.read_text())
    return data


def _bad_files(files: dict[str, Path], root: Path) -> dict[str, tuple[Path, str]]:
    good = _profile_dict(files["base"])
    text = files["base"].read_text()

    def put(name: str, content: str) -> Path:
        path = root / name
        path.write_text(content)
        return path

    def variant(name: str, **changes: object) -> Path:
        data = json.loads(json.dumps(good))
        for dotted, value in changes.items():
            node = data
            *parents, leaf = dotted.split("__")
            for key in parents:
                node = node[int(key)] if key.isdigit() else node[key]
            if value is None:
                del node[leaf]
            else:
                node[leaf] = value
        return put(name, json.dumps(data))

    leak = leakcheck_report()
    leak_path = root / "leak.json"
    write_report(leak, leak_path)
    return {
        "missing": (root / "absent.json", "no such file"),
        "empty": (put("empty.json", ""), "empty file"),
        "not json": (put("text.json", "hello"), "not valid JSON"),
        "truncated": (put("trunc.json", text[: len(text) // 2]), "not valid JSON"),
        "wrong kind": (leak_path, "is a leakcheck report"),
        "future": (variant("future.json", schema_version=2), "newer than this ctool"),
        "missing field": (variant("nolat.json", latency_ms=None), "latency_ms"),
        "nan latency": (put("nan.json", text.replace('"p50": ', '"p50": NaN, "x": ', 1)), "p50"),
        "negative latency": (variant("neg.json", latency_ms__p95=-1.0), "p95"),
        "nan window": (variant("nanw.json", rounds__0__p50_ms="NaN"), "rounds"),
        "zero episodes": (variant("zero.json", latency_ms__count=0), "zero episodes"),
        "directory": (root, "is a directory"),
    }


def test_bad_inputs_exit_2_with_one_line(files: dict[str, Path], tmp_path: Path) -> None:
    for case, (path, fragment) in _bad_files(files, tmp_path).items():
        for args in ([str(path), str(files["base"])], [str(files["base"]), str(path)]):
            code, out, err = _run(*args)
            assert code == 2, (case, err)
            assert err.startswith("ctool: error: ") and err.count("\n") == 1, (case, err)
            assert fragment in err, (case, err)
            assert "Traceback" not in err + out


def test_subprocess_compare_and_bad_input(files: dict[str, Path], tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ctool", "compare", str(files["base"]), str(files["single"]),
         "--format", "markdown", "--fail-on-regression"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "blind to run-to-run drift" in proc.stdout
    (tmp_path / "bad.json").write_text("{")
    proc = subprocess.run(
        [sys.executable, "-m", "ctool", "compare", str(tmp_path / "bad.json"), str(files["base"])],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "not valid JSON" in proc.stderr
