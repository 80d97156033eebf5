"""SIGTERM and SIGHUP act like Ctrl-C: the run stops, its partial report is written.

:func:`install` (called once by :func:`ctool.cli.app.main`) points both signals at a handler
that remembers which signal came first and then does exactly what SIGINT does at that moment:
inside ``asyncio.run`` that cancels the run's task (the runner keeps what was measured and
marks the report ``complete: false``); elsewhere it raises ``KeyboardInterrupt``. The exit
code says which signal it was: 130 (SIGINT), 143 (SIGTERM), 129 (SIGHUP), i.e. 128 + its
number, as a shell reports a process killed by it.
"""

from __future__ import annotations

import signal
from types import FrameType

from ctool.model.errors import EXIT_INTERRUPTED

FORWARDED = ("SIGTERM", "SIGHUP")
_first: list[int] = []


def install() -> None:
    """Route SIGTERM and SIGHUP through the SIGINT handler (main thread only).

    A process started with SIGINT ignored (a background job of a non-interactive shell, as
    some CI runners start commands) would otherwise stop on none of the three with a
    partial report: Python raises no ``KeyboardInterrupt`` and ``asyncio.run`` hooks SIGINT
    only while its handler is the default one. So SIGINT gets its default handler back.
    SIGHUP ignored at start (``nohup``) stays ignored: that is what ``nohup`` asks for."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    for name in FORWARDED:
        number = getattr(signal, name, None)
        if number is not None and not (
            name == "SIGHUP" and signal.getsignal(number) is signal.SIG_IGN
        ):
            signal.signal(number, _forward)


def _forward(signum: int, frame: FrameType | None) -> None:
    if not _first:
        _first.append(signum)
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):
        handler(signal.SIGINT, frame)
        return
    raise KeyboardInterrupt


def interrupted_exit_code() -> int:
    """130 for Ctrl-C, 143 after SIGTERM, 129 after SIGHUP."""
    return 128 + _first[0] if _first else EXIT_INTERRUPTED


def interrupted_by() -> str:
    """``interrupted`` or ``terminated by SIGTERM`` (for the one line on stderr)."""
    if not _first:
        return "interrupted"
    return f"terminated by {signal.Signals(_first[0]).name}"
