"""The twenty scenarios of the performance plan, its three correctness metrics (21-23) and
Day 9, chaos (24-27).

Each scenario measures one thing on the pipeline under test and holds it to one target
(``ctool.suite.targets``). A scenario that needs what the pipeline lacks (Φ metrics, presets,
a pooling setting) is skipped with the reason. Scenarios never assert wall-clock facts in
tests; they only measure and judge here.

The scenarios live by subject: ``latency`` (latency and throughput), ``load`` (load shapes),
``resources`` (memory, CPU, pool, bandwidth), ``phi`` (Φ), ``scaling`` (workers and
baseline against optimized), ``correctness`` (the three correctness metrics), ``chaos``
(Day 9: faults against a control); ``base``
holds what they share. ``SCENARIOS`` is the plan, in its order and numbering.
"""

from __future__ import annotations

from ctool.suite.scenarios.base import Measurement, Scenario, Skip, judge
from ctool.suite.scenarios.chaos import (
    chaos_corruption,
    chaos_errors,
    chaos_exhaustion,
    chaos_partition,
)
from ctool.suite.scenarios.correctness import (
    coherence_maintenance,
    integration_behaviour,
    phi_stability,
)
from ctool.suite.scenarios.latency import (
    blocking_calls,
    handoffs,
    hot_path,
    latency_baseline,
    stage_breakdown,
    sustained_throughput,
)
from ctool.suite.scenarios.load import burst, concurrency_sweep, queue_depth, sustained_rate
from ctool.suite.scenarios.phi import phi_cache, phi_latency
from ctool.suite.scenarios.resources import (
    allocations,
    bytes_between_stages,
    cpu_utilisation,
    memory_growth,
    pool_effectiveness,
)
from ctool.suite.scenarios.scaling import behaviour_preserved, optimisation_gain, scaling

__all__ = ["SCENARIOS", "Measurement", "Scenario", "Skip", "judge"]

SCENARIOS: list[Scenario] = [
    Scenario(1, "latency", "Latency baseline (p50, p95, p99, max)", "p50_ms", latency_baseline),
    Scenario(2, "stages", "Per-stage breakdown and slowest stage", None, stage_breakdown),
    Scenario(3, "concurrency", "Latency at 1/5/10/20/50 concurrent (no cliff)", None,
             concurrency_sweep),
    Scenario(4, "hotpath", "Hot path: top 10 functions (cProfile)", None, hot_path),
    Scenario(5, "blocking", "Blocking calls on the event loop", "blocking_calls", blocking_calls),
    Scenario(6, "allocations", "Allocations per episode (tracemalloc)",
             "episode_kb", allocations),
    Scenario(7, "handoffs", "Inter-stage communication time", "handoff_ms", handoffs),
    Scenario(8, "throughput", "Sustained throughput", "throughput_eps", sustained_throughput),
    Scenario(9, "burst", "Burst of queued episodes (drain, no errors)", "burst_drain_s", burst),
    Scenario(10, "soak", "Sustained normal load (no drift, no growth)", "drift_pct",
             sustained_rate),
    Scenario(11, "scaling", "Throughput with 1, 2, 4 … worker processes",
             "scaling_efficiency", scaling),
    Scenario(12, "queue", "Queue depth over time and the bottleneck", None, queue_depth),
    Scenario(13, "cpu", "CPU utilisation at normal load", "cpu_percent", cpu_utilisation),
    Scenario(14, "memory", "Memory growth over the run (leakcheck)", "memory_growth_pct",
             memory_growth),
    Scenario(15, "pool", "Object-pool effectiveness", "pool_saving_pct",
             pool_effectiveness),
    Scenario(16, "bandwidth", "Bytes per second between stages", "bytes_per_s",
             bytes_between_stages),
    Scenario(17, "phi_latency", "Φ latency p95", "phi_p95_ms", phi_latency),
    Scenario(18, "phi_cache", "Φ cache hit rate", "phi_hit_rate", phi_cache),
    Scenario(19, "behaviour", "Behaviour preserved (baseline vs optimized)", None,
             behaviour_preserved),
    Scenario(20, "gain", "Gain of optimized over baseline", "gain_pct", optimisation_gain),
    Scenario(21, "integration", "Correctness: outputs equal after optimisation", None,
             integration_behaviour),
    Scenario(22, "phi_stability", "Correctness: Φ value stability", "phi_deviation_pct",
             phi_stability),
    Scenario(23, "coherence", "Correctness: coherence maintenance", "coherence_maintained",
             coherence_maintenance),
    Scenario(24, "chaos_errors", "Day 9: >= 99 % of episodes complete under 5 % stage errors",
             None, chaos_errors),
    Scenario(25, "chaos_corruption", "Day 9: 0 wrong outputs escape under corruption", None,
             chaos_corruption),
    Scenario(26, "chaos_partition", "Day 9: back within tolerance <= 2 s after a partition",
             None, chaos_partition),
    Scenario(27, "chaos_exhaustion", "Day 9: nothing left behind after resource exhaustion",
             None, chaos_exhaustion),
]  # fmt: skip
