"""A history record: one report, where and on what it was measured, and its metrics.

A record carries what a series needs to mean something (docs/history.md): the commit (with
its parent, branch, commit time and dirty flag), the **machine fingerprint** (CPU model,
cores, memory, OS, Python version and implementation: series never cross it), the
**package-environment hash** (every installed distribution and its version), the ctool
version, the pipeline and a hash of the settings that change what is measured, the metrics,
and the report's compact latency samples or a reference to its file.

Metrics are read by name, never by pipeline: ``latency.p50`` and friends, ``throughput``,
``errors.rate``, ``stage.NAME.p50_ms``, and every numeric leaf of the report's
``pipeline_metrics`` as ``pipeline.PATH``. A declared metric (a mapping with a ``value``,
and optionally ``unit`` and ``better``: ``lower`` or ``higher``) is read as such. An ``ab``
report gives each compared metric's ratio B/A (``ab.METRIC.ratio``) with its interval.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ctool.history.gitinfo import CommitInfo

if TYPE_CHECKING:
    from ctool.model.schema import CompareReport, Environment, ProfileReport, Report

SETTINGS_FIELDS = ("preset", "seed", "concurrency", "rate", "duration_s", "burst", "workers")
"""The run-config fields that change what a metric means (episode and round counts only
change its precision, so they stay out of the settings hash)."""


@dataclass(frozen=True)
class Metric:
    name: str
    value: float
    low: float | None = None
    high: float | None = None
    unit: str = ""
    lower_is_better: bool | None = None
    """``None``: the direction is not known (a pipeline metric that does not declare it)."""


@dataclass
class HistoryRecord:
    commit: CommitInfo
    machine: str
    """The fingerprint's hash (16 hex digits); ``machine_info`` holds what went into it."""
    machine_info: dict[str, Any]
    env_hash: str
    ctool_version: str
    pipeline: str
    settings_hash: str
    settings: dict[str, Any]
    kind: str
    created_at: str
    metrics: list[Metric] = field(default_factory=list)
    source: str = ""
    """Where it came from: ``profile``, ``ab``, ``bisect`` or ``add``."""
    samples: str | None = None
    """The report's compact latency samples (``model.samples`` JSON), if it had them."""
    report_ref: str | None = None
    """The report file's absolute path, when the record was made from a file."""


def short_hash(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def total_memory_bytes() -> int | None:
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except Exception:  # noqa: BLE001  # a fingerprint without memory beats no record
        return None


def os_name() -> str:
    """The OS and its release (``/etc/os-release``), not the kernel build."""
    try:
        text = Path("/etc/os-release").read_text(encoding="utf-8")
    except OSError:
        return platform.system()
    fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    name = fields.get("ID", "").strip('"')
    version = fields.get("VERSION_ID", "").strip('"')
    return f"{platform.system()} {name} {version}".strip()


def machine_fingerprint(env: Environment, memory_bytes: int | None) -> dict[str, Any]:
    """CPU model, cores, memory (GiB), OS, Python version and implementation."""
    extra = env.model_extra or {}
    memory = extra.get("memory_bytes", memory_bytes)
    return {
        "cpu_model": env.cpu_model,
        "cores": env.cpu_count,
        "memory_gib": None if memory is None else round(int(memory) / 2**30),
        "os": extra.get("os") or os_name(),
        "python": env.python,
        "implementation": env.implementation,
    }


def package_environment_hash() -> str:
    """Every installed distribution with its version, hashed (this interpreter's)."""
    from importlib import metadata

    names = sorted(
        f"{(d.metadata['Name'] or '').lower()}=={d.version}" for d in metadata.distributions()
    )
    return short_hash(names)


def settings_of(report: Report) -> dict[str, Any]:
    config = report.config
    if report.kind == "compare":
        settings = config.settings
        return {"a": settings.get("a"), "b": settings.get("b"), "measure": _measure(report)}
    chosen = {name: getattr(config, name) for name in SETTINGS_FIELDS}
    chosen["settings"] = config.settings
    return chosen


def _measure(report: Report) -> str:
    return str(getattr(report, "measure", "wall"))


def _flatten(prefix: str, value: Any) -> Iterator[Metric]:
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        if value == value and abs(value) != float("inf"):
            yield Metric(prefix, float(value))
        return
    if not isinstance(value, Mapping):
        return
    declared = value.get("value")
    if isinstance(declared, int | float) and not isinstance(declared, bool):
        better = value.get("better", value.get("direction"))
        lower = {"lower": True, "higher": False}.get(str(better).lower())
        if isinstance(value.get("lower_is_better"), bool):
            lower = value["lower_is_better"]
        yield Metric(prefix, float(declared), unit=str(value.get("unit") or ""),
                     lower_is_better=lower)  # fmt: skip
        return
    for key, item in value.items():
        yield from _flatten(f"{prefix}.{key}", item)


def profile_metrics(report: ProfileReport) -> list[Metric]:
    latency = report.latency_ms
    rows = [
        Metric(f"latency.{name}", getattr(latency, name), unit="ms", lower_is_better=True)
        for name in ("p50", "p90", "p95", "p99", "mean")
    ]
    rows.append(Metric("throughput", report.throughput_eps, unit="eps", lower_is_better=False))
    rows.append(Metric("errors.rate", report.errors.rate, lower_is_better=True))
    for name, stage in report.stages.items():
        rows.append(Metric(f"stage.{name}.p50_ms", stage.p50_ms, unit="ms", lower_is_better=True))
    rows.extend(_flatten("pipeline", report.pipeline_metrics))
    return rows


def compare_metrics(report: CompareReport) -> list[Metric]:
    rows = []
    for row in report.metrics:
        if row.ratio is None:
            continue
        rows.append(
            Metric(
                f"ab.{row.metric}.ratio", row.ratio, row.ci_low, row.ci_high,
                unit="x", lower_is_better=row.lower_is_better,
            )
        )  # fmt: skip
    return rows


def metrics_of(report: Report) -> list[Metric]:
    from ctool.model.schema import CompareReport, ProfileReport

    if isinstance(report, ProfileReport):
        return profile_metrics(report)
    if isinstance(report, CompareReport):
        return compare_metrics(report)
    return []


def samples_of(report: Report) -> str | None:
    samples = getattr(getattr(report, "latency_ms", None), "samples", None)
    return None if samples is None else json.dumps(samples.model_dump(), separators=(",", ":"))


def record_from_report(
    report: Report,
    commit: CommitInfo,
    *,
    source: str,
    report_ref: str | None = None,
    keep_samples: bool = True,
) -> HistoryRecord:
    """The record of ``report`` measured at ``commit`` (on this machine's environment)."""
    fingerprint = machine_fingerprint(report.environment, total_memory_bytes())
    settings = settings_of(report)
    return HistoryRecord(
        commit=commit,
        machine=short_hash(fingerprint),
        machine_info=fingerprint,
        env_hash=package_environment_hash(),
        ctool_version=report.ctool_version,
        pipeline=report.config.pipeline,
        settings_hash=short_hash(settings),
        settings=settings,
        kind=report.kind,
        created_at=report.created_at,
        metrics=metrics_of(report),
        source=source,
        samples=samples_of(report) if keep_samples else None,
        report_ref=report_ref,
    )
