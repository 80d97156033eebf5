"""The HTML page of a leakcheck report: memory over episodes, its fits, what grew."""

from __future__ import annotations

from ctool.model.format import significant, size_compact
from ctool.model.schema import LeakcheckReport
from ctool.reports import charts
from ctool.reports.html.cells import MAX_TABLE_ROWS, num_cell, where
from ctool.reports.html.shared import environment_section, latency_section, page_of
from ctool.reports.html.view import Card, Cell, Chart, Page, Section, Table
from ctool.reports.leak_view import verdict_details


def leak_page(report: LeakcheckReport) -> Page:
    sections = [_memory_section(report)]
    if report.sites:
        sections.append(_sites_section(report))
    if report.types:
        sections.append(_types_section(report))
    if report.latency_ms is not None and report.latency_ms.count:
        sections.append(
            latency_section([("leakcheck", report.latency_ms, charts.PRIMARY)], "Episode latency")
        )
    sections.append(environment_section(report))
    return page_of(
        report,
        f"Leak check of {report.config.pipeline}",
        f"{report.episodes:,} episodes · memory sampled every {report.every}",
        _leak_cards(report),
        sections,
    )


def _leak_cards(report: LeakcheckReport) -> list[Card]:
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
        Card("engine", report.engine),
    ]
    if report.duration_s is not None:
        cards.append(Card("duration", f"{report.duration_s:.1f} s"))
    return cards


def _memory_section(report: LeakcheckReport) -> Section:
    t, r = report.traced, report.rss
    mem = Section("memory", "Memory over episodes")
    mem.intro = " · ".join([report.reason, *verdict_details(report)])
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
    return mem


def _sites_section(report: LeakcheckReport) -> Section:
    rows = [
        [
            where(s.file, s.line, "\n".join(s.traceback) or None),
            Cell(s.function or "–", "mono"),
            Cell(s.stage or "–", "mono"),
            Cell(size_compact(s.size_diff_bytes), "num", sort=s.size_diff_bytes),
            num_cell(s.count_diff),
            Cell(size_compact(s.bytes_per_episode), "num", sort=s.bytes_per_episode),
        ]
        for s in report.sites[:MAX_TABLE_ROWS]
    ]
    cols = ["where", "function", "stage", "grew by", "objects", "per episode"]
    table = Table(cols, rows, numeric=[False, False, False, True, True, True])
    return Section("sites", "Growing allocation sites", tables=[table])


def _types_section(report: LeakcheckReport) -> Section:
    rows = [
        [Cell(ty.type, "mono")]
        + [num_cell(ty.start), num_cell(ty.end), num_cell(ty.growth)]
        + [num_cell(ty.per_episode)]
        + [
            Cell("–" if ty.steady is None else "yes" if ty.steady else "no"),
            Cell(ty.site or "–", "mono"),
        ]
        for ty in report.types[:MAX_TABLE_ROWS]
    ]
    cols = ["type", "at start", "at end", "growth", "per episode", "steady", "made at"]
    table = Table(cols, rows, numeric=[False] + [True] * 4 + [False, False])
    return Section("types", "Growing object types", tables=[table])
