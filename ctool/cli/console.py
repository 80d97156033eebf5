"""The CLI owns the Console: renderers return renderables, commands print them here."""

from __future__ import annotations

from rich.console import Console


def make_console(*, stderr: bool = False, quiet: bool = False) -> Console:
    """A Console that respects NO_COLOR (Rich does) and ``--quiet``."""
    return Console(stderr=stderr, quiet=quiet, highlight=False)
