"""The two pipelines of ``benchmarks/noisy_neighbour.py`` (importable as
``benchmarks.noisy_pipelines:cpu`` and ``benchmarks.noisy_pipelines:aio``).

The change under test is real work: ``change=0.1`` runs 10 % more iterations of the same
work (``cpu``), or validates and reduces 10 % more records (``aio``). Its true size is
measured in process by the benchmark itself (``true_size``), not assumed.
"""

from __future__ import annotations

import asyncio
from typing import Any

CPU_ITERATIONS = 30_000
AIO_RECORDS = 300


class CpuBound:
    """Pure Python, CPU-bound: integer arithmetic in a generator."""

    def __init__(self, change: float) -> None:
        self.n = int(round(CPU_ITERATIONS * (1.0 + change)))

    def episode(self, index: int) -> int:
        return sum(i * i % 7 for i in range(self.n)) + index

    def outputs(self, result: int) -> dict[str, Any]:
        return {"ok": result >= 0}


def cpu(seed: int = 0, change: float = 0.0) -> CpuBound:
    return CpuBound(change)


class AsyncNumpyPydantic:
    """Async, built on third-party libraries: pydantic validates records, numpy reduces
    them, with hand-offs to the event loop between the stages."""

    def __init__(self, seed: int, change: float) -> None:
        import numpy as np
        from pydantic import BaseModel

        class Order(BaseModel):
            id: int
            region: str
            cents: int
            weights: list[float]

        self.Order = Order
        self.np = np
        self.rng = np.random.default_rng(seed)
        self.n = int(round(AIO_RECORDS * (1.0 + change)))

    async def episode(self, index: int) -> float:
        rows = [
            {"id": i, "region": "nsew"[i % 4], "cents": (index * 31 + i) % 9973,
             "weights": [float((i * j) % 11) for j in range(16)]}
            for i in range(self.n)
        ]  # fmt: skip
        await asyncio.sleep(0)
        orders = [self.Order.model_validate(row) for row in rows]
        await asyncio.sleep(0)
        matrix = self.np.array([o.weights for o in orders])
        spectrum = self.np.abs(self.np.fft.rfft(matrix, axis=1)).sum()
        return float(spectrum) + sum(o.cents for o in orders)

    def outputs(self, result: float) -> dict[str, Any]:
        return {"ok": result > 0}


def aio(seed: int = 0, change: float = 0.0) -> AsyncNumpyPydantic:
    return AsyncNumpyPydantic(seed, change)
