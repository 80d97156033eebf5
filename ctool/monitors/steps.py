"""Every step an asyncio event loop runs, timed: each stall counted with its exact duration.

An event loop runs one *step* at a time: a callback, or one step of a task (from one
``await`` to the next), each a handle the loop pops off its ready queue. While a step runs,
nothing else on the loop does, so a step that lasts at least the threshold is a stall, and
its duration is exactly how long the loop was held.

How it is timed (on ``asyncio``'s own loops, ``BaseSelectorEventLoop``): the loop's ready
queue is replaced by a ``deque`` subclass whose ``popleft`` reads the clock, and its
selector by a proxy whose ``select`` does the same. Every ``popleft`` starts a step and ends
the one before; ``select`` ends the last step of a loop pass (the loop is about to wait).
One clock read and one comparison per step; a stall appends ``(start_ns, duration_ns)`` to
:attr:`StepTimer.stalls` (``perf_counter_ns``). The step running now starts at
:attr:`StepTimer.start` (0 while the loop waits in ``select``), which the watchdog thread
reads to sample a long step while it runs.

Why this and not the alternatives (measured or checked on Python 3.11):

* ``sys.monitoring`` (PEP 669) exists from Python 3.12 only, and its events are per code
  object (calls, lines), not per loop step: it would time every function, at far higher cost.
* A task factory sees task steps only, not plain callbacks (``call_soon``, timers,
  transports), and timing a C task's steps means replacing it with a Python ``Task``
  subclass: slower on every step.
* Wrapping ``asyncio.Handle._run`` on the class times every loop in the process (threads
  of other libraries too), costs a second Python frame and two clock reads per step, and
  cannot be undone safely while another loop runs.
* The loop's debug mode (``slow_callback_duration``) times each handle but also records a
  traceback at every ``call_soon``: many times dearer, and it logs instead of counting.

What it does not time: work the loop does between steps (reading the selector's events,
the timer heap), and loops that are not ``asyncio``'s (uvloop: :func:`attach` says so and
returns an unavailable timer; the watchdog then counts stalls from its heartbeat).

:func:`attach` works on any running ``asyncio`` loop, not only ctool's: call it on the
loop's thread (inside a coroutine or callback), or from another thread (it then installs
itself through ``call_soon_threadsafe`` and returns at once).
"""

from __future__ import annotations

import asyncio
import collections
import threading
from time import perf_counter_ns
from typing import Any

_popleft = collections.deque.popleft


class _TimedReady(collections.deque):  # type: ignore[type-arg]
    """The loop's ready queue: each ``popleft`` starts a step and ends the previous one."""

    __slots__ = ("start", "threshold", "stalls")
    start: int
    threshold: int
    stalls: list[tuple[int, int]]

    def popleft(self) -> Any:
        now = perf_counter_ns()
        start = self.start
        if start and now - start >= self.threshold:
            self.stalls.append((start, now - start))
        self.start = now
        return _popleft(self)


class _TimedSelector:
    """The loop's selector: ``select`` ends the loop pass's last step. Everything else is the
    wrapped selector's."""

    def __init__(self, selector: Any, ready: _TimedReady) -> None:
        self.wrapped = selector
        self._ready = ready

    def select(self, timeout: float | None = None) -> Any:
        ready = self._ready
        start = ready.start
        if start:
            now = perf_counter_ns()
            if now - start >= ready.threshold:
                ready.stalls.append((start, now - start))
            ready.start = 0
        return self.wrapped.select(timeout)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)


class StepTimer:
    """Times every step of one loop. Build it with :func:`attach`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, threshold_ns: int) -> None:
        self.loop = loop
        self.threshold_ns = max(int(threshold_ns), 1)
        self.unavailable: str | None = None
        """Why steps cannot be timed on this loop (None: they are)."""
        self.installed = threading.Event()
        self._ready: _TimedReady | None = None
        self._stalls: list[tuple[int, int]] = []

    @property
    def stalls(self) -> list[tuple[int, int]]:
        """``(start_ns, duration_ns)`` of every step at least the threshold long, in order."""
        return self._stalls

    @property
    def start(self) -> int:
        """``perf_counter_ns`` at which the step running now began; 0 between steps."""
        ready = self._ready
        return ready.start if ready is not None else 0

    def _install(self) -> None:
        loop: Any = self.loop
        ready = getattr(loop, "_ready", None)
        selector = getattr(loop, "_selector", None)
        if type(ready) is not collections.deque or selector is None:
            if isinstance(ready, _TimedReady):
                self.unavailable = "another step timer is already attached to this loop"
            else:
                self.unavailable = (
                    f"{type(loop).__name__} is not an asyncio selector loop "
                    "(its steps cannot be timed)"
                )
            self.installed.set()
            return
        timed = _TimedReady(ready)
        timed.start = 0  # the rest of this step is the installer's, not the loop's work
        timed.threshold = self.threshold_ns
        timed.stalls = self._stalls
        loop._ready = timed
        loop._selector = _TimedSelector(selector, timed)
        self._ready = timed
        self.installed.set()

    def _uninstall(self) -> None:
        loop: Any = self.loop
        ready, self._ready = self._ready, None
        if ready is None or loop.is_closed():
            return
        if loop._ready is ready:
            loop._ready = collections.deque(ready)
        if isinstance(loop._selector, _TimedSelector) and loop._selector._ready is ready:
            loop._selector = loop._selector.wrapped

    def detach(self) -> None:
        """Stop timing. On the loop's thread (or once the loop stopped) at once; from another
        thread while the loop runs, through ``call_soon_threadsafe``. Safe after the loop
        closed, and twice."""
        loop: Any = self.loop
        if loop.is_closed() or not loop.is_running() or _on_loop_thread(loop):
            self._uninstall()
            return
        try:
            loop.call_soon_threadsafe(self._uninstall)
        except RuntimeError:  # the loop closed in between
            self._ready = None


def _on_loop_thread(loop: Any) -> bool:
    return getattr(loop, "_thread_id", None) == threading.get_ident()


def attach(loop: asyncio.AbstractEventLoop | None = None, *, threshold_ms: float) -> StepTimer:
    """Time every step of ``loop`` (default: the running loop) from now on.

    On the loop's thread, or while the loop is not running, the timer is installed before
    this returns; from another thread it is installed by the loop's next pass
    (``timer.installed`` is set then). ``timer.unavailable`` says why a loop cannot be timed
    (uvloop, a loop already timed). ``timer.detach()`` undoes it.
    """
    if loop is None:
        loop = asyncio.get_running_loop()
    timer = StepTimer(loop, int(threshold_ms * 1e6))
    if loop.is_running() and not _on_loop_thread(loop):
        loop.call_soon_threadsafe(timer._install)
    else:
        timer._install()
    return timer
