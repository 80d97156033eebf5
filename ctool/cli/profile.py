"""`ctool profile` (placeholder until its issue lands)."""

from __future__ import annotations

from ctool.errors import UsageError


def profile_command() -> None:
    """Not built yet."""
    raise UsageError("'ctool profile' is not built yet")
