"""Options that several commands share, declared once so they read and behave alike."""

from __future__ import annotations

from typing import Annotated

import typer

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
SeedOption = Annotated[int, typer.Option(metavar="N", help="Seed passed to the pipeline factory.")]
