"""The ``ctool_profile`` fixture: profile a pipeline object, a ``module:factory`` reference
or a plain callable with ``ctool profile``'s options, and return the typed report.

From a sync test it returns the report. From an async test (a running event loop) it returns
an awaitable: the run happens on ctool's own event loop in a worker thread, so the test's
loop stays free and the watchdog watches the loop the pipeline runs on.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ctool.pytest_plugin.body import Borrowed, CallablePipeline

if TYPE_CHECKING:
    import pytest

    from ctool.model.schema import ProfileReport

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
        from ctool.harness.runconfig import RunConfig
        from ctool.pytest_plugin.session import refuse_under_xdist

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
        run = _runner(config, target, self._done)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return run()
        return _in_thread(run)

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


def _runner(
    config: Any, target: Any, done: Callable[[ProfileReport], None]
) -> Callable[[], ProfileReport]:
    def run() -> ProfileReport:
        from ctool.harness.loader import provided
        from ctool.harness.runner import run_profile

        if target is None:
            report = run_profile(config)
        else:
            with provided(config.pipeline, target):
                report = run_profile(config)
        done(report)
        return report

    return run


async def _in_thread(run: Callable[[], ProfileReport]) -> ProfileReport:
    return await asyncio.to_thread(run)

