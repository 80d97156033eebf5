"""Options that several commands share, declared once so they read and behave alike.

Numbers are typed (Typer parses them: ``--episodes abc`` or ``--episodes 1e30`` is one line
and exit 2 before anything runs) and bounded here, once. A value from ``[tool.ctool]``
(:mod:`ctool.cli.defaults`) is checked again where the config is validated
(``RunConfig.validate``), so both routes meet the same rules.

An option whose help depends on the command (``--episodes`` is per block in ``ab``, per
round in ``leakcheck``) is declared here as a function of that help text::

    episodes: Annotated[int | None, episodes_option("Episodes per block.")] = None
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

MAX_COUNT = 1_000_000_000
"""The most episodes (or warm-up episodes) an option takes: more is a typing slip."""

PipelineOption = Annotated[
    str | None,
    typer.Option(
        "--pipeline",
        "-p",
        metavar="MODULE:FACTORY",
        help="Pipeline factory \\[default: the built-in reference pipeline].",
    ),
]
PresetOption = Annotated[
    str | None,
    typer.Option(metavar="NAME", help="Pipeline preset, e.g. baseline or optimized."),
]
SettingsOption = Annotated[
    list[str] | None,
    typer.Option("--set", metavar="KEY=VALUE", help="A pipeline setting (repeatable)."),
]
SeedOption = Annotated[
    int | None,
    typer.Option(
        metavar="N",
        min=0,
        help="Seed passed to the pipeline factory \\[default: 0].",
        show_default=False,
    ),
]


def count_option(help: str, *, low: int = 0, panel: str | None = None) -> Any:  # noqa: A002
    """A whole number of things (episodes, rounds, replicas), at least ``low``."""
    return typer.Option(
        metavar="N", min=low, max=MAX_COUNT, help=help, show_default=False, rich_help_panel=panel
    )


def episodes_option(help: str, *, low: int = 0, panel: str | None = None) -> Any:  # noqa: A002
    """``--episodes``: the command says what they are; at least ``low``."""
    return count_option(help, low=low, panel=panel)


def warmup_option(help: str = "Unmeasured warm-up episodes.") -> Any:  # noqa: A002
    """``--warmup``: episodes run first and discarded."""
    return count_option(help)


def seconds_option(help: str, *, panel: str | None = None) -> Any:  # noqa: A002
    """A duration in seconds (range checked where the config is validated)."""
    return typer.Option(metavar="SECONDS", help=help, show_default=False, rich_help_panel=panel)
