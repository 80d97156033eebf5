"""Compare two profile reports, or A/B rounds, into a :class:`CompareReport`. Pure functions.

What is compared (one :class:`MetricComparison` row each): latency p50, p95, p99 and mean,
throughput, each stage's p50 and p95 (``(between stages)`` included), every metric the
pipeline declared (``pipeline.<name>``, judged by its declaration: ``ctool.model.declared``),
peak RSS and CPU time per episode. Which values a test sees (the *mode*):

* ``rounds`` -- both reports carry two or more rounds (``ctool profile --rounds R``, each
  round a fresh process): one value per round and side; Mann-Whitney U and a bootstrap
  interval (``ctool.analysis.statistics.two_sample_ratio``). Round-to-round spread includes
  the machine's run-to-run drift, so a verdict here accounts for it.
* ``batches`` -- otherwise: one value per batch of consecutive episodes of one run (the
  report's ``batches``, or 20 batches rebuilt from the raw latencies). Batches share one
  process, so a verdict here is **blind to run-to-run drift** and the report says so.
* ``ab`` -- :func:`compare_paired`: ``ctool ab``'s interleaved rounds, one report per half
  round; the Wilcoxon signed-rank test on per-round log ratios B/A.

Metrics with no per-window values are compared descriptively when they are steady (better /
worse / same beyond the threshold: RSS, declared counters and ratios) and are
``inconclusive`` when they are noisy (timings, CPU time, declared distributions and gauges):
one value per side says nothing about the noise. Batches carry CPU time per episode, the
hand-offs and the declared metrics from the checkpoints of their run.

Besides the rows: a hotspot diff, an environment and configuration diff with warnings, and
the behaviour check on the output digests. The gate (``--gate``) marks which rows decide the
exit code of ``--fail-on-regression`` / ``--fail-on-change``.

The modules, in the order a comparison uses them:

* :mod:`~ctool.analysis.compare.checks` -- input validation (:func:`require_profile`);
* :mod:`~ctool.analysis.compare.metrics` -- metric values from whole reports and windows;
* :mod:`~ctool.analysis.compare.rows` -- one tested (or described) row per metric;
* :mod:`~ctool.analysis.compare.gate` -- ``--gate`` parsing and the gated verdicts;
* :mod:`~ctool.analysis.compare.diffs` -- hotspot, environment and behaviour diffs;
* :mod:`~ctool.analysis.compare.build` -- :func:`compare_reports`, :func:`compare_paired`
  and :func:`compare_files`, which assemble the :class:`CompareReport`.

Everything other packages use is re-exported here: import from ``ctool.analysis.compare``.
"""

from __future__ import annotations

from ctool.analysis.compare.build import (
    DEFAULT_ALPHA,
    DEFAULT_THRESHOLD,
    compare_files,
    compare_paired,
    compare_reports,
)
from ctool.analysis.compare.checks import require_profile
from ctool.analysis.compare.diffs import (
    HOTSPOT_MIN_RATIO,
    HOTSPOT_MIN_SHARE,
    behaviour,
    environment_diff,
    hotspot_diff,
    paired_behaviour,
)
from ctool.analysis.compare.gate import (
    DEFAULT_GATE,
    GATE_ALIASES,
    is_timing,
    parse_gate,
    regressions_and_changes,
    unmatched_gate,
)
from ctool.analysis.compare.metrics import (
    SAMPLE_BATCHES,
    MetricSpec,
    declared_spec,
    declared_specs,
    metric_specs,
    summary_values,
    window_from_latencies,
    window_values,
    windows_from_samples,
)
from ctool.analysis.compare.rows import Series, Summaries, Tester

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_GATE",
    "DEFAULT_THRESHOLD",
    "GATE_ALIASES",
    "HOTSPOT_MIN_RATIO",
    "HOTSPOT_MIN_SHARE",
    "SAMPLE_BATCHES",
    "MetricSpec",
    "Series",
    "Summaries",
    "Tester",
    "behaviour",
    "compare_files",
    "declared_spec",
    "declared_specs",
    "compare_paired",
    "compare_reports",
    "environment_diff",
    "hotspot_diff",
    "is_timing",
    "metric_specs",
    "paired_behaviour",
    "parse_gate",
    "regressions_and_changes",
    "require_profile",
    "summary_values",
    "unmatched_gate",
    "window_from_latencies",
    "window_values",
    "windows_from_samples",
]
