"""The suite report (docs/design.md section 8)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ctool.model.base import Model, Report


class ScenarioResult(Model):
    id: int
    name: str
    title: str
    status: Literal["pass", "fail", "skipped", "error"]
    measured: Any = None
    target: Any = None
    unit: str | None = None
    detail: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    duration_s: float | None = None


class SuiteReport(Report):
    kind: Literal["suite"] = "suite"
    quick: bool = False
    scenarios: list[ScenarioResult] = Field(default_factory=list)
    targets: dict[str, float] = Field(default_factory=dict)
    passed: int = 0
    failed: int = 0
    skipped: int = 0
