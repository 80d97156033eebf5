"""The statistics of compare and ab, validated on the seeded synthetic model of issue 5.

Model (``ctool.analysis.synthetic.LatencyModel``): lognormal episode latencies, AR(1) with
rho 0.5 in log space, 1 % spikes of 5x, a machine factor per process with a 3 % standard
deviation. Each trial spends the anchors' budget, 1000 episodes per side: ``ctool compare`` on
files made with ``--rounds 10`` of 100 episodes (a factor per process). ``ctool ab``'s
fine-grained design is validated on the model with machine states in
``tests/analysis/test_sequential.py``.
"Flagged" is the latency p50 row saying faster or slower (the default gate).

100 seeded trials per scenario; the vectorised model and the real analysis code make each
scenario take a second or two. The anchors' rules on the same model are in
``benchmarks/stats_model.py`` (not a test).
"""

from __future__ import annotations

import numpy as np
import pytest

from ctool.analysis.compare import compare_reports
from ctool.analysis.synthetic import LatencyModel, profile_report
from ctool.model.schema import ProfileReport
from ctool.reports.compare_markdown import render_markdown
from ctool.reports.compare_text import BLIND

MODEL = LatencyModel()
TRIALS = 100
ROUNDS = 10
EPISODES = 100


def _report(rounds: list[np.ndarray]) -> ProfileReport:
    # Raw samples and batches are not used when both files have rounds; skip them for speed.
    return profile_report(rounds, batches=2, samples=False)


def _compare_verdicts(effect: float, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    verdicts = []
    for _ in range(TRIALS):
        before = MODEL.episodes(rng, (ROUNDS,), EPISODES) * MODEL.machine(rng, (ROUNDS,))
        after = MODEL.episodes(rng, (ROUNDS,), EPISODES) * MODEL.machine(rng, (ROUNDS,))
        report = compare_reports(_report(list(before)), _report(list(after * (1 + effect))))
        assert report.mode == "rounds" and not report.blind_to_drift
        verdicts.append(report.metrics[0].verdict)
    return verdicts


def _flagged(verdicts: list[str]) -> int:
    return sum(v in ("faster", "slower") for v in verdicts)


def test_compare_rounds_identical_code_flagged_at_most_5_percent() -> None:
    assert _flagged(_compare_verdicts(0.0, seed=4)) <= 5


def test_compare_rounds_catches_10_percent_slowdown_at_least_90_percent() -> None:
    verdicts = _compare_verdicts(0.10, seed=5)
    assert verdicts.count("slower") >= 90
    assert "faster" not in verdicts


def test_compare_rounds_2_percent_shift_flagged_at_most_10_percent() -> None:
    assert _flagged(_compare_verdicts(0.02, seed=6)) <= 10


@pytest.mark.parametrize("effect", [0.0, 0.10])
def test_single_round_files_are_labelled_blind_to_drift(effect: float) -> None:
    rng = np.random.default_rng(7)
    before = MODEL.episodes(rng, (1,), 1000) * MODEL.machine(rng, (1,))
    after = MODEL.episodes(rng, (1,), 1000) * MODEL.machine(rng, (1,)) * (1 + effect)
    report = compare_reports(profile_report(list(before)), profile_report(list(after)))
    assert report.mode == "batches"
    assert report.blind_to_drift
    assert report.metrics[0].n_before == report.metrics[0].n_after == 20
    assert "blind to run-to-run drift" in BLIND
    assert BLIND in render_markdown(report)


def test_batch_mode_is_blind_where_rounds_are_not() -> None:
    """Why the label matters: on identical code, one factor per file fools batches."""
    rng = np.random.default_rng(8)
    blind = rounds = 0
    for _ in range(40):
        factors = MODEL.machine(rng, (2,))
        one = [MODEL.episodes(rng, (1,), 1000) * f for f in factors]
        blind += compare_reports(
            profile_report(list(one[0]), samples=False), profile_report(list(one[1]), samples=False)
        ).metrics[0].verdict in ("faster", "slower", "within noise")
        many = [
            MODEL.episodes(rng, (ROUNDS,), EPISODES) * MODEL.machine(rng, (ROUNDS,)) for _ in "ab"
        ]
        rounds += compare_reports(_report(list(many[0])), _report(list(many[1]))).metrics[
            0
        ].verdict in ("faster", "slower", "within noise")
    assert blind > rounds
