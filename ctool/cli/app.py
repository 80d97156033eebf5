"""The ``ctool`` command line: one Typer app, one module per command.

Every command module is thin: parse options, call one service function, render. Errors
raised below the CLI (``CtoolError``) are turned into one line on stderr and an exit code
here, once, by :class:`CtoolGroup`. Nothing imported at module level here may import numpy,
scipy or a profiler: ``ctool --help`` must stay fast.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperCommand, TyperGroup

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
    """Translates ``CtoolError`` and option-parsing errors into one line and an exit code,
    and loads each command's module only when that command runs (:data:`COMMANDS`)."""

    listing = False
    """True while the group's own help is drawn: commands are then listed from the table."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *COMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        module_name, short = COMMANDS[cmd_name]
        if self.listing:
            return TyperCommand(name=cmd_name, help=short, callback=None)
        import importlib

        function = getattr(importlib.import_module(module_name), f"{cmd_name}_command")
        single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
        single.command(cmd_name)(function)
        return typer.main.get_command(single)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self.listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self.listing = False

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
            from ctool.host import stop

            typer.echo(f"ctool: {stop.described()}", err=True)
            raise typer.Exit(stop.exit_code()) from None
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


COMMANDS: dict[str, tuple[str, str]] = {
    "profile": ("ctool.cli.profile", "Run a pipeline's episodes and show where the time goes."),
    "compare": (
        "ctool.cli.compare",
        "Compare two profile reports, with a statistically honest verdict per metric.",
    ),
    "ab": (
        "ctool.cli.ab",
        "A/B of two configurations, interleaved in short ABBA blocks: the CI-grade comparison.",
    ),
    "leakcheck": (
        "ctool.cli.leakcheck",
        "Run many episodes and test whether retained memory grows per episode.",
    ),
    "profilers": (
        "ctool.cli.profilers",
        "List the profiler backends found, and whether each can run here (and why not).",
    ),
    "suite": (
        "ctool.cli.suite",
        "Run the performance plan's 20 scenarios and 3 correctness metrics, each against its "
        "target.",
    ),
    "report": (
        "ctool.cli.report",
        "Render a saved report of any kind (profile, compare, leakcheck, suite).",
    ),
    "chaos": (
        "ctool.cli.chaos",
        "Faults at the stages, every episode accounted for against a control, recovery measured.",
    ),
    "history": (
        "ctool.cli.history",
        "The history of measurements, commit after commit: add, show, check.",
    ),
    "bisect": (
        "ctool.cli.bisect",
        "Find the commit between --good and --bad that made the pipeline slower.",
    ),
}
"""Each command: its module (which holds ``<name>_command``) and its one-line help.

Commands load lazily: ``ctool --help`` lists them from this table without importing a
command module, and ``ctool NAME`` imports only NAME's. The line is the first paragraph of
the command function's docstring (``tests/cli/test_startup.py`` checks they agree)."""


def main() -> None:
    from ctool.cli import clock
    from ctool.host import stop

    clock.mark()
    stop.install()
    try:
        app()
    except KeyboardInterrupt:  # outside a command (e.g. during import)
        sys.stderr.write(f"ctool: {stop.described()}\n")
        _end(stop.exit_code())
    except SystemExit as exc:  # how Typer ends every command
        _end(exc.code)


def _end(code: int | str | None) -> NoReturn:
    """Exit with ``code`` now that ctool's work is done, whatever threads the pipeline left.

    Python waits for every non-daemon thread before it exits: a pipeline thread that never
    ends would keep ctool alive forever after its report was written (and a signal then
    has nothing to stop). So, if any is left: one warning naming them, streams flushed,
    and the process ends without waiting (``os._exit``)."""
    import os
    import threading

    status = code if isinstance(code, int) else (0 if code is None else 1)
    if isinstance(code, str):
        sys.stderr.write(f"{code}\n")
    left = [
        t.name
        for t in threading.enumerate()
        if t is not threading.main_thread() and not t.daemon and t.is_alive()
    ]
    if not left:
        sys.exit(status)
    from ctool.model.text import safe_text

    names = safe_text(", ".join(left[:5]) + (", ..." if len(left) > 5 else ""), one_line=True)
    with contextlib.suppress(Exception):
        sys.stderr.write(
            f"ctool: warning: the pipeline left {len(left)} thread(s) running ({names}); "
            "exiting without waiting for them\n"
        )
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(status)
