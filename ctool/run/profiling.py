"""The profilers of a run (``--profilers``): opened before anything runs, started around
the measured episodes, stopped once (whatever ended the run), calibrated afterwards."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from ctool.model.errors import UsageError
from ctool.profilers.base import ProfilerOptions
from ctool.profilers.frames import set_user_code
from ctool.profilers.session import ProfilerResult, ProfilerSession
from ctool.run.config import RunConfig
from ctool.run.observing import Notices

ARTIFACTS_ROOT = Path("ctool-out")


class ProfilingWindow:
    """The profiler session of a run, if it asked for profilers; ``result`` once stopped."""

    def __init__(self, session: ProfilerSession | None) -> None:
        self.session = session
        self.result = ProfilerResult()
        self._from: int | None = None
        """Episodes completed when the profilers started; ``None`` while they do not run."""

    @classmethod
    def open(cls, config: RunConfig, notices: Notices) -> ProfilingWindow:
        """Unknown or (with ``require``) unavailable backends fail here, before any run."""
        if not config.profilers:
            return cls(None)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        options = ProfilerOptions(
            output_dir=config.artifacts_dir or ARTIFACTS_ROOT / f"profile-{stamp}",
            pyspy_rate=config.pyspy_rate,
            line_targets=list(config.line_targets),
            memory_targets=list(config.memory_targets),
            top=config.top,
            pid=os.getpid(),
            extra={"hotspots": config.hotspots},
        )
        try:
            set_user_code(config.user_code)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        session = ProfilerSession.open(
            list(config.profilers), require=config.require, options=options
        )
        for message in session.warnings:
            notices(message)
        return cls(session)

    def start(self, completed: int) -> None:
        """Start the profilers; ``completed``: episodes done so far (per-episode figures)."""
        if self.session is not None:
            self.session.start()
            self._from = completed

    def stop(self, completed: int | None) -> None:
        """Stop them (once; later calls do nothing). ``completed``: episodes done by now,
        for per-episode figures (tracemalloc's retained bytes per episode)."""
        if self.session is None or self._from is None:
            return
        episodes = None if completed is None else completed - self._from
        self._from = None
        self.result = self.session.stop(episodes=episodes)

    async def calibrate(self, latencies: Callable[[int], Awaitable[list[int]]]) -> None:
        """The profilers' overhead, from ``latencies(n)``: n more unrecorded episodes."""
        if self.session is not None and self.session.profilers:
            await self.session.calibrate(latencies)
