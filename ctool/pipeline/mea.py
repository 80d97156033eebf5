"""MEA, the attention schema: what the system attends to, how sure it is, what comes next.

Signals each episode: the stimulus itself (``target:<t>``) and the three most active TIG
nodes (``node:<i>``: intensity = activation, novelty falls as the node keeps winning,
relevance and urgency inherited from the stimulus, halved for nodes outside the target's
inputs). Each signal scores ``clamp(intensity * (0.4 + 0.2 * (novelty + relevance +
urgency)))``; the focus is the best score (first on ties); confidence =
``0.6 top + 0.4 (top - second)``. A first-order transition model predicts the next focus
from the current one; the prediction error is 0 or 1 and its running mean is reported.
Salience (the ESGT trigger) = 0.25 novelty + 0.30 relevance + 0.30 urgency + 0.15
confidence, of the focused signal.

The transition model is a fixed table (every label pair, allocated at construction) rather
than a dict of Counters that gains an entry whenever a new pair of labels is first seen:
that dict is bounded (labels squared) but fills over tens of thousands of episodes, which a
leak check rightly cannot tell from a slow leak (docs/leakcheck.md, "The reference
pipeline's own growth").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ctool.pipeline.mmei import clamp
from ctool.pipeline.stimulus import Stimulus

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

NODE_SIGNALS = 3


@dataclass(frozen=True, slots=True)
class Attention:
    focus: str
    score: float
    confidence: float
    salience: float
    predicted: str | None
    prediction_error: float
    error_rate: float
    top_nodes: tuple[int, ...]


def signal_score(intensity: float, novelty: float, relevance: float, urgency: float) -> float:
    return clamp(intensity * (0.4 + 0.2 * (novelty + relevance + urgency)))


class AttentionSchema:
    def __init__(self, *, nodes: int, inputs: tuple[tuple[int, ...], ...], leak_bytes: int) -> None:
        self._inputs = inputs
        self._familiarity = [0.0] * nodes
        targets = len(inputs)
        self._labels = [f"target:{t}" for t in range(targets)] + [f"node:{n}" for n in range(nodes)]
        self._index = {label: i for i, label in enumerate(self._labels)}
        size = len(self._labels)
        # counts[a][b]: transitions a -> b; first_seen[a][b]: b was the k-th distinct successor
        # of a (ties go to the one seen first); best[a]: a's most frequent successor. Every
        # value but a count above 256 is a cached small int: the table never grows.
        self._counts = [[0] * size for _ in range(size)]
        self._first_seen = [[0] * size for _ in range(size)]
        self._best = [-1] * size
        self._successors = [0] * size
        self._previous: int | None = None
        self.error_rate = 0.0
        self._leak_bytes = leak_bytes
        self.retained: list[bytearray] = []
        """Grows only with the ``leak_bytes`` test knob."""

    def _count(self, previous: int, current: int) -> None:
        """One transition; keeps ``best`` equal to ``Counter.most_common(1)`` of the row
        (the highest count, the first seen among equal counts)."""
        counts, first_seen = self._counts[previous], self._first_seen[previous]
        if counts[current] == 0:
            self._successors[previous] += 1
            first_seen[current] = self._successors[previous]
        counts[current] += 1
        best = self._best[previous]
        if (
            best < 0
            or counts[current] > counts[best]
            or (counts[current] == counts[best] and first_seen[current] < first_seen[best])
        ):
            self._best[previous] = current

    def attend(self, stimulus: Stimulus, order: list[int], activation: FloatArray) -> Attention:
        """``order`` ranks the TIG nodes by activation, most active first."""
        if self._leak_bytes:
            self.retained.append(bytearray(self._leak_bytes))  # the deliberate leak knob
        inputs = self._inputs[stimulus.target]
        signals = [
            (
                f"target:{stimulus.target}",
                stimulus.intensity,
                stimulus.novelty,
                stimulus.relevance,
                stimulus.urgency,
            )
        ]
        top_nodes = tuple(order[:NODE_SIGNALS])
        for node in top_nodes:
            familiarity = self._familiarity[node]
            self._familiarity[node] = 0.9 * familiarity + 1.0
            inside = node in inputs
            signals.append(
                (
                    f"node:{node}",
                    float(activation[node]),
                    math.exp(-familiarity / 5.0),
                    stimulus.relevance if inside else 0.5 * stimulus.relevance,
                    0.5 * stimulus.urgency,
                )
            )
        scores = [signal_score(*signal[1:]) for signal in signals]
        best = max(range(len(scores)), key=scores.__getitem__)
        top = scores[best]
        second = max((s for i, s in enumerate(scores) if i != best), default=0.0)
        confidence = 0.6 * top + 0.4 * (top - second)
        label, _, novelty, relevance, urgency = signals[best]
        salience = 0.25 * novelty + 0.30 * relevance + 0.30 * urgency + 0.15 * confidence

        current = self._index[label]
        predicted: str | None = None
        if self._previous is not None:
            best = self._best[self._previous]
            if best >= 0:
                predicted = self._labels[best]
            self._count(self._previous, current)
        error = 0.0 if predicted == label else 1.0
        self.error_rate = 0.9 * self.error_rate + 0.1 * error
        self._previous = current
        return Attention(
            focus=label,
            score=top,
            confidence=confidence,
            salience=salience,
            predicted=predicted,
            prediction_error=error,
            error_rate=self.error_rate,
            top_nodes=top_nodes,
        )
