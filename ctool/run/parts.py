"""What the shapes of a profile run measured so far (:class:`Parts`): kept as each part
ends, and, when the run is cut, the open part kept as it is under the shape that ran it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ctool.model.records import PartRecords
from ctool.run.replicas import ReplicaOutcome, WorkersResult, replica_rows


@dataclass
class Parts:
    sequential: PartRecords | None = None
    """The in-process sequential part."""
    rounds: list[ReplicaOutcome] = field(default_factory=list)
    """``--rounds R``: one outcome per round run (its part, or why its worker died)."""
    workers: WorkersResult | None = None
    """``--workers N`` / Dask: the scaling steps and the replicas."""
    levels: list[tuple[int, PartRecords]] = field(default_factory=list)
    open_loop: PartRecords | None = None
    burst: PartRecords | None = None
    current: tuple[str, int] = ("sequential", 0)
    """The shape running now (and its level): where an interrupted part belongs."""

    def keep_open(self, parts: list[PartRecords]) -> None:
        """The parts still open when the run was cut, kept under the shape running then."""
        kind, level = self.current
        for part in parts:
            if kind == "sequential":
                self.sequential = part
            elif kind == "concurrency":
                self.levels.append((level, part))
            elif kind == "rate":
                self.open_loop = part
            elif kind == "burst":
                self.burst = part

    @property
    def replica_failed(self) -> bool:
        """A replica (or a round's worker) died: the report is incomplete."""
        lost_round = any(o.error is not None for o in self.rounds)
        return lost_round or (self.workers is not None and bool(self.workers.failed))

    def fields(self) -> dict[str, Any]:
        """The ``MeasuredRun`` fields these parts fill. A run that lost a round has a row per
        round (which one died and why); otherwise rounds have no rows."""
        workers = self.workers
        rows = replica_rows(workers.replicas) if workers is not None else []
        if any(o.error is not None for o in self.rounds):
            rows = replica_rows(self.rounds)
        return {
            "sequential": self.sequential,
            "rounds": [o.part for o in self.rounds if o.part is not None],
            "workers": workers.merged if workers is not None else None,
            "scaling": list(workers.scaling) if workers is not None else [],
            "replicas": rows,
            "levels": list(self.levels),
            "open_loop": self.open_loop,
            "burst": self.burst,
        }
