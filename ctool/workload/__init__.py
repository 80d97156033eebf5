"""What is measured: a user's pipeline, loaded and adapted.

- ``loader``: ``module:factory`` to a :class:`~ctool.workload.loader.PipelineAdapter`
  (episode, outputs, metrics, close), with one-line errors for bad targets.
- ``digest``: the behaviour digest over per-episode outputs.
- ``episode_memory``: memory in flight per episode (the suite and the pytest plugin).
- ``episode_function``: a sync or async function (or callable object) as the episode
  (``episode:module:function``), and the rule that tells it from a factory.
- ``program``: a script or module run once as ``__main__`` (``--script``, ``-m``), with a
  hook on the event loops it makes.
"""
