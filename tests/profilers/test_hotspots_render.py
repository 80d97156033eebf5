"""The bottleneck tables, pinned as golden text from a fixed-width, colourless Console.

Regenerate after an intended change with ``CTOOL_UPDATE_GOLDEN=1 pytest
tests/profilers/test_hotspots_render.py`` and review the diff.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from rich.console import Console, RenderableType

from ctool.model.schema import Hotspot, ProfilerRun
from ctool.reports.hotspots import hotspot_tables, hotspots_table, profilers_table, short_path

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "hotspots"
SRC = "/srv/app/pipeline"

ROWS = [
    Hotspot(
        profiler="cprofile",
        function="KuramotoNetwork.step",
        file=f"{SRC}/esgt.py",
        line=120,
        calls=48_000,
        self_ms=1234.5678,
        cumulative_ms=1500.25,
        share=0.61,
        stage="ESGT",
    ),
    Hotspot(
        profiler="cprofile",
        function="<built-in method select.epoll.poll>",
        file="~",
        line=0,
        calls=12,
        self_ms=0.0042,
        cumulative_ms=0.0042,
        share=0.000002,
    ),
    Hotspot(
        profiler="pyspy",
        function="PhiCalculator._bipartitions",
        file=f"{SRC}/phi.py",
        line=88,
        self_ms=840.0,
        cumulative_ms=910.0,
        share=0.42,
        stage="MCEA.phi",
    ),
    Hotspot(
        profiler="line",
        function="KuramotoNetwork.step",
        file=f"{SRC}/esgt.py",
        line=131,
        calls=9_600_000,
        self_ms=702.0,
        share=0.35,
        stage="ESGT",
        extra={"source": "dtheta[i] += k * w * math.sin(theta[j] - theta[i])", "per_hit_us": 0.073},
    ),
    Hotspot(
        profiler="tracemalloc",
        function="TIGFabric.broadcast",
        file=f"{SRC}/tig.py",
        line=57,
        calls=310,
        share=0.8,
        stage="TIG",
        extra={"size_bytes": 1_572_864.0, "count": 310.4, "retained_bytes": 0, "retained_count": 0},
    ),
    Hotspot(
        profiler="memory",
        function="TIGFabric.broadcast",
        file=f"{SRC}/tig.py",
        line=58,
        calls=200,
        share=1.0,
        stage="TIG",
        extra={"increment_mib": 1.5, "mem_usage_mib": 88.25, "source": "payload = json.dumps(x)"},
    ),
]
RUNS = [
    ProfilerRun(name="cprofile", overhead_ratio=1.734),
    ProfilerRun(name="pyspy", overhead_ratio=1.012),
    ProfilerRun(name="line", metadata={"note": "ended during its pass"}),
    ProfilerRun(name="memory", ok=False, reason="ValueError: boom"),
]
ARTIFACTS = {
    "cprofile": f"{SRC}/out/cprofile.prof",
    "line_profile": f"{SRC}/out/line_profile.lprof",
}


def render(renderable: RenderableType) -> str:
    console = Console(file=io.StringIO(), width=120, color_system=None, force_terminal=False)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined,no-any-return]


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("CTOOL_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


@pytest.mark.parametrize("profiler", ["cprofile", "pyspy", "line", "tracemalloc", "memory"])
def test_each_kind_of_table(profiler: str) -> None:
    runs = {run.name: run for run in RUNS}
    artifact = ARTIFACTS.get(profiler) or ARTIFACTS.get(f"{profiler}_profile")
    table = hotspots_table(ROWS, profiler, run=runs.get(profiler), artifact=artifact)
    check_golden(profiler, render(table))


def test_one_table_per_profiler_in_order_and_top_n() -> None:
    tables = hotspot_tables(ROWS, top=1, runs=RUNS, artifacts=ARTIFACTS)
    assert [table.title for table in tables] == [
        "cProfile: top 1 hotspots",
        "py-spy: top 1 hotspots",
        "line_profiler: top 1 hotspots",
        "tracemalloc: top 1 hotspots",
        "memory_profiler: top 1 hotspots",
    ]
    assert tables[0].row_count == 1


def test_profilers_summary_table() -> None:
    check_golden("profilers", render(profilers_table(RUNS, ARTIFACTS)))


def test_short_path() -> None:
    assert short_path("~") == "~"
    assert short_path(os.path.join(os.getcwd(), "a", "b.py")) == os.path.join("a", "b.py")
    assert short_path("/far/away/x.py") == "/far/away/x.py"


def test_bottleneck_table_is_plain_text_for_any_renderer() -> None:
    from ctool.reports.hotspots import bottleneck_table

    table = bottleneck_table(ROWS, "tracemalloc", run=ProfilerRun(name="tracemalloc"))
    assert [header for header, _ in table.columns] == [
        "#",
        "function",
        "where",
        "stage",
        "blocks",
        "in flight",
        "retained",
        "share",
    ]
    assert table.rows == [
        [
            "1",
            "TIGFabric.broadcast",
            "…/app/pipeline/tig.py:57",
            "TIG",
            "310",
            "1.5 MiB",
            "0 B",
            "80.0%",
        ]
    ]
    assert table.notes == []
    line = bottleneck_table(ROWS, "line")
    assert line.columns[-1] == ("source", False)
    assert line.rows[0][-1] == "dtheta[i] += k * w * math.sin(theta[j] - theta[i])"
