"""The parts every report shares: the version, the base model, environment, run config,
latency summaries and errors (docs/design.md section 8; ``ctool.model.schema`` is the one
place to import any of it from).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ctool.model.version import __version__

SCHEMA_VERSION = 1


def now_iso() -> str:
    """A report's creation time: UTC, ISO 8601, to the second."""
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")


ReportKind = Literal["profile", "leakcheck", "suite", "compare", "chaos"]


class Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Environment(Model):
    python: str
    implementation: str
    platform: str
    cpu_model: str
    cpu_count: int
    hostname: str


class RunConfigModel(Model):
    """What was asked for. ``settings`` holds ``--set`` values (and the preset's resolution)."""

    pipeline: str
    preset: str | None = None
    seed: int | None = None
    episodes: int | None = None
    warmup: int = 0
    concurrency: list[int] | None = None
    rate: float | None = None
    duration_s: float | None = None
    burst: int | None = None
    workers: int = 1
    rounds: int = 1
    profilers: list[str] = Field(default_factory=list)
    settings: dict[str, Any] = Field(default_factory=dict)
    command: str | None = None
    block_threshold_ms: float | None = None
    """Event-loop stalls at least this long are attributed to a call site (0: watchdog off)."""
    executor: str | None = None
    """Where the replicas ran: ``local`` or ``dask`` (``None`` in older reports: local)."""
    scheduler: str | None = None
    """``--executor dask --scheduler``: the cluster's scheduler address."""


class Samples(Model):
    """Raw values, lossless; see ``ctool.model.samples`` for the encoding."""

    encoding: str
    count: int = Field(ge=0)
    data: str

    @field_validator("data")
    @classmethod
    def _holds_its_count(cls, value: str, info: Any) -> str:
        """The block is checked whole on load (docs/promises.md): its encoding, base64, zlib
        and exactly ``count`` values; a bad block is an error, not "no raw samples"."""
        from ctool.model.samples import check_block

        count, encoding = info.data.get("count"), info.data.get("encoding")
        if isinstance(count, int) and isinstance(encoding, str):
            check_block(encoding, value, count)
        return value


class LatencySummary(Model):
    count: int = Field(ge=0)
    mean: float
    stdev: float
    min: float
    p50: float
    p90: float
    p95: float
    p99: float
    p999: float
    max: float
    samples: Samples | None = None

    @field_validator("mean", "stdev", "min", "p50", "p90", "p95", "p99", "p999", "max")
    @classmethod
    def _finite_non_negative(cls, value: float) -> float:
        if not math.isfinite(value) or value < 0:
            raise ValueError("latencies must be finite and non-negative")
        return value


class ErrorSample(Model):
    episode: int
    type: str
    message: str
    stack: str = ""


class ErrorSummary(Model):
    count: int = 0
    rate: float = 0.0
    samples: list[ErrorSample] = Field(default_factory=list)
    by_type: dict[str, int] = Field(default_factory=dict)


class Report(Model):
    schema_version: int = SCHEMA_VERSION
    kind: ReportKind
    ctool_version: str = __version__
    created_at: str
    complete: bool = True
    environment: Environment
    config: RunConfigModel
