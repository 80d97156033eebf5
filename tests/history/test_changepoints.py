"""Change points on series whose steps are known by construction."""

from __future__ import annotations

import random

import pytest

from ctool.history.changepoints import detect


def noisy(n: int, sd: float, seed: int, level: float = 100.0) -> list[float]:
    rng = random.Random(seed)
    return [level * (1 + sd * rng.gauss(0, 1)) for _ in range(n)]


def test_a_step_is_found_where_it_is_with_its_size_in_the_interval() -> None:
    values = noisy(400, 0.03, seed=1)
    values[250:] = [v + 8.0 for v in values[250:]]  # +8 % from point 250
    found = detect(values)
    assert len(found) == 1
    change = found[0]
    assert abs(change.index - 250) <= 3
    assert change.low < 0.08 < change.high
    assert change.p_value <= 0.001
    assert detect(values) == found  # deterministic


@pytest.mark.parametrize("seed", range(5))
def test_noise_alone_gives_no_change_point(seed: int) -> None:
    assert detect(noisy(1000, 0.05, seed=seed)) == []


def test_a_single_outlier_is_not_a_change() -> None:
    values = noisy(300, 0.02, seed=7)
    values[150] *= 1.5
    assert detect(values) == []


def test_a_change_smaller_than_the_minimum_magnitude_is_not_reported() -> None:
    values = noisy(400, 0.0005, seed=3)
    values[200:] = [v * 1.005 for v in values[200:]]  # +0.5 %, 10 noise SDs
    assert len(detect(values, min_magnitude=0.001)) == 1
    assert detect(values, min_magnitude=0.01) == []


def test_two_steps_and_a_long_series() -> None:
    values = noisy(10_000, 0.05, seed=4)
    values[3000:] = [v + 10.0 for v in values[3000:]]
    values[7000:] = [v - 15.0 for v in values[7000:]]
    found = detect(values)
    assert [abs(c.index - t) <= 10 for c, t in zip(found, (3000, 7000), strict=True)] == [
        True,
        True,
    ]
    assert found[0].change > 0 > found[1].change


def test_short_or_non_finite_series_give_nothing() -> None:
    assert detect([1.0] * 9) == []
    assert detect([1.0, float("nan")] * 20) == []


def test_without_ruptures_the_error_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    from ctool.model.errors import UsageError

    monkeypatch.setitem(sys.modules, "ruptures", None)  # import ruptures -> ImportError
    with pytest.raises(UsageError, match=r'pip install "ctool\[history\]"'):
        detect(noisy(100, 0.01, seed=1))
