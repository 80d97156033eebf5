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

The second table runs on the model of a machine with **states lasting seconds**
(``ctool.analysis.synthetic_ab``: fast or 1.6x slow, exponential dwell of mean 3 s, a 1 %
factor per process): the old ab design (a whole process per side per round, Wilcoxon on 10
round ratios), compare of two ``--rounds 10`` files made one after the other (with its
drift detection and floor), and ab's fine-grained design (10 ABBA block pairs of 20
episodes per round) with 6 fixed rounds and with ``--until-decided``.

Run: ``.venv/bin/python benchmarks/stats_model.py [--trials 300]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats

from ctool.analysis.compare import compare_paired, compare_reports
from ctool.analysis.sequential import SequentialRule, interval_test, t_interval
from ctool.analysis.statistics import classify
from ctool.analysis.synthetic import LatencyModel, profile_report
from ctool.analysis.synthetic_ab import ABDesign, MachineStates, simulate_ab_rounds
from ctool.model.schema import CompareReport, ProfileReport

MODEL = LatencyModel()
STATES = MachineStates()
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
            "ctool ab --rounds 10 (old design)",
            "ctool ab --rounds 10 (old design), gate p50,p95,throughput",
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


def _flag(verdict: str) -> bool:
    return verdict in ("faster", "slower")


def _file_rounds(rng: np.random.Generator, trials: int, effect: float) -> list[CompareReport]:
    """Two 10-round files of 100 episodes, file B made right after file A, on the states."""
    n, rounds, gap = 100, 10, 0.5
    base = MODEL.episodes(rng, (trials, 2 * rounds), n)
    length = base.sum(axis=2) / 1000.0 + gap
    mid = np.cumsum(length, axis=1) - length / 2
    state = STATES.factors(rng, mid)[..., None]
    process = np.exp(0.01 * rng.standard_normal((trials, 2 * rounds, 1)))
    lat = base * state * process
    lat[:, rounds:] *= 1 + effect
    return [
        compare_reports(_fast_report(list(t[:rounds])), _fast_report(list(t[rounds:]))) for t in lat
    ]


def state_rules(trials: int, effect: float, rng: np.random.Generator) -> dict[str, str]:
    """Flagged rates (and "no change" decisions) of each rule on the machine-state model."""
    out: dict[str, str] = {}
    old = simulate_ab_rounds(rng, trials, 10, effect, ABDesign(blocks=1, block_episodes=100))
    verdicts = [
        compare_paired([_fast_report([np.ones(3)])] * 10,
                       [_fast_report([np.full(3, np.exp(v))]) for v in row]).metrics[0].verdict
        for row in old
    ]  # fmt: skip
    out["old ab: a process per side per round, 10 rounds"] = _rate(verdicts)
    files = _file_rounds(rng, trials, effect)
    out["compare of two --rounds 10 files (drift floor)"] = (
        _rate([r.metrics[0].verdict for r in files])
        + f", drift warned in {sum(bool(r.warnings) for r in files)}"
    )
    for label, rounds, sequential in (
        ("ab blocks, 6 rounds", 6, False),
        ("ab blocks, --until-decided (max 30 rounds)", 30, True),
    ):
        values = simulate_ab_rounds(rng, trials, rounds, effect, ABDesign())
        rule = SequentialRule(0.05, 0.05, rounds)
        verdicts, used = [], []
        for row in values:
            n = rounds
            alpha = 0.05
            if sequential:
                alpha = rule.look_alpha
                n = next((k for k in rule.looks if rule.stops(list(row[:k]))), rounds)
            test = interval_test(t_interval(list(row[:n]), alpha), n, alpha)
            verdicts.append(classify(test, alpha=alpha, threshold=0.05, lower_is_better=True))
            used.append(n)
        out[label] = _rate(verdicts) + f", mean rounds {np.mean(used):.1f}"
    return out


def _rate(verdicts: list[str]) -> str:
    flagged = sum(_flag(v) for v in verdicts) / len(verdicts)
    no_change = sum(v in ("no significant change", "within noise") for v in verdicts)
    return f"{flagged:.1%} flagged ({no_change / len(verdicts):.0%} no change)"


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
    print()
    print("machine states lasting seconds (ctool.analysis.synthetic_ab), per change:")
    for effect in EFFECTS:
        rng = np.random.default_rng([args.seed, 7, int(effect * 1000)])
        for rule, text in state_rules(args.trials, effect, rng).items():
            print(f"  {effect:+.0%}  {rule:<{width}}  {text}")
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
