"""Find profiler backends through the ``ctool.profilers`` entry-point group.

Built-ins are registered exactly like a third party's backend. Loading is lazy (a backend
module is imported only when listed or chosen) and one broken plugin never hides the others:
it is reported with the reason it failed to load.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from ctool.model.errors import ProfilerUnavailable, UsageError
from ctool.profilers.base import Availability, Profiler

GROUP = "ctool.profilers"


@dataclass
class BackendInfo:
    name: str
    value: str
    source: str
    """The distribution that registered it (``ctool`` for built-ins)."""
    entry_point: EntryPoint

    def load(self) -> type[Profiler]:
        """Import and check the backend class; raise ``UsageError`` with the reason if broken."""
        try:
            cls = self.entry_point.load()
        except Exception as exc:
            raise UsageError(
                f"profiler plugin {self.name!r} ({self.value}) failed to load: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        missing = [
            attr
            for attr in ("name", "description", "availability", "start", "stop")
            if not hasattr(cls, attr)
        ]
        if not isinstance(cls, type) or missing:
            raise UsageError(
                f"profiler plugin {self.name!r} ({self.value}) does not implement the "
                f"Profiler protocol (missing: {', '.join(missing) or 'not a class'})"
            )
        return cls

    def create(self) -> Profiler:
        return self.load()()

    def check(self) -> Availability:
        """Can this backend run here? Never raises."""
        try:
            return self.create().availability()
        except UsageError as exc:
            return Availability(False, exc.message)
        except Exception as exc:
            return Availability(False, f"availability check failed: {type(exc).__name__}: {exc}")


@dataclass(frozen=True)
class BackendStatus:
    """What ``ctool profilers`` lists: a backend, who registered it, and can it run here."""

    name: str
    source: str
    """Distribution and version that registered it, e.g. ``ctool 0.1.0``."""
    value: str
    description: str
    ok: bool
    reason: str = ""


def describe() -> list[BackendStatus]:
    """Every registered backend with its availability; a broken plugin is a row, not a crash."""
    statuses = []
    for info in discover().values():
        dist = getattr(info.entry_point, "dist", None)
        version = getattr(dist, "version", None)
        source = f"{info.source} {version}" if version else info.source
        description = ""
        try:
            description = str(getattr(info.load(), "description", ""))
        except UsageError as exc:
            statuses.append(BackendStatus(info.name, source, info.value, "", False, exc.message))
            continue
        availability = info.check()
        statuses.append(
            BackendStatus(
                info.name, source, info.value, description, availability.ok, availability.reason
            )
        )
    return statuses


def discover() -> dict[str, BackendInfo]:
    found: dict[str, BackendInfo] = {}
    for ep in entry_points(group=GROUP):
        dist = getattr(ep, "dist", None)
        source = dist.name if dist is not None else "unknown"
        if ep.name not in found:
            found[ep.name] = BackendInfo(ep.name, ep.value, source, ep)
    return dict(sorted(found.items()))


def select(names: list[str], *, require: bool = False) -> tuple[list[Profiler], list[str]]:
    """Instantiate the named backends that can run here.

    Returns ``(profilers, warnings)``. An unknown name is always a usage error. An
    unavailable backend is a ``ProfilerUnavailable`` error when ``require`` is set, else a
    warning and the run goes on without it.
    """
    backends = discover()
    chosen: list[Profiler] = []
    warnings: list[str] = []
    for name in dict.fromkeys(names):
        info = backends.get(name)
        if info is None:
            known = ", ".join(backends) or "none"
            raise UsageError(f"unknown profiler {name!r} (available: {known})")
        try:
            profiler = info.create()
            availability = profiler.availability()
        except UsageError as exc:
            availability = Availability(False, exc.message)
        if not availability.ok:
            message = f"profiler {name!r} cannot run here: {availability.reason}"
            if require:
                raise ProfilerUnavailable(message)
            warnings.append(message + "; continuing without it")
            continue
        chosen.append(profiler)
    return chosen, warnings
