"""The chaos report's table and markdown at 80 and 120 columns, from a real run."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from ctool.chaos.options import chaos_options
from ctool.chaos.runner import run_chaos
from ctool.model.chaos_schema import ChaosReport
from ctool.reports.registry import render


@pytest.fixture(scope="module")
def report() -> ChaosReport:
    options = chaos_options(
        plan_path=None,
        faults=[
            "error:span:B:probability=0.1,exception=ConnectionError,start_s=0.2,duration_s=0.4",
            "corrupt:point:B.value:mode=nan,probability=0.05",
            "cpu::threads=1,start_s=0.3,duration_s=0.2",
        ],
        pipeline="chaos_pipelines:create",
        preset=None,
        settings={},
        seed=1,
        duration_s=1.0,
        episodes=None,
        concurrency=None,
        episode_timeout_s=None,
        window_s=0.25,
        abort_burn=None,
        proxies=None,
    )
    return run_chaos(options)


@pytest.mark.parametrize("width", [80, 120])
def test_the_table_fits_the_width_and_shows_the_accounting(report: ChaosReport, width: int) -> None:
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, markup=False, emoji=False)
    console.print(render(report, "table"))
    text = out.getvalue()
    assert max(len(line) for line in text.splitlines()) <= width
    a = report.accounting
    assert "failed: ConnectionError" in text and str(a.failed["ConnectionError"]) in text
    assert "wrong output escaped" in text and str(a.wrong_escaped) in text
    assert "steady-state hypothesis" in text and "verdict:" in text
    assert "cpu" in text  # the window fault's row


def test_markdown_holds_every_section(report: ChaosReport) -> None:
    text = render(report, "markdown")
    for title in ("### faults", "### episodes", "### control and experiment", "### recovery"):
        assert title in text
    assert f"| started (sum) | {report.accounting.started:,} |" in text
