"""A leakcheck report as markdown: the verdict, the trends, the sites that grew, the types.

The same rows as the terminal view (:mod:`ctool.reports.leak_view`), as GitHub tables.
"""

from __future__ import annotations

from collections.abc import Sequence

from ctool.model.format import short_path, size
from ctool.model.schema import LeakcheckReport
from ctool.reports.leak_view import (
    TYPE_HEADERS,
    trend_headers,
    trend_row,
    type_row,
    verdict_details,
)
from ctool.reports.registry import renderer


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: int) -> list[str]:
    """A markdown table whose first ``right`` columns (after the first) align right."""
    align = [":---"] + ["---:" if i < right else ":---" for i in range(len(headers) - 1)]
    lines = ["| " + " | ".join(_cell(h) for h in headers) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines + [""]


@renderer("leakcheck", "markdown")
def leakcheck_markdown(report: LeakcheckReport) -> str:
    config = report.config
    preset = f", preset {config.preset}" if config.preset else ""
    state = "" if report.complete else " (incomplete run)"
    lines = [
        f"# ctool leakcheck: {config.pipeline}{preset}",
        "",
        f"**Verdict: {report.verdict}**{state}. {report.reason}",
        "",
        *[f"- {line}" for line in verdict_details(report)],
        "",
        f"{report.episodes} measured episodes after {report.warmup} warm-up, memory sampled "
        f"every {report.every}; threshold {report.threshold_bytes_per_episode:g} B/episode, "
        f"growth floor {report.growth_floor_pct:g}% of RSS.",
        "",
        "## Trend: Theil-Sen slope, bytes per episode",
        "",
    ]
    trends = [trend_row("traced", report.traced, report.traced_late)]
    trends.append(trend_row("RSS", report.rss, report.rss_late))
    lines += _table(trend_headers(report), trends, right=5)
    lines += ["## Top growing allocation sites", ""]
    if report.sites:
        rows = [
            [
                short_path(site.file) + f":{site.line}",
                site.function or "-",
                site.stage or "-",
                f"{site.bytes_per_episode:,.1f}",
                size(site.size_diff_bytes, signed=True),
            ]
            for site in report.sites
        ]
        headers = ("site", "function", "stage", "B/episode", "grew")
        lines += _table(headers, rows, right=0)
    else:
        lines += ["No allocation site grew over the measured episodes.", ""]
    lines += ["## Object types whose count grew", ""]
    if report.types:
        lines += _table(TYPE_HEADERS, [type_row(row) for row in report.types], right=4)
    else:
        lines += ["No object type grew in number.", ""]
    if report.errors.count:
        lines += [f"{report.errors.count} episodes raised errors.", ""]
    return "\n".join(lines)
