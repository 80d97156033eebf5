"""Stage spans: how a pipeline marks where an episode's time goes.

Contract (docs/design.md section 4):

* ``with span("ESGT"): ...`` or ``@stage("ESGT")`` on a sync or async function marks a stage.
  Spans nest; a nested span is named by the pipeline, conventionally ``"parse.tokens"``
  inside ``"parse"``.
* Nothing is recorded unless the harness has activated an :class:`EpisodeRecorder` in the
  current context (a ``contextvars.ContextVar``, so concurrent asyncio episodes each record
  into their own recorder). With no recorder a span costs two context-variable reads.
  Recording costs one clock read and one list append per enter and per exit (a flat log,
  paired into spans after the episode): about 300 ns a span on the development machine
  (``benchmarks/overhead.py``).
* Chaos (``ctool chaos``, docs/chaos.md) may install a fault hook for the length of its run
  (:func:`install_fault`): a span it targets then calls it with its name on entering,
  inside the span, and the hook may delay, raise or hang there. While a hook is installed
  ``span.__enter__`` is swapped for a hooked one; with none, a span runs the code it ran
  before (``benchmarks/chaos_overhead.py`` measures both).
* A ``span`` object holds only its name, so one instance may be reused, even concurrently:
  the start times live in the recorder's log.
* In *locate* mode (used by leakcheck and the profilers, never on the hot path of a timed
  run) each span also notes the file and the first and last line of its ``with`` block, so a
  stack frame (file, line) can be attributed to the stage whose block contains it.

This module must stay import-light: it is imported by ``import ctool``.
"""

from __future__ import annotations

import functools
import inspect
import sys
import threading
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from time import perf_counter_ns
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, cast

P = ParamSpec("P")
R = TypeVar("R")

SpanRecord = tuple[str, int, int, int]
"""(name, start_ns, end_ns, depth) with depth 0 for a top-level stage."""


class EpisodeRecorder:
    """Collects the spans of one episode. Created and activated by the harness.

    Spans write a flat log while the episode runs -- a start time (an ``int``) when one is
    entered, ``(name, end)`` when it exits -- the cheapest record a span can leave;
    :attr:`spans` pairs them up afterwards, off the hot path.
    """

    __slots__ = ("log", "locate", "_spans", "_seen")

    def __init__(self, *, locate: bool = False) -> None:
        self.log: list[Any] = _LocatingLog() if locate else []
        self.locate = locate
        self._spans: list[SpanRecord] = []
        self._seen = 0

    @property
    def spans(self) -> list[SpanRecord]:
        """(name, start, end, depth) per closed span, in the order they closed."""
        if self._seen != len(self.log):
            self._spans = spans_of(self.log)
            self._seen = len(self.log)
        return self._spans


def spans_of(log: list[Any]) -> list[SpanRecord]:
    """Pair a span log's starts and ends; an end without a start is dropped."""
    out: list[SpanRecord] = []
    stack: list[int] = []
    push = stack.append
    for item in log:
        if item.__class__ is int:
            push(item)
        elif stack:
            name, end = item
            start = stack.pop()
            out.append((name, start, end, len(stack)))
    return out


class _LocatingLog(list):  # type: ignore[type-arg]
    """The log of a recorder in locate mode: notes each span's ``with`` block as it closes."""

    __slots__ = ("_where",)

    def __init__(self) -> None:
        super().__init__()
        self._where: list[tuple[str, int]] = []

    def append(self, item: Any) -> None:
        if item.__class__ is int:
            frame = sys._getframe(2)  # append <- span.__enter__ <- the ``with`` statement
            self._where.append((frame.f_code.co_filename, frame.f_lineno))
            del frame
        elif self._where:
            filename, lineno = self._where.pop()
            LOCATOR.note_enter(item[0], filename, lineno)
        super().append(item)


_current: ContextVar[list[Any] | None] = ContextVar("ctool_episode_recorder", default=None)
_get = _current.get
_clock = perf_counter_ns

FaultHook = Callable[[str], None]
"""``(span name) -> None``: what an active chaos plan does on entering a span (it may sleep,
raise or block)."""
AsyncFaultHook = Callable[[str], Awaitable[None]]
"""The same for an ``async`` ``@stage`` function, which can await (awaited latency, hang)."""

_fault: FaultHook | None = None
_afault: AsyncFaultHook | None = None
_targets: frozenset[str] = frozenset()
"""The span names the installed hooks act on: any other span never calls them."""


def install_fault(
    hook: FaultHook | None,
    async_hook: AsyncFaultHook | None = None,
    targets: frozenset[str] = frozenset(),
) -> tuple[FaultHook | None, AsyncFaultHook | None]:
    """Make ``hook`` (and ``async_hook``) the active span fault hooks for the spans named in
    ``targets``; returns the previous pair. ``None`` removes them: spans cost what they cost
    without chaos."""
    global _fault, _afault, _targets
    previous = (_fault, _afault)
    _fault, _afault = hook, async_hook
    _targets = targets if hook is not None or async_hook is not None else frozenset()
    # The hooked entry replaces span.__enter__ only while a hook is installed: without one,
    # a span runs exactly the code it ran before chaos existed.
    setattr(span, "__enter__", _enter_with_fault if hook is not None else _PLAIN_ENTER)  # noqa: B010
    return previous


def _enter_with_fault(self: span) -> span:
    """``span.__enter__`` while a chaos plan is installed."""
    log = _get()
    if log is not None:
        log.append(_clock())
    if self.name in _targets:
        _enter_fault(self.name, log)
    return self


def _enter_fault(name: str, log: list[Any] | None) -> None:
    """Run the fault hook inside the span just entered; if it raises, close the span first
    (the failed stage keeps its time and the log stays paired)."""
    hook = _fault
    if hook is None:
        return
    try:
        hook(name)
    except BaseException:
        if log is not None:
            log.append((name, _clock()))
        raise


def activate(recorder: EpisodeRecorder) -> Token[list[Any] | None]:
    """Make ``recorder`` receive the spans of the current context (task or thread)."""
    return _current.set(recorder.log)


def deactivate(token: Token[list[Any] | None]) -> None:
    _current.reset(token)


class span:  # noqa: N801 - used like a function: ``with ctool.span("TIG"):``
    """Context manager marking one stage (or sub-stage) of an episode."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> span:
        log = _get()
        if log is not None:
            log.append(_clock())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        log = _get()
        if log is not None:
            log.append((self.name, _clock()))


_PLAIN_ENTER = span.__enter__


def stage(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator form of :class:`span` for sync and async functions."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        code = getattr(fn, "__code__", None)
        if code is not None:
            lines = [line for _, _, line in code.co_lines() if line is not None]
            if lines:
                LOCATOR.add(name, code.co_filename, min(lines), max(lines))
        if inspect.iscoroutinefunction(fn):
            afn = cast(Callable[P, Awaitable[Any]], fn)

            @functools.wraps(fn)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                if _afault is not None and name in _targets:
                    return await _faulted_stage(name, afn, args, kwargs)
                with span(name):
                    return await afn(*args, **kwargs)

            return cast(Callable[P, R], async_wrapper)

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with span(name):
                return fn(*args, **kwargs)

        return wrapper

    return decorate


class _AwaitingSpan(span):
    """A span whose fault hook has already run awaited (``_faulted_stage``)."""

    __slots__ = ()

    def __enter__(self) -> span:
        log = _get()
        if log is not None:
            log.append(_clock())
        return self


async def _faulted_stage(
    name: str, afn: Callable[..., Awaitable[Any]], args: Any, kwargs: Any
) -> Any:
    """An async stage while a chaos plan is active: its faults are awaited inside its span."""
    hook = _afault
    with _AwaitingSpan(name):
        if hook is not None:
            await hook(name)
        return await afn(*args, **kwargs)


@dataclass
class _Block:
    stage: str
    filename: str
    first: int
    last: int


@dataclass
class StageLocator:
    """Maps source locations to the stage whose span block contains them.

    Filled by spans in locate mode and by ``@stage`` at decoration time. Lookups pick the
    innermost (shortest) block containing the line.
    """

    _blocks: dict[tuple[str, str], list[_Block]] = field(default_factory=dict)
    _seen: set[tuple[str, str, int]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, stage_name: str, filename: str, first: int, last: int) -> None:
        """Record a block; blocks of one stage in one file are kept apart (two ``with
        span("MCEA")`` blocks must not swallow the lines between them)."""
        with self._lock:
            blocks = self._blocks.setdefault((stage_name, filename), [])
            for block in blocks:
                if block.first <= first and last <= block.last:
                    return
            blocks.append(_Block(stage_name, filename, first, last))

    def note_enter(self, stage_name: str, filename: str, lineno: int) -> None:
        """A span entered at ``filename:lineno``: record its ``with`` block's line range."""
        key = (stage_name, filename, lineno)
        if key in self._seen:
            return
        self._seen.add(key)
        self.add(stage_name, filename, lineno, _with_block_end(filename, lineno))

    def stage_at(self, filename: str, lineno: int) -> str | None:
        best: _Block | None = None
        for block in (b for blocks in self._blocks.values() for b in blocks):
            if (
                block.filename == filename
                and block.first <= lineno <= block.last
                and (best is None or block.last - block.first < best.last - best.first)
            ):
                best = block
        return best.stage if best is not None else None

    def stage_of_stack(self, frames: Iterable[tuple[str, int]]) -> str | None:
        """The stage of the innermost frame (frames ordered innermost first) inside a block."""
        for filename, lineno in frames:
            found = self.stage_at(filename, lineno)
            if found is not None:
                return found
        return None

    def blocks(self) -> list[tuple[str, str, int, int]]:
        return [(b.stage, b.filename, b.first, b.last) for bs in self._blocks.values() for b in bs]


@functools.lru_cache(maxsize=256)
def _with_blocks(filename: str) -> dict[int, int]:
    """Start line -> end line of every ``with`` statement in a source file."""
    import ast

    try:
        with open(filename, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), filename)
    except (OSError, SyntaxError, ValueError):
        return {}
    ends: dict[int, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                ends[item.context_expr.lineno] = node.end_lineno or node.lineno
    return ends


def _with_block_end(filename: str, lineno: int) -> int:
    return _with_blocks(filename).get(lineno, lineno)


LOCATOR = StageLocator()
