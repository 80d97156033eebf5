"""Profile runs of any pipeline (``ctool profile``, the suite, the pytest plugin).

- ``config``: :class:`~ctool.run.config.RunConfig`, the validated service config.
- ``runner``: :func:`~ctool.run.runner.run_profile`, one run from config to report.
- ``shapes``: load shapes (sequential, concurrency sweep, open-loop rate, burst, duration).
- ``recorder``: span records of each episode into a column store.
- ``cost``: the harness's own cost per episode, calibrated after a run.
- ``workers``, ``replicas``: ``--workers`` replicas and ``--rounds`` fresh processes.
- ``program``: :func:`~ctool.run.program.run_program_profile`, a program (``--script``,
  ``-m``) run once under the monitors and profilers, its loops watched.
"""
