"""Decision rules side by side on the seeded synthetic latency model (issue 5; not a test).

Model (``ctool.analysis.synthetic.LatencyModel``): lognormal latencies (median 2 ms, sigma
0.2), AR(1) rho 0.5 in log space, 1 % spikes of 5x, a machine factor per process with a 3 %
standard deviation (in ``ctool ab`` shared by A and B inside a round).

Every rule gets the same budget, 1000 episodes per side:

* pyperf        -- Student's two-sample t-test at 95 % on the 1000 vs 1000 latencies;
* pytest-bench  -- ``--benchmark-compare-fail=mean:5%``: |mean ratio - 1| > 5 %, either way;
* asv           -- ratio of medians beyond 1.1x AND Mann-Whitney U p < 0.002;
* ctool compare, one run per file -- batches of one run (labelled blind to drift);
* ctool compare --rounds 10 -- 10 fresh processes of 100 episodes per file;
* ctool ab --rounds 10 -- 10 interleaved rounds, 100 episodes per half round.

For ctool, "flagged" is the latency p50 row (the default gate) saying faster/slower; the
``gate p50,p95,throughput`` rows show what gating more metrics costs.

Run: ``.venv/bin/python benchmarks/stats_model.py [--trials 300]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats

from ctool.analysis.compare import compare_paired, compare_reports
from ctool.analysis.synthetic import LatencyModel, profile_report
from ctool.model.schema import CompareReport, ProfileReport

MODEL = LatencyModel()
EFFECTS = (0.0, 0.02, 0.10)
WIDE_GATE = ("latency.p50", "latency.p95", "throughput")


def anchors(trials: int, effect: float, rng: np.random.Generator) -> dict[str, float]:
    """Vectorised over trials: the anchors' rules on two 1000-episode runs."""
    a = MODEL.episodes(rng, (trials,), 1000) * MODEL.machine(rng, (trials,))
    b = MODEL.episodes(rng, (trials,), 1000) * MODEL.machine(rng, (trials,)) * (1 + effect)
    t_test = stats.ttest_ind(a, b, axis=1).pvalue < 0.05
    mean5 = np.abs(b.mean(axis=1) / a.mean(axis=1) - 1) > 0.05
    ratio = np.median(b, axis=1) / np.median(a, axis=1)
    asv = (np.abs(np.log(ratio)) > np.log(1.1)) & (stats.mannwhitneyu(a, b, axis=1).pvalue < 0.002)
    return {
        "pyperf (t-test 95 %)": float(t_test.mean()),
        "pytest-benchmark (mean:5%)": float(mean5.mean()),
        "asv (1.1x and MWU p<0.002)": float(asv.mean()),
    }


def _flags(report: CompareReport) -> tuple[bool, bool]:
    rows = {row.metric: row.verdict for row in report.metrics}
    changed = ("faster", "slower")
    return rows["latency.p50"] in changed, any(rows[m] in changed for m in WIDE_GATE)


def _fast_report(rounds: list[np.ndarray]) -> ProfileReport:
    # Files with rounds are tested on the rounds: raw samples and batches are not needed.
    return profile_report(rounds, batches=2, samples=False)


def ctool_rules(trials: int, effect: float, rng: np.random.Generator) -> dict[str, float]:
    counts = dict.fromkeys(
        (
            "ctool compare, 1 run per file (blind)",
            "ctool compare --rounds 10",
            "ctool compare --rounds 10, gate p50,p95,throughput",
            "ctool ab --rounds 10",
            "ctool ab --rounds 10, gate p50,p95,throughput",
        ),
        0,
    )
    keys = list(counts)
    for _ in range(trials):
        one = [MODEL.episodes(rng, (1,), 1000) * MODEL.machine(rng, (1,)) for _ in "ab"]
        single = compare_reports(
            profile_report(list(one[0]), samples=False),
            profile_report(list(one[1] * (1 + effect)), samples=False),
        )
        counts[keys[0]] += _flags(single)[0]
        files = [MODEL.episodes(rng, (10,), 100) * MODEL.machine(rng, (10,)) for _ in "ab"]
        rounds = compare_reports(
            _fast_report(list(files[0])),
            _fast_report(list(files[1] * (1 + effect))),
        )
        p50, wide = _flags(rounds)
        counts[keys[1]] += p50
        counts[keys[2]] += wide
        factor = MODEL.machine(rng, (10,))
        a = MODEL.episodes(rng, (10,), 100) * factor
        b = MODEL.episodes(rng, (10,), 100) * factor * (1 + effect)
        paired = compare_paired(
            [_fast_report([x]) for x in a],
            [_fast_report([x]) for x in b],
        )
        p50, wide = _flags(paired)
        counts[keys[3]] += p50
        counts[keys[4]] += wide
    return {key: value / trials for key, value in counts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=300, help="trials per ctool rule")
    parser.add_argument("--anchor-trials", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()
    started = time.perf_counter()
    table: dict[str, list[float]] = {}
    for effect in EFFECTS:
        rng = np.random.default_rng([args.seed, int(effect * 1000)])
        for rule, rate in anchors(args.anchor_trials, effect, rng).items():
            table.setdefault(rule, []).append(rate)
        for rule, rate in ctool_rules(args.trials, effect, rng).items():
            table.setdefault(rule, []).append(rate)
    width = max(len(rule) for rule in table)
    print(
        f"{'rule':<{width}}  identical flagged  2 % shift flagged  10 % slowdown caught"
        f"   (anchors: {args.anchor_trials} trials, ctool: {args.trials})"
    )
    for rule, (same, small, big) in table.items():
        print(f"{rule:<{width}}  {same:>17.1%}  {small:>17.1%}  {big:>20.1%}")
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
