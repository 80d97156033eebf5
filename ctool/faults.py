"""Fault points: where a chaos run may change a value on its way from one stage to the next.

A pipeline marks a hand-off with ``value = ctool.fault_point("mea.signal", value)``. Without
an active chaos plan it returns ``value`` unchanged, at the cost of one module-global read;
``ctool chaos`` installs an injector for the length of its run (:func:`install`), which may
return another value (a Byzantine fault), raise, or delay. Like :mod:`ctool.spans`, this
module imports nothing of ctool, so any pipeline can use it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

Injector = Callable[[str, Any], Any]
"""``(point name, value) -> value``: what an active plan does at a fault point."""

_injector: Injector | None = None
_targets: frozenset[str] | None = None
"""The points the injector acts on (None: every point)."""


def fault_point(name: str, value: T) -> T:
    """``value``, or what the active chaos plan makes of it at the point ``name``."""
    injector = _injector
    if injector is None or (_targets is not None and name not in _targets):
        return value
    result: T = injector(name, value)
    return result


def install(injector: Injector | None, targets: frozenset[str] | None = None) -> Injector | None:
    """Make ``injector`` the active one (None: no plan) for the points named in
    ``targets`` (None: every point); returns the one it replaces."""
    global _injector, _targets
    previous, _injector, _targets = _injector, injector, targets
    return previous
