"""A whole program as the workload: ``--script app.py -- ARGS`` or ``-m package -- ARGS``.

The program runs once, in this process, as ``python app.py ARGS`` (``python -m package ARGS``)
would run it: ``sys.argv`` is ``[app.py, *ARGS]``, its code runs as ``__main__``, the script's
directory (``-m``: the current directory) leads ``sys.path``, and it makes its own event loops
(``asyncio.run``, ``asyncio.new_event_loop``). What ctool needs from the loops it makes,
:func:`watch_new_loops` hands to a callback as each one is created.

Its exit is the program's own: ``sys.exit(3)`` is exit code 3, an uncaught exception prints
its traceback to stderr (ctool's frames left out) and is exit code 1, as with ``python``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import runpy
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from time import monotonic_ns, perf_counter_ns
from types import TracebackType

from ctool.model.errors import UsageError

LoopCallback = Callable[[asyncio.AbstractEventLoop], None]


@dataclass(frozen=True)
class Program:
    """``kind`` ``script`` (``target`` a file) or ``module`` (``target`` a module name)."""

    kind: str
    target: str
    args: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """How the report names it: ``script app.py`` or ``module http.server``."""
        return f"{self.kind} {self.target}"

    @property
    def argv(self) -> list[str]:
        return [self.target, *self.args]

    def check(self) -> None:
        """A missing file or module is a one-line usage error, before anything runs."""
        if self.kind == "script":
            path = Path(self.target)
            if not path.is_file():
                raise UsageError(f"--script {self.target}: no such file")
            return
        if self.kind != "module":
            raise UsageError(f"unknown program kind {self.kind!r}")
        with _cwd_on_path():
            try:
                spec = importlib.util.find_spec(self.target)
                if spec is not None and spec.submodule_search_locations is not None:
                    main = importlib.util.find_spec(self.target + ".__main__")
                    if main is None:
                        raise UsageError(
                            f"-m {self.target}: a package with no __main__ module; "
                            "name a module to run"
                        )
            except (ImportError, ValueError) as exc:
                raise UsageError(f"-m {self.target}: {exc}") from None
        if spec is None:
            raise UsageError(f"-m {self.target}: no module named {self.target!r}")

    def roots(self) -> list[str]:
        """Where the program's own code is: the script's directory, or the current one."""
        if self.kind == "script":
            return [str(Path(self.target).resolve().parent)]
        return [os.getcwd()]


@dataclass
class ProgramResult:
    exit_code: int
    error: str | None
    """``Type: message (file:line)`` of an uncaught exception; None when it exited."""
    start_ns: int
    end_ns: int
    start_mono_ns: int
    end_mono_ns: int
    interrupted: bool = False
    exception: BaseException | None = None


@contextlib.contextmanager
def _cwd_on_path() -> Iterator[None]:
    added = "" not in sys.path
    if added:
        sys.path.insert(0, "")
    try:
        yield
    finally:
        if added and "" in sys.path:
            sys.path.remove("")


@contextlib.contextmanager
def watch_new_loops(on_new_loop: LoopCallback) -> Iterator[None]:
    """Within the block, every loop made by ``asyncio.new_event_loop()`` -- and so by
    ``asyncio.run`` and ``asyncio.Runner``, which call it -- is handed to ``on_new_loop``
    before the program sees it. (A loop made by its class directly, or by a third-party
    ``loop_factory`` such as uvloop's, is not seen.)"""
    original = asyncio.events.new_event_loop

    def new_event_loop() -> asyncio.AbstractEventLoop:
        loop = original()
        on_new_loop(loop)
        return loop

    asyncio.events.new_event_loop = new_event_loop
    asyncio.new_event_loop = new_event_loop
    try:
        yield
    finally:
        asyncio.events.new_event_loop = original
        asyncio.new_event_loop = original


@contextlib.contextmanager
def _as_main(program: Program) -> Iterator[None]:
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = program.argv
    root = program.roots()[0] if program.kind == "script" else ""
    sys.path.insert(0, root)
    try:
        yield
    finally:
        sys.argv = saved_argv
        sys.path[:] = saved_path


def run_program(program: Program, *, on_new_loop: LoopCallback) -> ProgramResult:
    """Run ``program`` to its end in this process; never raises what the program raises
    (``KeyboardInterrupt`` aside: it marks the result interrupted)."""
    code, error, interrupted = 0, None, False
    crash: BaseException | None = None
    start_mono, start = monotonic_ns(), perf_counter_ns()
    with _as_main(program), watch_new_loops(on_new_loop):
        try:
            if program.kind == "script":
                runpy.run_path(program.target, run_name="__main__")
            else:
                runpy.run_module(program.target, run_name="__main__", alter_sys=True)
        except SystemExit as exc:
            code = exit_code_of(exc)
        except KeyboardInterrupt:
            code, interrupted = 130, True
        except BaseException as exc:  # the program's crash: shown as python shows it
            code, crash = 1, exc
            error = describe_crash(exc)
            tb = _own_frames(exc.__traceback__)
            traceback.print_exception(type(exc), exc, tb, file=sys.stderr)
    end, end_mono = perf_counter_ns(), monotonic_ns()
    return ProgramResult(code, error, start, end, start_mono, end_mono, interrupted, crash)


def exit_code_of(exc: SystemExit) -> int:
    """As the interpreter maps it: None 0, an int itself, anything else printed and 1."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def describe_crash(exc: BaseException) -> str:
    where = ""
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        where = f" ({last.filename}:{last.lineno})"
    return f"{type(exc).__name__}: {exc}{where}"


def _own_frames(tb: TracebackType | None) -> TracebackType | None:
    """The traceback from the program's first frame on (runpy's and ctool's left out)."""
    here = str(Path(__file__).resolve().parent.parent)
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if not (name.startswith(here) or name == runpy.__file__ or "<frozen runpy>" in name):
            break
        tb = tb.tb_next
    return tb
