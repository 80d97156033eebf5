"""How a ctool process stops: every signal handler of the parent process, in one place.

SIGINT (Ctrl-C), SIGTERM and SIGHUP stop a run the same way, and every command ends through
one path (``ctool.cli.stop``): the partial report, marked ``complete: false``, written to
every target asked for, one line on stderr, exit ``128 + signal`` (130, 143, 129).

The services (profile runs, ``ab``, ``leakcheck``) mark the part of their work a signal may
cut short with :func:`measuring`; everything else (assembling the report, writing it) must
not be cut, or the report is lost. So, once the command line has called :func:`install`:

- inside a measuring window, the first signal does what Ctrl-C does there: inside
  ``asyncio.run`` it cancels the run's task (the runner keeps what was measured); elsewhere
  it raises ``KeyboardInterrupt``. A second one raises ``KeyboardInterrupt`` ("stop waiting":
  a hung episode is abandoned, what was measured is kept);
- outside a window, once a window has been entered, a signal is only recorded: the report
  is assembled and written whole, and the exit code then says which signal came;
- a window entered after a stop was recorded raises ``KeyboardInterrupt`` at once: no new
  work starts once the user asked to stop (a suite's next scenario, ``ab``'s profiled rounds).

Without :func:`install` (ctool used as a library, the pytest plugin) nothing here touches a
signal handler, and :func:`measuring` only reports a stop already recorded.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

FORWARDED = ("SIGTERM", "SIGHUP")
EXIT_INTERRUPTED = 130


class _State:
    installed = False
    measuring = 0
    first: int | None = None
    listeners: list[Callable[[], None]] = []  # noqa: RUF012 - one process, one state


_state = _State()


def install() -> None:
    """Route SIGINT, SIGTERM and SIGHUP through this module (main thread, once, at start).

    A process started with SIGINT ignored (a background job of a non-interactive shell, as
    some CI runners start commands) would otherwise stop on none of the three with a
    partial report: Python raises no ``KeyboardInterrupt`` and ``asyncio.run`` hooks SIGINT
    only while its handler is the default one. So SIGINT gets its default handler back.
    SIGHUP ignored at start (``nohup``) stays ignored: that is what ``nohup`` asks for."""
    if threading.current_thread() is not threading.main_thread():
        return
    _state.installed = True
    _live()


def _numbers() -> list[int]:
    numbers = []
    for name in FORWARDED:
        number = getattr(signal, name, None)
        if number is None:
            continue
        if name == "SIGHUP" and signal.getsignal(number) is signal.SIG_IGN:
            continue  # nohup
        numbers.append(number)
    return numbers


def _live() -> None:
    """Signals interrupt (inside a window, or before any window has been entered)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for number in _numbers():
        signal.signal(number, _forward)


def _record_only() -> None:
    """Signals are remembered, never raised: the report is being finished."""
    signal.signal(signal.SIGINT, _record)
    for number in _numbers():
        signal.signal(number, _record)


def _note(signum: int) -> bool:
    """Remember the first stop signal; tell the listeners once. True if it was the first."""
    if _state.first is not None:
        return False
    _state.first = signum
    for listener in list(_state.listeners):
        with contextlib.suppress(Exception):  # stderr busy: the stop matters more
            listener()
    return True


def _record(signum: int, frame: FrameType | None) -> None:
    _note(signum)


def _forward(signum: int, frame: FrameType | None) -> None:
    """SIGTERM and SIGHUP do what SIGINT does at this moment (asyncio's handler or not)."""
    _note(signum)
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler) and handler is not _forward:
        handler(signal.SIGINT, frame)
        return
    raise KeyboardInterrupt


def _sigint_seen() -> None:
    """A SIGINT that went to asyncio's handler (not through this module) is still a stop."""
    if _state.first is None:
        _note(signal.SIGINT)


@contextlib.contextmanager
def measuring() -> Iterator[None]:
    """The part of a service's work a stop signal may cut short (see the module docstring).

    Raises ``KeyboardInterrupt`` at once if a stop was already recorded."""
    if _state.first is not None:
        raise KeyboardInterrupt
    main = threading.current_thread() is threading.main_thread()
    if not (_state.installed and main):
        yield
        return
    _state.measuring += 1
    if _state.measuring == 1:
        _live()
    try:
        yield
    except KeyboardInterrupt:
        _sigint_seen()
        raise
    finally:
        _state.measuring -= 1
        if _state.measuring == 0:
            _record_only()


def finishing() -> None:
    """From now on signals are only recorded: the caller is writing the report."""
    if _state.installed and threading.current_thread() is threading.main_thread():
        _record_only()


def stopped(*, complete: bool = True) -> bool:
    """Whether a stop signal came (``complete``: the service's own account of its report)."""
    return _state.first is not None or not complete


def listen(listener: Callable[[], None]) -> Callable[[], None]:
    """Call ``listener()`` (from the signal handler) when the first stop signal arrives;
    returns the function that stops listening.

    SIGINT inside ``asyncio.run`` goes to asyncio's own handler: when this is called from
    inside the loop (main thread), that handler is wrapped so it is heard too."""
    _state.listeners.append(listener)
    previous = signal.getsignal(signal.SIGINT)
    wrap = (
        callable(previous)
        and previous not in (signal.default_int_handler, _record)
        and threading.current_thread() is threading.main_thread()
    )

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        _note(signum)
        previous(signum, frame)  # type: ignore[misc, operator]

    if wrap:
        signal.signal(signal.SIGINT, on_sigint)

    def restore() -> None:
        with contextlib.suppress(ValueError):
            _state.listeners.remove(listener)
        if wrap and signal.getsignal(signal.SIGINT) is on_sigint:
            signal.signal(signal.SIGINT, previous)

    return restore


def again() -> str:
    """What stops now instead of after the current episode: ``Ctrl-C again`` or ``SIGTERM
    again`` (for the line that says the stop waits)."""
    first = _state.first
    if first is None or first == signal.SIGINT:
        return "Ctrl-C again"
    return f"{signal.Signals(first).name} again"


def exit_code() -> int:
    """130 for Ctrl-C, 143 after SIGTERM, 129 after SIGHUP."""
    return 128 + _state.first if _state.first is not None else EXIT_INTERRUPTED


def described() -> str:
    """``interrupted`` or ``terminated by SIGTERM`` (for the one line on stderr)."""
    first = _state.first
    if first is None or first == signal.SIGINT:
        return "interrupted"
    return f"terminated by {signal.Signals(first).name}"


def reset() -> None:
    """Forget a recorded stop (tests that run several commands in one process)."""
    _state.first = None
