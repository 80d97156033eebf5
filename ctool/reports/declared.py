"""The declared metrics' rows, the same in every format (terminal, markdown, HTML).

Every declared metric (``ctool.model.declared``) is shown by its declaration alone: its
label, its kind, the run's figure in its unit (a counter's per episode, a ratio as a
percent) and which way is better. No metric is named here.
"""

from __future__ import annotations

from ctool.model.declared import DeclaredMetric
from ctool.model.format import DASH, ms, pct

DECLARED_COLUMNS: tuple[str, ...] = ("metric", "kind", "value", "better")
DECLARED_NOTE = (
    "Declared by the pipeline (metric_specs()); compare judges each as declared. "
    "A counter's value is its increase per measured episode."
)


def value_text(spec: DeclaredMetric) -> str:
    """The run's figure with its unit: ``0.330 ms``, ``48.3%``, ``1.5 items/episode``."""
    value = spec.value
    if value is None:
        return DASH
    if spec.kind == "ratio" and spec.unit is None:
        return pct(value)
    unit = spec.row_unit
    text = ms(value) if spec.unit == "ms" else f"{value:,.4g}"
    return f"{text} {unit}" if unit else text


def declared_cells(spec: DeclaredMetric) -> list[str]:
    """One row: label, kind, value, ``higher`` / ``lower``."""
    return [spec.title, spec.kind, value_text(spec), "higher" if spec.higher_is_better else "lower"]
