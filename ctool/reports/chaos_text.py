"""The chaos report as titled tables of text cells, shared by the terminal and markdown
renderers (each only lays them out)."""

from __future__ import annotations

from dataclasses import dataclass

from ctool.model.chaos_schema import ChaosReport
from ctool.model.format import DASH, ms, num, pct


@dataclass
class Section:
    title: str
    headers: list[str]
    rows: list[list[str]]


def _seconds(value: float | None) -> str:
    return DASH if value is None else f"{value:.3f} s"


def _ratio(value: float | None) -> str:
    return DASH if value is None else f"{value:.2f}x"


def headline(report: ChaosReport) -> str:
    preset = f" preset={report.config.preset}" if report.config.preset else ""
    return f"ctool chaos — {report.config.pipeline}{preset} seed={report.config.seed}"


def verdict_line(report: ChaosReport) -> str:
    tail = "" if report.complete else f" (INCOMPLETE: {report.incomplete_reason})"
    return f"verdict: {report.verdict} — {report.verdict_reason}{tail}"


def sections(report: ChaosReport) -> list[Section]:
    return [
        faults(report),
        accounting(report),
        sides(report),
        phases(report),
        recovery(report),
        timeline(report),
    ]


def faults(report: ChaosReport) -> Section:
    rows = [
        [
            f.label,
            f"{f.start_s:g}-{DASH if f.end_s is None else f'{f.end_s:g}'} s",
            num(f.calls, 0) if f.target.startswith(("span:", "point:")) else DASH,
            num(f.applied, 0) if f.target.startswith(("span:", "point:")) else DASH,
        ]
        for f in report.faults
    ]
    return Section("faults", ["fault", "window", "calls", "acted"], rows)


def accounting(report: ChaosReport) -> Section:
    a = report.accounting
    rows = [["ok", num(a.ok, 0)]]
    rows += [[f"failed: {kind}", num(n, 0)] for kind, n in a.failed.items()]
    rows += [
        ["timed out", num(a.timed_out, 0)],
        ["lost with replica", num(a.lost, 0)],
        ["duplicated", num(a.duplicated, 0)],
        ["wrong output escaped", num(a.wrong_escaped, 0)],
        ["wrong output caught", num(a.wrong_caught, 0)],
        ["started (sum)", f"{a.started:,}" + ("" if a.accounted else " NOT ACCOUNTED")],
        ["faulted / corrupted", f"{a.faulted:,} / {a.corrupted:,}"],
    ]
    return Section("episodes (each counted once)", ["outcome", "episodes"], rows)


def sides(report: ChaosReport) -> Section:
    rows = []
    for name, side in (("control", report.control), ("experiment", report.experiment)):
        rows.append(
            [
                name,
                num(side.episodes, 0),
                num(side.ok, 0),
                ms(side.p50_ms),
                ms(side.p99_ms),
                num(side.throughput_eps, 1),
            ]
        )
    return Section(
        "control and experiment", ["side", "episodes", "ok", "p50 ms", "p99 ms", "ok/s"], rows
    )


def phases(report: ChaosReport) -> Section:
    tolerances = ", ".join(f"{k}={v:g}" for k, v in report.hypothesis.items())
    rows = [
        [c.phase, f"{c.held}/{c.windows}", c.verdict, c.first_violation or ""]
        for c in report.checks
    ]
    return Section(
        f"steady-state hypothesis ({report.hypothesis_source}: {tolerances})",
        ["phase", "windows held", "verdict", "first violation"],
        rows,
    )


def recovery(report: ChaosReport) -> Section:
    r = report.recovery
    left = report.leftovers
    fds = DASH if left.fds_before is None else f"{left.fds_before} -> {left.fds_after}"
    rows = [
        ["time to detect", _seconds(r.time_to_detect_s)],
        ["time to recover", _seconds(r.time_to_recover_s)],
        ["throughput lost", pct(r.throughput_lost)],
        [
            "p99 inflation during / after",
            f"{_ratio(r.p99_inflation_during)} / {_ratio(r.p99_inflation_after)}",
        ],
        ["error budget burned", pct(r.budget_burned)],
        ["worst burn rate", _ratio(r.burn_rate_max)],
        ["tasks before -> after", f"{left.tasks_before} -> {left.tasks_after}"],
        [
            "threads before -> after",
            f"{left.threads_before} -> {left.threads_after}"
            + (f" ({', '.join(left.threads_left)})" if left.threads_left else ""),
        ],
        ["fds before -> after", fds],
    ]
    return Section("recovery", ["measure", "value"], rows)


def timeline(report: ChaosReport) -> Section:
    rows = [
        [
            f"{w.start_s:.4g}-{w.end_s:.4g}",
            w.phase,
            num(w.episodes, 0),
            num(w.errors, 0),
            num(w.wrong, 0),
            f"{ms(w.p99_ms)} ({ms(w.control_p99_ms)})",
            f"{num(w.throughput_eps, 0)} ({num(w.control_throughput_eps, 0)})",
            "ok" if w.holds else "NO",
        ]
        for w in report.timeline
    ]
    headers = ["s", "phase", "eps", "fail", "wrong", "p99 ms (ctl)", "ok/s (ctl)", "holds"]
    return Section("timeline per window (ctl: the control's same window)", headers, rows)


def named_outcomes(report: ChaosReport, limit: int = 20) -> list[str]:
    shown = [
        f"#{o.index}: {o.outcome}" + (f" ({', '.join(sorted(set(o.faults)))})" if o.faults else "")
        for o in report.outcomes[:limit]
    ]
    more = len(report.outcomes) - limit
    if more > 0:
        shown.append(f"... {more} more in the JSON report")
    return shown
