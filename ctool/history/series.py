"""Series: one metric of one pipeline, settings and machine fingerprint, in commit order.

Different machines are never compared: the machine fingerprint is part of a series' key,
and every view says which fingerprint a series belongs to. Records of a dirty work tree
are left out unless asked for (they belong to no commit).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ctool.history.changepoints import DEFAULT_ALPHA, DEFAULT_MIN_MAGNITUDE, ChangePoint, detect
from ctool.history.store import HistoryStore, Point, SeriesKey


@dataclass
class Series:
    key: SeriesKey
    machine_info: dict[str, Any]
    settings: dict[str, Any]
    points: list[Point]
    lower_is_better: bool | None
    changes: list[ChangePoint] = field(default_factory=list)

    @property
    def values(self) -> list[float]:
        return [p.value for p in self.points]

    def commit_range(self, change: ChangePoint) -> tuple[str, str]:
        """(the last commit before the change, the first commit after it)."""
        return self.points[change.index - 1].commit, self.points[change.index].commit

    def is_regression(self, change: ChangePoint) -> bool | None:
        if self.lower_is_better is None:
            return None
        return (change.change > 0) == self.lower_is_better

    def recent_commits(self, count: int) -> list[str]:
        """The newest ``count`` distinct commits of the series, newest last."""
        seen: list[str] = []
        for point in reversed(self.points):
            if point.commit not in seen:
                seen.append(point.commit)
            if len(seen) == count:
                break
        return seen[::-1]


def machine_label(info: dict[str, Any]) -> str:
    """A fingerprint in one short line."""
    memory = info.get("memory_gib")
    parts = [
        str(info.get("cpu_model", "?")),
        f"{info.get('cores', '?')} cores",
        f"{memory} GiB" if memory is not None else "",
        str(info.get("os", "")),
        f"{info.get('implementation', '')} {info.get('python', '')}".strip(),
    ]
    return ", ".join(p for p in parts if p)


def load_series(
    store: HistoryStore,
    *,
    metrics: Sequence[str] = (),
    pipeline: str | None = None,
    alpha: float = DEFAULT_ALPHA,
    min_magnitude: float = DEFAULT_MIN_MAGNITUDE,
    include_dirty: bool = False,
) -> list[Series]:
    """Every series matching ``metrics`` (glob patterns; all when empty), with its changes."""
    found = []
    for key, info, settings, _count in store.series_keys():
        if metrics and not any(fnmatch.fnmatchcase(key.metric, m) for m in metrics):
            continue
        if pipeline and key.pipeline != pipeline:
            continue
        points = store.points(key, include_dirty=include_dirty)
        if not points:
            continue
        series = Series(key, info, settings, points, store.lower_is_better(key.metric))
        series.changes = detect(series.values, alpha=alpha, min_magnitude=min_magnitude)
        found.append(series)
    return found
