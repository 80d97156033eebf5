"""ctool: profile and benchmark multi-stage (async) Python pipelines.

The public API a pipeline needs is tiny and cheap to import: ``span`` and ``stage`` mark the
stages of an episode. Everything heavy (numpy, scipy, profilers) is imported lazily by the
commands that need it.
"""

from __future__ import annotations

from ctool.model.version import __version__
from ctool.spans import span, stage

__all__ = ["__version__", "span", "stage"]
