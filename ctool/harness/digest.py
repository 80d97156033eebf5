"""The behaviour digest: sha256 over per-episode outputs rounded to 6 significant digits.

Two runs of the same pipeline with the same seed and settings produce the same digest,
whatever the machine's speed; two implementations that agree to ~1e-9 produce the same
digest too (barring a value that sits on a rounding boundary, which the tests would show).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

SIGNIFICANT_DIGITS = 6


def canonical(value: Any, digits: int = SIGNIFICANT_DIGITS) -> Any:
    """A JSON-able form of ``value`` with every float rounded to ``digits`` significant digits."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value == 0.0:
            return "0"
        return f"{value:.{digits - 1}e}"
    if isinstance(value, Mapping):
        return {str(k): canonical(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v, digits) for v in value]
    # numpy scalars and arrays, without importing numpy here.
    if hasattr(value, "tolist"):
        return canonical(value.tolist(), digits)
    raise TypeError(f"cannot canonicalise {type(value).__name__} for the output digest")


class OutputDigest:
    """Incremental digest: ``update`` once per episode, in episode order."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.count = 0

    def update(self, outputs: Mapping[str, Any]) -> None:
        line = json.dumps(canonical(outputs), sort_keys=True, separators=(",", ":"))
        self._hash.update(line.encode())
        self._hash.update(b"\n")
        self.count += 1

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def output_digest(outputs: list[Mapping[str, Any]]) -> str:
    digest = OutputDigest()
    for item in outputs:
        digest.update(item)
    return digest.hexdigest()
