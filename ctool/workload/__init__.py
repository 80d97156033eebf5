"""What is measured: a user's pipeline, loaded and adapted.

- ``loader``: ``module:factory`` to a :class:`~ctool.workload.loader.PipelineAdapter`
  (episode, outputs, metrics, close), with one-line errors for bad targets.
- ``digest``: the behaviour digest over per-episode outputs.
- ``episode_memory``: memory in flight per episode (the suite and the pytest plugin).
"""
