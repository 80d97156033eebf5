"""A pipeline that declares two metrics of its own, for the declared-metrics tests.

Each episode looks up ``LOOKUPS`` keys from a seeded stream in a small LRU cache; a miss
does real work (SHA-256 rounds over a buffer, ``miss_rounds`` of them). It declares:

* ``memo.hit_rate`` -- a ratio, higher is better, from its ``memo.hits`` and
  ``memo.lookups`` counters;
* ``fetch.p50_ms`` -- a latency distribution: the median of its lookups' own times (ms) over
  the last ``WINDOW`` lookups.

By construction a bigger cache (``cache_size``) raises the hit rate and lowers the lookup
time, and ``miss_rounds`` scales the CPU time of a miss. No code in ctool names either
metric.
"""

from __future__ import annotations

import hashlib
import random
import statistics
from collections import OrderedDict, deque
from time import perf_counter_ns
from typing import Any

import ctool

LOOKUPS = 8
KEYS = 64
WINDOW = 64
SPECS = (
    {"name": "memo.hit_rate", "kind": "ratio", "higher_is_better": True,
     "numerator": "memo.hits", "denominator": "memo.lookups", "label": "memo hit rate"},
    {"name": "fetch.p50_ms", "kind": "distribution", "unit": "ms", "label": "fetch p50"},
)  # fmt: skip


class CachePipeline:
    def __init__(self, *, seed: int = 0, cache_size: int = 4, miss_rounds: int = 40) -> None:
        self.cache_size = cache_size
        self.miss_rounds = miss_rounds
        self.seed = seed
        self.cache: OrderedDict[int, bytes] = OrderedDict()
        self.hits = 0
        self.lookups = 0
        self.times_ns: deque[int] = deque(maxlen=WINDOW)

    def metric_specs(self) -> tuple[dict[str, Any], ...]:
        return SPECS

    def _compute(self, key: int) -> bytes:
        digest = key.to_bytes(8, "little") * 64
        for _ in range(self.miss_rounds):
            digest = hashlib.sha256(digest).digest() * 16
        return digest[:32]

    def _lookup(self, key: int) -> bytes:
        start = perf_counter_ns()
        self.lookups += 1
        found = self.cache.get(key)
        if found is not None:
            self.hits += 1
            self.cache.move_to_end(key)
        else:
            found = self.cache[key] = self._compute(key)
            if len(self.cache) > self.cache_size:
                self.cache.popitem(last=False)
        self.times_ns.append(perf_counter_ns() - start)
        return found

    async def episode(self, index: int) -> str:
        rng = random.Random(self.seed * 1_000_003 + index)
        with ctool.span("lookup"):
            keys = [min(int(rng.expovariate(0.15)), KEYS - 1) for _ in range(LOOKUPS)]
            values = [self._lookup(key) for key in keys]
        return hashlib.sha256(b"".join(values)).hexdigest()

    def outputs(self, result: str) -> dict[str, Any]:
        return {"digest": result}

    def metrics(self) -> dict[str, Any]:
        times = list(self.times_ns)
        return {
            "memo": {
                "hits": self.hits,
                "lookups": self.lookups,
                "hit_rate": self.hits / self.lookups if self.lookups else 0.0,
            },
            "fetch": {"p50_ms": statistics.median(times) / 1e6 if times else 0.0},
        }


def create(seed: int = 0, cache_size: int = 4, miss_rounds: int = 40) -> CachePipeline:
    return CachePipeline(seed=seed, cache_size=cache_size, miss_rounds=miss_rounds)
