"""The result of ``ctool bisect``: every step and the culprit, as a terminal table, markdown
(a pull-request comment) and JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from rich.console import RenderableType

Outcome = Literal["found", "no regression", "inconclusive", "only skipped commits left"]


@dataclass
class Step:
    role: Literal["endpoints", "search"]
    a: str
    """The side measured as A (the newest commit known good)."""
    b: str
    """The side measured as B."""
    verdict: str
    ratio: float | None
    low: float | None
    high: float | None
    rounds: int
    seconds: float
    threshold: float
    conclusion: str = ""
    """What the step decided: ``good`` or ``bad`` for the tested commit."""


@dataclass
class BisectResult:
    good: str
    bad: str
    pipeline: str
    measure: str
    commits: int
    """Commits after ``good`` up to ``bad`` (the candidates)."""
    per_step_alpha: float
    max_steps: int
    confidence: float
    outcome: Outcome = "inconclusive"
    steps: list[Step] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    """Commit -> why (build or import failed)."""
    culprit: str | None = None
    subject: str = ""
    diff_stat: str = ""
    range_good: str = ""
    range_bad: str = ""
    """The narrowest range known: the culprit lies after ``range_good``, up to ``range_bad``."""
    message: str = ""
    seconds: float = 0.0

    @property
    def search_steps(self) -> int:
        return sum(1 for s in self.steps if s.role == "search")

    def to_json(self) -> str:
        return json.dumps({"kind": "bisect", **asdict(self)}, indent=1)


def _ratio(step: Step, sep: str = ", ") -> str:
    if step.ratio is None:
        return "-"
    if step.low is None or step.high is None:
        return f"{step.ratio:.4f}"
    return f"{step.ratio:.3f} [{step.low:.3f}{sep}{step.high:.3f}]"


def headline(result: BisectResult) -> str:
    if result.outcome == "found" and result.culprit:
        return f"culprit: {result.culprit[:12]} {result.subject}"
    return f"{result.outcome}: {result.message}"


def summary_lines(result: BisectResult) -> list[str]:
    return [
        f"bisect {result.good[:12]}..{result.bad[:12]}: {result.commits} commits, "
        f"{result.pipeline}, --measure {result.measure}",
        f"per-step alpha {result.per_step_alpha:.2g}, at most {result.max_steps} ab runs: "
        f"right with probability >= {result.confidence:.0%}",
        f"{len(result.steps)} ab runs ({result.search_steps} after the endpoints), "
        f"{result.seconds:.0f} s",
    ]


def table(result: BisectResult) -> RenderableType:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    grid = Table(box=None, pad_edge=False, padding=(0, 1, 0, 0))  # 80 columns: one space
    for name in ("#", "A good", "B", "verdict", "B/A [interval]", "rnds", "s", "so"):
        grid.add_column(name, overflow="fold")
    for i, step in enumerate(result.steps):
        grid.add_row(
            "E" if step.role == "endpoints" else str(i), step.a[:7], step.b[:7], step.verdict,
            _ratio(step, ","), str(step.rounds), f"{step.seconds:.0f}", step.conclusion,
        )  # fmt: skip
    parts: list[RenderableType] = [Text(line) for line in summary_lines(result)]
    parts.append(grid)
    parts.extend(Text(f"skipped {c[:12]}: {why}") for c, why in result.skipped.items())
    parts.append(Text(headline(result)))
    if result.diff_stat:
        parts.append(Text(result.diff_stat))
    return Group(*parts)


def markdown(result: BisectResult) -> str:
    lines = [f"### ctool bisect: {headline(result)}", ""]
    lines.extend(f"- {line}" for line in summary_lines(result))
    lines += ["", "| step | A (good) | B | verdict | B/A [interval] | rounds | s | so |",
              "|---|---|---|---|---|---:|---:|---|"]  # fmt: skip
    for i, step in enumerate(result.steps):
        label = "endpoints" if step.role == "endpoints" else str(i)
        lines.append(
            f"| {label} | `{step.a[:8]}` | `{step.b[:8]}` | {step.verdict} | {_ratio(step)} "
            f"| {step.rounds} | {step.seconds:.0f} | {step.conclusion} |"
        )
    for commit, why in result.skipped.items():
        lines.append(f"\nSkipped `{commit[:12]}`: {why}")
    if result.diff_stat:
        lines += ["", "```", result.diff_stat, "```"]
    return "\n".join(lines) + "\n"
