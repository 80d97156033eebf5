"""The command line: one module per command, the option parsing and the output path.

- ``app``: the Typer app and the one error handler; ``profile``, ``compare``, ``ab``,
  ``leakcheck``, ``suite``, ``report``, ``profilers``: the commands.
- ``options``, ``profile_options``, ``defaults``: shared options, ``ctool profile``'s
  options resolved into a ``RunConfig``, ``[tool.ctool]`` defaults.
- ``output``, ``compare_output``, ``console``, ``progress``: targets, rendering, progress.
- ``signals``, ``clock``, ``optional``: interruption, the process clock, optional extras.
"""
