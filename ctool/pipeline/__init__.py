"""The reference consciousness pipeline: ctool's built-in workload (docs/pipeline.md).

``create(seed=0, preset="optimized", **settings)`` builds a :class:`ReferencePipeline` with
``async episode(index)``, ``outputs(result)``, ``metrics()`` and ``close()``. Presets are
``baseline`` (the honest "before"), ``optimized``, and ``resilient`` (optimized plus the
resilience mechanisms of :mod:`ctool.pipeline.resilience`, same outputs without faults);
every optimisation and every resilience mechanism is also its own setting (see
:class:`ctool.pipeline.config.PipelineConfig`). Every hand-off between stages is a
``ctool.fault_point`` (docs/pipeline.md, "Fault points"). Unknown settings and bad values
raise :class:`ctool.model.errors.UsageError`.

Importing this package is cheap: numpy and the components load when ``create`` is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ctool.pipeline.config import PRESETS, PipelineConfig, SettingError, resolve_config

if TYPE_CHECKING:
    from ctool.pipeline.engine import EpisodeResult, ReferencePipeline

__all__ = [
    "PRESETS",
    "EpisodeResult",
    "PipelineConfig",
    "ReferencePipeline",
    "SettingError",
    "create",
]


def create(seed: int = 0, preset: str = "optimized", **settings: Any) -> ReferencePipeline:
    """Build the reference pipeline for ``seed`` with ``preset`` and any overriding settings."""
    config = resolve_config(preset, settings)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise SettingError(f"pipeline seed must be an integer, got {seed!r}")
    from ctool.pipeline.engine import ReferencePipeline

    return ReferencePipeline(config, seed=seed, preset=preset)


def __getattr__(name: str) -> Any:
    if name in ("EpisodeResult", "ReferencePipeline"):
        from ctool.pipeline import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
