"""``ctool leakcheck``: does memory grow per episode, and where.

- ``config``: :class:`~ctool.leak.config.LeakcheckOptions`.
- ``runner``: the sequential leak run (rounds until growth is settled).
- ``measure``: one measured round, memory sampled every k episodes.
- ``heap``: tracemalloc snapshots, growing sites and object types.
- ``memray``: the native-memory engine (``--engine memray``).
"""
