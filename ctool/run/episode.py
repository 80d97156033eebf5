"""One episode, run and timed (docs/design.md section 4): started eagerly in the caller's
task until an episode yields, then each in a task of its own; cancelled after
``--episode-timeout`` (async) or reported late (sync); its outputs digested; its spans,
latency or error handed to the part's recorder and to the observers."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Coroutine, Generator
from time import perf_counter_ns
from typing import Any, cast

from ctool.monitors.observer import RunObserver
from ctool.run.recorder import PartRecorder
from ctool.spans import EpisodeRecorder, activate, deactivate
from ctool.workload.digest import OutputDigest
from ctool.workload.loader import PipelineAdapter, PipelineExit


class EpisodeTimeout(Exception):
    """An episode ran longer than ``--episode-timeout``: an episode error of kind ``timeout``."""

    kind = "timeout"

    def __init__(self, index: int, timeout_s: float, *, cancelled: bool) -> None:
        how = "cancelled" if cancelled else "a sync episode cannot be cancelled; it finished late"
        super().__init__(f"episode {index} ran longer than {timeout_s:g} s ({how})")


def _fired(timer: asyncio.TimerHandle) -> bool:
    """Whether the timer's time has come (it cancelled the episode)."""
    return timer.when() <= asyncio.get_running_loop().time()


class EpisodeRunner:
    """Runs the episodes of one pipeline, one at a time per call, numbering them."""

    def __init__(
        self,
        adapter: PipelineAdapter,
        *,
        observers: list[RunObserver] | None = None,
        on_observer_error: Callable[[RunObserver, BaseException], None] | None = None,
        first_index: int = 0,
        episode_timeout_s: float = 0.0,
    ) -> None:
        self.adapter = adapter
        self.timeout_s = episode_timeout_s
        self.sync_started_ns: int | None = None
        """When the sync episode now blocking the loop started (read by a hang monitor)."""
        self.observers = observers if observers is not None else []
        """Shared with the caller (a failing observer is dropped from it)."""
        self._on_observer_error = on_observer_error
        self.next_index = first_index
        self.completed = 0
        self._episode_coro: Callable[[int], Any] | None = adapter.episode_coroutine
        self._eager = True
        """Start episodes eagerly until one yields (``_run_one``)."""

    def notify(self, index: int, latency: int, spans: Any, error: BaseException | None) -> None:
        for observer in list(self.observers):
            try:
                observer.on_episode(index, latency, spans, error)
            except Exception as exc:
                self.observers.remove(observer)
                if self._on_observer_error is not None:
                    self._on_observer_error(observer, exc)

    async def _timed(
        self, index: int, recorder: EpisodeRecorder | None = None
    ) -> tuple[int, int, Any, Exception | None]:
        """One episode, timed: (start, end, result, exception); ``recorder`` is activated in
        the running task's own context (nothing to reset afterwards)."""
        episode = self._episode_coro
        assert episode is not None
        if recorder is not None:
            activate(recorder)
        start = perf_counter_ns()
        try:
            result = await episode(index)
        except Exception as exc:
            return start, perf_counter_ns(), None, exc
        except SystemExit as exc:  # never ctool's exit code: an episode error
            return start, perf_counter_ns(), None, PipelineExit(exc, "episode()")
        return start, perf_counter_ns(), result, None

    async def _run_one(
        self, index: int, recorder: EpisodeRecorder
    ) -> tuple[int, int, Any, Exception | None]:
        if self._episode_coro is None:
            return await self._run_inline(index, recorder)
        loop = asyncio.get_running_loop()
        if not self._eager:
            # Its own task: when the pipeline yields (between stages, say), only this short
            # chain of frames is suspended and resumed, not the harness's whole await chain;
            # that walk would otherwise be timed as part of every yielding episode.
            return await self._awaited(loop.create_task(self._timed(index, recorder)), index)
        # Started eagerly, here, until an episode yields: an episode that never yields then
        # costs no task. The first that yields goes on in a task of its own (which copies
        # this context, recorder included), and later ones start in their own task.
        token = activate(recorder)
        coro = self._timed(index)
        try:
            first = coro.send(None)
        except StopIteration as done:
            return cast(tuple[int, int, Any, Exception | None], done.value)
        finally:
            deactivate(token)
        self._eager = False
        task = loop.create_task(_Resumed(coro, first).run(), context=_with(recorder))
        return await self._awaited(task, index)

    async def _awaited(
        self, task: asyncio.Task[Any], index: int
    ) -> tuple[int, int, Any, Exception | None]:
        """An episode's task, cancelled by a timer after ``timeout_s`` (when one is set).

        The timer is cheaper than ``wait_for`` (no extra future, no extra pass of the loop per
        episode); the timing is taken inside the task. An episode started eagerly runs its
        first, synchronous stretch before the timer is armed: only what follows can be cut.
        """
        if not self.timeout_s:
            return cast(tuple[int, int, Any, Exception | None], await task)
        start = perf_counter_ns()
        timer = asyncio.get_running_loop().call_later(self.timeout_s, task.cancel)
        try:
            return cast(tuple[int, int, Any, Exception | None], await task)
        except asyncio.CancelledError:
            if not task.cancelled() or timer.cancelled() or not _fired(timer):
                raise  # the run itself was cancelled (Ctrl-C), not the episode
            late = EpisodeTimeout(index, self.timeout_s, cancelled=True)
            return start, perf_counter_ns(), None, late
        finally:
            timer.cancel()

    async def _run_inline(
        self, index: int, recorder: EpisodeRecorder
    ) -> tuple[int, int, Any, Exception | None]:
        token = activate(recorder)
        start = perf_counter_ns()
        self.sync_started_ns = start
        try:
            result = await self.adapter.episode(index)
        except Exception as exc:
            return start, perf_counter_ns(), None, exc
        finally:
            self.sync_started_ns = None
            deactivate(token)
        end = perf_counter_ns()
        if self.timeout_s and end - start > self.timeout_s * 1e9:
            return start, end, None, EpisodeTimeout(index, self.timeout_s, cancelled=False)
        return start, end, result, None

    async def run(
        self, rec: PartRecorder, intended_ns: int | None = None, digest: OutputDigest | None = None
    ) -> int:
        """Run one episode into ``rec``; returns its latency in ns (-1 if it failed)."""
        index = self.next_index
        self.next_index += 1
        er = EpisodeRecorder()
        start, end, result, error = await self._run_one(index, er)
        line = None
        if error is None and digest is not None:
            try:
                outputs = self.adapter.outputs(result)
                if outputs is not None:  # what cannot be digested is this episode's error
                    line = digest.encode(outputs)
            except Exception as exc:
                error = exc
        self.completed += 1
        intended = start if intended_ns is None else intended_ns
        if error is not None:
            rec.add_error(index, error)
            if digest is not None:
                digest.update({"__error__": type(error).__name__})
            if self.observers:
                self.notify(index, end - intended, er.spans, error)
            return -1
        rec.add(intended, start, end, er.spans)
        if line is not None and digest is not None:
            digest.add(line)
        if self.observers:
            self.notify(index, end - intended, er.spans, None)
        return end - intended


def _with(recorder: EpisodeRecorder) -> contextvars.Context:
    """A copy of this context with ``recorder`` active."""
    context = contextvars.copy_context()
    context.run(activate, recorder)
    return context


class _Resumed:
    """The rest of an eagerly started coroutine: re-yields what it yielded to the task that
    runs it (a future to wait on, or ``None`` to let the loop run) and sends the answers
    back, until it returns."""

    __slots__ = ("coro", "first")

    def __init__(self, coro: Coroutine[Any, Any, Any], first: Any) -> None:
        self.coro = coro
        self.first = first

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, pending = self.coro, self.first
        self.first = None
        if pending is None:  # a bare yield asked the loop to run once: starting this task did
            try:
                pending = coro.send(None)
            except StopIteration as done:
                return done.value
        while True:
            try:
                sent = yield pending
            except BaseException as exc:  # cancellation: the episode sees it where it waits
                try:
                    pending = coro.throw(exc)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    pending = coro.send(sent)
                except StopIteration as done:
                    return done.value

    async def run(self) -> Any:
        return await self
