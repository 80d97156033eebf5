"""Executors: where the replicas of a replicated run go (``--executor dask``).

The local executor (``--workers N`` worker processes) lives in ``ctool.run.workers``;
this package adds the ones that need an optional engine. Nothing here is imported by
``ctool --help`` or ``import ctool``.
"""
