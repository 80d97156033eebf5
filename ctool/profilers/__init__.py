"""Profiler backends: the protocol, the entry-point registry and the built-ins.

- ``base``: the :class:`~ctool.profilers.base.Profiler` protocol and its options.
- ``registry``: backends found under the ``ctool.profilers`` entry-point group.
- ``session``: the chosen backends opened together around a run.
- ``cprofile``, ``tracemalloc``, ``pyspy``, ``line``, ``memory``, ``memray``: the built-ins.
- ``frames``, ``boundary``, ``cprofile_boundary``, ``stages``, ``targets``: who the user
  is, library time folded into boundary rows, the stage of a row, target resolution.
- ``span_blocks``: span blocks read from the source, so a row inside one gets its stage.
"""
