"""Lossless, compact storage of raw latencies inside a JSON report.

Latencies are integer nanoseconds (what ``perf_counter_ns`` measured). They are stored as
little-endian int64, byte-shuffled (all first bytes, then all second bytes, ...: the high
bytes of similar numbers are alike and compress well), zlib-compressed and base64-encoded.
A 100,000-episode run takes a few hundred kilobytes. Order is kept (episode order), so
batches and drift windows can be rebuilt from the file.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

ENCODING = "int64-ns;shuffle;zlib;base64"


def encode_ns(values: Sequence[int] | npt.NDArray[np.int64]) -> str:
    import numpy as np

    arr = np.asarray(values, dtype="<i8")
    shuffled = arr.view(np.uint8).reshape(-1, 8).T.copy() if arr.size else arr.view(np.uint8)
    return base64.b64encode(zlib.compress(shuffled.tobytes(), 9)).decode("ascii")


def decode_ns(data: str, count: int) -> npt.NDArray[np.int64]:
    """Inverse of :func:`encode_ns`. Raises ``ValueError`` on any corruption."""
    import numpy as np

    try:
        raw = zlib.decompress(base64.b64decode(data.encode("ascii"), validate=True))
    except (ValueError, zlib.error) as exc:
        raise ValueError(f"latency samples are corrupt: {exc}") from exc
    if len(raw) != count * 8:
        raise ValueError(f"latency samples hold {len(raw) // 8} values, expected {count}")
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    shuffled = np.frombuffer(raw, dtype=np.uint8).reshape(8, count)
    return shuffled.T.copy().view("<i8").reshape(count).astype(np.int64)
