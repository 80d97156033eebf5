"""What the reference pipeline does at its defaults (the figures in docs/pipeline.md).

    python benchmarks/pipeline_dynamics.py [--set NAME=VALUE ...]

Deterministic: these numbers depend only on the seeds, not on the machine.
TIG structural metrics over seeds 0..19 at N = 32, then per seed 0..2 and 2000 episodes:
ESGT attempts and synchronisation rate, median steps to sync, median coalition, Φ, and
broadcast message counts, sustain-phase coherence; then the mean sustain coherence on
seeds 0..9 at 300 and 1000 episodes. ``--set`` passes pipeline settings (for example
``--set sustain_coupling_gain=1.0``, the model before 2026-12-08).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
from typing import Any

from ctool.pipeline import create

METRICS = ("density", "clustering", "path_length", "efficiency", "fiedler")


async def dynamics(seed: int, episodes: int, settings: dict[str, Any]) -> str:
    pipeline = create(seed, **settings)
    try:
        results = [await pipeline.episode(index) for index in range(episodes)]
    finally:
        pipeline.close()
    metrics = pipeline.metrics()
    ignitions, messages = metrics["ignitions"], metrics["messages"]
    steps = [r.time_to_sync_ms / pipeline.config.dt_ms for r in results if r.time_to_sync_ms]
    coalitions = [len(r.coalition) for r in results if r.triggered]
    phis = [r.phi for r in results if r.ignited]
    sustained = [r.coherence for r in results if r.ignited]
    held = sum(r >= ignitions["sync_threshold"] for r in sustained) / len(sustained)
    return (
        f"seed {seed}: {ignitions['attempts']} attempts, {ignitions['ignited']} synchronised "
        f"({ignitions['success_rate']:.0%}), median {statistics.median(steps):.0f} steps to "
        f"sync, median coalition {statistics.median(coalitions):.0f}, Φ median "
        f"{statistics.median(phis):.3f} max {max(phis):.3f}, "
        f"{messages['count'] / ignitions['ignited']:.0f} messages/ignition of "
        f"{messages['bytes'] / messages['count']:.0f} bytes, mean sustain coherence "
        f"{statistics.mean(sustained):.3f} (min {min(sustained):.3f}; {held:.0%} held r >= "
        f"{ignitions['sync_threshold']:g})"
    )


async def mean_sustain(seed: int, episodes: int, settings: dict[str, Any]) -> float:
    pipeline = create(seed, **settings)
    try:
        results = [await pipeline.episode(index) for index in range(episodes)]
    finally:
        pipeline.close()
    return statistics.mean(r.coherence for r in results if r.ignited)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    settings = {k: json.loads(v) for k, _, v in (item.partition("=") for item in args.set)}
    rows = []
    for seed in range(20):
        pipeline = create(seed)
        pipeline.close()
        rows.append(pipeline.tig.metrics)
    print("TIG at N = 32, seeds 0..19 (min .. max; seed 0):")
    for name in METRICS:
        values = [getattr(row, name) for row in rows]
        print(f"  {name:<12} {min(values):.3f} .. {max(values):.3f}; seed 0 {values[0]:.3f}")
    cut = sum(bool(row.articulation_points) for row in rows)
    print(f"  graphs with articulation points: {cut} of {len(rows)}")
    print("ESGT and Φ over 2000 episodes:")
    for seed in range(3):
        print("  " + asyncio.run(dynamics(seed, 2000, settings)))
    print("Mean sustain coherence, seeds 0..9:")
    for episodes in (300, 1000):
        means = [asyncio.run(mean_sustain(seed, episodes, settings)) for seed in range(10)]
        listed = " ".join(f"{m:.3f}" for m in means)
        print(f"  {episodes:>4} episodes: {listed}; min {min(means):.3f} max {max(means):.3f}")


if __name__ == "__main__":
    main()
