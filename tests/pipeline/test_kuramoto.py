"""The two Kuramoto implementations integrate the same trajectories."""

from __future__ import annotations

import math
import random
from array import array

import numpy as np
import pytest

from ctool.pipeline.kuramoto import NumpyKuramoto, PythonKuramoto, make_kuramoto


def network_inputs(seed: int, n: int) -> tuple[np.ndarray, list[float], list[float]]:
    rng = random.Random(seed)
    weights = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            if rng.random() < 0.5:
                weights[i, j] = weights[j, i] = rng.uniform(0.5, 1.0)
    omega = [2 * math.pi * (40 + 2 * rng.gauss(0, 1)) for _ in range(n)]
    theta = [rng.uniform(0, 2 * math.pi) for _ in range(n)]
    return weights, omega, theta


@pytest.mark.parametrize("seed,n", [(0, 8), (1, 13), (2, 24)])
def test_numpy_equals_python(seed: int, n: int) -> None:
    weights, omega, theta = network_inputs(seed, n)
    runs = []
    for impl in ("python", "numpy"):
        net = make_kuramoto(impl, weights, omega, theta, 0.0005)
        trace = array("d", bytes(8 * 750))
        steps = net.synchronize(100.0, threshold=0.7, hold=10, max_steps=600, trace=trace)
        end = steps or 600
        sustained = net.run(100, 100.0, trace, end)
        net.run(50, 50.0, trace, end + 100)
        runs.append((steps, sustained, list(trace[: end + 150]), net.phases()))
    (s_py, m_py, t_py, p_py), (s_np, m_np, t_np, p_np) = runs
    assert s_py == s_np
    assert m_py == pytest.approx(m_np, abs=1e-9)
    np.testing.assert_allclose(t_py, t_np, rtol=0, atol=1e-9)
    np.testing.assert_allclose(p_py, p_np, rtol=0, atol=1e-9)


def test_factory_picks_the_implementation() -> None:
    weights, omega, theta = network_inputs(0, 4)
    assert isinstance(make_kuramoto("python", weights, omega, theta, 1e-3), PythonKuramoto)
    assert isinstance(make_kuramoto("numpy", weights, omega, theta, 1e-3), NumpyKuramoto)
    with pytest.raises(ValueError):
        make_kuramoto("fortran", weights, omega, theta, 1e-3)


def test_strong_coupling_synchronises_and_zero_coupling_does_not() -> None:
    weights, omega, theta = network_inputs(5, 12)
    full = np.ones((12, 12)) - np.eye(12)
    net = make_kuramoto("numpy", full, omega, theta, 0.0005)
    trace = array("d", bytes(8 * 600))
    steps = net.synchronize(1000.0, threshold=0.9, hold=10, max_steps=600, trace=trace)
    assert steps is not None and trace[steps - 1] >= 0.9
    net = make_kuramoto("numpy", weights, omega, theta, 0.0005)
    assert net.synchronize(0.0, threshold=0.99, hold=10, max_steps=600, trace=trace) is None
