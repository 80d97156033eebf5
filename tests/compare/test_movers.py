"""Where time moved: compare's "biggest movers" table and the differential flame graph."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ctool.analysis.flametree import parse_folded
from ctool.analysis.movers import movers, welch
from ctool.model.schema import CompareReport, ProfileReport, ProfilerRun
from ctool.profilers.registry import discover
from ctool.reports.flamegraph import diff_flame_svg
from ctool.reports.movers import mover_cells

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden" / "reports" / "profile.json"

ROUTE = "episode -> networkx.betweenness_centrality [route]"
PARSE = "episode -> yaml.load [parse]"


def with_shares(slices: list[dict[str, float]]) -> ProfileReport:
    report = ProfileReport.model_validate_json(GOLDEN.read_text())
    run = ProfilerRun(name="pyspy", metadata={"row_shares": slices})
    return report.model_copy(update={"profilers": [run], "artifacts": {}})


def shares_of(costs: dict[str, float], wobble: list[float]) -> list[dict[str, float]]:
    """Slices of shares from per-row costs, parse's cost wobbling by ``w`` per slice."""
    out = []
    for w in wobble:
        slice_costs = {**costs, PARSE: costs[PARSE] + w}
        total = sum(slice_costs.values())
        out.append({name: cost / total for name, cost in slice_costs.items()})
    return out


def test_the_row_that_grew_is_the_biggest_mover_and_the_others_are_noise() -> None:
    """Route's cost x1.3, every other row's held: route moves up, parse's and money's shares
    fall by construction but they are not movers."""
    wobble = [0.2, -0.2, 0.1, -0.1, 0.0, 0.2, -0.2, 0.0]
    costs = {PARSE: 10.0, ROUTE: 5.0, "money [render]": 0.3}
    before = shares_of(costs, wobble)
    after = shares_of({**costs, ROUTE: 6.5}, wobble[::-1])
    rows = movers([with_shares(before)], [with_shares(after)])
    route = rows[0]
    assert route.row == ROUTE and route.moved and route.low > 0
    assert route.change == pytest.approx(6.5 / 16.8 - 5 / 15.3, abs=0.005)
    parse = next(r for r in rows if r.row == PARSE)
    # Shown on the basis it is judged on: its share of the time without route, which held.
    assert parse.basis == ROUTE and not parse.moved
    assert parse.share_before == pytest.approx(parse.share_after, abs=0.01)
    assert parse.low <= 0 <= parse.high
    money = next(r for r in rows if r.row == "money [render]")
    assert not money.moved


def test_a_movers_change_is_the_difference_of_its_shares_as_printed() -> None:
    """Issue 25: every change printed equals the difference of the shares beside it, on
    every row and in every format (the cells are shared); typed slices from any backend."""
    wobble = [0.2, -0.2, 0.1, -0.1, 0.0, 0.2, -0.2, 0.0]
    costs = {PARSE: 10.0, ROUTE: 5.0, "money [render]": 0.3}
    before, after = shares_of(costs, wobble), shares_of({**costs, ROUTE: 0.01}, wobble)

    def side(slices: list[dict[str, float]]) -> ProfileReport:
        report = with_shares([])
        run = ProfilerRun(name="any-sampler", row_shares=slices)
        return report.model_copy(update={"profilers": [run]})

    rows = movers([side(before)], [side(after)])
    assert rows[0].row == ROUTE and rows[0].basis is None and rows[0].moved
    assert [r.basis for r in rows[1:]] == [ROUTE, ROUTE]
    for row in rows:
        assert row.change == pytest.approx(row.share_after - row.share_before, abs=1e-12)
        cells = mover_cells(row)
        shown_before, shown_after = (float(c.removesuffix(" %")) for c in cells[1:3])
        shown_change = float(cells[3].split(" pts")[0])
        assert shown_change == pytest.approx(shown_after - shown_before, abs=1e-9), cells


def test_no_movers_without_py_spy_slices_on_both_sides() -> None:
    some = with_shares([{ROUTE: 0.3}, {ROUTE: 0.31}])
    assert movers([some], [with_shares([])]) == []


def test_welch_interval_holds_the_true_difference_and_widens_with_noise() -> None:
    diff, low, high = welch([0.30, 0.31, 0.29, 0.30], [0.40, 0.41, 0.39, 0.40])
    assert diff == pytest.approx(0.10) and low < 0.10 < high and high - low < 0.05
    _, wide_low, wide_high = welch([0.2, 0.4, 0.1, 0.5], [0.3, 0.5, 0.2, 0.6])
    assert wide_low < 0 < wide_high


def test_differential_flame_graph_colours_what_grew_red_and_what_shrank_blue() -> None:
    before = parse_folded("episode;parse;yaml.load 60\nepisode;route;nx.bc 30\nepisode 10\n")
    after = parse_folded("episode;parse;yaml.load 50\nepisode;route;nx.bc 45\nepisode 5\n")
    svg = diff_flame_svg(before, after)
    route = svg[svg.index("nx.bc") :]
    assert "hsl(0," in route.split("</g>")[0]  # grew: red
    parse = svg[svg.index("yaml.load") :]
    assert "hsl(220," in parse.split("</g>")[0]  # shrank: blue
    assert "pts vs before" in svg


def test_folded_stacks_refuse_a_line_without_a_count() -> None:
    with pytest.raises(ValueError, match="line 1"):
        parse_folded("a;b;c\n")


def ctool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ctool", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**__import__("os").environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"},
        timeout=600,
        check=False,
    )


def profile(tmp_path: Path, name: str, *settings: str) -> dict[str, Any]:
    out = tmp_path / f"{name}.json"
    done = ctool(
        "profile",
        "--pipeline",
        "examples.docpipe:create_sync",
        "--episodes",
        "60",
        "--warmup",
        "2",
        "--profiler",
        "pyspy",
        "--pyspy-rate",
        "200",
        "--block-threshold-ms",
        "0",
        *settings,
        "-o",
        str(out),
        "--quiet",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def test_compare_of_a_slower_route_shows_it_moving_and_the_differential_graph(
    tmp_path: Path,
) -> None:
    """A real change to the work -- route's library call over twice the sources -- moves
    that boundary row up; the HTML carries the differential flame graph. (The issue's 1.3x
    case is measured in benchmarks/profilers.py; a loaded 2-core machine needs a wider
    change for a test that must not flake.)"""
    if not discover()["pyspy"].create().availability().ok:
        pytest.skip("py-spy cannot run here")
    out = tmp_path / "compare.json"
    # Sampled shares are noisy when other jobs share the cores: a run whose interval still
    # holds 0 is taken again with more episodes (bounded attempts), never judged weaker.
    for episodes in ("60", "120", "240"):
        profile(tmp_path, "before", "--episodes", episodes)
        profile(tmp_path, "after", "--episodes", episodes, "--set", "route_sources=80")
        done = ctool(
            "compare",
            "before.json",
            "after.json",
            "-o",
            str(out),
            "--html",
            "compare.html",
            cwd=tmp_path,
        )
        assert done.returncode in (0, 1), done.stderr
        report = CompareReport.model_validate_json(out.read_text())
        route = next(m for m in report.movers if m.row.endswith(ROUTE))
        if route.moved:
            break
    assert route.change > 0 and route.moved, report.movers
    html = (tmp_path / "compare.html").read_text()
    assert "Where time moved" in html and "pts vs before" in html
    assert "Biggest movers" in html
    terminal = ctool("compare", "before.json", "after.json", cwd=tmp_path)
    assert "biggest movers" in terminal.stdout


def test_ab_profiles_in_extra_rounds_that_never_feed_the_timing_verdict(tmp_path: Path) -> None:
    """``ab --profiler pyspy``: the timing rounds run in the block workers without the
    profiler; extra profiled rounds (A B, B A) feed only the movers."""
    from test_ab import Machine, factory

    from ctool.ab.process import profile_command
    from ctool.ab.runner import ABPlan, Side, run_ab

    calls: list[tuple[str, int, tuple[str, ...]]] = []

    def runner(plan: ABPlan, side: Side, index: int, out: Path) -> ProfileReport:
        calls.append((side.label, index, plan.profilers))
        assert "--profiler" in profile_command(plan, side, out)
        route = 0.30 if side.label == "A" else 0.40
        slices = [{ROUTE: route + d, PARSE: 0.65 - route - d} for d in (0.0, 0.01, -0.01)]
        return with_shares(slices)

    machine = Machine(8)
    plan = ABPlan(
        a=Side("A"), b=Side("B"), rounds=6, blocks=4, episodes=20,
        profilers=("pyspy",), profiled_rounds=2,
    )  # fmt: skip
    report = run_ab(plan, factory=factory(machine, 0.0), profiled_runner=runner)
    assert len(machine.log) == 6 * 4 * 2  # the timing blocks, never profiled
    assert [c[0] for c in calls] == ["A", "B", "B", "A"]
    assert report.movers and report.movers[0].row == ROUTE and report.movers[0].moved
    # The timing verdict saw only the unprofiled rounds: identical code, no change.
    assert not report.regressions and not report.changes


def test_a_row_whose_cost_held_does_not_move_when_another_grows() -> None:
    """Route's library work grows 1.3x: parse's share falls, but not its share of the time
    without route; a machine twice as slow in the after run moves no share."""
    wobble = [0.004, -0.004, 0.002, -0.002, 0.0, 0.004, -0.004, 0.0]

    def side(route_ms: float, speed: float) -> ProfileReport:
        total = 10.0 + route_ms + 0.3
        shares = [
            {
                PARSE: (10.0 + w) / total,
                ROUTE: (route_ms - w) / total,
                "money [render]": 0.3 / total,
            }
            for w in wobble
        ]
        report = with_shares(shares)
        report.profilers[0].metadata["row_ms_per_episode"] = [
            {name: value * total * speed for name, value in s.items()} for s in shares
        ]
        return report

    rows = movers([side(5.0, 1.0)], [side(6.5, 2.0)])
    assert rows[0].row == ROUTE and rows[0].moved and rows[0].change > 0.05
    parse = next(r for r in rows if r.row == PARSE)
    assert parse.basis == ROUTE and not parse.moved
    assert parse.ms_after is not None and parse.ms_before is not None
    assert parse.ms_after > 1.5 * parse.ms_before  # the slower machine, shown, not judged
