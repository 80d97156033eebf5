"""`ctool leakcheck` (placeholder until its issue lands)."""

from __future__ import annotations

from ctool.errors import UsageError


def leakcheck_command() -> None:
    """Not built yet."""
    raise UsageError("'ctool leakcheck' is not built yet")
