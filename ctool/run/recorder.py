"""The hot path of every measured episode: appending it to its part's records.

The records themselves (:class:`ctool.model.records.PartRecords`) are plain data in the
model; this module fills them from the spans an episode recorded.
"""

from __future__ import annotations

import traceback

from ctool.model.records import (
    MAX_ERROR_SAMPLES,
    ErrorRecord,
    PartRecords,
    StageColumn,
    new_column,
)
from ctool.spans import SpanRecord


class PartRecorder:
    """Appends episodes to a :class:`PartRecords`; the hot path of every measured episode."""

    __slots__ = ("records", "t0_ns", "_lat", "_svc", "_off", "_btw", "_stages", "_separate")

    def __init__(self, label: str, t0_ns: int, *, separate_service: bool = False) -> None:
        self.records = PartRecords(label, service=new_column() if separate_service else None)
        self.t0_ns = t0_ns
        self._lat = self.records.latencies
        self._svc = self.records.service
        self._off = self.records.offsets
        self._btw = self.records.between
        self._stages = self.records.stages
        self._separate = separate_service

    def add(self, intended_ns: int, start_ns: int, end_ns: int, spans: list[SpanRecord]) -> None:
        pos = len(self._lat)
        self._lat.append(end_ns - intended_ns)
        if self._svc is not None:
            self._svc.append(end_ns - start_ns)
        self._off.append(intended_ns - self.t0_ns)
        top = 0
        stages = self._stages
        for name, s, e, depth in spans:
            d = e - s
            if depth == 0:
                top += d
            col = stages.get(name)
            if col is None:
                col = stages[name] = StageColumn(depth, _parent_of(name, s, e, depth, spans))
            col.count += 1
            positions = col.positions
            if positions and positions[-1] == pos:  # the stage again in this episode: summed
                col.durations[-1] += d
            else:
                positions.append(pos)
                col.durations.append(d)
        between = end_ns - start_ns - top
        self._btw.append(between if between > 0 else 0)

    def add_error(self, episode: int, exc: BaseException) -> None:
        rec = self.records
        rec.errors += 1
        kind = str(getattr(exc, "kind", "") or type(exc).__name__)
        rec.errors_by_type[kind] = rec.errors_by_type.get(kind, 0) + 1
        message = str(exc)
        if len(rec.error_samples) < MAX_ERROR_SAMPLES and not any(
            s.type == kind and s.message == message for s in rec.error_samples
        ):
            stack = "".join(traceback.format_exception(exc, limit=-12))
            rec.error_samples.append(ErrorRecord(episode, kind, message[:500], stack[-4000:]))

    def finish(self, end_ns: int, t_start_mono_ns: int, t_end_mono_ns: int) -> PartRecords:
        rec = self.records
        rec.wall_ns = max(end_ns - self.t0_ns, 0)
        rec.t_start_mono_ns = t_start_mono_ns
        rec.t_end_mono_ns = t_end_mono_ns
        return rec


def _parent_of(name: str, start: int, end: int, depth: int, spans: list[SpanRecord]) -> str | None:
    """The enclosing span one level up, found once per stage name (stages nest the same way)."""
    if depth == 0:
        return None
    for other, s, e, d in spans:
        if d == depth - 1 and s <= start and end <= e and other != name:
            return other
    return None
