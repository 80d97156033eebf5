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


MAX_RATIO = 256
"""Raw bytes per stored (base64) byte a sample block may claim. Real latencies compress 2-8x
after the byte shuffle; zlib can reach ~1000x on constant data, which no measurement gives."""
FREE_BYTES = 64 * 1024 * 1024
"""Claims up to this many raw bytes (8 M samples) are not ratio-checked: small blocks of
equal values (tests, synthetic runs) compress beyond the ratio without harm."""


def check_count(count: int, stored_chars: int) -> None:
    """Refuse a sample block whose count the bytes present cannot hold (a decompression
    bomb: a small file claiming 50 M samples)."""
    claimed = count * 8
    if claimed > FREE_BYTES and claimed > MAX_RATIO * stored_chars:
        raise ValueError(
            f"latency samples claim {count:,} values but hold only {stored_chars:,} bytes "
            f"(more than {MAX_RATIO}:1 compression)"
        )


def check_block(encoding: str, data: str, count: int) -> None:
    """Refuse a sample block that is not what it says: an unknown encoding, data that is not
    base64 or not zlib, or more or fewer values than ``count``. Run once, when a report is
    loaded (``ctool.model.base.Samples``), so every reader sees the same error."""
    if encoding != ENCODING:
        raise ValueError(f"latency samples: unknown encoding {encoding!r} (expected {ENCODING})")
    _inflate(data, count)


def _inflate(data: str, count: int) -> bytes:
    check_count(count, len(data))
    expected = count * 8
    try:
        inflate = zlib.decompressobj()
        # Bounded: output stops at the size the count implies (zlib expands up to ~1000x);
        # one byte more is asked for, to see whether the block holds more than it claims.
        raw = inflate.decompress(
            base64.b64decode(data.encode("ascii"), validate=True), expected + 1
        )
    except (ValueError, zlib.error) as exc:
        raise ValueError(f"latency samples are corrupt: {exc}") from exc
    if len(raw) > expected:
        raise ValueError(f"latency samples hold more than the {count:,} values they claim")
    if len(raw) != expected or not inflate.eof:
        raise ValueError(f"latency samples hold {len(raw) // 8} values, expected {count}")
    return raw


def decode_ns(data: str, count: int) -> npt.NDArray[np.int64]:
    """Inverse of :func:`encode_ns`. Raises ``ValueError`` on any corruption."""
    import numpy as np

    raw = _inflate(data, count)
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    shuffled = np.frombuffer(raw, dtype=np.uint8).reshape(8, count)
    return shuffled.T.copy().view("<i8").reshape(count).astype(np.int64)
