"""A test body as a pipeline: each episode is one call of the test function with its
fixture values (set up once, before the warm-up)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any


class SyncBody:
    def __init__(self, function: Callable[..., Any], kwargs: Mapping[str, Any]) -> None:
        self.function = function
        self.kwargs = dict(kwargs)

    def episode(self, index: int) -> Any:
        return self.function(**self.kwargs)


class AsyncBody:
    def __init__(self, function: Callable[..., Any], kwargs: Mapping[str, Any]) -> None:
        self.function = function
        self.kwargs = dict(kwargs)

    async def episode(self, index: int) -> Any:
        return await self.function(**self.kwargs)


class CallablePipeline:
    """A plain callable (``fn()`` or ``fn(index)``, sync or async) as a pipeline."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        try:
            params = inspect.signature(function).parameters
        except (TypeError, ValueError):
            params = {}  # type: ignore[assignment]
        self.takes_index = len(params) > 0

    async def episode(self, index: int) -> Any:
        result = self.function(index) if self.takes_index else self.function()
        if inspect.isawaitable(result):
            return await result
        return result


def body_of(function: Callable[..., Any], kwargs: Mapping[str, Any]) -> SyncBody | AsyncBody:
    """The pipeline for a test function: async when the function (under any wrappers that
    other plugins put around it, such as pytest-asyncio's) is a coroutine function."""
    inner = coroutine_function(function)
    if inner is not None:
        return AsyncBody(inner, kwargs)
    return SyncBody(function, kwargs)


def coroutine_function(function: Callable[..., Any]) -> Callable[..., Any] | None:
    """``function`` or the first coroutine function in its ``__wrapped__`` chain, else None."""
    current: Any = function
    for _ in range(20):
        if inspect.iscoroutinefunction(current):
            return current  # type: ignore[no-any-return]
        current = getattr(current, "__wrapped__", None)
        if current is None:
            return None
    return None


class Borrowed:
    """A pipeline object the test owns, run without its ``close()``: profiling it does not
    close what the test (or a fixture) will use again."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        if name == "close":
            raise AttributeError(name)
        return getattr(self._target, name)
