"""The ``ctool`` command line: one Typer app, one module per command.

Every command module is thin: parse options, call one service function, render. Errors
raised below the CLI (``CtoolError``) are turned into one line on stderr and an exit code
here, once, by :class:`CtoolGroup`. Nothing imported at module level here may import numpy,
scipy or a profiler: ``ctool --help`` must stay fast.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from ctool.model.errors import CtoolError
from ctool.model.version import __version__


def _is_click_usage_error(exc: BaseException) -> bool:
    """Typer vendors click; its usage errors are recognised by their base class's name."""
    return any(cls.__name__ == "ClickException" for cls in type(exc).__mro__) and hasattr(
        exc, "format_message"
    )


def _one_line(message: str) -> str:
    """An error message as one safe line: whitespace runs folded, control characters escaped."""
    from ctool.model.text import safe_text

    return safe_text(" ".join(message.split()), one_line=True)


def _usage_exit(exc: Exception) -> typer.Exit:
    message = _one_line(str(exc.format_message()))  # type: ignore[attr-defined]
    typer.echo(f"ctool: error: {message}", err=True)
    return typer.Exit(int(getattr(exc, "exit_code", 2)))


class CtoolGroup(TyperGroup):
    """Translates ``CtoolError`` and option-parsing errors into one line and an exit code."""

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except Exception as exc:
            if _is_click_usage_error(exc):
                raise _usage_exit(exc) from None
            raise

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except CtoolError as exc:
            typer.echo(f"ctool: error: {_one_line(exc.message)}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            from ctool.cli.signals import interrupted_by, interrupted_exit_code

            typer.echo(f"ctool: {interrupted_by()}", err=True)
            raise typer.Exit(interrupted_exit_code()) from None
        except Exception as exc:
            if _is_click_usage_error(exc):
                raise _usage_exit(exc) from None
            raise


app = typer.Typer(
    name="ctool",
    cls=CtoolGroup,
    help="Profile and benchmark multi-stage (async) Python pipelines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ctool {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Profile and benchmark multi-stage (async) Python pipelines."""


def _register() -> None:
    from ctool.cli import ab, bisect, compare, history, leakcheck, profile, profilers, report, suite

    app.command("profile")(profile.profile_command)
    app.command("compare")(compare.compare_command)
    app.command("ab")(ab.ab_command)
    app.command("leakcheck")(leakcheck.leakcheck_command)
    app.command("profilers")(profilers.profilers_command)
    app.command("suite")(suite.suite_command)
    app.command("report")(report.report_command)
    app.add_typer(history.app, name="history")
    app.command("bisect")(bisect.bisect_command)


_register()


def main() -> None:
    from ctool.cli import clock
    from ctool.cli.signals import install, interrupted_by, interrupted_exit_code

    clock.mark()
    install()
    try:
        app()
    except KeyboardInterrupt:  # outside a command (e.g. during import)
        sys.stderr.write(f"ctool: {interrupted_by()}\n")
        sys.exit(interrupted_exit_code())
