"""One error hierarchy for ctool, translated once into a message and an exit code by the CLI.

Code below ``ctool.cli`` raises these; it never prints or exits. ``ctool.cli.app`` catches
``CtoolError`` and turns it into one line on stderr and ``typer.Exit(exit_code)``.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_VERDICT = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3
"""The run finished without one of its replicas (it died); the report keeps the others'."""
EXIT_INTERRUPTED = 130


class CtoolError(Exception):
    """Base of every error ctool raises on purpose."""

    exit_code: int = EXIT_VERDICT

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else type(self).__name__


class UsageError(CtoolError):
    """Bad input from the user: an option, a file, a pipeline reference. Exit code 2."""

    exit_code = EXIT_USAGE


class PipelineLoadError(UsageError):
    """The ``--pipeline`` reference could not be imported or did not produce a pipeline."""


class ReportError(UsageError):
    """A report file is missing, unreadable, of the wrong kind or of an unknown schema."""


class ProfilerUnavailable(UsageError):
    """A profiler the user insisted on (``--require``) cannot run here."""
