"""Per-window values from a part's checkpoints: CPU time per episode and declared metrics.

A sequential part reads cumulative figures at its batch edges
(:class:`~ctool.model.records.Checkpoint`: ok episodes so far, process CPU time, the
declared metrics' values). A window of ok episodes ``lo:hi`` is measured between the last
checkpoint at or before ``lo`` and the first at or after ``hi`` -- exactly its edges when the
run went as planned (the checkpoints were taken at the planned batch edges); a per-episode
figure is divided by the episodes between the two checkpoints, whatever they are.
What a window makes of each kind of declared metric is in ``ctool.model.declared``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ctool.model.declared import CPU_KEY, DeclaredMetric
from ctool.model.records import Checkpoint


def bracket(marks: Sequence[Checkpoint], lo: int, hi: int) -> tuple[Checkpoint, Checkpoint] | None:
    """The checkpoints around ok episodes ``lo:hi`` (``None``: no such pair)."""
    before = [m for m in marks if m.ok <= lo]
    after = [m for m in marks if m.ok >= hi]
    if not before or not after:
        return None
    first, last = before[-1], after[0]
    return (first, last) if last.ok > first.ok else None


def declared_value(spec: DeclaredMetric, first: Checkpoint, last: Checkpoint) -> float | None:
    """One declared metric's value over the episodes between two checkpoints."""
    episodes = last.ok - first.ok
    if spec.kind == "counter":
        a, b = first.values.get(spec.name), last.values.get(spec.name)
        return None if a is None or b is None or episodes <= 0 else (b - a) / episodes
    if spec.kind == "ratio" and spec.numerator and spec.denominator:
        n0, n1 = first.values.get(spec.numerator), last.values.get(spec.numerator)
        d0, d1 = first.values.get(spec.denominator), last.values.get(spec.denominator)
        if None in (n0, n1, d0, d1):
            return None
        assert n0 is not None and n1 is not None and d0 is not None and d1 is not None
        return (n1 - n0) / (d1 - d0) if d1 > d0 else None
    return last.values.get(spec.name)


def window_values(
    marks: Sequence[Checkpoint], declared: Sequence[DeclaredMetric], lo: int, hi: int
) -> dict[str, float]:
    """CPU ms per episode and each declared metric over ok episodes ``lo:hi``."""
    pair = bracket(marks, lo, hi)
    if pair is None:
        return {}
    first, last = pair
    values = {CPU_KEY: (last.cpu_ns - first.cpu_ns) / 1e6 / (last.ok - first.ok)}
    for spec in declared:
        value = declared_value(spec, first, last)
        if value is not None:
            values[spec.name] = value
    return values


def run_figures(
    declared: Sequence[DeclaredMetric],
    published: dict[str, float],
    marks: Sequence[Checkpoint],
) -> list[DeclaredMetric]:
    """The declarations with the run's figure: a counter's increase per episode over the
    part's checkpoints; otherwise the value ``metrics()`` published at the end."""
    out = []
    whole = (marks[0], marks[-1]) if len(marks) >= 2 and marks[-1].ok > marks[0].ok else None
    for spec in declared:
        if spec.kind == "counter":
            value = declared_value(spec, *whole) if whole is not None else None
        else:
            value = published.get(spec.name)
        out.append(spec.model_copy(update={"value": value}))
    return out
