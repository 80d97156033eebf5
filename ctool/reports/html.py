"""HTML rendering of every report kind: one self-contained file that opens offline.

Contract: ``write_html(report, path, *, related=())`` writes ``path`` atomically. For a
compare report ``related`` is ``[before, after]`` (the two profile reports compared); their
raw latencies, stages and load curves are overlaid. The page:

* fetches nothing: charts are inline SVG (matplotlib, see ``charts``), the flame graph is
  inline SVG (``flamegraph``), CSS and the small script are inline, and a Content Security
  Policy (``default-src 'none'``, the script allowed by its hash only) makes the browser
  refuse anything else, including any script a hostile report might try to smuggle in;
* escapes every string that came from a report: the Jinja environment autoescapes, the
  chart SVG is escaped by matplotlib, the flame graph by ``flamegraph``;
* stays small for long runs: histograms and quantile grids, never one element per episode
  (a 100,000-episode report renders to well under 5 MB; ``benchmarks/html.py``).

This module builds a *view model* (sections of cards, charts and tables made of plain
strings and numbers) from the report; ``templates/report.html.j2`` only lays it out.
jinja2, matplotlib and numpy are imported inside functions (never at import of ctool.cli).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ctool.model.format import ms_unit, short_path, significant, size_compact
from ctool.model.format import pct as _pct
from ctool.model.io import atomic_write_text
from ctool.model.schema import (
    CompareReport,
    Hotspot,
    LatencySummary,
    LeakcheckReport,
    ProfileReport,
    Report,
    StageStats,
    SuiteReport,
)
from ctool.reports import charts


def pct_cell(value: float | None, digits: int = 1) -> str:
    return _pct(value, digits, missing="–")


if TYPE_CHECKING:
    import jinja2
    import numpy as np
    import numpy.typing as npt

MAX_TABLE_ROWS = 200
HOTSPOTS_PER_PROFILER = 40
MAX_FOREST_ROWS = 40
MAX_STRIPS = 8


# --- the view model ------------------------------------------------------------------------


@dataclass
class Cell:
    text: str
    cls: str = ""
    title: str | None = None
    sort: float | None = None
    bar: float | None = None
    """0..1: a share drawn as a small bar behind the text."""
    details: str | None = None
    """Long text (JSON) shown collapsed under the cell."""
    path: bool = False
    """A file path: the page may break the line after a slash, and nowhere else."""


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Cell]]
    caption: str | None = None
    numeric: list[bool] = field(default_factory=list)
    note: str | None = None
    kv: bool = False
    """A two-column name/value table: compact, several side by side, no header row."""


@dataclass
class Card:
    label: str
    value: str
    note: str = ""
    tone: str = ""
    """"good", "bad", "warn" or "" (neutral)."""
    small: bool = False
    """A long value (a digest, a word): smaller type."""


@dataclass
class Chart:
    svg: str
    """An inline SVG element (already escaped by its producer)."""
    wide: bool = False


@dataclass
class Section:
    id: str
    title: str
    intro: str = ""
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    code: str | None = None
    flame: str | None = None


@dataclass
class Page:
    title: str
    subtitle: str
    kind: str
    created_at: str
    ctool_version: str
    complete: bool
    cards: list[Card]
    sections: list[Section]
    warnings: list[str] = field(default_factory=list)


# --- formatting ----------------------------------------------------------------------------


def _ms_cell(value: float | None) -> Cell:
    if value is None:
        return Cell("–", "num")
    return Cell(ms_unit(value), "num", sort=value)


def _num_cell(value: float | None, text: str | None = None) -> Cell:
    return Cell(significant(value) if text is None else text, "num", sort=value)


def _text(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float | int) and not isinstance(value, bool):
        return significant(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, sort_keys=True)


def flatten(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested mappings as dotted keys, in insertion order."""
    out: list[tuple[str, Any]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.extend(flatten(value, name + "."))
        else:
            out.append((name, value))
    return out


LONG_VALUE = 120


def _kv_table(pairs: Iterable[tuple[str, Any]], caption: str | None = None) -> Table:
    rows = []
    for key, value in pairs:
        text = _text(value)
        if len(text) > LONG_VALUE and isinstance(value, list | dict):
            what = f"{len(value)} entries" if isinstance(value, list) else f"{len(value)} keys"
            full = json.dumps(value, indent=1, default=str, sort_keys=True)
            rows.append([Cell(key, "key"), Cell(what, "mono", details=full)])
        else:
            rows.append([Cell(key, "key"), Cell(text, "mono wrap")])
    return Table([], rows, caption=caption, kv=True)


def _kv_tables(pairs: Sequence[tuple[str, Any]], per_table: int = 12) -> list[Table]:
    """A long name/value list as side-by-side tables, read down then across."""
    if len(pairs) <= per_table:
        return [_kv_table(pairs)]
    half = math.ceil(len(pairs) / 2)
    return [_kv_table(pairs[:half]), _kv_table(pairs[half:])]


PATH_PARTS = 3
_PACKAGE_ROOTS = ("site-packages/", "dist-packages/")


def _where(file: str, line: int | None, details: str | None = None) -> Cell:
    suffix = f":{line}" if line is not None else ""
    return Cell(
        short_path(file) + suffix, "mono path", title=file + suffix, details=details, path=True
    )


def _generic_table(
    records: Sequence[Mapping[str, Any]], caption: str | None = None, limit: int = MAX_TABLE_ROWS
) -> Table:
    """A table of free-form records: the union of their keys as columns."""
    columns: list[str] = []
    for r in records:
        columns.extend(k for k in r if k not in columns)
    numeric = [all(isinstance(r.get(c), int | float | None) for r in records) for c in columns]
    rows = []
    for r in records[:limit]:
        row = []
        for c, is_num in zip(columns, numeric, strict=True):
            v = r.get(c)
            is_value = isinstance(v, int | float) and not isinstance(v, bool)
            row.append(Cell(_text(v), "num" if is_num else "wrap", sort=v if is_value else None))
        rows.append(row)
    note = f"{len(records) - limit} more rows not shown" if len(records) > limit else None
    return Table(columns, rows, caption=caption, numeric=numeric, note=note)


# --- shared pieces -------------------------------------------------------------------------


def _opt(model: Any, name: str, default: Any = None) -> Any:
    """An optional field that a newer writer may have added (the schema keeps extras)."""
    value = getattr(model, name, None)
    return default if value is None else value


def _warnings(report: Report) -> list[str]:
    value = _opt(report, "warnings", [])
    return [str(w) for w in value] if isinstance(value, list) else []


def latencies_ms(summary: LatencySummary | None) -> npt.NDArray[np.float64] | None:
    """The raw latencies of a summary in ms, or None when absent or unreadable."""
    from ctool.model.samples import ENCODING, decode_ns

    if summary is None or summary.samples is None or summary.samples.count == 0:
        return None
    if summary.samples.encoding != ENCODING:
        return None
    try:
        ns = decode_ns(summary.samples.data, summary.samples.count)
    except ValueError:
        return None
    return ns.astype("float64") / 1e6


def _percentile_table(rows: Sequence[tuple[str, LatencySummary]]) -> Table:
    cols = ["run", "episodes", "mean", "stdev", "min", "p50", "p90", "p95", "p99", "p99.9", "max"]
    body = []
    for label, s in rows:
        body.append(
            [Cell(label), _num_cell(s.count)]
            + [
                _ms_cell(v)
                for v in (s.mean, s.stdev, s.min, s.p50, s.p90, s.p95, s.p99, s.p999, s.max)
            ]
        )
    return Table(cols, body, numeric=[False] + [True] * 10)


def _latency_section(
    runs: Sequence[tuple[str, LatencySummary, str]], title: str = "Latency"
) -> Section:
    """Histogram and CDF of one run, or several overlaid (label, summary, colour)."""
    sec = Section("latency", title)
    series = []
    for label, summary, color in runs:
        values = latencies_ms(summary)
        if values is not None:
            series.append(charts.LatencySeries(label, values, color))
    if series:
        sec.charts.append(Chart(wide=True, svg=charts.latency_histogram(series)))
        sec.charts += [Chart(charts.latency_cdf(series)), Chart(charts.percentile_spectrum(series))]
        missing = [label for label, s, _ in runs if latencies_ms(s) is None]
        if missing:
            sec.notes.append("No raw latency samples in: " + ", ".join(missing) + ".")
    else:
        for label, s, _ in runs:
            if s.count:
                pts = [("p50", s.p50), ("p90", s.p90), ("p95", s.p95), ("p99", s.p99)]
                pts += [("p99.9", s.p999), ("max", s.max)]
                sec.charts.append(Chart(charts.summary_percentiles(label, pts)))
    sec.tables.append(_percentile_table([(label, s) for label, s, _ in runs]))
    return sec


def _stage_group(label: str, stages: Mapping[str, StageStats], color: str) -> charts.StageGroup:
    bars = [
        charts.StageBar(name, st.depth, st.mean_ms, st.p95_ms, st.p99_ms, st.share)
        for name, st in stages.items()
    ]
    return charts.StageGroup(label, bars, color)


def _stage_table(stages: Mapping[str, StageStats], caption: str | None = None) -> Table:
    rows = []
    for name, st in stages.items():
        label = ("↳ " if st.depth else "") + name
        rows.append(
            [
                Cell(label, "mono" + (" nested" if st.depth else "")),
                _num_cell(st.count),
                _ms_cell(st.mean_ms),
                _ms_cell(st.p50_ms),
                _ms_cell(st.p95_ms),
                _ms_cell(st.p99_ms),
                Cell(pct_cell(st.share), "num", sort=st.share, bar=max(0.0, min(1.0, st.share))),
            ]
        )
    cols = ["stage", "count", "mean", "p50", "p95", "p99", "share of episode"]
    return Table(cols, rows, caption=caption, numeric=[False] + [True] * 6)


def _load_series(report: ProfileReport, label: str, color: str, dashed: bool) -> charts.LoadSeries:
    if all(level.concurrency is not None for level in report.load):
        axis = "concurrency"
    elif all(level.rate is not None for level in report.load):
        axis = "rate"
    else:
        axis = "level"
    points = []
    for i, level in enumerate(report.load):
        x: float | None = None
        if axis == "concurrency":
            x = float(level.concurrency or 0)
        elif axis == "rate":
            x = float(level.rate or 0.0)
        name = level.label or (
            f"c={level.concurrency}"
            if level.concurrency is not None
            else f"{level.rate:g}/s"
            if level.rate is not None
            else f"#{i + 1}"
        )
        points.append(
            charts.LoadPoint(
                x, name, level.p50_ms, level.p95_ms, level.p99_ms, level.throughput_eps
            )
        )
    series = charts.LoadSeries(label, axis, points, dashed=dashed, color=color)
    verdict = _opt(report, "load_verdict", {})
    if axis == "concurrency" and isinstance(verdict, Mapping):
        for key, name in (("knee_concurrency", "knee"), ("cliff_concurrency", "cliff")):
            at = verdict.get(key)
            if isinstance(at, int | float) and not isinstance(at, bool):
                series.marks.append((float(at), name))
    return series


def _load_table(report: ProfileReport, caption: str | None = None) -> Table:
    rows = []
    for i, level in enumerate(report.load):
        what = level.label or (
            f"concurrency {level.concurrency}"
            if level.concurrency is not None
            else f"rate {level.rate:g}/s"
            if level.rate is not None
            else f"level {i + 1}"
        )
        rows.append(
            [
                Cell(what),
                _num_cell(level.episodes),
                _ms_cell(level.p50_ms),
                _ms_cell(level.p95_ms),
                _ms_cell(level.p99_ms),
                _ms_cell(level.max_ms),
                _num_cell(level.throughput_eps),
                _num_cell(level.errors),
                _num_cell(level.queue_depth_max),
            ]
        )
    cols = ["level", "episodes", "p50", "p95", "p99", "max", "episodes/s", "errors", "max queue"]
    return Table(cols, rows, caption=caption, numeric=[False] + [True] * 8)


def _environment_section(report: Report, extra_tables: Sequence[Table] = ()) -> Section:
    sec = Section("environment", "Environment and command")
    sec.code = report.config.command or None
    if sec.code is None:
        sec.notes.append("The command line was not recorded in this report.")
    env = report.environment.model_dump()
    sec.tables.append(_kv_table(env.items(), caption="Machine"))
    config = report.config.model_dump(exclude={"command", "settings"})
    pairs = [(k, v) for k, v in config.items() if v not in (None, [], {})]
    pairs += [(f"settings.{k}", v) for k, v in report.config.settings.items()]
    sec.tables.append(_kv_table(pairs, caption="Run configuration"))
    sec.tables.extend(extra_tables)
    return sec


def _card_ms(label: str, value: float, note: str = "") -> Card:
    return Card(label, ms_unit(value), note)


# --- profile -------------------------------------------------------------------------------


def _resolve(path: str, base_dirs: Sequence[Path]) -> Path | None:
    candidate = Path(path)
    if candidate.is_absolute():
        return candidate if candidate.is_file() else None
    for base in (Path.cwd(), *base_dirs):
        if (base / candidate).is_file():
            return base / candidate
    return None


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
                    _where(h.file, h.line),
                    Cell(h.stage or "–", "mono"),
                    _num_cell(h.calls),
                    _ms_cell(h.self_ms),
                    _ms_cell(h.cumulative_ms),
                    Cell(
                        pct_cell(share),
                        "num",
                        sort=share,
                        bar=None if share is None else max(0.0, min(1.0, share)),
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


def _flame_section(report: ProfileReport, base_dirs: Sequence[Path]) -> Section | None:
    path = report.artifacts.get("pyspy")
    if path is None:
        return None
    from ctool.reports.flamegraph import flame_svg, load_speedscope

    sec = Section("flamegraph", "Flame graph (py-spy)")
    resolved = _resolve(path, base_dirs)
    if resolved is None:
        sec.notes.append(f"The py-spy profile {path} is no longer there; no flame graph.")
        return sec
    try:
        graph = load_speedscope(resolved)
    except ValueError as exc:
        sec.notes.append(f"The py-spy profile could not be read: {exc}")
        return sec
    if graph.total <= 0:
        sec.notes.append("The py-spy profile holds no samples.")
        return sec
    sec.intro = (
        f"{significant(graph.total)} {graph.unit} from {graph.threads} thread(s); callers on top, "
        "width is time. Hover for details, click a frame to zoom, click the top bar to reset. "
        f"The full profile opens in speedscope: {resolved}"
    )
    if graph.threads > 1:
        threads = sorted(graph.root.children.values(), key=lambda n: -n.value)
        listed = ", ".join(f"{t.name} {t.value / graph.total:.0%}" for t in threads)
        sec.notes.append(
            f"Threads: {listed}. py-spy samples waiting threads too, so helper threads "
            "(samplers, watchdogs) take width while they sleep: click a thread's bar to see "
            "it alone."
        )
    sec.flame = flame_svg(graph)
    return sec


def _profile_cards(report: ProfileReport) -> list[Card]:
    lat = report.latency_ms
    cards = [
        Card("episodes", significant(lat.count)),
        _card_ms("p50", lat.p50),
        _card_ms("p95", lat.p95),
        _card_ms("p99", lat.p99),
        _card_ms("p99.9", lat.p999),
        _card_ms("max", lat.max),
        Card("throughput", f"{significant(report.throughput_eps)}/s", "episodes per second"),
        Card(
            "errors",
            significant(report.errors.count),
            pct_cell(report.errors.rate, 2),
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
    phi = report.pipeline_metrics.get("phi")
    if isinstance(phi, Mapping) and isinstance(phi.get("hit_rate"), int | float):
        cards.append(Card("Φ cache hit rate", pct_cell(float(phi["hit_rate"]))))
    bottleneck = _opt(report, "bottleneck")
    if isinstance(bottleneck, str) and bottleneck in report.stages:
        share = report.stages[bottleneck].share
        cards.append(Card("bottleneck", bottleneck, f"{pct_cell(share)} of episode time"))
    duration = _opt(report, "duration_s")
    if isinstance(duration, int | float):
        cards.append(Card("measured for", f"{duration:.1f} s"))
    if report.output_digest:
        cards.append(
            Card("output digest", report.output_digest[:12], "sha256, first 12", small=True)
        )
    return cards


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
        drift_windows = report.drift.get("windows")
        if isinstance(drift_windows, list) and len(drift_windows) >= 2:
            # An unexpected shape draws no chart; the table below still shows it.
            with contextlib.suppress(KeyError, TypeError, ValueError):
                sec.charts.append(
                    Chart(
                        charts.windows_chart(
                            "Drift windows (equal slices of the run)",
                            "window",
                            [int(w["index"]) for w in drift_windows],
                            [float(w["p50_ms"]) for w in drift_windows],
                            [float(w["p95_ms"]) for w in drift_windows],
                        )
                    )
                )
        sec.tables.append(_kv_table(flatten(report.drift), caption="Drift between windows"))
    timeline = charts.timeline_chart(report.resources.timeline)
    if timeline:
        sec.charts.append(Chart(wide=True, svg=timeline))
    if report.rounds:
        rows = [
            [
                Cell(str(w.index), "num", sort=w.index),
                _num_cell(w.episodes),
                _ms_cell(w.mean_ms),
                _ms_cell(w.p50_ms),
                _ms_cell(w.p95_ms),
                _ms_cell(w.p99_ms),
                _num_cell(w.throughput_eps),
                Cell("–" if w.pid is None else str(w.pid), "num"),
            ]
            for w in report.rounds
        ]
        cols = ["round", "episodes", "mean", "p50", "p95", "p99", "episodes/s", "pid"]
        sec.tables.append(Table(cols, rows, caption="Rounds", numeric=[True] * 8))
    if not (sec.charts or sec.tables):
        return None
    return sec


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
}


def _resources_section(report: ProfileReport) -> Section:
    res = report.resources
    sec = Section("resources", "Resources")
    values = res.model_dump(exclude={"blocking_calls", "timeline"})
    pairs = []
    for key, value in values.items():
        if value is None:
            continue
        label, fmt = _RESOURCE_LABELS.get(key, (key, _text))
        pairs.append((label, fmt(value)))
    sec.tables.append(_kv_table(pairs, caption="Process"))
    if res.blocking_calls:
        rows = [
            [
                Cell(b.function, "mono"),
                _where(b.file, b.line, "\n".join(str(f) for f in _opt(b, "stack", [])) or None),
                Cell(str(_opt(b, "callee", "–")), "mono wrap"),
                Cell(str(_opt(b, "kind", "–"))),
                Cell(b.stage or "–", "mono"),
                _num_cell(b.count),
                _ms_cell(b.total_ms),
                _ms_cell(b.max_ms),
            ]
            for b in res.blocking_calls
        ]
        cols = ["function", "where", "calling", "kind", "stage", "times", "total", "longest"]
        sec.tables.append(
            Table(
                cols,
                rows,
                caption="Calls that stalled the event loop (watchdog)",
                numeric=[False] * 5 + [True] * 3,
            )
        )
    return sec


def _profile_page(report: ProfileReport, base_dirs: Sequence[Path]) -> Page:
    sections = [_latency_section([("this run", report.latency_ms, charts.PRIMARY)])]
    if report.stages:
        sec = Section("stages", "Per-stage breakdown")
        sec.charts.append(
            Chart(
                wide=True,
                svg=charts.stage_bars([_stage_group("this run", report.stages, charts.PRIMARY)]),
            )
        )
        sec.tables.append(_stage_table(report.stages))
        sections.append(sec)
    if report.load:
        sec = Section("load", "Load curve")
        verdict = _opt(report, "load_verdict", {})
        if isinstance(verdict, Mapping) and verdict.get("detail"):
            sec.intro = str(verdict["detail"])
        if len(report.load) >= 2:
            sec.charts.append(
                Chart(
                    wide=True,
                    svg=charts.load_curve(
                        [_load_series(report, "this run", charts.PRIMARY, False)]
                    ),
                )
            )
        sec.tables.append(_load_table(report))
        sections.append(sec)
    windows = _windows_section(report)
    if windows:
        sections.append(windows)
    sections.append(_resources_section(report))
    if report.pipeline_metrics:
        sec = Section("metrics", "Pipeline metrics")
        sec.intro = "What the pipeline's own metrics() hook reported."
        sec.tables.extend(_kv_tables(flatten(report.pipeline_metrics)))
        sections.append(sec)
    if report.hotspots or report.profilers:
        sec = Section("hotspots", "Hotspots")
        if report.profilers:
            rows = [
                [
                    Cell(p.name, "mono"),
                    Cell("ran" if p.ok else "did not run", "pill " + ("good" if p.ok else "bad")),
                    Cell(p.reason or "", "wrap"),
                    _num_cell(
                        p.overhead_ratio,
                        None if p.overhead_ratio is None else f"×{p.overhead_ratio:.2f}",
                    ),
                ]
                for p in report.profilers
            ]
            sec.tables.append(
                Table(
                    ["profiler", "status", "note", "overhead"],
                    rows,
                    caption="Profilers",
                    numeric=[False, False, False, True],
                )
            )
        sec.tables.extend(_hotspot_tables(report.hotspots))
        sections.append(sec)
    flame = _flame_section(report, base_dirs)
    if flame:
        sections.append(flame)
    if report.errors.samples or report.errors.count:
        sec = Section("errors", "Errors")
        sec.intro = (
            f"{report.errors.count:,} episodes raised ({pct_cell(report.errors.rate, 2)}); "
            "the run went on. A sample of them:"
        )
        rows = [
            [_num_cell(e.episode), Cell(e.type, "mono"), Cell(e.message, "wrap")]
            + [Cell("", details=e.stack or None)]
            for e in report.errors.samples
        ]
        sec.tables.append(Table(["episode", "type", "message", "stack"], rows))
        by_type = _opt(report.errors, "by_type", {})
        if isinstance(by_type, Mapping) and by_type:
            sec.tables.insert(0, _kv_table(by_type.items(), caption="By exception type"))
        sections.append(sec)
    if report.scaling:
        sec = Section("scaling", "Scaling over worker processes")
        sec.tables.append(_generic_table(report.scaling))
        sections.append(sec)
    artifacts = (
        [_kv_table(report.artifacts.items(), caption="Artifacts")] if report.artifacts else []
    )
    sections.append(_environment_section(report, artifacts))
    cfg = report.config
    return Page(
        title=f"Profile of {cfg.pipeline}",
        subtitle=_run_shape(report),
        kind="profile",
        created_at=report.created_at,
        ctool_version=report.ctool_version,
        complete=report.complete,
        cards=_profile_cards(report),
        sections=sections,
        warnings=_warnings(report),
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


# --- leakcheck -----------------------------------------------------------------------------


def _leak_page(report: LeakcheckReport) -> Page:
    tone = {"leak": "bad", "clean": "good"}.get(report.verdict, "warn")
    t, r = report.traced, report.rss
    cards = [
        Card("verdict", report.verdict, tone=tone),
        Card(
            "retained / episode",
            size_compact(t.slope),
            f"95% CI [{size_compact(t.ci_low)}, {size_compact(t.ci_high)}]",
            tone,
        ),
        Card(
            "RSS / episode",
            size_compact(r.slope),
            f"95% CI [{size_compact(r.ci_low)}, {size_compact(r.ci_high)}]",
        ),
        Card("retained growth", f"{t.growth_pct:.1f}%", "over the measured episodes"),
        Card("episodes", significant(report.episodes), f"after {report.warmup} warm-up"),
        Card("sampled every", significant(report.every), "episodes"),
        Card("threshold", size_compact(report.threshold_bytes_per_episode), "per episode"),
    ]
    if report.duration_s is not None:
        cards.append(Card("duration", f"{report.duration_s:.1f} s"))
    mem = Section("memory", "Memory over episodes")
    mem.intro = report.reason
    if len(report.samples) >= 2:
        mem.charts.append(
            Chart(
                wide=True,
                svg=charts.memory_chart(
                    [s.episode for s in report.samples],
                    [s.traced_bytes for s in report.samples],
                    [s.rss_bytes for s in report.samples],
                    charts.Fit(t.slope, t.ci_low, t.ci_high, t.intercept),
                    charts.Fit(r.slope, r.ci_low, r.ci_high, r.intercept),
                ),
            )
        )
    else:
        mem.notes.append("Fewer than two memory samples: nothing to plot.")
    fits = [
        [Cell(name), Cell(size_compact(f.slope), "num", sort=f.slope)]
        + [Cell(size_compact(f.ci_low), "num"), Cell(size_compact(f.ci_high), "num")]
        + [Cell(size_compact(f.intercept), "num"), Cell(f"{f.growth_pct:.2f}%", "num")]
        for name, f in (("retained (tracemalloc)", t), ("RSS", r))
    ]
    mem.tables.append(
        Table(
            ["measure", "slope / episode", "CI low", "CI high", "intercept", "growth"],
            fits,
            caption="Theil–Sen fits",
            numeric=[False] + [True] * 5,
        )
    )
    sections = [mem]
    if report.sites:
        sec = Section("sites", "Growing allocation sites")
        rows = [
            [
                _where(s.file, s.line, "\n".join(s.traceback) or None),
                Cell(s.function or "–", "mono"),
                Cell(s.stage or "–", "mono"),
                Cell(size_compact(s.size_diff_bytes), "num", sort=s.size_diff_bytes),
                _num_cell(s.count_diff),
                Cell(size_compact(s.bytes_per_episode), "num", sort=s.bytes_per_episode),
            ]
            for s in report.sites[:MAX_TABLE_ROWS]
        ]
        cols = ["where", "function", "stage", "grew by", "objects", "per episode"]
        sec.tables.append(Table(cols, rows, numeric=[False, False, False, True, True, True]))
        sections.append(sec)
    if report.types:
        sec = Section("types", "Growing object types")
        rows = [
            [Cell(ty.type, "mono")]
            + [_num_cell(ty.start), _num_cell(ty.end), _num_cell(ty.growth)]
            + [_num_cell(ty.per_episode)]
            for ty in report.types[:MAX_TABLE_ROWS]
        ]
        cols = ["type", "at start", "at end", "growth", "per episode"]
        sec.tables.append(Table(cols, rows, numeric=[False] + [True] * 4))
        sections.append(sec)
    if report.latency_ms is not None and report.latency_ms.count:
        sections.append(
            _latency_section([("leakcheck", report.latency_ms, charts.PRIMARY)], "Episode latency")
        )
    sections.append(_environment_section(report))
    return Page(
        title=f"Leak check of {report.config.pipeline}",
        subtitle=f"{report.episodes:,} episodes · memory sampled every {report.every}",
        kind="leakcheck",
        created_at=report.created_at,
        ctool_version=report.ctool_version,
        complete=report.complete,
        cards=cards,
        sections=sections,
    )


# --- suite ---------------------------------------------------------------------------------

_STATUS_TONE = {"pass": "good", "fail": "bad", "error": "bad", "skipped": "warn"}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _with_unit(value: Any, unit: str | None) -> str:
    text = _text(value)
    if value is None or not unit or text.endswith(unit):
        return text
    return f"{text} {unit}"


def _levels_series(levels: Any, label: str) -> charts.LoadSeries | None:
    """A scenario's ``data["levels"]`` (concurrency rows) as a load curve, when it is one."""
    if not isinstance(levels, list) or len(levels) < 2:
        return None
    keys = ("concurrency", "p50_ms", "p95_ms", "p99_ms", "throughput_eps")
    if not all(isinstance(r, Mapping) and all(_is_number(r.get(k)) for k in keys) for r in levels):
        return None
    points = [
        charts.LoadPoint(
            float(r["concurrency"]),
            f"c={r['concurrency']:g}",
            float(r["p50_ms"]),
            float(r["p95_ms"]),
            float(r["p99_ms"]),
            float(r["throughput_eps"]),
        )
        for r in levels
    ]
    return charts.LoadSeries(label, "concurrency", points)


def _suite_page(report: SuiteReport) -> Page:
    total = len(report.scenarios)
    errors = sum(1 for s in report.scenarios if s.status == "error")
    cards = [
        Card("scenarios", significant(total), "quick mode" if report.quick else "full"),
        Card("passed", significant(report.passed), tone="good" if report.passed else ""),
        Card("failed", significant(report.failed), tone="bad" if report.failed else "good"),
        Card("skipped", significant(report.skipped), tone="warn" if report.skipped else ""),
    ]
    if errors:
        cards.append(Card("errors", significant(errors), tone="bad"))
    sec = Section("scenarios", "Scenarios")
    rows = []
    for s in report.scenarios:
        data = json.dumps(s.data, indent=1, default=str, sort_keys=True) if s.data else None
        measured = _with_unit(s.measured, s.unit)
        target = _with_unit(s.target, s.unit)
        rows.append(
            [
                _num_cell(s.id),
                Cell(s.name, "mono"),
                Cell(s.title, "wrap"),
                Cell(s.status, "pill " + _STATUS_TONE.get(s.status, "")),
                Cell(measured, "num"),
                Cell(target, "num"),
                Cell(s.detail, "wrap", details=data),
                _num_cell(s.duration_s, None if s.duration_s is None else f"{s.duration_s:.1f} s"),
            ]
        )
    bars = [
        charts.ScenarioBar(f"{s.id}. {s.name}", float(s.measured) / float(s.target), s.status)
        for s in report.scenarios
        if _is_number(s.measured) and _is_number(s.target) and float(s.target) > 0
    ]
    if bars:
        sec.charts.append(Chart(charts.scenario_chart(bars), wide=True))
    cols = ["#", "name", "scenario", "status", "measured", "target", "detail", "took"]
    sec.tables.append(
        Table(cols, rows, numeric=[True, False, False, False, True, True, False, True])
    )
    sections = [sec]
    curves = []
    for s in report.scenarios:
        series = _levels_series(s.data.get("levels"), s.title)
        if series is not None:
            curves.append(Chart(charts.load_curve([series], title=f"{s.id}. {s.title}"), wide=True))
    if curves:
        sections.append(Section("scenario-charts", "Scenario load curves", charts=curves))
    if report.targets:
        sections.append(
            Section("targets", "Targets", tables=_kv_tables(list(report.targets.items())))
        )
    sections.append(_environment_section(report))
    return Page(
        title=f"Performance suite: {report.config.pipeline}",
        subtitle=f"{report.passed} passed · {report.failed} failed · {report.skipped} skipped",
        kind="suite",
        created_at=report.created_at,
        ctool_version=report.ctool_version,
        complete=report.complete,
        cards=cards,
        sections=sections,
    )


# --- compare -------------------------------------------------------------------------------

_VERDICT_TONE = {"faster": "good", "better": "good", "slower": "bad", "worse": "bad"}


def _value_cell(value: float | None, unit: str | None) -> Cell:
    if value is None:
        return Cell("–", "num")
    if unit == "ms":
        return _ms_cell(value)
    text = significant(value) + (f" {unit}" if unit else "")
    return Cell(text, "num", sort=value)


def _window_strips(report: CompareReport) -> str | None:
    """The per-window values each test worked on, before and after, for a few metrics."""
    windows = _opt(report, "windows", {})
    if not isinstance(windows, Mapping):
        return None
    items = []
    for metric, sides in windows.items():
        if not isinstance(sides, Mapping):
            continue
        b, a = sides.get("before") or [], sides.get("after") or []
        if b and a and all(_is_number(v) for v in (*b, *a)):
            items.append(charts.Strip(str(metric), [float(v) for v in b], [float(v) for v in a]))
    if not items:
        return None
    return charts.window_strips(items[:MAX_STRIPS], report.mode)


def _share_cell(value: Any) -> Cell:
    if not _is_number(value):
        return Cell("–", "num")
    return Cell(pct_cell(float(value)), "num", sort=float(value))


_CHANGE_TONE = {"appeared": "warn", "grew": "bad", "shrank": "good", "vanished": "good"}


def _hotspot_changes(report: CompareReport) -> Table:
    """Hotspots whose share of their profiler's time changed, or a generic table."""
    rows = [r.model_dump() for r in report.hotspots]
    if not all("share_before" in r and "share_after" in r for r in rows):
        return _generic_table(rows)
    body = []
    for r in rows[:MAX_TABLE_ROWS]:
        before, after = r.get("share_before"), r.get("share_after")
        change = str(r.get("change", ""))
        body.append(
            [
                Cell(change, "pill " + _CHANGE_TONE.get(change, "")),
                Cell(str(r.get("profiler", "")), "mono"),
                Cell(str(r.get("function", "")), "mono"),
                _where(
                    str(r.get("file", "")), r.get("line") if _is_number(r.get("line")) else None
                ),
                _share_cell(before),
                _share_cell(after),
            ]
        )
    cols = ["change", "profiler", "function", "where", "share before", "share after"]
    return Table(
        cols,
        body,
        numeric=[False] * 4 + [True] * 2,
        note="Share of the profiler's time in each run (runs of different lengths compare).",
    )


def _compare_page(report: CompareReport, related: Sequence[Report]) -> Page:
    profiles = [r for r in related if isinstance(r, ProfileReport)]
    before, after = (profiles[0], profiles[1]) if len(profiles) >= 2 else (None, None)
    behaviour_tone = {"outputs identical": "good", "outputs changed": "bad"}.get(
        report.behaviour, "warn"
    )
    changed = [m for m in report.metrics if m.verdict in _VERDICT_TONE]
    cards = [
        Card(
            "regressions",
            significant(len(report.regressions)),
            tone="bad" if report.regressions else "good",
        ),
        Card("significant changes", significant(len(changed))),
        Card("behaviour", report.behaviour, tone=behaviour_tone),
        Card(
            "design",
            report.mode,
            "blind to drift" if report.blind_to_drift else "paired",
            "warn" if report.blind_to_drift else "",
        ),
        Card("threshold", pct_cell(report.threshold, 0), f"alpha {report.alpha:g}"),
    ]
    cards.extend(
        Card(m.metric, f"×{m.ratio:.3f}", m.verdict, _VERDICT_TONE.get(m.verdict, ""))
        for m in report.metrics
        if m.metric in ("latency.p50", "throughput") and m.ratio is not None
    )
    verdict = Section("verdict", "Verdict")
    verdict.intro = report.behaviour_detail or ""
    gate = _opt(report, "gate", [])
    if gate:
        verdict.notes.append("Gated metrics: " + ", ".join(str(g) for g in gate) + ".")
    rows = {m.metric: m for m in report.metrics}

    def described(name: str) -> str:
        m = rows.get(name)
        if m is None or m.ratio is None:
            return name
        ci = (
            ""
            if m.ci_low is None or m.ci_high is None
            else f", 95% CI ×{m.ci_low:.3f}–×{m.ci_high:.3f}"
        )
        return f"{name} {m.verdict}: ×{m.ratio:.3f}{ci}"

    verdict.items = [f"Regression: {described(r)}" for r in report.regressions]
    verdict.items += [
        f"Changed: {described(c)}" for c in report.changes if c not in report.regressions
    ]
    if not verdict.items:
        verdict.items = ["No gated metric changed beyond the threshold."]
    loose = [m for m in report.metrics if not m.gated and m.verdict in _VERDICT_TONE]
    if loose:
        verdict.items.append(
            "Not gated, but "
            + ", ".join(
                f"{m.metric} {m.verdict}" + (f" (×{m.ratio:.3g})" if m.ratio is not None else "")
                for m in loose
            )
        )
    why: dict[str, list[str]] = {}
    for m in report.metrics:
        if m.verdict == "inconclusive":
            why.setdefault(str(_opt(m, "note", "")) or "no reason given", []).append(m.metric)
    for reason, names in why.items():
        verdict.items.append(f"Inconclusive ({len(names)} metrics): {reason}")
    if report.blind_to_drift:
        verdict.notes.append(
            "Both files come from single runs: the test works on batch medians and cannot see "
            "run-to-run drift. Use `ctool profile --rounds R` on both sides for a verdict that can."
        )
    sections = [verdict]
    metrics = Section("metrics", "Change per metric")
    rows_for_chart = [
        charts.RatioRow(m.metric, m.ratio, m.ci_low, m.ci_high, m.verdict)
        for m in report.metrics
        if m.ratio is not None and math.isfinite(m.ratio)
    ][:MAX_FOREST_ROWS]
    if rows_for_chart:
        metrics.charts.append(
            Chart(wide=True, svg=charts.ratio_forest(rows_for_chart, report.threshold))
        )
    strips = _window_strips(report)
    if strips:
        metrics.charts.append(Chart(wide=True, svg=strips))
    methods = [m.method for m in report.metrics if m.method]
    common_method = max(set(methods), key=methods.count) if methods else ""
    metric_rows = []
    for m in report.metrics:
        ci = "–" if m.ci_low is None or m.ci_high is None else f"[{m.ci_low:.3f}, {m.ci_high:.3f}]"
        unit = _opt(m, "unit")
        n_before, n_after = _opt(m, "n_before"), _opt(m, "n_after")
        method = "" if m.method == common_method else m.method
        how = " · ".join(x for x in (method, str(_opt(m, "note", ""))) if x)
        metric_rows.append(
            [
                Cell(m.metric, "mono"),
                _value_cell(m.before, unit),
                _value_cell(m.after, unit),
                _num_cell(m.ratio, None if m.ratio is None else f"×{m.ratio:.3f}"),
                Cell(ci, "num"),
                _num_cell(m.p_value, None if m.p_value is None else f"{m.p_value:.3g}"),
                Cell(
                    "–" if n_before is None else f"{n_before} / {n_after}",
                    "num",
                    title="windows (rounds or batches) before / after",
                ),
                Cell(m.verdict, "pill " + _VERDICT_TONE.get(m.verdict, "")),
                Cell(how, "wrap"),
                Cell("gate" if m.gated else ""),
            ]
        )
    cols = ["metric", "before", "after", "ratio", "95% CI", "p", "n", "verdict", "how", ""]
    metrics.tables.append(
        Table(
            cols,
            metric_rows,
            numeric=[False] + [True] * 6 + [False] * 3,
            note=f"Method, unless the row says otherwise: {common_method}."
            if common_method
            else None,
        )
    )
    sections.append(metrics)
    if before is not None and after is not None:
        sections.append(
            _latency_section(
                [
                    ("before", before.latency_ms, charts.BEFORE),
                    ("after", after.latency_ms, charts.AFTER),
                ],
                "Latency, before and after",
            )
        )
        if before.stages or after.stages:
            sec = Section("stages", "Per-stage breakdown, before and after")
            sec.charts.append(
                Chart(
                    wide=True,
                    svg=charts.stage_bars(
                        [
                            _stage_group("before", before.stages, charts.BEFORE),
                            _stage_group("after", after.stages, charts.AFTER),
                        ]
                    ),
                )
            )
            sections.append(sec)
        if len(before.load) >= 2 and len(after.load) >= 2:
            sec = Section("load", "Load curve, before and after")
            sec.charts.append(
                Chart(
                    wide=True,
                    svg=charts.load_curve(
                        [
                            _load_series(before, "before", charts.BEFORE, True),
                            _load_series(after, "after", charts.AFTER, False),
                        ]
                    ),
                )
            )
            sections.append(sec)
    else:
        sections.append(
            Section(
                "latency",
                "Latency, before and after",
                notes=[
                    "An ab report keeps per-round values, not the raw latencies of its sides: "
                    "`ctool ab --html` draws the overlay while it runs."
                    if report.mode == "ab"
                    else f"The compared files ({report.before}, {report.after}) were not "
                    "available, so there is no overlay of their distributions."
                ],
            )
        )
    if report.hotspots:
        sections.append(
            Section("hotspots", "Hotspots, before and after", tables=[_hotspot_changes(report)])
        )
    env_tables = []
    if report.environment_diff:
        env_tables.append(
            _generic_table(
                [d.model_dump() for d in report.environment_diff],
                caption="Differences between the two runs",
            )
        )
    env_tables.append(
        _kv_table([("before", report.before), ("after", report.after)], caption="Compared files")
    )
    sections.append(_environment_section(report, env_tables))
    return Page(
        title="Comparison",
        subtitle=f"{report.before} → {report.after}",
        kind="compare",
        created_at=report.created_at,
        ctool_version=report.ctool_version,
        complete=report.complete,
        cards=cards,
        sections=sections,
        warnings=_warnings(report),
    )


# --- rendering -----------------------------------------------------------------------------


def _breakable_path(text: str) -> Any:
    """Escape a path and allow line breaks after its slashes (``<wbr>``), nowhere else."""
    from markupsafe import Markup, escape

    return Markup("/<wbr>").join(escape(part) for part in text.split("/"))


@cache
def _environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ctool.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
    )
    env.filters["breakable_path"] = _breakable_path
    return env


@cache
def _asset(name: str) -> str:
    loader = _environment().loader
    assert loader is not None
    source, _, _ = loader.get_source(_environment(), name)
    return source


def build_page(
    report: Report, related: Sequence[Report] = (), base_dirs: Sequence[Path] = ()
) -> Page:
    if isinstance(report, ProfileReport):
        return _profile_page(report, base_dirs)
    if isinstance(report, LeakcheckReport):
        return _leak_page(report)
    if isinstance(report, SuiteReport):
        return _suite_page(report)
    if isinstance(report, CompareReport):
        return _compare_page(report, related)
    raise TypeError(f"no HTML renderer for report kind {report.kind!r}")


def render_html(
    report: Report, *, related: Sequence[Report] = (), base_dirs: Sequence[Path] = ()
) -> str:
    """The page as a string (see the module docstring for what it promises)."""
    from markupsafe import Markup

    page = build_page(report, related, base_dirs)
    script = _asset("report.js")
    if "</script" in script.lower():  # the script is placed verbatim in the page
        raise AssertionError("report.js may not contain a closing script tag")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    csp = (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )
    template = _environment().get_template("report.html.j2")
    return template.render(
        page=page,
        css=Markup(_asset("report.css")),
        script=Markup(script),
        csp=csp,
        Markup=Markup,
    )


def write_html(
    report: Report,
    path: str | os.PathLike[str],
    *,
    related: Sequence[Report] = (),
    base_dir: str | os.PathLike[str] | None = None,
) -> None:
    """Render ``report`` to one self-contained HTML file at ``path``, atomically.

    ``base_dir`` (the directory of the report file, when rendering a saved report) is where
    relative artifact paths such as the py-spy profile are looked up, after the current
    directory and before the HTML file's directory.
    """
    target = Path(path)
    dirs = ([Path(base_dir)] if base_dir is not None else []) + [target.parent]
    atomic_write_text(target, render_html(report, related=related, base_dirs=dirs))
