"""Live objects during a leakcheck: counted by type at the start, at the start of the last
round and at the end (the object evidence), with ``gc.freeze()`` in between so that later
collections walk only what the measured episodes made (:class:`GcFreeze`)."""

from __future__ import annotations

import gc
import json
import sys
from collections import Counter
from collections.abc import Callable

from ctool.leak.bookkeeping import bookkeeping
from ctool.leak.heap import by_name, count_types, count_types_in_thread, type_sites
from ctool.leak.measure import growing_types


class GcFreeze:
    """``gc.freeze()`` and its count of frozen objects (read once per freeze, not per
    sample: it walks a list)."""

    def __init__(self) -> None:
        self.frozen = False
        self.count = 0

    def freeze(self) -> None:
        gc.freeze()
        self.frozen = True
        self.count = gc.get_freeze_count()

    def release(self) -> None:
        if self.frozen:
            gc.unfreeze()
            self.frozen = False

    def live_objects(self) -> int:
        return self.count + len(gc.get_objects())


class Census:
    """Live objects by type: at the start, mid-run (one ``bytes``, ctool's own) and at the
    end, with the lines making the new objects of the types that grew."""

    def __init__(self) -> None:
        self.start: Counter[type] = Counter()
        self.end: Counter[type] = Counter()
        self.mid_blob: bytes | None = None
        """Live objects by type name at the start of the last round, as JSON."""
        self.mid_episode = 0
        self.type_sites: dict[str, Counter[tuple[str, int]]] = {}

    @bookkeeping
    def count_start(self) -> None:
        self.start = count_types_in_thread()

    @bookkeeping
    def count_mid(self, done: int, own: Callable[[], tuple[object, ...]]) -> None:
        """At the start of the next round: the object evidence compares growth per episode
        before and after this point. ``own()``: ctool's containers, left out (asked for
        here, not held in a tuple that would itself refer to them during the count)."""
        self.mid_blob = None
        counts = count_types_in_thread(exclude=(self.start, *own()))
        self.mid_blob = json.dumps(by_name(counts)).encode()
        del counts
        self.mid_episode = done

    @bookkeeping
    def count_end_traced(self, own: Callable[[], tuple[object, ...]], top: int) -> None:
        """Counted while tracing (in a thread, in chunks: see ``heap.count_types``), so that
        the new objects of the types that grew can be traced to the line making them."""
        self.end = count_types_in_thread(exclude=(self.start, *own()))
        grown = growing_types(self.start, self.end, top)
        self.type_sites = type_sites(grown, skip=(self.start, self.end))

    @bookkeeping
    def count_end(self, own: Callable[[], tuple[object, ...]]) -> None:
        """Counted after tracing stopped (counting allocates an int per increment: twenty
        times slower while tracing)."""
        self.end = count_types(exclude=(self.start, *own()))

    def mid_types(self) -> dict[str, int] | None:
        loaded: dict[str, int] | None = json.loads(self.mid_blob) if self.mid_blob else None
        return loaded

    def blob_bytes(self) -> int:
        return sys.getsizeof(self.mid_blob) if self.mid_blob is not None else 0
