"""Attach to a running Python process: ``ctool profile --pid N --duration S``.

Nothing in the target is restarted or changed; py-spy reads its stacks from outside.

* ``record``: the py-spy recording (``py-spy record --pid --idle --nonblocking --format
  speedscope``), with ptrace refusals and a missing process as one-line usage errors;
* ``stalls``: event-loop stalls found in the samples -- runs of the loop thread's samples
  outside the selector's wait -- named with their call sites (``MonitorSummary``);
* ``resources``: the target's CPU and RSS over time (psutil);
* ``runner``: ``run_attach(AttachConfig) -> ProfileReport``, the service behind the option.
"""
