"""`ctool profilers` (placeholder until its issue lands)."""

from __future__ import annotations

from ctool.errors import UsageError


def profilers_command() -> None:
    """Not built yet."""
    raise UsageError("'ctool profilers' is not built yet")
