"""The history of a project's measurements, commit after commit (docs/history.md).

* :mod:`ctool.history.gitinfo` -- commits, parents, branches and subjects, read with git;
* :mod:`ctool.history.record` -- a :class:`HistoryRecord` from a report: commit, machine
  fingerprint, package-environment hash, pipeline and settings hash, metrics (declared
  pipeline metrics included), compact samples or a reference to the report file;
* :mod:`ctool.history.migrations` -- the store's schema, as numbered migrations;
* :mod:`ctool.history.store` -- the store: one SQLite file, or PostgreSQL (``psycopg``);
* :mod:`ctool.history.series` -- one metric of one pipeline, settings and machine, in
  commit order (never across machines);
* :mod:`ctool.history.changepoints` -- change points with their size, interval and p-value
  (``ruptures`` candidates, Welch-tested);
* :mod:`ctool.history.check` -- regressions at the newest commits (``ctool history check``);
* :mod:`ctool.history.views` -- the table with sparklines, markdown and the HTML trend.

Nothing here knows a pipeline: metrics are read from reports by name.
"""
