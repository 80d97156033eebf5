"""`ctool suite` (placeholder until its issue lands)."""

from __future__ import annotations

from ctool.errors import UsageError


def suite_command() -> None:
    """Not built yet."""
    raise UsageError("'ctool suite' is not built yet")
