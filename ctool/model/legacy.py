"""Reading reports written before pipelines declared their metrics (schema v1, ctool <= 0.1).

Such a report has no ``declared_metrics``. Schema v1 read one group of every pipeline's
``pipeline_metrics`` itself -- ``phi``, the reference pipeline's Φ figures (``PhiMetrics``,
``ProfileReport.phi``) -- and compared it as the rows ``phi.p50``, ``phi.p95`` and
``phi.hit_rate``. This module is that reading, kept so that old reports load, render and
compare as declared metrics like any other; nothing else in the generic layers names the
group. New reports carry their pipeline's own declarations.

v1 also let compare's behaviour check ignore a hand-kept list of the reference pipeline's
settings; a v1 report's neutral settings are read here as those its pipeline published in
its metrics' ``settings`` group (the reference pipeline published its preset switches).
"""

from __future__ import annotations

from typing import Any

from ctool.model.declared import DeclaredMetric, number_at

V1_GROUP = "phi"
"""The ``pipeline_metrics`` group schema v1 read."""
_V1: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("p50_ms", "Φ time p50", {"kind": "distribution", "unit": "ms"}),
    ("p95_ms", "Φ time p95", {"kind": "distribution", "unit": "ms"}),
    ("hit_rate", "Φ cache hit rate", {"kind": "ratio", "higher_is_better": True}),
)
V1_ROW_LABELS: dict[str, str] = {
    "phi.p50": "Φ time p50",
    "phi.p95": "Φ time p95",
    "phi.hit_rate": "Φ cache hit rate",
}
"""Labels of the rows that v1 compare reports hold (``MetricComparison.metric``)."""


def v1_declarations(pipeline_metrics: Any) -> list[DeclaredMetric]:
    """The declarations a v1 report implied: the figures of its ``phi`` group it has."""
    declared = []
    for key, label, fields in _V1:
        name = f"{V1_GROUP}.{key}"
        value = number_at(pipeline_metrics, name)
        if value is not None:
            declared.append(DeclaredMetric(name=name, label=label, value=value, **fields))
    return declared


def v1_neutral_settings(pipeline_metrics: Any) -> list[str]:
    """The settings a v1 report's pipeline published in its metrics' ``settings`` group."""
    group = pipeline_metrics.get("settings") if isinstance(pipeline_metrics, dict) else None
    return [str(name) for name in group] if isinstance(group, dict) else []
