"""Drift inside one file's rounds: a sign that the machine changed state while it ran.

A file's rounds (``ctool profile --rounds R``) run back to back, in a few seconds. They see
process-to-process variation, but not a machine state that lasts longer than the file: on a
shared machine file A can run mostly in a slow state and file B mostly in a fast one, and
their rounds then "prove" a difference identical code does not have. That cannot be seen
from two files alone; what can be seen is a file whose rounds straddle a state change:

* **bimodal rounds** -- the round medians split into two groups (each of two or more
  rounds) whose distance is over :data:`BIMODAL_SEPARATION` pooled standard deviations;
* **spread between rounds beyond that within rounds** -- the standard deviation of the
  rounds' log medians is over :data:`SPREAD_FACTOR` times what sampling alone gives a
  median of that many episodes (from the episodes' own spread, ``log(p90 / p50) / 1.28``).

Either way the file warns, and the comparison is judged against a **drift floor** instead of
the threshold: the larger of the threshold and the drift the files showed (the distance
between the two modes, or two between-round standard deviations). A difference inside the
floor is one these files cannot resolve.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from ctool.analysis.compare.metrics import window_values
from ctool.model.schema import MetricComparison, ProfileReport

BIMODAL_SEPARATION = 8.0
SPREAD_FACTOR = 4.0
MIN_ROUNDS = 4


@dataclass(frozen=True)
class Drift:
    warning: str
    floor: float
    """The smallest relative change these rounds can resolve (0.2 = 20 %)."""


def _split(values: list[float]) -> tuple[float, int] | None:
    """The best split of sorted values into two groups of two or more: (separation, size
    of the lower group), separation in pooled standard deviations."""
    best: tuple[float, int] | None = None
    for k in range(2, len(values) - 1):
        low, high = values[:k], values[k:]
        pooled = math.sqrt(
            (sum((v - statistics.fmean(low)) ** 2 for v in low)
             + sum((v - statistics.fmean(high)) ** 2 for v in high))
            / (len(values) - 2)
        )  # fmt: skip
        gap = statistics.fmean(high) - statistics.fmean(low)
        separation = gap / pooled if pooled > 0 else math.inf
        if best is None or separation > best[0]:
            best = (separation, k)
    return best


def round_drift(report: ProfileReport, name: str) -> Drift | None:
    """The drift warning of one file, or ``None`` when its rounds look steady."""
    p50s = [window_values(w).get("latency.p50", 0.0) for w in report.rounds]
    logs = sorted(math.log(v) for v in p50s if v > 0)
    if len(logs) < MIN_ROUNDS:
        return None
    split = _split(logs)
    if split is not None and split[0] > BIMODAL_SEPARATION:
        k = split[1]
        low, high = math.exp(statistics.fmean(logs[:k])), math.exp(statistics.fmean(logs[k:]))
        return Drift(
            f"{name}: its {len(logs)} rounds are bimodal (latency p50 about {low:.3g} ms in "
            f"{k} rounds, {high:.3g} ms in {len(logs) - k}): the machine changed state while "
            "the file ran, and a state that outlasts a file is invisible to its rounds",
            high / low - 1.0,
        )
    lat = report.latency_ms
    episodes = statistics.median([w.episodes for w in report.rounds])
    if lat.p50 <= 0 or lat.p90 <= lat.p50 or episodes < 1:
        return None
    expected = 1.2533 * math.log(lat.p90 / lat.p50) / 1.2816 / math.sqrt(episodes)
    between = statistics.stdev(logs)
    if between > SPREAD_FACTOR * expected:
        return Drift(
            f"{name}: its rounds spread {100 * between:.1f} % (standard deviation of the "
            f"round medians), {between / expected:.1f}x what sampling within a round gives: "
            "the machine drifted while the file ran, and a drift that outlasts a file is "
            "invisible to its rounds",
            math.exp(2 * between) - 1.0,
        )
    return None


def drift_floor(drifts: list[Drift], threshold: float) -> tuple[float, list[str]]:
    """The threshold to judge against, and the warnings that explain it."""
    if not drifts:
        return threshold, []
    floor = max(threshold, *(d.floor for d in drifts))
    warnings = [d.warning for d in drifts]
    warnings.append(
        f"judged against a drift floor of ±{100 * floor:.1f} % instead of the threshold "
        f"±{100 * threshold:g} %: these files cannot resolve a smaller difference; "
        "use 'ctool ab' for a verdict that can"
    )
    return floor, warnings


def below_floor(rows: list[MetricComparison], floor: float) -> None:
    """Under a drift floor, "no change" cannot be claimed either: such rows become
    ``inconclusive`` (the files cannot resolve a difference inside the floor), in place."""
    for row in rows:
        if (
            row.verdict in ("no significant change", "within noise")
            and row.method != "single value"
        ):
            row.verdict = "inconclusive"
            row.note = (
                f"inside the drift floor ±{100 * floor:.1f} %: these files cannot resolve a "
                "smaller difference, either way"
            )
