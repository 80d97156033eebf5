"""What ``ctool history show`` and ``check`` print: a table with a sparkline per series,
its change points and fingerprint; the same as JSON; an HTML trend page.

Rendering only (the series and their change points come from :mod:`ctool.history.series`);
Rich renderables are returned, the CLI owns the console.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ctool.history.series import Series, machine_label
from ctool.model.format import confidence, significant

if TYPE_CHECKING:
    from rich.console import RenderableType

    from ctool.history.changepoints import ChangePoint
    from ctool.history.check import Regression

BARS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 24


def sparkline(values: Sequence[float], width: int = SPARK_WIDTH) -> str:
    """The newest ``width`` values as bars, scaled between their own min and max."""
    tail = list(values)[-width:]
    if not tail:
        return ""
    lo, hi = min(tail), max(tail)
    if hi - lo <= 1e-12 * max(abs(hi), 1.0):
        return BARS[3] * len(tail)
    return "".join(BARS[min(7, int((v - lo) / (hi - lo) * 8))] for v in tail)


def signed_pct(value: float) -> str:
    return f"{100 * value:+.1f}%"


def change_text(series: Series, change: ChangePoint) -> str:
    """``+8.1% [+6.0%, +10.2%] at 1a2b3c4d (p=2e-09)``."""
    _, after = series.commit_range(change)
    worse = series.is_regression(change)
    tag = "" if worse is None else (" slower" if worse else " better")
    return (
        f"{signed_pct(change.change)} [{signed_pct(change.low)}, {signed_pct(change.high)}]"
        f"{tag} at {after[:8]} (p={change.p_value:.1g})"
    )


def table(series: Sequence[Series], alpha: float) -> RenderableType:
    """One row per series, grouped by pipeline, settings and machine."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    parts: list[Any] = []
    groups: dict[tuple[str, str, str], list[Series]] = {}
    for one in series:
        groups.setdefault((one.key.pipeline, one.key.settings_hash, one.key.machine), []).append(
            one
        )
    for (pipeline, settings_hash, machine), rows in groups.items():
        head = rows[0]
        parts.append(Text(f"{pipeline}  settings {settings_hash[:8]}  machine {machine[:8]}"))
        parts.append(Text(f"  machine: {machine_label(head.machine_info)}"))
        grid = Table(box=None, pad_edge=False, show_edge=False)
        for name, justify in (("metric", "left"), ("n", "right"), ("last", "right"),
                              ("trend", "left"), ("change points", "left")):  # fmt: skip
            grid.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
        for one in rows:
            changes = "; ".join(change_text(one, c) for c in one.changes) or "none"
            grid.add_row(
                one.key.metric, str(len(one.points)), significant(one.values[-1]),
                sparkline(one.values), changes,
            )  # fmt: skip
        parts.append(grid)
    if not parts:
        parts.append(Text("no history yet: ctool history add REPORT.json"))
    parts.append(Text(f"change points at p <= {alpha:g}; intervals {confidence(alpha)}"))
    return Group(*parts)


def regression_lines(found: Sequence[Regression]) -> list[str]:
    return [
        f"regression: {r.series.key.metric} {signed_pct(r.change.change)} "
        f"[{signed_pct(r.change.low)}, {signed_pct(r.change.high)}]\n"
        f"  commits {r.commit_range} ({r.series.key.pipeline}, machine "
        f"{r.series.key.machine[:8]})"
        for r in found
    ]


def as_json(series: Sequence[Series], alpha: float) -> dict[str, Any]:
    return {
        "alpha": alpha,
        "series": [
            {
                "pipeline": s.key.pipeline,
                "settings_hash": s.key.settings_hash,
                "settings": s.settings,
                "machine": s.key.machine,
                "machine_info": s.machine_info,
                "metric": s.key.metric,
                "lower_is_better": s.lower_is_better,
                "points": [
                    {
                        "commit": p.commit,
                        "commit_time": p.commit_time,
                        "value": p.value,
                        "low": p.low,
                        "high": p.high,
                        "source": p.source,
                    }
                    for p in s.points
                ],  # fmt: skip
                "changes": [
                    {
                        "index": c.index,
                        "before_commit": s.commit_range(c)[0],
                        "after_commit": s.commit_range(c)[1],
                        "change": c.change,
                        "low": c.low,
                        "high": c.high,
                        "p_value": c.p_value,
                        "before": c.before,
                        "after": c.after,
                    }
                    for c in s.changes
                ],  # fmt: skip
            }
            for s in series
        ],
    }


def _svg(series: Series, commit_url: str) -> str:
    """A trend: points (with intervals where recorded), segment means, change lines."""
    width, height, pad = 760, 220, 40
    values = series.values
    lows = [p.low if p.low is not None else p.value for p in series.points]
    highs = [p.high if p.high is not None else p.value for p in series.points]
    lo, hi = min(lows), max(highs)
    span = hi - lo if hi > lo else max(abs(hi), 1.0) * 0.01
    n = len(values)

    def x(i: float) -> float:
        return pad + (width - 2 * pad) * (i / max(n - 1, 1))

    def y(v: float) -> float:
        return height - pad - (height - 2 * pad) * (v - lo) / span

    out = [f'<svg width="{width}" height="{height}" role="img">']
    out.append(f'<text x="4" y="{pad - 8}" class="axis">{html.escape(significant(hi))}</text>')
    out.append(f'<text x="4" y="{height - pad + 14}" class="axis">{html.escape(significant(lo))}'
               "</text>")  # fmt: skip
    edges = [0, *(c.index for c in series.changes), n]
    for a, b in zip(edges, edges[1:], strict=False):
        mean = sum(values[a:b]) / max(b - a, 1)
        out.append(f'<line x1="{x(a):.1f}" x2="{x(b - 1):.1f}" y1="{y(mean):.1f}" '
                   f'y2="{y(mean):.1f}" class="level"/>')  # fmt: skip
    for change in series.changes:
        cx = x(change.index - 0.5)
        label = html.escape(change_text(series, change))
        out.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{pad / 2}" y2="{height - pad}" '
                   f'class="change"><title>{label}</title></line>')  # fmt: skip
    for i, point in enumerate(series.points):
        px, py = x(i), y(point.value)
        if point.low is not None and point.high is not None:
            out.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{y(point.low):.1f}" '
                       f'y2="{y(point.high):.1f}" class="interval"/>')  # fmt: skip
        href = html.escape(commit_url.format(commit=point.commit), quote=True)
        tip = html.escape(f"{point.commit[:12]} {point.subject} {significant(point.value)}")
        out.append(f'<a href="{href}"><circle cx="{px:.1f}" cy="{py:.1f}" r="3">'
                   f"<title>{tip}</title></circle></a>")  # fmt: skip
    out.append("</svg>")
    return "".join(out)


STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:60em}"
    ".level{stroke:#888;stroke-width:2}.change{stroke:#c00;stroke-dasharray:4 3}"
    ".interval{stroke:#9ab}circle{fill:#246}.axis{font-size:11px;fill:#555}"
    "td,th{padding:2px 8px;text-align:left}"
)


def html_page(series: Sequence[Series], alpha: float, commit_url: str = "#{commit}") -> str:
    """A self-contained page: one trend per series; each point links its commit."""
    body = [f"<h1>ctool history</h1><p>change points at p &le; {alpha:g}, intervals "
            f"{html.escape(confidence(alpha))}; series never cross machines.</p>"]  # fmt: skip
    commits: dict[str, str] = {}
    for one in series:
        body.append(
            f"<h2>{html.escape(one.key.metric)}</h2><p>{html.escape(one.key.pipeline)}, "
            f"settings {one.key.settings_hash[:8]}, machine {one.key.machine[:8]}: "
            f"{html.escape(machine_label(one.machine_info))}</p>"
        )
        body.append(_svg(one, commit_url))
        if one.changes:
            items = "".join(f"<li>{html.escape(change_text(one, c))}</li>" for c in one.changes)
            body.append(f"<ul>{items}</ul>")
        for point in one.points:
            commits.setdefault(point.commit, point.subject)
    if commit_url.startswith("#"):
        rows = "".join(
            f'<tr id="{html.escape(c)}"><td><code>{html.escape(c[:12])}</code></td>'
            f"<td>{html.escape(s)}</td></tr>"
            for c, s in commits.items()
        )
        body.append(f"<h2>Commits</h2><table>{rows}</table>")
    page = "".join(body)
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>ctool history</title>'
        f"<style>{STYLE}</style></head><body>{page}</body></html>"
    )
