"""Load a pipeline from a ``package.module:factory`` reference and adapt it to one interface.

A pipeline is any object with an ``episode(index)`` method, sync or async. Optional hooks:
``outputs(result) -> Mapping`` (behaviour digest), ``metrics() -> Mapping`` (the pipeline's
own counters, copied into ``pipeline_metrics``), ``metric_specs()`` (which of them it
declares, and how to judge them: ``ctool.model.declared``), ``neutral_settings`` (the
settings that change how it runs, not what it computes), ``close()`` (sync or async).

The factory is called with the keyword arguments it accepts among ``seed``, ``preset`` and
the user's ``--set key=value`` settings. A setting or preset the factory does not accept is
a usage error, never silently dropped.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ctool.model.declared import DeclaredMetric, read_declarations
from ctool.model.errors import PipelineLoadError, UsageError

DEFAULT_PIPELINE = "ctool.pipeline:create"

_PROVIDED: dict[str, Any] = {}
"""Pipeline objects handed over in this process (:func:`provided`), by reference."""


@contextlib.contextmanager
def provided(ref: str, target: Any) -> Iterator[str]:
    """Within the block, :func:`build_pipeline` of ``ref`` returns ``target`` itself.

    For callers that hold a pipeline object rather than a ``module:factory`` reference (the
    pytest plugin's test bodies): every service that builds its pipeline by reference
    (``run_profile``, ``run_leakcheck``) then runs that object, in this process. ``ref``
    names it in the report and its module's directory is where the watchdog looks for the
    pipeline's own frames. Seed, preset and settings do not apply to a provided object.
    """
    if ref in _PROVIDED:
        raise UsageError(f"a pipeline is already provided as {ref!r}")
    PipelineAdapter(target, ref)  # fails now, in one line, if it has no episode()
    _PROVIDED[ref] = target
    try:
        yield ref
    finally:
        _PROVIDED.pop(ref, None)


def parse_value(text: str) -> Any:
    """``--set`` values: true/false, int, float, else the string itself."""
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def parse_settings(pairs: list[str] | None) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--set expects key=value, got {pair!r}")
        settings[key] = parse_value(value)
    return settings


def load_factory(ref: str) -> Callable[..., Any]:
    module_name, sep, attr_path = ref.partition(":")
    if not sep or not module_name or not attr_path:
        raise PipelineLoadError(f"--pipeline expects 'package.module:factory', got {ref!r}")
    if "" not in sys.path and "." not in sys.path:
        # Like `python -m`, let users name modules in the current directory.
        sys.path.insert(0, "")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise PipelineLoadError(f"cannot import pipeline module {module_name!r}: {exc}") from exc
    except (Exception, SystemExit) as exc:  # a broken user module: report it in one line
        raise PipelineLoadError(
            f"importing pipeline module {module_name!r} failed: {_describe(exc)}"
        ) from None
    target: Any = module
    for part in attr_path.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise PipelineLoadError(
                f"pipeline module {module_name!r} has no attribute {attr_path!r}"
            ) from None
    if not callable(target):
        raise PipelineLoadError(f"pipeline factory {ref!r} is not callable")
    return target  # type: ignore[no-any-return]


@dataclass
class PipelineAdapter:
    """One uniform face over any pipeline object."""

    target: Any
    ref: str

    def __post_init__(self) -> None:
        episode = getattr(self.target, "episode", None)
        if episode is None or not callable(episode):
            from ctool.workload.episode_function import no_episode_hint

            raise PipelineLoadError(
                f"pipeline from {self.ref!r} has no episode(index) method "
                f"(got {type(self.target).__name__}){no_episode_hint(self.ref)}"
            )
        self._declared: list[DeclaredMetric] | None = None
        self._is_async = inspect.iscoroutinefunction(episode)
        self._raw_episode = episode
        self._episode = guard_exit(episode, "episode()")

    @property
    def is_async(self) -> bool:
        return self._is_async

    @property
    def episode_coroutine(self) -> Callable[[int], Any] | None:
        """The pipeline's own ``async def episode`` (unwrapped: no extra frame is timed; the
        caller turns ``SystemExit`` into :class:`PipelineExit`), or ``None`` for a sync one."""
        return self._raw_episode if self._is_async else None

    async def episode(self, index: int) -> Any:
        if self._is_async:
            return await self._episode(index)
        result = self._episode(index)
        if inspect.isawaitable(result):
            return await result
        return result

    def outputs(self, result: Any) -> Mapping[str, Any] | None:
        hook = getattr(self.target, "outputs", None)
        if hook is None:
            return None
        value = guard_exit(hook, "outputs()")(result)
        return value if isinstance(value, Mapping) else {"value": value}

    def metrics(self) -> dict[str, Any]:
        hook = getattr(self.target, "metrics", None)
        if hook is None:
            return {}
        value = guard_exit(hook, "metrics()")()
        if not isinstance(value, Mapping):
            raise TypeError(f"metrics() returned {type(value).__name__}, not a mapping")
        return dict(value)

    def declared_metrics(self) -> list[DeclaredMetric]:
        """The pipeline's ``metric_specs()``, checked (read once; a bad one: UsageError)."""
        if self._declared is None:
            hook = getattr(self.target, "metric_specs", None)
            raw = guard_exit(hook, "metric_specs()")() if callable(hook) else None
            self._declared = read_declarations(raw)
        return [spec.model_copy() for spec in self._declared]

    def neutral_settings(self) -> list[str]:
        """The pipeline's ``neutral_settings`` (an attribute or a method), as names."""
        value = getattr(self.target, "neutral_settings", None)
        if callable(value):
            value = guard_exit(value, "neutral_settings()")()
        if isinstance(value, str) or not isinstance(value, Iterable):
            return []
        return [str(name) for name in value]

    async def aclose(self) -> None:
        hook = getattr(self.target, "close", None)
        if hook is None:
            return
        try:
            result = hook()
            if inspect.isawaitable(result):
                await result
        except SystemExit as exc:
            raise PipelineExit(exc, "close()") from None


def build_pipeline(
    ref: str | None = None,
    *,
    seed: int | None = None,
    preset: str | None = None,
    settings: Mapping[str, Any] | None = None,
) -> PipelineAdapter:
    """Import the factory behind ``ref`` (default: the reference pipeline) and call it."""
    ref = ref or DEFAULT_PIPELINE
    if ref in _PROVIDED:
        return PipelineAdapter(_PROVIDED[ref], ref)
    from ctool.workload import episode_function as functions  # docs/profiling.md: the rule

    if functions.is_episode_ref(ref):
        wrapped = functions.build_episode_function(
            ref, preset=preset, settings=dict(settings or {})
        )
        return PipelineAdapter(wrapped, ref)
    factory = load_factory(ref)
    functions.refuse_async_factory(factory, ref)
    kwargs = factory_kwargs(factory, ref, seed=seed, preset=preset, settings=settings or {})
    try:
        target = factory(**kwargs)
    except UsageError:
        raise
    except ValueError as exc:  # the factory's word that its arguments are bad
        raise PipelineLoadError(
            str(exc) or f"pipeline factory {ref!r} rejected its arguments"
        ) from exc
    except (Exception, SystemExit) as exc:
        raise PipelineLoadError(f"pipeline factory {ref!r} failed: {_describe(exc)}") from None
    functions.refuse_awaitable_pipeline(target, ref)
    return PipelineAdapter(target, ref)


@contextlib.contextmanager
def pipeline_stdout_to_stderr() -> Iterator[None]:
    """While the pipeline runs in this process, what it prints goes to stderr.

    ctool's own output (a table, ``--format json``, ``-o -``) is written to stdout after the
    run; a pipeline's ``print()`` must not corrupt it. (Worker processes point their fd 1 at
    stderr for the same reason.)
    """
    with contextlib.redirect_stdout(sys.stderr):
        yield


class PipelineExit(RuntimeError):
    """The pipeline called ``sys.exit()`` (raised ``SystemExit``) where ctool called it.

    It never becomes ctool's exit code: in an episode it is an episode error like any
    other; in the module or the factory it is a one-line usage error before the run.
    """

    def __init__(self, exc: SystemExit, where: str) -> None:
        super().__init__(f"sys.exit({exc.code!r}) in {where}")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"it called sys.exit({exc.code!r})"
    return f"{type(exc).__name__}: {exc}"


def guard_exit(function: Callable[..., Any], where: str) -> Callable[..., Any]:
    """``function`` with a ``SystemExit`` it raises turned into :class:`PipelineExit`."""
    if inspect.iscoroutinefunction(function):

        async def guarded_async(*args: Any) -> Any:
            try:
                return await function(*args)
            except SystemExit as exc:
                raise PipelineExit(exc, where) from None

        return guarded_async

    def guarded(*args: Any) -> Any:
        try:
            return function(*args)
        except SystemExit as exc:
            raise PipelineExit(exc, where) from None

    return guarded


def factory_kwargs(
    factory: Callable[..., Any],
    ref: str,
    *,
    seed: int | None,
    preset: str | None,
    settings: Mapping[str, Any],
) -> dict[str, Any]:
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        params = {}  # type: ignore[assignment]
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())

    def accepts(name: str) -> bool:
        return takes_any or name in params

    kwargs: dict[str, Any] = {}
    if seed is not None and accepts("seed"):
        kwargs["seed"] = seed
    if preset is not None:
        if not accepts("preset"):
            raise UsageError(f"pipeline {ref!r} takes no preset (got --preset {preset})")
        kwargs["preset"] = preset
    for key, value in settings.items():
        if not accepts(key):
            raise UsageError(f"pipeline {ref!r} has no setting {key!r}")
        kwargs[key] = value
    return kwargs
