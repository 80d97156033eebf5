"""The ``ctool_profile`` fixture: profile a pipeline object, a ``module:factory`` reference
or a plain callable with ``ctool profile``'s options, and return the typed report.

From a sync test it returns the report: the run gets its own event loop (``asyncio.run``).
From an async test (a running event loop) it returns an awaitable, and the run happens on
the test's own loop, in the test's thread: objects bound to a loop or a thread (an
``asyncio.Queue``, a client session, an sqlite3 connection) work, and the watchdog watches
the loop the pipeline really runs on.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from ctool.pytest_plugin.body import Borrowed, CallablePipeline

if TYPE_CHECKING:
    import pytest

    from ctool.model.schema import ProfileReport
    from ctool.run.config import RunConfig

_calls = itertools.count(1)


class ProfileFixture:
    def __init__(self, item: pytest.Function) -> None:
        self.item = item
        self.reports: list[ProfileReport] = []

    def __call__(
        self,
        pipeline: Any,
        *,
        episodes: int = 200,
        warmup: int = 5,
        concurrency: int | Sequence[int] = (),
        rate: float | None = None,
        duration_s: float | None = None,
        burst: int | None = None,
        workers: int = 1,
        rounds: int = 1,
        profilers: Sequence[str] = (),
        seed: int = 0,
        preset: str | None = None,
        settings: dict[str, Any] | None = None,
        block_threshold_ms: float = 5.0,
    ) -> Any:
        """``ProfileReport`` from a sync test; an awaitable of it from an async one."""
        from ctool.pytest_plugin.session import refuse_under_xdist
        from ctool.run.config import RunConfig

        if self.item.config.getoption("ctool_disable"):
            import pytest

            pytest.skip("ctool_profile measures; --ctool-disable turns measurement off")
        refuse_under_xdist(self.item)

        levels = (concurrency,) if isinstance(concurrency, int) else tuple(concurrency)
        ref, target = self._resolve(pipeline)
        config = RunConfig(
            pipeline=ref, episodes=episodes, warmup=warmup, concurrency=levels, rate=rate,
            duration_s=duration_s, burst=burst, workers=workers, rounds=rounds,
            profilers=tuple(profilers), seed=seed, preset=preset, settings=dict(settings or {}),
            block_threshold_ms=block_threshold_ms, command=f"pytest {self.item.nodeid}",
        )  # fmt: skip
        if target is not None and (workers > 1 or rounds > 1):
            from ctool.model.errors import UsageError

            raise UsageError(
                "workers and rounds start fresh processes that build the pipeline by "
                "reference: pass 'package.module:factory', not an object"
            )
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return _run_sync(config, target, self._done)
        return _run_on_this_loop(config, target, self._done)

    def _resolve(self, pipeline: Any) -> tuple[str, Any]:
        if isinstance(pipeline, str):
            return pipeline, None
        if callable(getattr(pipeline, "episode", None)):
            kind = type(pipeline)
            return f"{kind.__module__}:{kind.__qualname__}#{next(_calls)}", Borrowed(pipeline)
        if callable(pipeline):
            module = getattr(pipeline, "__module__", None) or "callable"
            name = getattr(pipeline, "__qualname__", None) or type(pipeline).__qualname__
            return f"{module}:{name}#{next(_calls)}", CallablePipeline(pipeline)
        raise TypeError(
            "ctool_profile expects a pipeline object (with episode(index)), a callable or "
            f"a 'package.module:factory' reference, got {type(pipeline).__name__}"
        )

    def _done(self, report: ProfileReport) -> None:
        self.reports.append(report)
        from ctool.pytest_plugin.checks import status_text

        self.item.user_properties.append(("ctool", status_text(report)))


def _run_sync(
    config: RunConfig, target: Any, done: Callable[[ProfileReport], None]
) -> ProfileReport:
    from ctool.run.runner import run_profile
    from ctool.workload.loader import provided

    with provided(config.pipeline, target) if target is not None else nullcontext():
        report = run_profile(config)
    done(report)
    return report


async def _run_on_this_loop(
    config: RunConfig, target: Any, done: Callable[[ProfileReport], None]
) -> ProfileReport:
    """``run_profile`` on the running loop: the same run, minus its own ``asyncio.run``."""
    from ctool.run.runner import ProfileRun
    from ctool.workload.loader import provided

    with provided(config.pipeline, target) if target is not None else nullcontext():
        run = ProfileRun.prepare(config, warn=lambda _: None)
        try:
            await run.main()
        finally:
            run.cleanup()
    report = run.report()
    done(report)
    return report
