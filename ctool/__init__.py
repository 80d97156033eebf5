"""ctool: profile and benchmark multi-stage (async) Python pipelines.

The public API a pipeline needs is tiny and cheap to import: ``span`` and ``stage`` mark the
stages of an episode; ``fault_point`` marks a hand-off where a chaos run may change a value.
Everything heavy (numpy, scipy, profilers) is imported lazily by the commands that need it.
"""

from __future__ import annotations

from ctool.faults import fault_point
from ctool.model.version import __version__
from ctool.spans import span, stage

__all__ = ["__version__", "fault_point", "span", "stage"]
