"""The process and machine around a run.

- ``environment``: the report's ``environment`` (Python, CPU model, cores, host).
- ``child``: what every worker process ctool starts does around its serve loop.
- ``context_executor``: the loop's default executor that copies the caller's context.
- ``stop``: every signal handler of the parent process: SIGINT, SIGTERM and SIGHUP stop a
  run the same way, within the measuring windows the services mark; never while the
  report is written.
"""
