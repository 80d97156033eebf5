"""A profile report as titled tables of text: what every renderer shows, decided once.

The terminal renderer (``terminal.py``) and the markdown renderer (``markdown.py``) format
these sections; neither decides what to show. Pure functions, no Rich.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ctool.model.format import ms, num, pct, short_path, size
from ctool.model.records import BETWEEN_STAGES
from ctool.model.schema import ProfileReport

LEFT = "left"
RIGHT = "right"


@dataclass
class Section:
    title: str
    columns: list[tuple[str, str]]
    """(header, alignment)."""
    rows: list[list[str]] = field(default_factory=list)
    styles: list[str | None] = field(default_factory=list)
    """Per row: None, "bold" (the bottleneck), "dim" (hand-offs) or "red" (errors)."""
    notes: list[str] = field(default_factory=list)
    bars: list[float | None] = field(default_factory=list)
    """Per row, a share in [0, 1] a renderer may draw as a bar (stage table)."""

    def add(self, row: list[str], style: str | None = None, bar: float | None = None) -> None:
        self.rows.append(row)
        self.styles.append(style)
        self.bars.append(bar)


def headline(report: ProfileReport) -> str:
    cfg = report.config
    bits = [cfg.pipeline]
    if cfg.preset:
        bits.append(f"preset {cfg.preset}")
    bits.append(f"seed {cfg.seed}")
    if cfg.settings:
        bits.append(", ".join(f"{k}={v}" for k, v in sorted(cfg.settings.items())))
    text = " | ".join(bits)
    lat = report.latency_ms
    took = f" in {report.duration_s:.2f} s" if report.duration_s else ""
    text += f"\n{lat.count:,} episodes{took}, {report.throughput_eps:,.1f} episodes/s"
    if cfg.workers > 1:
        text += f" ({cfg.workers} workers)"
    if cfg.rounds > 1:
        text += f" ({cfg.rounds} rounds in fresh processes)"
    if report.errors.count:
        text += f"; {report.errors.count:,} errors ({pct(report.errors.rate)} of episodes)"
    if not report.complete:
        text += "\nPARTIAL REPORT: the run was interrupted"
    return text


def latency_section(report: ProfileReport) -> Section:
    lat = report.latency_ms
    names = ["episodes", "mean", "stdev", "min", "p50", "p90", "p95", "p99", "p99.9", "max"]
    section = Section("Latency (ms)", [(n, RIGHT) for n in names])
    values = [lat.mean, lat.stdev, lat.min, lat.p50, lat.p90, lat.p95, lat.p99, lat.p999, lat.max]
    section.add([f"{lat.count:,}", *(ms(v) for v in values)])
    if report.drift:
        from ctool.analysis.drift import describe

        section.notes.append(describe(report.drift))
    return section


def stage_section(report: ProfileReport) -> Section | None:
    if not report.stages:
        return None
    cols = [("stage", LEFT), ("count", RIGHT), ("mean", RIGHT), ("p50", RIGHT)]
    cols += [("p95", RIGHT), ("p99", RIGHT), ("share", RIGHT)]
    section = Section("Stages (ms per episode; share of episode time)", cols)
    for name, st in report.stages.items():
        label = ("  " * st.depth + "└ " if st.depth else "") + name
        style: str | None = None
        if name == report.bottleneck:
            label += " ◀"
            style = "bold"
        elif name == BETWEEN_STAGES:
            style = "dim"
        row = [label, f"{st.count:,}", ms(st.mean_ms), ms(st.p50_ms), ms(st.p95_ms)]
        section.add([*row, ms(st.p99_ms), pct(st.share)], style, st.share)
    section.notes.append(
        "◀ the bottleneck. Top-level stages and (between stages) add up to 100%; nested "
        "stages are part of their parent's share."
    )
    return section


def load_section(report: ProfileReport) -> Section | None:
    if not report.load:
        return None
    cols = [("load", LEFT), ("episodes", RIGHT), ("p50", RIGHT), ("p95", RIGHT), ("p99", RIGHT)]
    cols += [("max", RIGHT), ("eps", RIGHT), ("queue", RIGHT), ("errors", RIGHT)]
    section = Section("Load (latency in ms; eps: episodes/s; queue: max queue depth)", cols)
    for level in report.load:
        if level.concurrency is not None:
            label = f"concurrency {level.concurrency}"
        else:
            label = level.label or (f"rate {level.rate:g}/s" if level.rate else "?")
        queue = "-" if level.queue_depth_max is None else f"{level.queue_depth_max:,}"
        section.add(
            [
                label,
                f"{level.episodes:,}",
                ms(level.p50_ms),
                ms(level.p95_ms),
                ms(level.p99_ms),
                ms(level.max_ms),
                num(level.throughput_eps),
                queue,
                f"{level.errors:,}",
            ],
            "red" if level.errors else None,
        )
        extra = level.extra
        if level.rate is not None and "service_p99_ms" in extra:
            section.notes.append(
                f"{label}: latency counts from each arrival's intended start. Service time "
                f"p50 {ms(extra.get('service_p50_ms'))} / p99 {ms(extra.get('service_p99_ms'))} "
                f"ms; start delay p99 {ms(extra.get('start_delay_p99_ms'))} ms, max "
                f"{ms(extra.get('start_delay_max_ms'))} ms; achieved "
                f"{num(extra.get('achieved_rate'))}/s of {num(extra.get('target_rate'))}/s."
            )
        if "drain_s" in extra:
            section.notes.append(f"{label}: drained in {extra['drain_s']:.3f} s.")
    if report.load_verdict:
        section.notes.append(f"Concurrency sweep: {report.load_verdict.detail}")
    return section


def scaling_section(report: ProfileReport) -> Section | None:
    if not report.scaling:
        return None
    cols = [("workers", RIGHT), ("episodes", RIGHT), ("episodes/s", RIGHT)]
    cols += [("efficiency", RIGHT), ("p50 ms", RIGHT), ("p99 ms", RIGHT)]
    section = Section("Scaling (worker processes)", cols)
    for row in report.scaling:
        section.add(
            [
                str(row.workers),
                f"{row.episodes:,}",
                num(row.throughput_eps),
                pct(row.efficiency),
                ms(row.p50_ms),
                ms(row.p99_ms),
            ]
        )
    section.notes.append("Efficiency: throughput with k workers / (k x throughput with one).")
    return section


def replicas_section(report: ProfileReport) -> Section | None:
    if not report.replicas:
        return None
    cols = [("replica", RIGHT), ("host", LEFT), ("pid", RIGHT), ("worker", LEFT)]
    cols += [("episodes", RIGHT), ("episodes/s", RIGHT), ("errors", RIGHT), ("status", LEFT)]
    section = Section("Replicas (headline step; each on its own clock)", cols)
    for r in report.replicas:
        section.add(
            [
                str(r.index),
                r.host,
                str(r.pid),
                r.address or "-",
                f"{r.episodes:,}",
                num(r.throughput_eps) if r.throughput_eps is not None else "-",
                f"{r.errors:,}",
                f"FAILED: {r.failed}" if r.failed else "ok",
            ]
        )
    first = report.replicas[0]
    section.notes.append(
        f"Every replica ran ctool {first.ctool}, Python {first.python}, pipeline source "
        f"{first.pipeline_hash} (checked against this process before measuring)."
    )
    return section


def rounds_section(report: ProfileReport) -> Section | None:
    if not report.rounds:
        return None
    cols = [("round", RIGHT), ("pid", RIGHT), ("episodes", RIGHT), ("mean", RIGHT)]
    cols += [("p50", RIGHT), ("p95", RIGHT), ("p99", RIGHT), ("episodes/s", RIGHT)]
    section = Section("Rounds (fresh processes; ms)", cols)
    for w in report.rounds:
        section.add(
            [
                str(w.index),
                str(w.pid or "-"),
                f"{w.episodes:,}",
                ms(w.mean_ms),
                ms(w.p50_ms),
                ms(w.p95_ms),
                ms(w.p99_ms),
                num(w.throughput_eps),
            ]
        )
    return section


def resources_section(report: ProfileReport) -> Section:
    r = report.resources
    section = Section("Resources", [("resource", LEFT), ("value", RIGHT)])
    section.add(
        [
            "CPU, % of one core (mean / max)",
            f"{num(r.cpu_percent_mean)} / {num(r.cpu_percent_max)}",
        ]
    )
    section.add(["CPU, % of the machine (mean)", num(r.cpu_percent_total_mean)])
    section.add(
        [
            "RSS MiB (start / end / peak)",
            f"{num(r.rss_mb_start)} / {num(r.rss_mb_end)} / {num(r.rss_mb_peak)}",
        ]
    )
    gc_text = ms(r.gc_pause_ms_total) + " ms"
    if r.gc_collections is not None:
        gc_text += f" in {r.gc_collections:,} collections"
    section.add(["GC pauses (total)", gc_text])
    section.add(
        ["Event-loop lag ms (max / p99)", f"{ms(r.loop_lag_ms_max)} / {ms(r.loop_lag_ms_p99)}"]
    )
    if r.loop_stalls is not None:
        threshold = report.config.block_threshold_ms or 0
        section.add(
            [
                f"Event-loop stalls >= {threshold:g} ms",
                f"{r.loop_stalls:,} ({ms(r.loop_stalled_ms)} ms)",
            ]
        )
    return section


def blocking_section(report: ProfileReport) -> Section | None:
    calls = report.resources.blocking_calls
    threshold = report.config.block_threshold_ms
    if not calls:
        return None
    cols = [("kind", LEFT), ("where (function, call site, calls into)", LEFT), ("stage", LEFT)]
    cols += [("count", RIGHT), ("total ms", RIGHT), ("max ms", RIGHT)]
    title = "Event-loop stalls"
    if threshold:
        title += f" (loop blocked >= {threshold:g} ms)"
    section = Section(title, cols)
    for call in calls:
        where = f"{call.function}\n  {short_path(call.file)}:{call.line}"
        if call.callee:
            where += f"\n  -> {call.callee}"
        section.add(
            [
                call.kind or "?",
                where,
                call.stage or "-",
                f"{call.count:,}",
                ms(call.total_ms),
                ms(call.max_ms),
            ],
            "red" if call.kind == "blocking" else None,
        )
    section.notes.append(
        "blocking: the loop thread waited (sleep, I/O, lock) - move the call off the loop "
        "(an executor or an async API). cpu: it computed without yielding. count: stalls in "
        "which the watchdog saw the call (it samples; short stalls may pass unseen)."
    )
    return section


def _metric_value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        if key.endswith("_ms"):
            return ms(float(value))
        if key.endswith("rate") and 0 <= value <= 1:
            return pct(float(value))
        if key.endswith("bytes_per_s"):
            return size(float(value)) + "/s"
        if key.endswith("bytes"):
            return size(float(value))
        if isinstance(value, int):
            return f"{value:,}"
        return f"{value:,.4g}"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


METRIC_ORDER = ("phi", "messages", "ignitions")
"""Groups shown first (the reference pipeline's headline metrics); the rest follow as given."""
METRIC_SKIP = ("settings", "preset")
"""Already in the headline (config.settings, config.preset)."""


def _metric_label(group: str, key: str) -> str:
    pretty = key.replace("_per_s", "/s").replace("_ms", " (ms)").replace("_", " ")
    return f"{'Φ' if group == 'phi' else group} {pretty}".strip()


def metrics_section(report: ProfileReport) -> Section | None:
    metrics = {k: v for k, v in report.pipeline_metrics.items() if k not in METRIC_SKIP}
    if not metrics:
        return None
    section = Section("Pipeline metrics", [("metric", LEFT), ("value", RIGHT)])
    first = [k for k in METRIC_ORDER if k in metrics]
    for group in first + [k for k in metrics if k not in METRIC_ORDER]:
        value = metrics[group]
        if isinstance(value, dict):
            for key, inner in value.items():
                if not isinstance(inner, (dict, list)):
                    section.add([_metric_label(group, key), _metric_value(key, inner)])
        elif not isinstance(value, list):
            section.add([_metric_label(group, ""), _metric_value(group, value)])
    return section


def hotspot_sections(report: ProfileReport) -> list[Section]:
    """The bottleneck tables: one per profiler, columns chosen by ``ctool.reports.hotspots``
    (time, lines, bytes or MiB), each with its overhead and artifact as notes; then one line
    for each profiler that ran without rows (a note) or failed."""
    from ctool.reports.hotspots import bottleneck_tables

    sections = []
    tables = bottleneck_tables(
        report.hotspots,
        top=len(report.hotspots),  # each backend already kept its top --top rows
        runs=report.profilers,
        artifacts=report.artifacts,
    )
    for table in tables:
        title = table.title
        columns = [(header, RIGHT if right else LEFT) for header, right in table.columns]
        section = Section(title, columns)
        for row in table.rows:
            section.add(row)
        section.notes.extend(table.notes)
        sections.append(section)
    shown = {row.profiler for row in report.hotspots}
    quiet = [run for run in report.profilers if run.name not in shown]
    if quiet:
        section = Section("Profilers without hotspot rows", [("profiler", LEFT), ("note", LEFT)])
        for run in quiet:
            note = str(run.metadata.get("note", "")) if run.ok else f"failed: {run.reason}"
            if run.overhead_ratio is not None:
                note = f"{note} (overhead {run.overhead_label})".strip()
            section.add([run.name, note or "-"], None if run.ok else "red")
        sections.append(section)
    return sections


def errors_section(report: ProfileReport) -> Section | None:
    errors = report.errors
    if not errors.count:
        return None
    section = Section(
        f"Errors ({errors.count:,}, {pct(errors.rate)} of episodes)",
        [("type", LEFT), ("count", RIGHT), ("first seen", RIGHT), ("message", LEFT)],
    )
    first: dict[str, tuple[int, str]] = {}
    for sample in errors.samples:
        first.setdefault(sample.type, (sample.episode, sample.message))
    for kind, count in sorted(errors.by_type.items(), key=lambda kv: -kv[1]):
        episode, message = first.get(kind, (-1, ""))
        section.add(
            [kind, f"{count:,}", f"episode {episode}" if episode >= 0 else "-", message[:80]],
            "red",
        )
    return section


def harness_floor(report: ProfileReport) -> str:
    """The harness's own cost per episode, for this pipeline's spans per episode."""
    cost = report.harness_cost
    assert cost is not None
    episodes = report.latency_ms.count or 1
    spans = sum(s.count for name, s in report.stages.items() if not name.startswith("(")) / episodes
    return (
        f"Harness cost (calibrated): {cost.floor_us(spans):.1f} µs per episode = "
        f"{cost.bookkeeping_us:.1f} µs bookkeeping + {spans:.1f} spans x {cost.span_ns:.0f} ns"
    )


def footer(report: ProfileReport) -> list[str]:
    lines = []
    if report.output_digest:
        lines.append(f"Output digest: {report.output_digest[:16]} (sequential part)")
    if report.harness_cost is not None:
        lines.append(harness_floor(report))
    lines += [f"warning: {w}" for w in report.warnings]
    return lines


def profile_sections(report: ProfileReport) -> list[Section]:
    """Every table a profile report shows, in reading order (empty ones left out)."""
    parts = [
        latency_section(report),
        stage_section(report),
        load_section(report),
        scaling_section(report),
        replicas_section(report),
        rounds_section(report),
        resources_section(report),
        blocking_section(report),
        metrics_section(report),
        *hotspot_sections(report),
        errors_section(report),
    ]
    return [p for p in parts if p is not None]
