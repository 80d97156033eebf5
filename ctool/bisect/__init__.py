"""``ctool bisect``: which commit made it slower, each step an ``ab --until-decided``.

* :mod:`ctool.bisect.checkouts` -- one git worktree per commit under ``.ctool/bisect``,
  its build and import check cached and reused; a commit that fails either is skipped;
* :mod:`ctool.bisect.search` -- the endpoint check, the binary search and its per-step
  alpha (:class:`BisectPlan`, :func:`run_bisect`);
* :mod:`ctool.bisect.result` -- the result (every step, the culprit) and its terminal,
  markdown and JSON forms.
"""
