"""Targets of the performance plan, with their defaults and where users override them.

Defaults are the plan's numbers. Users set their own in ``[tool.ctool.targets]`` of
./pyproject.toml or in ./ctool.toml (``[targets]`` or ``[tool.ctool.targets]``); a key that
is not a known target, or a value that is not a number, is a usage error.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ctool.model.errors import UsageError

Direction = Literal["max", "min"]
"""``max``: the measured value must stay below the target; ``min``: above it."""


@dataclass(frozen=True)
class Target:
    key: str
    value: float
    direction: Direction
    unit: str
    description: str

    def met_by(self, measured: float) -> bool:
        return measured < self.value if self.direction == "max" else measured > self.value

    def describe(self) -> str:
        sign = "<" if self.direction == "max" else ">"
        if not self.unit and 0 < self.value < 1:
            return f"{sign} {100 * self.value:g} %"
        return f"{sign} {_fmt(self.value)}{(' ' + self.unit) if self.unit else ''}"


def _fmt(value: float) -> str:
    return f"{value:g}"


DEFAULT_TARGETS: dict[str, Target] = {
    t.key: t
    for t in (
        Target("p50_ms", 50.0, "max", "ms", "episode latency p50"),
        Target("p95_ms", 100.0, "max", "ms", "episode latency p95"),
        Target("p99_ms", 200.0, "max", "ms", "episode latency p99"),
        Target("throughput_eps", 20.0, "min", "episodes/s", "sustained throughput"),
        Target("degradation", 2.0, "max", "x", "latency growth / load growth at the knee"),
        Target("blocking_calls", 0.5, "max", "sites", "call sites blocking the event loop"),
        Target("episode_kb", 1024.0, "max", "kB", "memory allocated in flight per episode"),
        Target("handoff_ms", 1.0, "max", "ms", "mean time per episode between stages"),
        Target("burst_drain_s", 10.0, "max", "s", "drain time of a burst"),
        Target("drift_pct", 20.0, "max", "%", "p50 drift first vs last window"),
        Target("scaling_efficiency", 0.7, "min", "", "throughput(N)/(N*throughput(1))"),
        Target("cpu_percent", 70.0, "max", "% of a core", "CPU at normal load"),
        Target("memory_growth_pct", 10.0, "max", "%", "memory growth over the run"),
        Target("pool_saving_pct", 50.0, "min", "%", "object constructions saved by pooling"),
        Target("bytes_per_s", 1_000_000.0, "max", "B/s", "bytes per second between stages"),
        Target("phi_p95_ms", 10.0, "max", "ms", "Φ computation p95"),
        Target("phi_hit_rate", 0.80, "min", "", "Φ cache hit rate"),
        Target("gain_pct", 20.0, "min", "%", "optimized gain over baseline (mean latency)"),
        Target("phi_deviation_pct", 5.0, "max", "%", "Φ optimized vs baseline, worst ignition"),
        Target(
            "coherence_maintained",
            0.80,
            "min",
            "r",
            "mean sustain-phase coherence r of successful ignitions",
        ),  # fmt: skip
    )
}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from None


def find_target_overrides(directory: Path | None = None) -> tuple[dict[str, Any], str | None]:
    """The user's target table and where it came from (ctool.toml wins over pyproject.toml)."""
    base = directory or Path.cwd()
    ctool_toml = base / "ctool.toml"
    if ctool_toml.is_file():
        data = _read_toml(ctool_toml)
        table = data.get("targets") or data.get("tool", {}).get("ctool", {}).get("targets")
        if table is not None:
            return _as_table(table, ctool_toml), str(ctool_toml)
    pyproject = base / "pyproject.toml"
    if pyproject.is_file():
        table = _read_toml(pyproject).get("tool", {}).get("ctool", {}).get("targets")
        if table is not None:
            return _as_table(table, pyproject), str(pyproject)
    return {}, None


def _as_table(table: Any, source: Path) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise UsageError(f"{source}: targets must be a table of key = number")
    return table


def resolve_targets(overrides: Mapping[str, Any], source: str = "targets") -> dict[str, Target]:
    targets = dict(DEFAULT_TARGETS)
    for key, value in overrides.items():
        if key not in targets:
            known = ", ".join(sorted(targets))
            raise UsageError(f"{source}: unknown target {key!r} (known: {known})")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UsageError(f"{source}: target {key!r} must be a number, got {value!r}")
        old = targets[key]
        targets[key] = Target(key, float(value), old.direction, old.unit, old.description)
    return targets
