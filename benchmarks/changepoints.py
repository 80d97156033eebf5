"""Change points on generated series: false alerts, misses, time (issue 23).

Not a test: a measurement. Each series has a level of 100, Gaussian noise with a standard
deviation of 1-10 % of the level, 200-2,000 points and, in half the series, one step of
2-20 % (either way) at a random place between 10 % and 90 % of the series. Seeded.

* **false alert**: a series without a step gets any change point;
* **miss**: a series with a step of at least 3 noise standard deviations gets no change
  point within 5 points (or 1 % of the series) of it;
* **time**: seconds per series, and for one series of 10,000 points with a step.

``ctool`` is :func:`ctool.history.changepoints.detect` (ruptures' KernelCPD candidates,
Welch's test at p <= 0.001). ``--edivisive N`` also runs MongoDB's E-Divisive
(``signal-processing-algorithms``: permutation test, p <= 0.001 needs 999 permutations) on
the first N series, when that package is importable (it pins numpy < 2: run this script
from a virtual environment of its own, with the repository on ``PYTHONPATH``).

Run::

    .venv/bin/python benchmarks/changepoints.py --series 400
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Sequence

import numpy as np

from ctool.history.changepoints import detect


def make_series(rng: random.Random) -> tuple[np.ndarray, int | None, float, float]:
    n = rng.randint(200, 2000)
    noise = rng.uniform(0.01, 0.10)
    values = 100 * (1 + noise * np.array([rng.gauss(0, 1) for _ in range(n)]))
    if rng.random() < 0.5:
        return values, None, 0.0, noise
    step = rng.uniform(0.02, 0.20) * rng.choice((-1, 1))
    at = rng.randint(n // 10, 9 * n // 10)
    values[at:] += 100 * step
    return values, at, step, noise


def ctool_detector(values: np.ndarray) -> list[int]:
    return [c.index for c in detect(values)]


def edivisive_detector(values: np.ndarray) -> list[int]:
    from signal_processing_algorithms.energy_statistics import energy_statistics

    return list(energy_statistics.e_divisive(values, pvalue=0.001, permutations=999))


def evaluate(name: str, detector: Callable[[np.ndarray], list[int]], series: Sequence) -> None:
    nulls = alerts = strong = misses = weak = weak_found = 0
    started = time.perf_counter()
    for values, at, step, noise in series:
        found = detector(values)
        if at is None:
            nulls += 1
            alerts += bool(found)
            continue
        hit = any(abs(c - at) <= max(5, len(values) // 100) for c in found)
        if abs(step) >= 3 * noise:
            strong += 1
            misses += not hit
        else:
            weak += 1
            weak_found += hit
    took = time.perf_counter() - started
    print(f"{name}: {len(series)} series, {took / len(series) * 1000:.1f} ms per series")
    print(f"  false alerts: {alerts}/{nulls} series without a step ({alerts / max(nulls, 1):.1%})")
    print(f"  misses: {misses}/{strong} steps >= 3 noise SD ({misses / max(strong, 1):.1%})")
    print(f"  found: {weak_found}/{weak} steps < 3 noise SD")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=400)
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--edivisive", type=int, default=0, metavar="N")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    series = [make_series(rng) for _ in range(args.series)]
    evaluate("ctool (ruptures KernelCPD + Welch)", ctool_detector, series)
    long = 100 * (1 + 0.05 * np.random.default_rng(1).standard_normal(10_000))
    long[6000:] += 5.0
    started = time.perf_counter()
    found = detect(long)
    took = time.perf_counter() - started
    print(
        f"10,000 points, one +5 % step at 6000 (noise 5 %): {took:.3f} s, "
        f"change points at {[c.index for c in found]}"
    )
    if args.edivisive:
        evaluate(
            "E-Divisive (signal-processing-algorithms, 999 permutations)",
            edivisive_detector,
            series[: args.edivisive],
        )


if __name__ == "__main__":
    main()
