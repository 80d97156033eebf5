"""Monitors that watch a run while it goes, each with one job.

- ``observer``: the :class:`~ctool.monitors.observer.RunObserver` protocol (progress,
  exporters, tests).
- ``sampler``: CPU, RSS and queue depth over time (a thread).
- ``watchdog``: event-loop stalls, their call sites, stages and classes, GC pauses;
  ``watch_loop`` attaches it to any running asyncio loop.
- ``steps``: times every step an asyncio loop runs (each stall's exact duration).
- ``threads``: what a thread is doing, read from the kernel (on a CPU, waiting for the
  GIL, waiting for anything else) and its CPU time.
- ``sites``: the pipeline's call site and stage on a sampled stack.
- ``hang``: says so when a sync episode hangs past ``--episode-timeout``.
"""
