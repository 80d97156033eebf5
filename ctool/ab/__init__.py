"""``ctool ab``: A and B interleaved in blocks inside fresh worker pairs.

- ``runner``: :class:`~ctool.ab.runner.ABPlan` and :func:`~ctool.ab.runner.run_ab` (rounds,
  time budget, sequential stopping).
- ``process``: starting and talking to a pair of block workers.
- ``worker``: the worker process's serve loop (``python -m ctool.ab.worker``).
- ``counters``, ``callgrind``, ``native/``: ``--measure cpu|instructions``.
"""
