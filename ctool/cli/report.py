"""`ctool report` (placeholder until its issue lands)."""

from __future__ import annotations

from ctool.errors import UsageError


def report_command() -> None:
    """Not built yet."""
    raise UsageError("'ctool report' is not built yet")
