"""The behaviour digest: sha256 over per-episode outputs rounded to 6 significant digits.

Two runs of the same pipeline with the same seed and settings produce the same digest,
whatever the machine's speed; two implementations that agree to ~1e-9 produce the same
digest too (barring a value that sits on a rounding boundary, which the tests would show).
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
import math
from collections.abc import Callable, Mapping
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


def _make_encode() -> Callable[[Any], str]:
    """One encoder for every episode, as ``json.dumps(sort_keys=True, separators=(",",
    ":"))`` writes: ``json.dumps`` with options builds a new encoder per call, and the
    encoder's ``encode`` builds its C encoder per call too. Canonical values hold no float
    and no cycle, so the C encoder is called directly where the interpreter has it."""
    encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"))
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return encoder.encode

    def refuse(value: Any) -> Any:
        raise TypeError(f"cannot encode {type(value).__name__} in the output digest")

    fast = make(
        None, refuse, json.encoder.encode_basestring_ascii, None, ":", ",", True, False, True
    )
    join = "".join

    def encode(value: Any) -> str:
        if value.__class__ is dict:
            return join(fast(value, 0))
        return encoder.encode(value)

    return encode


_ENCODE = _make_encode()
_PLAIN = (str, int, type(None))
FLUSH_EVERY = 256
"""Lines kept before they are hashed (one ``update`` per batch, not two per episode)."""


def _canonical_flat(outputs: Mapping[str, Any]) -> Any:
    """:func:`canonical`, with a fast path for the common flat dict of strings and ints."""
    if outputs.__class__ is not dict:
        return canonical(outputs)
    for key, value in outputs.items():
        if key.__class__ is not str or value.__class__ not in _PLAIN:
            return canonical(outputs)
    return outputs


class OutputDigest:
    """Incremental digest: ``update`` once per episode, in episode order.

    The digest is sha256 over one canonical JSON line per episode, each followed by a
    newline; lines are hashed in batches, which gives the same digest."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._lines: list[str] = []
        self.count = 0

    @staticmethod
    def encode(outputs: Mapping[str, Any]) -> str:
        """One episode's canonical JSON line; ``TypeError`` for what cannot be digested."""
        return _ENCODE(_canonical_flat(outputs))

    def update(self, outputs: Mapping[str, Any]) -> None:
        self.add(self.encode(outputs))

    def add(self, line: str) -> None:
        """Append a line made by :meth:`encode` (the episode's, in episode order)."""
        self._lines.append(line)
        self.count += 1
        if len(self._lines) >= FLUSH_EVERY:
            self._flush()

    def _flush(self) -> None:
        if self._lines:
            self._hash.update(("\n".join(self._lines) + "\n").encode())
            self._lines.clear()

    def hexdigest(self) -> str:
        self._flush()
        return self._hash.hexdigest()


def output_digest(outputs: list[Mapping[str, Any]]) -> str:
    digest = OutputDigest()
    for item in outputs:
        digest.update(item)
    return digest.hexdigest()
