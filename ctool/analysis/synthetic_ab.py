"""A seeded model of a shared machine with states that last seconds, and of ``ctool ab``'s
fine-grained design run on it (tests and ``benchmarks/stats_model.py``; a model, not a
measurement).

What a user measured on this project's shared 2-core machine (issue 13): episodes ran at
about 0.85 ms or about 1.35 ms, and each state lasted seconds. The model:

* **machine states** (:class:`MachineStates`): the machine is fast (factor 1) or slow
  (factor ``slow``, 1.6 by default) and stays in a state for an exponential time with mean
  ``mean_dwell_s`` (3 s), at least ``min_dwell_s`` (0.5 s); every episode's latency is
  multiplied by the state at the moment it runs;
* the episode noise of :class:`~ctool.analysis.synthetic.LatencyModel` (lognormal, AR(1),
  1 % spikes of 5x) on top;
* a **process factor** per worker process, lognormal with a 1 % standard deviation: memory
  layout, allocator and hash seed, which every block of one process shares and which does
  not cancel between the A and the B process of a pair;
* a gap of ``start_gap_s`` (1 s) at the start of every round: starting two processes.

:func:`simulate_ab_rounds` runs the design of ``ctool ab`` on it: per round, ``blocks``
adjacent block pairs in ABBA order of ``block_episodes`` episodes each, and returns each
round's value exactly as :mod:`ctool.ab.runner` computes it (the median over the round's
block pairs of ``log(median B block / median A block)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ctool.analysis.synthetic import LatencyModel

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MachineStates:
    slow: float = 1.6
    mean_dwell_s: float = 3.0
    min_dwell_s: float = 0.5

    def factors(self, rng: np.random.Generator, times_s: FloatArray) -> FloatArray:
        """The state factor at each time of ``times_s`` (shape ``(trials, T)``, each row
        increasing): an independent state history per trial."""
        import numpy as np

        out = np.empty_like(times_s)
        for row in range(times_s.shape[0]):
            end = float(times_s[row, -1])
            count = int(end / self.min_dwell_s) + 2
            dwell = np.maximum(rng.exponential(self.mean_dwell_s, count), self.min_dwell_s)
            switches = np.cumsum(dwell) - rng.random() * dwell[0]
            state = (np.searchsorted(switches, times_s[row]) + rng.integers(0, 2)) % 2
            out[row] = np.where(state == 1, self.slow, 1.0)
        return out


@dataclass(frozen=True)
class ABDesign:
    """The sizes of one ``ctool ab`` round in the model."""

    blocks: int = 10
    """Adjacent block pairs per round (ABBA order)."""
    block_episodes: int = 20
    process_sd: float = 0.01
    start_gap_s: float = 1.0
    model: LatencyModel = field(default_factory=LatencyModel)
    states: MachineStates = field(default_factory=MachineStates)


def simulate_ab_rounds(
    rng: np.random.Generator, trials: int, rounds: int, effect: float, design: ABDesign
) -> FloatArray:
    """Round values (median block-pair log ratio B/A) of ``trials`` runs of ``rounds`` rounds,
    B ``1 + effect`` times slower: shape ``(trials, rounds)``."""
    import numpy as np

    k, n = design.blocks, design.block_episodes
    base = design.model.episodes(rng, (trials, rounds, k, 2), n)  # slot 0 runs first
    # Time: episodes run one after another, with a gap at each round's start.
    flat = base.reshape(trials, rounds, -1) / 1000.0
    starts = design.start_gap_s * (1 + np.arange(rounds))[None, :, None]
    offsets = np.concatenate(
        [np.zeros((trials, 1)), np.cumsum(flat.sum(axis=2), axis=1)[:, :-1]], axis=1
    )
    times = (np.cumsum(flat, axis=2) + offsets[:, :, None] + starts).reshape(trials, -1)
    state = design.states.factors(rng, times).reshape(base.shape)
    # Block pair j runs A then B when j is even, B then A when odd (ABBA); every other
    # round starts with B (B A, A B, ...).
    b_first = ((np.arange(k)[None, :] + np.arange(rounds)[:, None]) % 2 == 1)[None, :, :]
    process = np.exp(design.process_sd * rng.standard_normal((trials, rounds, 1, 2)))
    side_b = np.stack([b_first, ~b_first], axis=-1)  # is slot s side B?
    proc_slot = np.where(side_b, process[..., 1:2], process[..., 0:1])
    latency = base * state * (proc_slot * np.where(side_b, 1.0 + effect, 1.0))[..., None]
    medians = np.median(latency, axis=-1)  # (trials, rounds, k, 2)
    b_val = np.where(side_b[..., 0], medians[..., 0], medians[..., 1])
    a_val = np.where(side_b[..., 0], medians[..., 1], medians[..., 0])
    result: FloatArray = np.median(np.log(b_val / a_val), axis=-1)
    return result
