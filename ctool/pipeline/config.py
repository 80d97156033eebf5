"""All parameters of the reference pipeline in one typed, frozen, validated dataclass.

The defaults are those of docs/pipeline.md ("Settings and presets"); the five optimisation
settings default to the ``optimized`` preset. :func:`resolve_config` applies a preset and
then the user's settings (every field below can be set by name, e.g. ``--set nodes=48`` or
``--set phi=loop``) and raises :class:`SettingError` (a ``ValueError``) with one line for an
unknown name or a bad value.

This module imports nothing heavy: the CLI may validate settings before building anything.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal


class SettingError(ValueError):
    """A bad setting, preset or seed. The harness shows a factory's ``ValueError`` as a
    one-line usage error (exit 2): the pipeline itself knows nothing of ctool's errors."""


KuramotoImpl = Literal["python", "numpy"]
PhiImpl = Literal["loop", "vectorized"]
ProbeMode = Literal["inline", "offloop"]
Aggregation = Literal["mean", "median", "trimmed"]


def _choices(*options: str) -> dict[str, Any]:
    return {"choices": options}


def _bounds(lo: float, hi: float) -> dict[str, Any]:
    return {"lo": lo, "hi": hi}


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """Settings of the reference pipeline.

    Optimisation settings (each switched alone by ``--set name=value``; ``baseline`` and
    ``optimized`` differ in these five only):

    * ``kuramoto``: ``"python"`` (pure-Python double loop per Euler step) or ``"numpy"``
      (complex order parameter, one matrix-vector product per step).
    * ``phi``: ``"loop"`` (one Python iteration per bipartition, small matrix inverses) or
      ``"vectorized"`` (all subsets' conditional entropies in two batched ``slogdet`` calls).
    * ``phi_cache``: keep Φ in an LRU cache keyed by the coalition's node set (the weights
      are static, so the key determines the value).
    * ``health_probe``: ``"inline"`` calls ``psutil`` with ``probe_interval_ms`` on the event
      loop every episode (it blocks the loop for that long, like such probes in the wild);
      ``"offloop"`` samples the same probe in a daemon thread and the episode reads the
      latest sample. The probe is telemetry only: it never changes an output.
    * ``pooling``: reuse ESGT event objects and broadcast message buffers from pools instead
      of allocating fresh ones every episode.

    Resilience settings (each switched alone; the ``resilient`` preset is ``optimized`` with
    all of them on; ``ctool.pipeline.resilience`` and docs/pipeline.md, "Resilience"):

    * ``stage_timeout_ms``: a hand-off between stages that has not delivered within this
      wall time (retries included) raises ``StageTimeout``; a slower Φ counts as a breaker
      failure. 0: no timeout.
    * ``handoff_retries`` and ``retry_backoff_ms``: a transient error (``ConnectionError``,
      ``TimeoutError``) at a hand-off is retried up to this many times, waiting
      ``retry_backoff_ms`` doubled each time. 0: no retry.
    * ``phi_breaker`` (with ``phi_breaker_failures``, ``phi_breaker_reset_ms``): a circuit
      breaker around Φ that falls back to the cached value.
    * ``esgt_aggregation``: how ESGT combines its node reports: ``mean``, or ``median`` /
      ``trimmed`` (25 % trimmed mean) of the finite ones.
    * ``max_in_flight``: at most this many episodes inside the pipeline at once; the others
      wait (backpressure). 0: unbounded.

    Test knobs:

    * ``leak_bytes``: when > 0, the MEA stage keeps ``leak_bytes`` bytes alive per episode
      (a ``bytearray`` appended to a list the MEA component holds), a deliberate leak for
      ``ctool leakcheck`` to find and attribute to the ``MEA`` stage. Default 0: no leak.
    * ``probe_interval_ms``: the psutil sampling interval (default 10 ms). The inline probe
      blocks every episode for this long; tests lower it to keep the baseline affordable.

    The remaining fields are the model parameters of docs/pipeline.md.
    """

    # --- optimisation settings (set by the presets) ---
    kuramoto: KuramotoImpl = field(default="numpy", metadata=_choices("python", "numpy"))
    phi: PhiImpl = field(default="vectorized", metadata=_choices("loop", "vectorized"))
    phi_cache: bool = True
    health_probe: ProbeMode = field(default="offloop", metadata=_choices("inline", "offloop"))
    pooling: bool = True
    # --- resilience settings (set by the resilient preset) ---
    stage_timeout_ms: float = field(default=0.0, metadata=_bounds(0.0, 1e6))
    handoff_retries: int = field(default=0, metadata=_bounds(0, 100))
    retry_backoff_ms: float = field(default=1.0, metadata=_bounds(0.0, 1e5))
    phi_breaker: bool = False
    phi_breaker_failures: int = field(default=3, metadata=_bounds(1, 1_000_000))
    phi_breaker_reset_ms: float = field(default=1000.0, metadata=_bounds(0.0, 1e7))
    esgt_aggregation: Aggregation = field(
        default="mean", metadata=_choices("mean", "median", "trimmed")
    )
    max_in_flight: int = field(default=0, metadata=_bounds(0, 1_000_000))
    # --- knobs ---
    leak_bytes: int = field(default=0, metadata=_bounds(0, 1 << 30))
    probe_interval_ms: float = field(default=10.0, metadata=_bounds(0.0, 10_000.0))
    phi_cache_size: int = field(default=256, metadata=_bounds(1, 1 << 20))
    # --- simulated time ---
    episode_ms: float = field(default=50.0, metadata=_bounds(1.0, 10_000.0))
    # --- stimulus stream ---
    vocabulary: int = field(default=64, metadata=_bounds(1, 1 << 20))
    zipf_exponent: float = field(default=1.1, metadata=_bounds(0.0, 10.0))
    inputs_per_target: int = field(default=4, metadata=_bounds(1, 64))
    # --- TIG fabric ---
    nodes: int = field(default=32, metadata=_bounds(8, 2048))
    ba_m: int = field(default=3, metadata=_bounds(1, 64))
    closure_probability: float = field(default=0.5, metadata=_bounds(0.0, 1.0))
    weight_min: float = field(default=0.5, metadata=_bounds(0.0, 10.0))
    weight_max: float = field(default=1.0, metadata=_bounds(0.0, 10.0))
    propagation_hops: int = field(default=4, metadata=_bounds(1, 64))
    propagation_gain: float = field(default=0.9, metadata=_bounds(0.0, 10.0))
    broadcast_hops: int = field(default=4, metadata=_bounds(1, 64))
    # --- MMEI ---
    needs_window: int = field(default=20, metadata=_bounds(1, 10_000))
    curiosity_tau_s: float = field(default=1.0, metadata=_bounds(0.001, 1e6))
    # --- MCEA ---
    arousal_baseline: float = field(default=0.6, metadata=_bounds(0.0, 1.0))
    arousal_rise_per_s: float = field(default=0.05, metadata=_bounds(0.0, 100.0))
    arousal_fall_per_s: float = field(default=0.02, metadata=_bounds(0.0, 100.0))
    refractory_drop: float = field(default=0.1, metadata=_bounds(0.0, 1.0))
    refractory_recovery_ms: float = field(default=500.0, metadata=_bounds(1.0, 1e6))
    phi_arousal_gain: float = field(default=0.05, metadata=_bounds(0.0, 1.0))
    # --- ESGT ---
    refractory_ms: float = field(default=200.0, metadata=_bounds(0.0, 1e6))
    min_arousal: float = field(default=0.4, metadata=_bounds(0.0, 1.0))
    coalition_core: int = field(default=3, metadata=_bounds(1, 64))
    coalition_min: int = field(default=8, metadata=_bounds(2, 2048))
    coalition_max: int = field(default=24, metadata=_bounds(2, 2048))
    kuramoto_coupling: float = field(default=100.0, metadata=_bounds(0.0, 1e6))
    frequency_hz: float = field(default=40.0, metadata=_bounds(0.0, 1e4))
    frequency_spread_hz: float = field(default=2.0, metadata=_bounds(0.0, 1e4))
    dt_ms: float = field(default=0.5, metadata=_bounds(1e-6, 100.0))
    sync_threshold: float = field(default=0.70, metadata=_bounds(0.0, 1.0))
    sync_hold_steps: int = field(default=10, metadata=_bounds(1, 1_000_000))
    sync_max_steps: int = field(default=600, metadata=_bounds(1, 1_000_000))
    sustain_steps: int = field(default=100, metadata=_bounds(1, 1_000_000))
    sustain_coupling_gain: float = field(default=1.5, metadata=_bounds(0.0, 100.0))
    dissolve_steps: int = field(default=50, metadata=_bounds(1, 1_000_000))
    # --- Φ ---
    phi_max_nodes: int = field(default=8, metadata=_bounds(2, 12))
    phi_spectral_radius: float = field(default=0.9, metadata=_bounds(0.01, 0.999))

    @property
    def probe_interval_s(self) -> float:
        return self.probe_interval_ms / 1000.0


PRESETS: dict[str, dict[str, Any]] = {
    "baseline": {
        "kuramoto": "python",
        "phi": "loop",
        "phi_cache": False,
        "health_probe": "inline",
        "pooling": False,
    },
    "optimized": {
        "kuramoto": "numpy",
        "phi": "vectorized",
        "phi_cache": True,
        "health_probe": "offloop",
        "pooling": True,
    },
}
OPTIMISATION_SETTINGS = tuple(PRESETS["baseline"])
"""The settings that differ between baseline and optimized, in the order the docs list them."""
RESILIENCE = {
    "stage_timeout_ms": 100.0,
    "handoff_retries": 3,
    "retry_backoff_ms": 1.0,
    "phi_breaker": True,
    "phi_breaker_failures": 3,
    "phi_breaker_reset_ms": 1000.0,
    "esgt_aggregation": "median",
    "max_in_flight": 64,
}
PRESETS["resilient"] = {**PRESETS["optimized"], **RESILIENCE}
RESILIENCE_SETTINGS = tuple(RESILIENCE)
"""The settings the resilient preset adds to optimized, in the order the docs list them."""

_FIELDS = {f.name: f for f in fields(PipelineConfig)}


def _coerce(name: str, value: Any) -> Any:
    spec = _FIELDS[name]
    default = spec.default
    meta = spec.metadata
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise SettingError(f"pipeline setting {name!r} expects true or false, got {value!r}")
    if "choices" in meta:
        if value not in meta["choices"]:
            options = " or ".join(repr(c) for c in meta["choices"])
            raise SettingError(f"pipeline setting {name!r} must be {options}, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingError(f"pipeline setting {name!r} expects an integer, got {value!r}")
    elif isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SettingError(f"pipeline setting {name!r} expects a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise SettingError(f"pipeline setting {name!r} must be finite, got {value!r}")
    lo, hi = meta["lo"], meta["hi"]
    if not lo <= value <= hi:
        raise SettingError(f"pipeline setting {name!r} must be in [{lo}, {hi}], got {value!r}")
    return value


def _check_consistent(config: PipelineConfig) -> None:
    if config.weight_min > config.weight_max:
        raise SettingError(
            f"pipeline setting weight_min ({config.weight_min}) exceeds weight_max "
            f"({config.weight_max})"
        )
    if config.coalition_min > config.coalition_max:
        raise SettingError(
            f"pipeline setting coalition_min ({config.coalition_min}) exceeds coalition_max "
            f"({config.coalition_max})"
        )
    if config.nodes < max(config.ba_m + 1, config.coalition_min, config.inputs_per_target):
        raise SettingError(
            f"pipeline setting nodes={config.nodes} is too small for ba_m={config.ba_m}, "
            f"coalition_min={config.coalition_min} and inputs_per_target="
            f"{config.inputs_per_target}"
        )


def resolve_config(
    preset: str = "optimized", settings: Mapping[str, Any] | None = None
) -> PipelineConfig:
    """The preset's settings, then ``settings`` on top, validated."""
    if preset not in PRESETS:
        known = ", ".join(sorted(PRESETS))
        raise SettingError(f"unknown pipeline preset {preset!r} (choose from {known})")
    values = dict(PRESETS[preset])
    for name, value in (settings or {}).items():
        if name not in _FIELDS:
            raise SettingError(
                f"unknown pipeline setting {name!r} (see docs/pipeline.md; e.g. "
                + ", ".join(OPTIMISATION_SETTINGS + ("leak_bytes", "nodes"))
                + ")"
            )
        values[name] = _coerce(name, value)
    config = replace(PipelineConfig(), **values)
    _check_consistent(config)
    return config
