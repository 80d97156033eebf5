"""Issue 26, what a pipeline or a signal does to ctool's process (real processes).

Defect 7: a pipeline thread that never ends kept ctool alive forever after the report was
written. Defect 8: a pipeline that closes file descriptor 1 ended ctool with a traceback.
Defect 9: a relative ``-o`` followed the pipeline's ``os.chdir``. And: a SIGKILL during a
write left a hidden ``.tmp`` file; matplotlib's warnings (with a source line) reached stderr
for long or full-width stage names.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cli_processes import DEADLINE_S, finish, start, wait_until
from paths import subprocess_env


def test_a_thread_the_pipeline_leaves_running_does_not_keep_ctool_alive(tmp_path: Path) -> None:
    proc = start(
        ["profile", "-p", "stop_pipelines:leaves_thread", "--episodes", "5", "--warmup", "0",
         "-q", "-o", "out.json"],
        tmp_path,
    )  # fmt: skip
    try:
        proc.wait(timeout=DEADLINE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("ctool did not exit after its report was written")
    err = finish(proc)
    assert proc.returncode == 0, err
    assert "left 1 thread(s) running (pipeline-forever)" in err
    assert json.loads((tmp_path / "out.json").read_text())["complete"] is True


def test_a_pipeline_that_closes_stdout_is_a_warning_not_a_traceback(tmp_path: Path) -> None:
    proc = start(
        ["profile", "-p", "stop_pipelines:closes_stdout", "--episodes", "5", "--warmup", "0",
         "-o", "out.json"],
        tmp_path,
    )  # fmt: skip
    err = finish(proc)  # asserts no traceback
    assert proc.returncode == 0, err
    assert "cannot write to standard output" in err
    assert json.loads((tmp_path / "out.json").read_text())["latency_ms"]["count"] == 5


def test_a_relative_output_path_is_resolved_before_the_pipeline_changes_directory(
    tmp_path: Path,
) -> None:
    (tmp_path / "elsewhere").mkdir()
    proc = start(
        ["profile", "-p", "stop_pipelines:chdir", "--set", "to=elsewhere", "--episodes", "5",
         "--warmup", "0", "-q", "-o", "out.json", "--html", "out.html"],
        tmp_path,
    )  # fmt: skip
    err = finish(proc)
    assert proc.returncode == 0, err
    assert (tmp_path / "out.json").is_file() and (tmp_path / "out.html").is_file()
    assert list((tmp_path / "elsewhere").iterdir()) == []


WRITER = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    import ctool.model.io as io

    real_fsync = os.fsync
    def fsync(fd):  # the data is written, not yet named: say so, then wait to be killed
        Path(sys.argv[2]).touch()
        os.read(os.open(sys.argv[3], os.O_RDONLY), 1)  # a FIFO nobody writes: blocks
        real_fsync(fd)
    os.fsync = fsync
    io.atomic_write_text(sys.argv[1], "x" * 4_000_000)
    """
)


def test_sigkill_during_a_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    """The writer is killed (SIGKILL) once 4 MB are written and before the file is named."""
    target = tmp_path / "out" / "r.json"
    target.parent.mkdir()
    target.write_text("old")
    fifo = tmp_path / "never"
    os.mkfifo(fifo)
    marker = tmp_path / "written"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(target), str(marker), str(fifo)],
        env=subprocess_env(), stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    wait_until(marker.exists, proc)  # type: ignore[arg-type]
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=DEADLINE_S)
    assert sorted(p.name for p in target.parent.iterdir()) == ["r.json"]
    assert target.read_text() == "old"


def test_chart_warnings_for_long_and_full_width_stage_names_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "names.py").write_text(
        textwrap.dedent(
            """
            import asyncio, ctool
            class P:
                async def episode(self, i):
                    with ctool.span("x" * 400):
                        await asyncio.sleep(0)
                    with ctool.span("\\uff26\\uff35\\uff2c\\uff2c\\u540d\\u524d" * 20):
                        await asyncio.sleep(0)
                    return i
            def create(**_):
                return P()
            """
        )
    )
    proc = start(
        ["profile", "-p", "names:create", "--episodes", "20", "--warmup", "0", "-q",
         "--html", "x.html"],
        tmp_path,
        PYTHONPATH=os.pathsep.join([str(tmp_path), subprocess_env()["PYTHONPATH"]]),
    )  # fmt: skip
    err = finish(proc)
    assert proc.returncode == 0, err
    assert "UserWarning" not in err and "fig.savefig" not in err, err
    assert len(err.strip().splitlines()) == 1 and "ctool: warning: charts of" in err, err
    assert (tmp_path / "x.html").stat().st_size > 0
