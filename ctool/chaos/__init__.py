"""ctool chaos: faults at a pipeline's stages, exact accounting of what broke, recovery.

* ``plan``: the plan (TOML file and ``--fault`` options), every key checked.
* ``inject``: the injector behind the span fault hooks and ``ctool.fault_point``.
* ``windows``: faults on the whole process for a window (CPU, memory, fds, loop
  starvation, a TCP partition through ``ctool.proxy``).
* ``driver``: runs one side's episodes and records each (times, outcome, digest).
* ``account``: every started episode named by one outcome against the control.
* ``steady``: the steady-state hypothesis per window, the phases, recovery.
* ``runner``: ``run_chaos`` (control, experiment, catch-up, leftovers); ``assemble``:
  the ``chaos`` report.
* ``ctk``: the Chaos Toolkit provider (actions and probes).
"""
