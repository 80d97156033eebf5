"""The HTML page of a profile report: latency, stages, load, the run, resources, hotspots."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ctool.model.format import ms_unit, significant
from ctool.model.schema import Drift, Hotspot, ProfileReport
from ctool.reports import charts
from ctool.reports.declared import DECLARED_COLUMNS, DECLARED_NOTE, declared_cells, value_text
from ctool.reports.html.cells import (
    card_ms,
    flatten,
    generic_table,
    kv_table,
    kv_tables,
    ms_cell,
    num_cell,
    opt,
    pct_text,
    report_warnings,
    share_bar,
    text,
    where,
)
from ctool.reports.html.flame import flame_section
from ctool.reports.html.shared import (
    environment_section,
    latency_section,
    load_series,
    load_table,
    page_of,
    stage_group,
    stage_table,
)
from ctool.reports.html.view import Card, Cell, Chart, Page, Section, Table

HOTSPOTS_PER_PROFILER = 40
MAX_DECLARED_CARDS = 3
"""Headline cards for the first declared metrics (the rest are in the metrics section)."""


def profile_page(report: ProfileReport, base_dirs: Sequence[Path]) -> Page:
    sections = [latency_section([("this run", report.latency_ms, charts.PRIMARY)])]
    optional = [
        _stages_section(report),
        _load_section(report),
        _windows_section(report),
        _resources_section(report),
        _pipeline_metrics_section(report),
        _hotspots_section(report),
        flame_section(report, base_dirs),
        _errors_section(report),
        _scaling_section(report),
    ]
    sections += [sec for sec in optional if sec is not None]
    artifacts = (
        [kv_table(report.artifacts.items(), caption="Artifacts")] if report.artifacts else []
    )
    sections.append(environment_section(report, artifacts))
    return page_of(
        report,
        f"Profile of {report.config.pipeline}",
        _run_shape(report),
        _profile_cards(report),
        sections,
        report_warnings(report),
    )


def _run_shape(report: ProfileReport) -> str:
    cfg = report.config
    parts = []
    if cfg.preset:
        parts.append(f"preset {cfg.preset}")
    if cfg.concurrency:
        parts.append("concurrency " + ",".join(str(c) for c in cfg.concurrency))
    if cfg.rate:
        parts.append(f"rate {cfg.rate:g}/s")
    if cfg.duration_s:
        parts.append(f"{cfg.duration_s:g} s")
    if cfg.workers > 1:
        parts.append(f"{cfg.workers} workers")
    if cfg.rounds > 1:
        parts.append(f"{cfg.rounds} rounds")
    parts.append(f"{report.latency_ms.count:,} episodes")
    if cfg.seed is not None:
        parts.append(f"seed {cfg.seed}")
    return " · ".join(parts)


# --- cards ---------------------------------------------------------------------------------


def _profile_cards(report: ProfileReport) -> list[Card]:
    lat = report.latency_ms
    cards = [
        Card("episodes", significant(lat.count)),
        card_ms("p50", lat.p50),
        card_ms("p95", lat.p95),
        card_ms("p99", lat.p99),
        card_ms("p99.9", lat.p999),
        card_ms("max", lat.max),
        Card("throughput", f"{significant(report.throughput_eps)}/s", "episodes per second"),
        Card(
            "errors",
            significant(report.errors.count),
            pct_text(report.errors.rate, 2),
            "bad" if report.errors.count else "good",
        ),
    ]
    res = report.resources
    if res.cpu_percent_mean is not None:
        cards.append(Card("CPU", f"{res.cpu_percent_mean:.0f}%", "mean, of one core"))
    if res.rss_mb_peak is not None:
        cards.append(Card("RSS peak", f"{res.rss_mb_peak:.1f} MB"))
    if res.loop_lag_ms_max is not None:
        tone = "warn" if res.blocking_calls else ""
        cards.append(Card("loop lag max", ms_unit(res.loop_lag_ms_max), tone=tone))
    cards.extend(
        Card(spec.title, value_text(spec), spec.kind)
        for spec in report.metrics_declared[:MAX_DECLARED_CARDS]
        if spec.value is not None
    )
    bottleneck = opt(report, "bottleneck")
    if isinstance(bottleneck, str) and bottleneck in report.stages:
        share = report.stages[bottleneck].share
        cards.append(Card("bottleneck", bottleneck, f"{pct_text(share)} of episode time"))
    duration = opt(report, "duration_s")
    if isinstance(duration, int | float):
        cards.append(Card("measured for", f"{duration:.1f} s"))
    if report.output_digest:
        cards.append(
            Card("output digest", report.output_digest[:12], "sha256, first 12", small=True)
        )
    return cards


# --- stages and load -----------------------------------------------------------------------


def _stages_section(report: ProfileReport) -> Section | None:
    if not report.stages:
        return None
    sec = Section("stages", "Per-stage breakdown")
    sec.charts.append(
        Chart(
            wide=True,
            svg=charts.stage_bars([stage_group("this run", report.stages, charts.PRIMARY)]),
        )
    )
    sec.tables.append(stage_table(report.stages))
    return sec


def _load_section(report: ProfileReport) -> Section | None:
    if not report.load:
        return None
    sec = Section("load", "Load curve")
    if report.load_verdict is not None and report.load_verdict.detail:
        sec.intro = report.load_verdict.detail
    if len(report.load) >= 2:
        sec.charts.append(
            Chart(
                wide=True,
                svg=charts.load_curve([load_series(report, "this run", charts.PRIMARY, False)]),
            )
        )
    sec.tables.append(load_table(report))
    return sec


# --- over the run --------------------------------------------------------------------------


def _windows_section(report: ProfileReport) -> Section | None:
    sec = Section("run", "Over the run")
    for windows, title, xlabel in (
        (report.batches, "Batches (consecutive episodes)", "batch"),
        (report.rounds, "Rounds (fresh processes)", "round"),
    ):
        if len(windows) >= 2:
            sec.charts.append(
                Chart(
                    charts.windows_chart(
                        title,
                        xlabel,
                        [w.index for w in windows],
                        [w.p50_ms for w in windows],
                        [w.p95_ms for w in windows],
                    )
                )
            )
    if report.drift:
        _add_drift(sec, report.drift)
    timeline = charts.timeline_chart(report.resources.timeline)
    if timeline:
        sec.charts.append(Chart(wide=True, svg=timeline))
    if report.rounds:
        sec.tables.append(_rounds_table(report))
    if not (sec.charts or sec.tables):
        return None
    return sec


def _add_drift(sec: Section, drift: Drift) -> None:
    """The drift windows as a chart (two windows or more) and a table."""
    drift_windows = drift.windows
    if len(drift_windows) >= 2:
        # An unexpected shape draws no chart; the table below still shows it.
        with contextlib.suppress(KeyError, TypeError, ValueError):
            sec.charts.append(
                Chart(
                    charts.windows_chart(
                        "Drift windows (equal slices of the run)",
                        "window",
                        [w.index for w in drift_windows],
                        [w.p50_ms for w in drift_windows],
                        [w.p95_ms for w in drift_windows],
                    )
                )
            )
    sec.tables.append(kv_table(flatten(drift.model_dump()), caption="Drift between windows"))


def _rounds_table(report: ProfileReport) -> Table:
    rows = [
        [
            Cell(str(w.index), "num", sort=w.index),
            num_cell(w.episodes),
            ms_cell(w.mean_ms),
            ms_cell(w.p50_ms),
            ms_cell(w.p95_ms),
            ms_cell(w.p99_ms),
            num_cell(w.throughput_eps),
            Cell("–" if w.pid is None else str(w.pid), "num"),
        ]
        for w in report.rounds
    ]
    cols = ["round", "episodes", "mean", "p50", "p95", "p99", "episodes/s", "pid"]
    return Table(cols, rows, caption="Rounds", numeric=[True] * 8)


# --- resources -----------------------------------------------------------------------------

_RESOURCE_LABELS: dict[str, tuple[str, Any]] = {
    "cpu_percent_mean": ("CPU, mean", lambda v: f"{v:.1f}% of one core"),
    "cpu_percent_max": ("CPU, max", lambda v: f"{v:.1f}% of one core"),
    "cpu_percent_total_mean": ("CPU, mean, whole machine", lambda v: f"{v:.1f}%"),
    "rss_mb_start": ("RSS at start", lambda v: f"{v:.1f} MB"),
    "rss_mb_end": ("RSS at end", lambda v: f"{v:.1f} MB"),
    "rss_mb_peak": ("RSS peak", lambda v: f"{v:.1f} MB"),
    "gc_pause_ms_total": ("GC pauses, total", ms_unit),
    "gc_collections": ("GC collections", significant),
    "loop_lag_ms_max": ("event-loop lag, max", ms_unit),
    "loop_lag_ms_p99": ("event-loop lag, p99", ms_unit),
    "loop_stalls": ("event-loop stalls", significant),
    "loop_stalled_ms": ("event loop stalled, total", ms_unit),
    "loop_stall_timing": ("stalls counted by", text),
    "loop_stalls_attributed": ("stalls whose call a sample named", significant),
    "loop_stalled_attributed_ms": ("stall time named", ms_unit),
    "loop_stall_classes": ("stalls by class", text),
}


def _resources_section(report: ProfileReport) -> Section:
    res = report.resources
    sec = Section("resources", "Resources")
    values = res.model_dump(
        exclude={"blocking_calls", "timeline", "loop_stall_samples", "loop_stall_starts"}
    )
    values["loop_stall_classes"] = (
        ", ".join(
            f"{kind} {c.count:,} ({c.total_ms:,.1f} ms)"
            for kind, c in res.loop_stall_classes.items()
        )
        or None
    )
    pairs = []
    for key, value in values.items():
        if value is None:
            continue
        label, fmt = _RESOURCE_LABELS.get(key, (key, text))
        pairs.append((label, fmt(value)))
    sec.tables.append(kv_table(pairs, caption="Process"))
    if res.blocking_calls:
        sec.tables.append(_blocking_table(report))
    return sec


def _blocking_table(report: ProfileReport) -> Table:
    rows = [
        [
            Cell(b.function, "mono"),
            where(b.file, b.line, "\n".join(str(f) for f in opt(b, "stack", [])) or None),
            Cell(
                str(opt(b, "callee", "–"))
                + (f"\nGIL held by {b.holder}" if opt(b, "holder", None) else ""),
                "mono wrap",
            ),
            Cell(str(opt(b, "kind", "–"))),
            Cell(b.stage or "–", "mono"),
            num_cell(b.count),
            ms_cell(b.total_ms),
            ms_cell(b.max_ms),
        ]
        for b in report.resources.blocking_calls
    ]
    cols = ["function", "where", "calling", "kind", "stage", "times", "total", "longest"]
    return Table(
        cols,
        rows,
        caption="Calls that stalled the event loop (watchdog)",
        numeric=[False] * 5 + [True] * 3,
    )


def _pipeline_metrics_section(report: ProfileReport) -> Section | None:
    declared = report.metrics_declared
    if not report.pipeline_metrics and not declared:
        return None
    sec = Section("metrics", "Pipeline metrics")
    sec.intro = "What the pipeline's own metrics() hook reported."
    if declared:
        rows = [[Cell(text) for text in declared_cells(spec)] for spec in declared]
        sec.tables.append(
            Table(
                list(DECLARED_COLUMNS),
                rows,
                caption="Declared metrics",
                numeric=[False, False, True, False],
                note=DECLARED_NOTE,
            )
        )
    sec.tables.extend(kv_tables(flatten(report.pipeline_metrics)))
    return sec


# --- hotspots and the flame graph ----------------------------------------------------------


def _hotspots_section(report: ProfileReport) -> Section | None:
    if not (report.hotspots or report.profilers):
        return None
    sec = Section("hotspots", "Hotspots")
    if report.profilers:
        sec.tables.append(_profilers_table(report))
    sec.tables.extend(_hotspot_tables(report.hotspots))
    return sec


def _profilers_table(report: ProfileReport) -> Table:
    rows = [
        [
            Cell(p.name, "mono"),
            Cell("ran" if p.ok else "did not run", "pill " + ("good" if p.ok else "bad")),
            Cell(p.reason or "", "wrap"),
            num_cell(
                p.overhead_ratio,
                None if p.overhead_ratio is None else p.overhead_label.replace("x", "×", 1),
            ),
        ]
        for p in report.profilers
    ]
    return Table(
        ["profiler", "status", "note", "overhead"],
        rows,
        caption="Profilers",
        numeric=[False, False, False, True],
    )


def _hotspot_tables(hotspots: Sequence[Hotspot]) -> list[Table]:
    by_profiler: dict[str, list[Hotspot]] = {}
    for h in hotspots:
        by_profiler.setdefault(h.profiler, []).append(h)
    tables = []
    for name, rows in by_profiler.items():
        body = []
        for h in rows[:HOTSPOTS_PER_PROFILER]:
            share = h.share
            body.append(
                [
                    Cell(h.function, "mono"),
                    where(h.file, h.line),
                    Cell(h.stage or "–", "mono"),
                    num_cell(h.calls),
                    ms_cell(h.self_ms),
                    ms_cell(h.cumulative_ms),
                    Cell(
                        pct_text(share),
                        "num",
                        sort=share,
                        bar=None if share is None else share_bar(share),
                    ),
                ]
            )
        more = len(rows) - HOTSPOTS_PER_PROFILER
        tables.append(
            Table(
                ["function", "where", "stage", "calls", "self", "cumulative", "share"],
                body,
                caption=name,
                numeric=[False, False, False, True, True, True, True],
                note=f"{more} more rows in the JSON report" if more > 0 else None,
            )
        )
    return tables


# --- errors and scaling --------------------------------------------------------------------


def _errors_section(report: ProfileReport) -> Section | None:
    if not (report.errors.samples or report.errors.count):
        return None
    sec = Section("errors", "Errors")
    sec.intro = (
        f"{report.errors.count:,} episodes raised ({pct_text(report.errors.rate, 2)}); "
        "the run went on. A sample of them:"
    )
    rows = [
        [num_cell(e.episode), Cell(e.type, "mono"), Cell(e.message, "wrap")]
        + [Cell("", details=e.stack or None)]
        for e in report.errors.samples
    ]
    sec.tables.append(Table(["episode", "type", "message", "stack"], rows))
    by_type = opt(report.errors, "by_type", {})
    if isinstance(by_type, Mapping) and by_type:
        sec.tables.insert(0, kv_table(by_type.items(), caption="By exception type"))
    return sec


def _scaling_section(report: ProfileReport) -> Section | None:
    if not report.scaling and not report.replicas:
        return None
    sec = Section("scaling", "Scaling over worker processes")
    if report.scaling:
        sec.tables.append(generic_table([row.model_dump() for row in report.scaling]))
    if report.replicas:  # one row per replica: where it ran, what it measured, if it failed
        sec.tables.append(generic_table([row.model_dump() for row in report.replicas]))
    return sec
