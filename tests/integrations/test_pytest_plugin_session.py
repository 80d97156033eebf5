"""The pytest plugin across a session: save then compare (a 2x slower body caught, another
machine's report skipped), leakcheck's verdict, pytest-xdist, pytest-asyncio and anyio, and
a test suite that never uses the plugin."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from pytest_plugin_helpers import PLUGIN, plugin_args, run

from ctool.pytest_plugin.checks import Verdict, _leak
from ctool.pytest_plugin.options import MarkOptions

pytest_plugins = ["pytester"]

SCALED = """
import os, pytest, ctool

@pytest.mark.ctool(episodes=60, warmup=5)
def test_work():
    with ctool.span("crunch"):
        total = 0
        for i in range(int(os.environ["WORK"])):
            total += i * i
"""


def saved_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, work: int) -> Path:
    """Run SCALED with ``work`` iterations per episode and ``--ctool-save``; the folder."""
    pytester.makepyfile(test_scaled=SCALED)
    saved = pytester.path / "saved"
    monkeypatch.setenv("WORK", str(work))
    run(pytester, f"--ctool-save={saved}").assert_outcomes(passed=1)
    return saved


def test_save_then_compare_catches_a_2x_slower_body(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = saved_run(pytester, monkeypatch, 20_000)
    files = list(saved.glob("*.json"))
    assert [f.name for f in files] == ["test_scaled.py_test_work.json"]
    report = json.loads(files[0].read_text())
    assert report["kind"] == "profile"
    assert report["latency_ms"]["count"] == 60
    assert report["config"]["pipeline"] == "test_scaled:test_work"

    result = run(pytester, f"--ctool-compare={saved}")  # same body: no regression
    result.assert_outcomes(passed=1)
    assert "ctool comparisons" in result.stdout.str()

    monkeypatch.setenv("WORK", "40000")
    result = run(pytester, f"--ctool-compare={saved}")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "regressed against the saved report" in out
    assert "latency.p50" in out and ": slower" in out
    assert "cannot see drift between runs" in out
    assert "significantly worse by more than 20 %" in out


def test_a_report_from_another_machine_is_not_compared(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = saved_run(pytester, monkeypatch, 2_000)
    path = next(saved.glob("*.json"))
    data = json.loads(path.read_text())
    data["environment"]["cpu_count"] = 512
    data["environment"]["python"] = "3.99.0"
    path.write_text(json.dumps(data))
    monkeypatch.setenv("WORK", "200000")  # 100x slower, yet not compared
    result = run(pytester, f"--ctool-compare={saved}")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*test_work: comparison skipped: *saved on another machine (*cpu_count 512 -> *"]
    )
    assert "python '3.99.0' ->" in result.stdout.str()


def test_no_leak_fails_on_a_leaking_body_and_passes_a_clean_one(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
import pytest, ctool

KEPT = []

@pytest.mark.ctool(episodes=5, no_leak=True, leak_episodes=200, leak_warmup=20, leak_every=10)
def test_leaks():
    with ctool.span("cache"):
        KEPT.append(bytearray(10_000))

@pytest.mark.ctool(episodes=5, no_leak=True, leak_episodes=200, leak_warmup=20, leak_every=10)
def test_clean():
    with ctool.span("cache"):
        scratch = [bytearray(10_000) for _ in range(3)]
        assert scratch
"""
    )
    result = run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "memory leak (leakcheck: 20 warm-up + 200 episodes)" in out
    assert "growing site test_no_leak_fails_on_a_leaking_body_and_passes_a_clean_one.py:" in out
    assert "in stage cache" in out
    assert "KEPT.append(bytearray(10_000))" in out


def test_inconclusive_fails_only_with_strict() -> None:
    leak = SimpleNamespace(
        verdict="inconclusive", reason="the slope's interval spans the threshold",
        warmup=20, episodes=200, sites=[],
    )  # fmt: skip
    lenient, strict = Verdict(), Verdict()
    _leak(leak, MarkOptions(no_leak=True), lenient)  # type: ignore[arg-type]
    _leak(leak, MarkOptions(no_leak=True, strict=True), strict)  # type: ignore[arg-type]
    assert lenient.passed and "not a failure without strict=True" in lenient.notes[0]
    assert not strict.passed and "fails because strict=True" in strict.failures[0]
    assert "the slope's interval spans the threshold" in strict.failures[0]


XDIST = """
import pytest

def test_plain():
    pass

@pytest.mark.ctool(episodes=5)
def test_measured():
    sum(range(1000))

def test_fixture(ctool_profile):
    ctool_profile(lambda: None, episodes=5)
"""


def test_xdist_refuses_measured_tests_and_disable_runs_them(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(XDIST)
    result = run(pytester, "-n", "2")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*measures performance and pytest-xdist runs 2 workers*"])
    result = run(pytester, "-n", "2", "--ctool-disable", "-rs")
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(["*--ctool-disable turns measurement off*"])


def test_tests_run_by_pytest_asyncio_and_anyio_are_measured(pytester: pytest.Pytester) -> None:
    pytest.importorskip("pytest_asyncio")
    pytest.importorskip("anyio")
    pytester.makepyfile(
        """
import asyncio, pytest

@pytest.fixture
def anyio_backend():
    return "asyncio"

@pytest.mark.asyncio
@pytest.mark.ctool(episodes=7, warmup=1)
async def test_asyncio_marked():
    await asyncio.sleep(0)

@pytest.mark.anyio
@pytest.mark.ctool(episodes=7, warmup=1)
async def test_anyio_marked():
    await asyncio.sleep(0)

@pytest.mark.asyncio
async def test_fixture_on_their_loop(ctool_profile):
    report = await ctool_profile(lambda: None, episodes=9)
    assert report.latency_ms.count == 9
"""
    )
    result = run(pytester, "-v", "-W", "ignore::DeprecationWarning")
    result.assert_outcomes(passed=3)
    out = result.stdout.str()
    for name in ("test_asyncio_marked", "test_anyio_marked", "test_fixture_on_their_loop"):
        assert f"{name} PASSED (p50 " in out, out


def test_an_unrelated_suite_loads_nothing_of_ctool_beyond_the_entry_point(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the real ``pytest11`` entry point (a dist-info on the path declares it)."""
    dist = tmp_path / "site" / "ctool_entry-0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ctool-entry\nVersion: 0\n")
    (dist / "entry_points.txt").write_text(f"[pytest11]\nctool = {PLUGIN}\n")
    pytester.makeconftest(
        """
import json, sys

def pytest_sessionfinish(session):
    loaded = sorted(m for m in sys.modules if m == "ctool" or m.startswith("ctool."))
    heavy = sorted(m for m in ("numpy", "pydantic", "scipy") if m in sys.modules)
    plugin = session.config.pluginmanager.get_plugin("ctool")
    with open("modules.json", "w") as f:
        json.dump({"ctool": loaded, "heavy": heavy, "plugin": getattr(plugin, "__name__", None)}, f)
"""
    )
    pytester.makepyfile("def test_one():\n    assert 1 + 1 == 2\n")
    paths = [str(tmp_path / "site"), *os.environ.get("PYTHONPATH", "").split(os.pathsep)]
    env_path = os.pathsep.join(p for p in paths if p)
    monkeypatch.setenv("PYTHONPATH", env_path)
    if not plugin_args():  # the installed ctool declares it: a second declaration is an error
        (dist / "entry_points.txt").write_text("")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    data = json.loads((pytester.path / "modules.json").read_text())
    assert data["plugin"] == PLUGIN
    assert data["heavy"] == []
    assert data["ctool"] == [
        "ctool", "ctool.faults", "ctool.model", "ctool.model.version", "ctool.pytest_plugin",
        "ctool.pytest_plugin.plugin", "ctool.spans",
    ]  # fmt: skip
    assert sys.modules  # the outer process is untouched
