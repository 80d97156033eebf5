"""Monitors that watch a run while it goes, each with one job.

- ``observer``: the :class:`~ctool.monitors.observer.RunObserver` protocol (progress,
  exporters, tests).
- ``sampler``: CPU, RSS and queue depth over time (a thread).
- ``watchdog``: event-loop stalls, their call sites and stages, GC pauses.
- ``hang``: says so when a sync episode hangs past ``--episode-timeout``.
"""
