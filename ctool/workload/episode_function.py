"""A function, or a callable object, as the episode: no factory, no class with ``episode()``.

The rule that tells a factory from an episode function is explicit, never a guess:

* ``module:factory`` (``--pipeline``) is a **factory**, called once; what it returns has an
  ``episode(index)`` method. A factory that is an ``async def`` (or returns an awaitable) is
  refused in one line *before* it is called, or with its coroutine closed unawaited-free,
  and the message names the form below.
* ``episode:module:function`` (``--episode module:function`` on ``ctool profile``) is the
  **episode itself**: a sync or async function, or an object whose ``__call__`` is sync or
  async, called once per episode -- with the episode index when it takes a positional
  argument, with nothing when it takes none. Anything else (two required arguments, a
  required keyword-only argument) is a one-line error. Hooks (``outputs``, ``metrics``,
  ``close``) are used when the callable object has them.

The reference string carries the form, so worker processes, rounds, ``ab``, ``leakcheck`` and
``suite`` build the same episode from the same string (:func:`build_episode_function`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ctool.model.errors import PipelineLoadError

EPISODE_PREFIX = "episode:"
"""``episode:module:function`` names an episode function; ``module:factory`` a factory."""
HOOKS = ("outputs", "metrics", "close")


def is_episode_ref(ref: str) -> bool:
    return ref.startswith(EPISODE_PREFIX)


def episode_ref(target: str) -> str:
    """``--episode module:function`` as the reference every service takes."""
    if is_episode_ref(target):
        return target
    module, sep, attr = target.partition(":")
    if not sep or not module or not attr or ":" in attr:
        raise PipelineLoadError(f"--episode expects 'package.module:function', got {target!r}")
    return EPISODE_PREFIX + target


def is_async_callable(function: Any) -> bool:
    """``async def`` functions, partials of them, and objects with ``async def __call__``."""
    if inspect.iscoroutinefunction(function):
        return True
    call = getattr(function, "__call__", None)  # noqa: B004 -- the method itself is wanted
    return not inspect.isfunction(function) and inspect.iscoroutinefunction(call)


def refuse_async_factory(factory: Callable[..., Any], ref: str) -> None:
    """A ``--pipeline`` factory that is an ``async def`` is an episode function by mistake:
    say so before calling it (calling it would make a coroutine nobody awaits)."""
    if is_async_callable(factory):
        raise PipelineLoadError(_not_a_factory(ref, "is an async function"))


def refuse_awaitable_pipeline(target: Any, ref: str) -> None:
    """A factory that returned a coroutine: close it (no 'never awaited' warning) and say
    what to write instead."""
    if inspect.iscoroutine(target):
        target.close()
        raise PipelineLoadError(_not_a_factory(ref, "returned a coroutine"))
    if inspect.isawaitable(target):
        raise PipelineLoadError(_not_a_factory(ref, "returned an awaitable"))


def no_episode_hint(ref: str) -> str:
    """Added to the 'no episode() method' error of a plain ``module:function`` reference."""
    if is_episode_ref(ref) or ":" not in ref:
        return ""
    return f"; if {ref} is itself the episode, use --episode {ref}"


def _not_a_factory(ref: str, what: str) -> str:
    return (
        f"pipeline factory {ref!r} {what}, not a pipeline: to run it as the episode, "
        f"use --episode {ref} (or --pipeline {EPISODE_PREFIX}{ref})"
    )


def positional_arity(function: Callable[..., Any], ref: str) -> int:
    """1 when the episode takes the index, 0 when it takes nothing; else a usage error."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        raise PipelineLoadError(
            f"episode function {ref!r} has no readable signature; wrap it in a "
            "def taking the episode index (or nothing)"
        ) from None
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    params = list(signature.parameters.values())
    takes_index = any(
        p.kind in positional or p.kind is inspect.Parameter.VAR_POSITIONAL for p in params
    )
    required = [
        p
        for p in params
        if p.default is inspect.Parameter.empty
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]
    if len(required) > 1 or any(p.kind is inspect.Parameter.KEYWORD_ONLY for p in required):
        names = ", ".join(p.name for p in required)
        raise PipelineLoadError(
            f"episode function {ref!r} requires ({names}); an episode function takes the "
            "episode index or nothing"
        )
    return 1 if takes_index else 0


class AsyncEpisodeFunction:
    """An ``async`` episode function behind the pipeline interface."""

    def __init__(self, function: Callable[..., Any], arity: int, target: Any) -> None:
        self._function = function
        self._arity = arity
        _copy_hooks(self, target)

    async def episode(self, index: int) -> Any:
        if self._arity:
            return await self._function(index)
        return await self._function()


class SyncEpisodeFunction:
    """A sync episode function behind the pipeline interface (an awaitable it returns is
    awaited by the adapter)."""

    def __init__(self, function: Callable[..., Any], arity: int, target: Any) -> None:
        self._function = function
        self._arity = arity
        _copy_hooks(self, target)

    def episode(self, index: int) -> Any:
        if self._arity:
            return self._function(index)
        return self._function()


def _copy_hooks(wrapper: object, target: Any) -> None:
    if inspect.isfunction(target) or inspect.ismethod(target):
        return  # a plain function's attributes are not hooks
    for name in HOOKS:
        hook = getattr(target, name, None)
        if callable(hook):
            setattr(wrapper, name, hook)


def wrap_episode(target: Any, ref: str) -> AsyncEpisodeFunction | SyncEpisodeFunction:
    """The object the pipeline adapter runs for an episode function or callable object."""
    if inspect.isclass(target):
        raise PipelineLoadError(
            f"episode function {ref!r} is a class; name a function or an instance (or use "
            "the class as a factory with --pipeline)"
        )
    if not callable(target):
        raise PipelineLoadError(f"episode function {ref!r} is not callable")
    function = target
    if not (inspect.isfunction(target) or inspect.ismethod(target)):
        call = getattr(target, "__call__", None)  # noqa: B004 -- its signature is wanted
        if inspect.ismethod(call):
            function = call
    arity = positional_arity(function, ref)
    if is_async_callable(target):
        return AsyncEpisodeFunction(function, arity, target)
    return SyncEpisodeFunction(function, arity, target)


def build_episode_function(
    ref: str, *, preset: str | None, settings: dict[str, Any]
) -> AsyncEpisodeFunction | SyncEpisodeFunction:
    """``episode:module:function`` -> the wrapped episode. Seed does not apply; a preset or
    a setting is refused (an episode function takes no arguments but the index)."""
    from ctool.workload.loader import load_factory

    plain = ref.removeprefix(EPISODE_PREFIX)
    if preset is not None or settings:
        shown = f"--preset {preset}" if preset is not None else f"--set {next(iter(settings))}"
        raise PipelineLoadError(
            f"episode function {plain!r} takes no settings (got {shown}); use a factory "
            "(--pipeline module:factory) for settings"
        )
    try:
        target = load_factory(plain)
    except PipelineLoadError as exc:
        message = str(exc).replace("--pipeline expects", "--episode expects")
        raise PipelineLoadError(message.replace("pipeline factory", "episode function")) from None
    return wrap_episode(target, plain)
