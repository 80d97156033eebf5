"""The statistics of ``ctool ab``'s fine-grained design and of ``--until-decided``, validated
on the seeded model of a machine with states lasting seconds
(``ctool.analysis.synthetic_ab``: fast or 1.6x slow, exponential dwell of mean 3 s; a 1 %
process factor per worker; the episode noise of ``LatencyModel``).

Each trial is one ``ctool ab`` on the model: rounds of 10 ABBA block pairs of 20 episodes.
The round values come from :func:`simulate_ab_rounds` (vectorised); the decisions from the
same pure functions ``run_ab`` uses (``SequentialRule``, ``t_interval``, ``classify``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from ctool.analysis.sequential import (
    SequentialRule,
    decided,
    holm_adjust,
    interval_test,
    look_schedule,
    rounds_needed,
    t_interval,
    t_quantile,
    t_two_sided_p,
)
from ctool.analysis.statistics import classify
from ctool.analysis.synthetic_ab import ABDesign, simulate_ab_rounds

TRIALS = 200
THRESHOLD = 0.05
ALPHA = 0.05
FLAGS = ("faster", "slower")


@pytest.mark.parametrize("df", [1, 2, 3, 4, 7, 12, 29])
def test_t_distribution_matches_scipy(df: int) -> None:
    for t in (0.2, 1.0, 2.2, 5.0):
        assert t_two_sided_p(t, df) == pytest.approx(2 * stats.t.sf(t, df), abs=1e-9)
    assert t_quantile(0.01, df) == pytest.approx(stats.t.ppf(0.995, df), rel=1e-8)


def test_look_schedule_and_holm() -> None:
    assert look_schedule(30) == [4, 6, 9, 14, 21, 30]
    assert look_schedule(4) == [4]
    assert holm_adjust([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])


def _sequential(effect: float, seed: int, max_rounds: int = 21) -> tuple[list[str], list[int]]:
    """Verdicts and rounds used by ``--until-decided`` in TRIALS runs on the model."""
    rule = SequentialRule(THRESHOLD, ALPHA, max_rounds)
    values = simulate_ab_rounds(np.random.default_rng(seed), TRIALS, max_rounds, effect, ABDesign())
    verdicts, used = [], []
    for row in values:
        n = next((n for n in rule.looks if rule.stops(list(row[:n]))), rule.looks[-1])
        test = interval_test(t_interval(list(row[:n]), rule.look_alpha), n, rule.look_alpha)
        verdicts.append(
            classify(test, alpha=rule.look_alpha, threshold=THRESHOLD, lower_is_better=True)
        )
        used.append(n)
    return verdicts, used


def test_sequential_identical_code_false_alarms_within_alpha() -> None:
    verdicts, used = _sequential(0.0, seed=11)
    assert sum(v in FLAGS for v in verdicts) <= ALPHA * TRIALS
    # Most identical-code runs end decided "no significant change", not inconclusive.
    assert verdicts.count("no significant change") >= 0.5 * TRIALS
    assert np.mean(used) < 21  # and they stop early


def test_sequential_catches_10_percent() -> None:
    verdicts, _ = _sequential(0.10, seed=12)
    assert verdicts.count("slower") >= 0.95 * TRIALS


def test_sequential_rarely_rules_out_a_change_that_is_there() -> None:
    """+8 % is beyond the 5 % threshold: "no change beyond 5 %" is the wrong decision."""
    verdicts, _ = _sequential(0.08, seed=13)
    wrong = sum(v in ("no significant change", "within noise") for v in verdicts)
    assert wrong <= ALPHA * TRIALS


def test_fixed_rounds_on_states() -> None:
    """Six fixed rounds (the default without --until-decided), at the full alpha."""
    for effect, seed, low, high in ((0.0, 21, 0, 10), (0.02, 22, 0, 20), (0.10, 23, 190, 200)):
        values = simulate_ab_rounds(np.random.default_rng(seed), TRIALS, 6, effect, ABDesign())
        verdicts = [
            classify(
                interval_test(t_interval(list(r), ALPHA), 6, ALPHA),
                alpha=ALPHA,
                threshold=THRESHOLD,
                lower_is_better=True,
            )
            for r in values
        ]
        assert low <= sum(v in FLAGS for v in verdicts) <= high, (effect, verdicts)


def test_whole_processes_do_not_cancel_states_but_blocks_do() -> None:
    """The reason for blocks: with one block per side per round (a whole process each, the
    old design), states lasting seconds spread the round ratios far more."""
    rng = np.random.default_rng(31)
    coarse = ABDesign(blocks=1, block_episodes=500)
    fine = ABDesign(blocks=25, block_episodes=20)
    spread_coarse = float(np.std(simulate_ab_rounds(rng, 100, 6, 0.0, coarse)))
    spread_fine = float(np.std(simulate_ab_rounds(rng, 100, 6, 0.0, fine)))
    assert spread_fine < spread_coarse / 2


def test_rounds_needed_grows_as_the_estimate_nears_the_threshold() -> None:
    near = t_interval([math.log(1.045) + d for d in (0.01, -0.01, 0.02, -0.02)], 0.01)
    far = t_interval([math.log(1.01) + d for d in (0.01, -0.01, 0.02, -0.02)], 0.01)
    assert near is not None and far is not None
    assert not decided(near, THRESHOLD)
    assert rounds_needed(near, THRESHOLD, 0.01) > rounds_needed(far, THRESHOLD, 0.01) >= 4
