"""Third-party backends register exactly like the built-ins: an entry point in the group
``ctool.profilers``. The test installs a tiny distribution (a ``*.dist-info`` folder with
``entry_points.txt``) into a temporary directory on ``sys.path``: one working sampler, one
backend that cannot run here, one whose module is missing and one that is not a profiler.
A broken plugin is listed with its error and never hides the others."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from profiling_helpers import check_fragment, install_test_plugin, profile_toy
from typer.testing import CliRunner

from ctool.cli.app import app
from ctool.model.errors import ProfilerUnavailable
from ctool.model.version import __version__
from ctool.profilers.base import ProfilerOptions
from ctool.profilers.registry import describe, discover, select
from ctool.profilers.session import ProfilerSession


@pytest.fixture
def plugin_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = install_test_plugin(tmp_path / "site")
    monkeypatch.syspath_prepend(str(root))
    yield root
    sys.modules.pop("ctool_testplugin", None)


def test_third_party_backend_is_discovered_with_its_package(plugin_path: Path) -> None:
    found = discover()
    assert found["testsampler"].source == "ctool-testplugin"
    assert {"cprofile", "pyspy", "testsampler", "testbroken"} <= set(found)


def test_third_party_backend_keeps_the_contract(plugin_path: Path, tmp_path: Path) -> None:
    profiler = discover()["testsampler"].create()
    options = ProfilerOptions(output_dir=tmp_path, top=5)
    fragment, _ = profile_toy(profiler, options, seconds=0.2)
    check_fragment(fragment, "testsampler", top=5)
    assert fragment.hotspots and fragment.hotspots[0].function == "spin"


def test_broken_plugins_are_reported_not_fatal(plugin_path: Path) -> None:
    statuses = {status.name: status for status in describe()}
    assert statuses["testsampler"].ok and statuses["testsampler"].source == "ctool-testplugin 1.2.3"
    broken = statuses["testbroken"]
    assert not broken.ok and "failed to load" in broken.reason
    assert "ModuleNotFoundError" in broken.reason
    fake = statuses["testnotaprofiler"]
    assert not fake.ok and "does not implement the Profiler protocol" in fake.reason
    assert "stop" in fake.reason
    assert statuses["testunavailable"].reason == "needs the frobnicator device"
    assert statuses["cprofile"].ok  # the built-ins are untouched by the broken ones
    chosen, warnings = select(["testbroken", "cprofile"])
    assert [p.name for p in chosen] == ["cprofile"]
    assert "failed to load" in warnings[0] and "continuing without it" in warnings[0]
    with pytest.raises(ProfilerUnavailable, match="failed to load"):
        select(["testbroken"], require=True)


def test_profilers_command_lists_everything(plugin_path: Path) -> None:
    result = CliRunner().invoke(app, ["profilers"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if "│" in line}
    assert "yes" in lines["cprofile"] and f"ctool {__version__}" in lines["cprofile"]
    assert "yes" in lines["testsampler"] and "ctool-testplugin 1.2.3" in lines["testsampler"]
    assert "no" in lines["testbroken"] and "failed to load" in lines["testbroken"]
    assert "needs the frobnicator device" in lines["testunavailable"]


def test_profilers_command_json(plugin_path: Path) -> None:
    import json

    result = CliRunner().invoke(app, ["profilers", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["tracemalloc"]["ok"] is True
    assert rows["testbroken"]["ok"] is False


def test_require_refuses_an_unavailable_backend(plugin_path: Path, tmp_path: Path) -> None:
    options = ProfilerOptions(output_dir=tmp_path / "out")
    with pytest.raises(ProfilerUnavailable) as raised:
        ProfilerSession.open(["testunavailable"], require=True, options=options)
    assert raised.value.exit_code == 2
    assert raised.value.message == (
        "profiler 'testunavailable' cannot run here: needs the frobnicator device"
    )
    session = ProfilerSession.open(["testunavailable", "cprofile"], require=False, options=options)
    assert session.names == ["cprofile"]
    assert session.warnings == [
        "profiler 'testunavailable' cannot run here: needs the frobnicator device; "
        "continuing without it"
    ]


def test_profilers_command_in_a_subprocess(plugin_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(plugin_path), *sys.path]))
    done = subprocess.run(
        [sys.executable, "-m", "ctool", "profilers", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert '"testbroken"' in done.stdout and '"testsampler"' in done.stdout
