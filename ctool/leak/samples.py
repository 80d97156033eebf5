"""What a leakcheck run records as it goes, in buffers allocated before tracing starts: the
memory samples (:class:`MemorySamples`) and how far the run got (:class:`Progress`)."""

from __future__ import annotations

import time
from array import array
from dataclasses import dataclass, field

from ctool.leak.config import LeakcheckOptions


class MemorySamples:
    """Columns of samples (episode, retained bytes, RSS, live objects) and each measured
    episode's latency; room for the whole budget, so sampling allocates nothing."""

    def __init__(self, options: LeakcheckOptions) -> None:
        n = options.max_samples()
        self.episode = array("q", bytes(8 * n))
        self.traced = array("q", bytes(8 * n))
        self.rss = array("q", bytes(8 * n))
        self.objects = array("q", bytes(8 * n))
        self.latency_ns = array("q", bytes(8 * options.budget_episodes()))
        self.taken = 0

    def take(self, done: int, traced: int, rss: int, objects: int) -> None:
        i = self.taken
        self.episode[i] = done
        self.traced[i] = traced
        self.rss[i] = rss
        self.objects[i] = objects
        self.taken = i + 1

    def last_rss(self) -> int:
        return self.rss[self.taken - 1] if self.taken else 0

    def columns(self) -> tuple[list[int], list[int], list[int], list[int]]:
        """The samples taken: episode, traced, RSS, objects."""
        n = self.taken
        return (
            list(self.episode[:n]),
            list(self.traced[:n]),
            list(self.rss[:n]),
            list(self.objects[:n]),
        )


@dataclass
class Progress:
    """How far the run got: measured episodes, rounds, the budget."""

    target: int
    """Measured episodes the current round runs to."""
    done: int = 0
    rounds: list[int] = field(default_factory=list)
    """Measured episodes at the end of each round."""
    exhausted: bool = False
    """The run stopped on its budget, not because the answer was settled."""
    interrupted: bool = False
    started: float = 0.0
    """``perf_counter`` when the measured part started."""

    def start(self) -> None:
        self.started = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self.started
