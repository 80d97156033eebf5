"""`ctool compare` (placeholder until its issue lands)."""

from __future__ import annotations

from ctool.errors import UsageError


def compare_command() -> None:
    """Not built yet."""
    raise UsageError("'ctool compare' is not built yet")
