"""Pipeline-declared metrics: what a pipeline says about its own figures (docs/metrics.md).

A pipeline declares each metric once through an optional ``metric_specs()`` hook: a sequence
of mappings (or objects with these attributes), read by :func:`read_declarations`::

    {"name": "cache.hit_rate", "kind": "ratio", "higher_is_better": True,
     "numerator": "cache.hits", "denominator": "cache.lookups", "label": "cache hit rate"}

``name`` is the dotted path of the value in ``metrics()`` (``{"cache": {"hit_rate": 0.9}}``
-> ``cache.hit_rate``). Every layer (compare, the Prometheus exporter, the renderers, the
pytest plugin) treats a declared metric by its declaration alone, never by its name.

Kinds, and what one batch of episodes (or one round) makes of the cumulative figures that
``metrics()`` returns (read at the batch's edges, ``PartRecords.checkpoints``):

* ``counter`` -- a count that only grows (cache hits): its increase over the batch, per
  episode. The row's unit is ``UNIT/episode``.
* ``ratio`` -- a fraction (a hit rate): with ``numerator`` and ``denominator`` (two
  counters) the batch's own ratio, their increases divided; without them the figure read at
  the batch's end.
* ``gauge`` -- a level (a queue length): the figure read at the batch's end.
* ``distribution`` -- a figure of a distribution the pipeline summarises itself (a p95 in
  ms): the figure read at the batch's end. A pipeline that summarises over more than a
  batch's observations makes neighbouring batches alike (docs/metrics.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError

from ctool.model.base import Model
from ctool.model.errors import UsageError

MetricKind = Literal["distribution", "counter", "ratio", "gauge"]
KINDS: tuple[str, ...] = ("distribution", "counter", "ratio", "gauge")
ROW_PREFIX = "pipeline."
"""Compare rows of declared metrics are named ``pipeline.<name>``."""
CPU_KEY = "cpu.ms_per_episode"
"""The per-window key of process CPU time per episode (``WindowStats.metrics``)."""
TIME_UNITS = ("ns", "us", "µs", "ms", "s")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class DeclaredMetric(Model):
    """One metric a pipeline declared (``metric_specs()``), as the report keeps it."""

    name: str
    """Dotted path of the value in ``metrics()``, e.g. ``cache.hit_rate``."""
    kind: MetricKind
    unit: str | None = None
    """The unit of the value as published (``ms``, ``items``); ``None``: a plain number."""
    higher_is_better: bool = False
    label: str | None = None
    """How renderers name it (``cache hit rate``); default: the name."""
    numerator: str | None = None
    """A ratio's numerator counter (dotted path in ``metrics()``)."""
    denominator: str | None = None
    """A ratio's denominator counter."""
    value: float | None = None
    """The run's figure: a counter's increase per measured episode, otherwise the value
    ``metrics()`` published at the end of the run (``None``: not published)."""

    @property
    def row(self) -> str:
        """The compare row's name (``pipeline.cache.hit_rate``)."""
        return ROW_PREFIX + self.name

    @property
    def title(self) -> str:
        return self.label or self.name

    @property
    def row_unit(self) -> str | None:
        """The unit of the compare row: a counter's is per episode."""
        if self.kind == "counter":
            return f"{self.unit}/episode" if self.unit else "per episode"
        return self.unit

    @property
    def timing(self) -> bool:
        """A duration: compare words its change faster / slower."""
        return self.unit in TIME_UNITS

    @property
    def noisy(self) -> bool:
        """Counters and ratios of a deterministic pipeline repeat exactly; the others vary."""
        return self.kind in ("distribution", "gauge")


class _Declaration(Model):
    """The validated form of one entry of ``metric_specs()`` (unknown keys are refused)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    kind: MetricKind
    unit: str | None = None
    higher_is_better: bool = False
    label: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    help: str | None = Field(default=None, exclude=True)


def _as_mapping(entry: Any) -> dict[str, Any]:
    if isinstance(entry, Mapping):
        return dict(entry)
    fields = ("name", "kind", "unit", "higher_is_better", "label", "numerator", "denominator")
    found = {f: getattr(entry, f) for f in fields if hasattr(entry, f)}
    if "name" not in found:
        raise UsageError(
            f"metric_specs(): each entry needs a name and a kind, got {type(entry).__name__}"
        )
    return found


def read_declarations(raw: Any) -> list[DeclaredMetric]:
    """The pipeline's ``metric_specs()`` result, checked; a bad entry is a usage error."""
    if raw is None:
        return []
    if isinstance(raw, Mapping | str | bytes) or not isinstance(raw, Iterable):
        raise UsageError("metric_specs() must return a list of metric declarations")
    declared: list[DeclaredMetric] = []
    for entry in raw:
        data = _as_mapping(entry)
        try:
            spec = _Declaration.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err.get("loc", ())) or "entry"
            raise UsageError(
                f"metric_specs(): {data.get('name', '?')!r}: {where}: {err.get('msg')}"
            ) from None
        for path in (spec.name, spec.numerator, spec.denominator):
            if path is not None and not _NAME.match(path):
                raise UsageError(f"metric_specs(): {path!r} is not a dotted name (a.b_c)")
        if (spec.numerator is None) != (spec.denominator is None):
            raise UsageError(f"metric_specs(): {spec.name!r} needs both numerator and denominator")
        if spec.numerator is not None and spec.kind != "ratio":
            raise UsageError(f"metric_specs(): {spec.name!r}: numerator is for a ratio only")
        if any(d.name == spec.name for d in declared):
            raise UsageError(f"metric_specs(): {spec.name!r} is declared twice")
        declared.append(DeclaredMetric(**spec.model_dump(exclude={"help"})))
    return declared


def number_at(metrics: Any, path: str) -> float | None:
    """The finite number at a dotted path of a nested mapping, else ``None``."""
    value = metrics
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def paths_read(declared: Iterable[DeclaredMetric]) -> list[str]:
    """Every path a declaration reads at a checkpoint (its value, numerator, denominator)."""
    paths: list[str] = []
    for spec in declared:
        for path in (spec.name, spec.numerator, spec.denominator):
            if path is not None and path not in paths:
                paths.append(path)
    return paths
