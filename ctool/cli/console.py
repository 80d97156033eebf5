"""The CLI owns the Console: renderers return renderables, commands print them here."""

from __future__ import annotations

from rich.console import Console


def make_console(*, stderr: bool = False, quiet: bool = False) -> Console:
    """A Console that respects NO_COLOR (Rich does) and ``--quiet``.

    Markup and emoji codes are off: what ctool prints through it is data (a pipeline's
    warning, a module name such as ``mod:ok``), never Rich markup. Styling goes through
    ``Text(..., style=...)``.
    """
    return Console(stderr=stderr, quiet=quiet, highlight=False, markup=False, emoji=False)
