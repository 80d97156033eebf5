"""`ctool ab`: sides, the plan, the lockstep ABBA blocks, hash seeds, sequential stopping,
interrupts and the command's exit codes.

The workers here are fakes on a simulated machine with states lasting seconds (injected
through ``run_ab(factory=...)``); the real worker processes are exercised on their error
handling and SIGTERM here and end to end in ``tests/compare/test_compare_real.py``.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ctool.ab import runner as ab
from ctool.ab.runner import ABPlan, Side, parse_side, run_ab
from ctool.cli.app import app
from ctool.model.errors import UsageError
from ctool.model.io import load_report
from ctool.model.schema import CompareReport


def test_parse_side() -> None:
    side = parse_side("A", "preset=baseline, phi_cache=false,nodes=16", None)
    assert side.preset == "baseline"
    assert side.settings == ("phi_cache=false", "nodes=16")
    assert side.name == "A (preset=baseline, phi_cache=false,nodes=16)"
    assert parse_side("B", "", "pkg.mod:create").pipeline == "pkg.mod:create"
    assert parse_side("B", "pipeline=x.y:make", None).pipeline == "x.y:make"
    assert parse_side("A", None, None) == Side("A")


def test_parse_side_checkout(tmp_path: Path) -> None:
    side = parse_side("B", "preset=optimized", str(tmp_path))
    assert side.checkout == tmp_path.resolve() and side.pipeline is None


@pytest.mark.parametrize(
    ("spec", "pipeline", "fragment"),
    [
        ("preset", None, "--a expects key=value"),
        ("=x", None, "--a expects key=value"),
        ("", "not-a-ref", "--a-pipeline expects module:factory or a checkout"),
    ],
)
def test_parse_side_errors(spec: str, pipeline: str | None, fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment):
        parse_side("A", spec, pipeline)


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"rounds": 2}, "use at least 3"),
        ({"blocks": 0}, "--blocks"),
        ({"episodes": 0}, "--episodes"),
        ({"warmup": -1}, "--warmup"),
        ({"measure": "cycles"}, "--measure expects wall, cpu or instructions"),
        ({"budget_s": 0}, "--budget"),
        ({"keep": Path("/nonexistent-dir")}, "--keep"),
    ],
)
def test_plan_checks(changes: dict[str, object], fragment: str) -> None:
    plan = ABPlan(a=Side("A"), b=Side("B"), **changes)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match=fragment):
        plan.check()


def test_plan_defaults_follow_the_measure() -> None:
    wall = ABPlan(a=Side("A"), b=Side("B"))
    count = ABPlan(a=Side("A"), b=Side("B"), measure="instructions", until_decided=True)
    assert (wall.limit, wall.gates, wall.max_rounds) == (0.05, ["latency.p50"], 6)
    assert (count.limit, count.gates, count.max_rounds) == (
        0.01,
        ["instructions.per_episode"],
        30,
    )


class Machine:
    """A simulated shared machine: fast or 1.6x slow, each state lasting 0.5-4 s."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.clock = 0.0
        self.switch = 0.0
        self.slow = False
        self.log: list[tuple[str, int]] = []
        self.closed = 0

    def factor(self) -> float:
        while self.clock >= self.switch:
            self.slow = not self.slow
            self.switch += float(self.rng.uniform(0.5, 4.0))
        return 1.6 if self.slow else 1.0


class FakeWorker:
    def __init__(self, machine: Machine, side: Side, hash_seed: int, effect: float) -> None:
        self.machine, self.side, self.hash_seed = machine, side, hash_seed
        self.scale = 1.0 + effect if side.label == "B" else 1.0
        self.episode_ms = 2.0
        self.digest: str | None = "same"
        self.fail_at: int | None = None

    def ready(self) -> None:
        pass

    def run(self, episodes: int) -> dict[str, list[int]]:
        self.machine.log.append((self.side.label, self.hash_seed))
        if self.fail_at is not None and len(self.machine.log) >= self.fail_at:
            raise KeyboardInterrupt
        wall = []
        for _ in range(episodes):
            ms = (
                2.0 * self.scale * self.machine.factor() * math.exp(0.1 * self.machine.rng.normal())
            )
            self.machine.clock += ms / 1000
            wall.append(int(ms * 1e6))
        return {"wall_ns": wall, "cpu_ns": [int(w * 0.9) for w in wall]}

    def close(self) -> None:
        self.machine.closed += 1


def factory(machine: Machine, effect: float, fail_at: int | None = None) -> ab.WorkerFactory:
    def make(plan: ABPlan, side: Side, hash_seed: int) -> FakeWorker:
        worker = FakeWorker(machine, side, hash_seed, effect)
        worker.fail_at = fail_at
        return worker

    return make


def test_blocks_run_in_abba_lockstep_with_one_hash_seed_per_pair() -> None:
    """ABBA within a round; every other round starts with B (its first block is the slow one)."""
    machine = Machine(1)
    plan = ABPlan(a=Side("A"), b=Side("B"), rounds=3, blocks=4, episodes=50)
    report = run_ab(plan, factory=factory(machine, 0.0))
    labels = "".join(label for label, _ in machine.log)
    assert labels == "ABBAABBA" + "BAABBAAB" + "ABBAABBA"
    seeds = [seed for _, seed in machine.log]
    per_round = [set(seeds[i : i + 8]) for i in range(0, 24, 8)]
    assert all(len(s) == 1 for s in per_round)  # A and B of a pair share the seed
    assert len(set.union(*per_round)) == 3  # each pair has its own
    assert report.config.settings["hash_seeds"] == [next(iter(s)) for s in per_round]
    assert machine.closed == 6 and report.complete and report.measure == "wall"


def test_states_lasting_seconds_cancel_between_adjacent_blocks() -> None:
    """On a machine switching between 1x and 1.6x, a +10 % B is still measured as +10 %."""
    plan = ABPlan(a=Side("A"), b=Side("B"), rounds=6, blocks=10, episodes=25)
    report = run_ab(plan, factory=factory(Machine(2), 0.10))
    p50 = report.metrics[0]
    assert p50.metric == "latency.p50" and p50.gated
    assert p50.verdict == "slower" and report.regressions == ["latency.p50"]
    assert p50.ci_low is not None and p50.ci_high is not None
    assert p50.ci_low < 1.10 < p50.ci_high and p50.ci_low > 1.05
    # The columns agree with the ratio: after = before x ratio.
    assert p50.before is not None and p50.after is not None and p50.ratio is not None
    assert p50.after == pytest.approx(p50.before * p50.ratio)


def test_until_decided_stops_at_a_look_on_identical_code() -> None:
    plan = ABPlan(a=Side("A"), b=Side("B"), blocks=10, episodes=25, until_decided=True)
    report = run_ab(plan, factory=factory(Machine(3), 0.0))
    stop = report.sequential
    assert stop is not None and stop.stopped == "decided" and stop.rounds in stop.looks
    assert stop.look_alpha == pytest.approx(0.05 / len(stop.looks))
    assert report.metrics[0].verdict in ("no significant change", "within noise")
    assert report.alpha == stop.look_alpha


def test_until_decided_out_of_rounds_says_how_many_more() -> None:
    # One episode per block: 4 rounds are far too noisy to decide +4 % against 5 %.
    plan = ABPlan(a=Side("A"), b=Side("B"), rounds=4, blocks=1, episodes=1, until_decided=True)
    report = run_ab(plan, factory=factory(Machine(4), 0.04))
    stop = report.sequential
    assert stop is not None and stop.stopped == "round budget" and stop.rounds == 4
    assert stop.more_rounds is not None and stop.more_rounds > 0


def test_interrupt_closes_the_workers_and_keeps_the_finished_rounds() -> None:
    machine = Machine(5)
    plan = ABPlan(a=Side("A"), b=Side("B"), rounds=6, blocks=2, episodes=20)
    partial = run_ab(plan, factory=factory(machine, 0.0, fail_at=4 * 3 + 2))
    assert not partial.complete
    assert partial.config.rounds == 3 and machine.closed == 8


def test_keep_writes_each_rounds_blocks(tmp_path: Path) -> None:
    plan = ABPlan(a=Side("A"), b=Side("B"), rounds=3, blocks=2, episodes=5, keep=tmp_path)
    run_ab(plan, factory=factory(Machine(6), 0.0))
    kept = json.loads((tmp_path / "round-02.json").read_text())
    assert len(kept["a_blocks"]) == 2 and kept["episodes_per_block"] == 5


class SpikeMachine(Machine):
    """A machine that turns ``slowdown`` times slower from ``at`` seconds on."""

    def __init__(self, seed: int, at: float, slowdown: float) -> None:
        super().__init__(seed)
        self.at, self.slowdown = at, slowdown

    def factor(self) -> float:
        return super().factor() * (self.slowdown if self.clock >= self.at else 1.0)


def _budgeted_run(
    monkeypatch: pytest.MonkeyPatch, machine: Machine, budget: float
) -> tuple[CompareReport, set[int]]:
    """``run_ab`` with a budget on the simulated machine's clock; also the seeds started."""
    monkeypatch.setattr(ab, "now", lambda: machine.clock)
    plan = ABPlan(a=Side("A"), b=Side("B"), rounds=30, blocks=10, episodes=50, budget_s=budget)
    report = run_ab(plan, factory=factory(machine, 0.0))
    return report, {seed for _, seed in machine.log}


def test_time_budget_projects_from_the_slowest_round(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rounds of ~2.6 s, then the machine turns 2x slower: no round starts that the slowest
    round so far says would end past the budget, less the reserve for the report; so no
    round is started only to be cut."""
    for seed in range(5):
        machine = SpikeMachine(seed, at=12.0, slowdown=2.0)
        report, started = _budgeted_run(monkeypatch, machine, budget=30.0)
        assert machine.clock <= 30.0 - ab.FINISH_RESERVE_S
        assert report.config.rounds is not None and report.config.rounds >= 4
        assert len(started) == len(_pairs(report)) and all(n == 10 for n in _pairs(report))


def test_a_round_slowing_down_is_cut_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """A round that the machine slows 5x mid-way stops before a block pair that would end past
    the deadline; with half its pairs or more it is kept, with fewer it is dropped. (A pair
    that turns slow while it runs can overrun: the reserve absorbs one such pair.)"""
    cut = 0
    for seed in range(6):
        machine = SpikeMachine(seed, at=6.0, slowdown=5.0)
        report, started = _budgeted_run(monkeypatch, machine, budget=12.0)
        assert machine.clock <= 12.0
        pairs = _pairs(report)
        assert all(n >= 5 for n in pairs)
        cut += len(started) > len(pairs) or any(n < 10 for n in pairs)
    assert cut >= 3


def _pairs(report: CompareReport) -> list[int]:
    """Each kept round's block pairs, as the report records them."""
    pairs = report.config.settings["block_pairs"]
    assert isinstance(pairs, list)
    return [int(n) for n in pairs]


def _cli(
    monkeypatch: pytest.MonkeyPatch, effect: float, *args: str, fail_at: int | None = None
) -> tuple[int, str, str]:
    machine = Machine(7)
    monkeypatch.setattr(ab, "SubprocessWorker", factory(machine, effect, fail_at))
    result = CliRunner().invoke(app, ["ab", "--episodes", "20", "--blocks", "6", *args])
    return result.exit_code, result.stdout, result.stderr


def test_ab_command_outputs_and_gates(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    target = tmp_path / "ab.json"
    code, out, err = _cli(monkeypatch, 0.3, "--fail-on-regression", "-o", str(target))
    assert code == 1 and "regression in latency.p50" in err
    assert "round 1/6  wall B/A" in err
    assert isinstance(load_report(target), CompareReport)
    code, out, _ = _cli(monkeypatch, -0.3, "--fail-on-change", "--format", "json", "-q")
    assert code == 1 and json.loads(out)["changes"] == ["latency.p50"]
    code, out, _ = _cli(monkeypatch, 0.0, "--format", "markdown", "-q")
    assert code == 0 and out.startswith("### ⚪ ctool ab: no gated change")
    assert "wall time: sees everything" in out  # what the measure cannot see


def test_ab_command_interrupted_writes_partial(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "ab.json"
    code, _, err = _cli(monkeypatch, 0.0, "-q", "-o", str(target), fail_at=6 * 2 * 2 + 1)
    assert code == 130 and "interrupted" in err
    partial = load_report(target)
    assert isinstance(partial, CompareReport) and not partial.complete
    assert partial.config.rounds == 2


def test_ab_command_bad_options() -> None:
    for args, fragment in (
        (["--rounds", "2"], "use at least 3"),
        (["--a", "oops"], "--a expects key=value"),
        (["--gate", "p7"], "unknown metric"),
        (["--threshold", "x"], "--threshold"),
        (["--measure", "cycles"], "--measure expects"),
    ):
        result = CliRunner().invoke(app, ["ab", *args])
        assert result.exit_code == 2, args
        assert fragment in result.stderr and result.stderr.count("\n") == 1


def test_a_failing_worker_is_one_line_exit_2() -> None:
    """A real worker whose pipeline refuses a setting: exit 2, one line, no traceback."""
    result = CliRunner().invoke(app, ["ab", "--a", "no_such_setting=1", "--rounds", "3", "-q"])
    assert result.exit_code == 2
    assert result.stderr.startswith("ctool: error: A (no_such_setting=1): ")
    assert result.stderr.count("\n") == 1


@pytest.mark.slow
def test_sigterm_reaps_the_workers_and_writes_the_partial_report(tmp_path: Path) -> None:
    target = tmp_path / "ab.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.Popen(
        [sys.executable, "-m", "ctool", "ab", "--rounds", "30", "--blocks", "4",
         "--episodes", "2", "--warmup", "1", "-o", str(target)],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    assert proc.stderr is not None
    line = proc.stderr.readline()  # the first round's progress line: one round is in
    assert line.startswith("round 1/30"), line
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 143  # 128 + SIGTERM (docs/promises.md)
    partial = load_report(target)
    assert isinstance(partial, CompareReport) and not partial.complete
    assert partial.config.rounds >= 1
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _workers_of(proc.pid):
        time.sleep(0.1)
    assert _workers_of(proc.pid) == []


def _workers_of(pid: int) -> list[str]:
    """Live ``abworker`` processes whose parent was ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid and "abworker" in cmd:
            found.append(cmd)
    return found


def test_blocks_are_rescaled_once_to_their_wall_time() -> None:
    assert ab.rescale(100, block_wall_ms=400.0, target_ms=100.0) == 25  # a loaded machine
    assert ab.rescale(100, block_wall_ms=50.0, target_ms=100.0) == 200
    assert ab.rescale(10, block_wall_ms=1.0, target_ms=100.0) == 40  # at most 4x at once
    assert ab.rescale(3, block_wall_ms=0.0, target_ms=100.0) == 3


def test_sequential_stop_and_measure_are_in_every_format() -> None:
    import io

    from rich.console import Console

    from ctool.reports.compare_markdown import render_markdown
    from ctool.reports.compare_terminal import render_compare

    plan = ABPlan(a=Side("A"), b=Side("B"), rounds=4, blocks=1, episodes=1, until_decided=True)
    report = run_ab(plan, factory=factory(Machine(4), 0.04))
    console = Console(file=io.StringIO(), width=300, color_system=None)
    console.print(render_compare(report))
    data = json.loads(report.model_dump_json())
    assert data["sequential"]["stopped"] == "round budget" and data["measure_note"]
    for text in (render_markdown(report), console.file.getvalue()):  # type: ignore[attr-defined]
        assert "until decided: 4 rounds, stopped: round budget" in text
        assert "more rounds would decide" in text
        assert "measure: wall time" in text


def test_the_cli_budget_counts_from_the_process_start() -> None:
    """``clock.mark`` puts the start before the script's first line (interpreter start-up is
    part of the budget); /proc has 10 ms ticks, hence the tolerance."""
    code = (
        "import time; first_line = time.monotonic()\n"
        "from ctool.cli import clock; clock.mark()\n"
        "assert clock.started is not None; print(first_line - clock.started)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert -0.02 <= float(proc.stdout) < 60.0


def test_a_budget_shorter_than_a_round_still_measures_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first round is never cut: a report always has a round to show."""
    machine = Machine(8)
    report, started = _budgeted_run(monkeypatch, machine, budget=0.5)
    assert _pairs(report) == [10] and len(started) == 1
