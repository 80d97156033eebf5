"""The monitors of a profile run, started together after the warm-up and stopped once: the
loop watchdog (stalls, GC pauses) and the resource sampler (CPU, RSS, queue depth); and the
SIGINT notice for an interrupt that has to wait for a sync episode."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from ctool.model.records import MonitorSummary
from ctool.monitors.sampler import ResourceSampler
from ctool.monitors.watchdog import LoopWatchdog, pipeline_roots
from ctool.run.config import RunConfig
from ctool.run.observing import Notices, Observers


class RunMonitors:
    """Watchdog and sampler; ``summary`` and ``sampled`` hold what they saw once stopped."""

    def __init__(self, config: RunConfig, observers: Observers, notices: Notices) -> None:
        self.config = config
        self.observers = observers
        self.notices = notices
        self.watchdog: LoopWatchdog | None = None
        self.sampler: ResourceSampler | None = None
        self.summary: MonitorSummary | None = None
        self.sampled: dict[str, Any] = {}

    def start(self, queue_depth: Callable[[], int]) -> None:
        cfg = self.config
        watchdog = self.watchdog = LoopWatchdog(
            threshold_ms=cfg.block_threshold_ms, user_roots=pipeline_roots(cfg.pipeline)
        )
        watchdog.start()
        self.sampler = ResourceSampler(
            queue_depth=queue_depth,
            loop_lag_ms=lambda: watchdog.last_lag_ms,
            observers=self.observers.live,
            include_children=cfg.replicated or cfg.rounds > 1,
            on_observer_error=self.observers.failed,
        )
        self.sampler.start()

    def stop(self) -> None:
        """Stop both (once; later calls do nothing)."""
        if self.watchdog is not None:
            self.summary = self.watchdog.stop()
            if self.watchdog.error:
                self.notices(self.watchdog.error)
            self.watchdog = None
        if self.sampler is not None:
            self.sampled = self.sampler.stop()
            self.sampler = None


@contextlib.contextmanager
def interrupt_notice(blocked: Callable[[], bool], say: Callable[[str], None]) -> Iterator[None]:
    """A first stop signal that lands while a sync episode blocks the loop (``blocked()``)
    says the run stops after that episode (it cannot be cancelled), and what stops it now.
    Listens through the one stop path (``ctool.host.stop``) while the block runs."""
    from ctool.host import stop

    def on_stop() -> None:
        if blocked():
            with contextlib.suppress(Exception):  # stderr busy: the stop matters more
                say(f"stopping after the episode now running; {stop.again()} stops now")

    restore = stop.listen(on_stop)
    try:
        yield
    finally:
        restore()
