"""The command line: one module per command, the option parsing and the output path.

- ``app``: the Typer app and the one error handler; ``profile``, ``compare``, ``ab``,
  ``leakcheck``, ``suite``, ``report``, ``profilers``: the commands.
- ``options``, ``profile_options``, ``defaults``: the shared typed options (declared once),
  ``ctool profile``'s typed options resolved into one ``RunConfig``, ``[tool.ctool]``
  defaults.
- ``output``, ``compare_output``, ``console``, ``progress``: targets, rendering, progress.
- ``stop``: the one way every command ends (``Targets``, ``finish``: every target written,
  then 130 / 143 / 129 when a signal stopped it; the handlers are ``ctool.host.stop``).
- ``clock``, ``optional``: the process clock, optional extras.
"""
