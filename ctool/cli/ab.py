"""`ctool ab` (placeholder until its issue lands)."""

from __future__ import annotations

from ctool.errors import UsageError


def ab_command() -> None:
    """Not built yet."""
    raise UsageError("'ctool ab' is not built yet")
