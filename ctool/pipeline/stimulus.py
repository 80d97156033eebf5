"""The stimulus stream: what the pipeline perceives in each episode.

Episode ``i`` gets a stimulus that is a pure function of ``(seed, i)``: a modality, a target
from a vocabulary drawn with a Zipf-like law (so targets recur, which is what makes the Φ
cache pay off), and intensity, novelty, relevance and urgency in [0, 1]. Because each
stimulus has its own generator, episodes run out of order (concurrency) still see the same
stimuli.
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass

MODALITIES = ("visual", "auditory", "somatic", "interoceptive", "threat")
_MODALITY_WEIGHTS = (0.30, 0.25, 0.20, 0.15, 0.10)
_MODALITY_CUMULATIVE = tuple(itertools.accumulate(_MODALITY_WEIGHTS))


@dataclass(frozen=True, slots=True)
class Stimulus:
    index: int
    time_ms: float
    modality: str
    target: int
    intensity: float
    novelty: float
    relevance: float
    urgency: float


class StimulusStream:
    """Seeded, random-access stream of stimuli."""

    def __init__(self, seed: int, *, vocabulary: int, zipf_exponent: float, episode_ms: float):
        self.seed = seed
        self.episode_ms = episode_ms
        ranks = [1.0 / (rank + 1) ** zipf_exponent for rank in range(vocabulary)]
        total = sum(ranks)
        self._cumulative = [c / total for c in itertools.accumulate(ranks)]
        self._cumulative[-1] = 1.0
        # Which target is the most frequent is itself seeded, not always target 0.
        order = list(range(vocabulary))
        random.Random(f"ctool-vocabulary:{seed}").shuffle(order)
        self._target_of_rank = order

    def at(self, index: int) -> Stimulus:
        rng = random.Random(f"ctool-stimulus:{self.seed}:{index}")
        modality_index = bisect.bisect_left(_MODALITY_CUMULATIVE, rng.random())
        modality = MODALITIES[min(modality_index, len(MODALITIES) - 1)]
        rank = bisect.bisect_left(self._cumulative, rng.random())
        target = self._target_of_rank[min(rank, len(self._target_of_rank) - 1)]
        intensity = 0.15 + 0.85 * rng.random()
        novelty = rng.random()
        relevance = rng.betavariate(2.0, 2.0)
        urgency = rng.random()
        if modality == "threat":
            urgency = 0.5 + 0.5 * urgency
        return Stimulus(
            index=index,
            time_ms=index * self.episode_ms,
            modality=modality,
            target=target,
            intensity=intensity,
            novelty=novelty,
            relevance=relevance,
            urgency=urgency,
        )
