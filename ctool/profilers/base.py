"""The profiler backend protocol (docs/design.md section 7).

A backend is a small class, registered under the entry-point group ``ctool.profilers``
(built-ins too). Its lifecycle, driven by the harness around the measured region:

    backend = Backend()                      # cheap; no heavy import yet
    why_not = backend.availability()         # Availability(ok, reason)
    backend.start(options)                   # on the thread that runs the episodes
    ...episodes run...
    fragment = backend.stop()                # ProfilerFragment: hotspots + artifacts + metadata

Heavy imports (line_profiler, memory_profiler, ...) happen in ``availability`` or ``start``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from ctool.model.schema import Hotspot


@dataclass(frozen=True)
class Availability:
    ok: bool
    reason: str = ""


def requires_module(module: str, package: str) -> Availability:
    """Available when ``module`` imports; else why not, and what to install."""
    import importlib

    try:
        importlib.import_module(module)
    except ImportError as exc:
        return Availability(False, f"{package} is not installed ({exc}); pip install {package}")
    return Availability(True)


@dataclass
class ProfilerOptions:
    """What every backend may read; unknown knobs go in ``extra``."""

    output_dir: Path
    pyspy_rate: int = 100
    line_targets: list[str] = field(default_factory=list)
    memory_targets: list[str] = field(default_factory=list)
    top: int = 10
    pid: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ProfilerFragment:
    name: str
    hotspots: list[Hotspot] = field(default_factory=list)
    artifacts: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    row_shares: list[dict[str, float]] = field(default_factory=list)
    """A sampling backend's rows per consecutive slice of its samples (``ProfilerRun``)."""
    row_ms_per_episode: list[dict[str, float]] = field(default_factory=list)


@runtime_checkable
class Profiler(Protocol):
    """The protocol every backend implements; the session also honours an optional
    ``claims`` (a frozenset, or a method of the options returning one) naming the per-thread
    hooks a backend sets (``"sys.setprofile"``, ``"sys.settrace"``), so that two backends
    wanting the same hook are refused together instead of silently breaking each other."""

    name: ClassVar[str]
    description: ClassVar[str]

    def availability(self) -> Availability: ...

    def start(self, options: ProfilerOptions) -> None: ...

    def stop(self) -> ProfilerFragment: ...


def claims_of(profiler: Profiler, options: ProfilerOptions) -> frozenset[str]:
    """The hooks a backend sets on the episode thread (see :class:`Profiler`)."""
    claims: Any = getattr(profiler, "claims", frozenset())
    if callable(claims):
        claims = claims(options)
    return frozenset(str(hook) for hook in claims)
