"""Per-part episode records: compact, picklable, mergeable.

A *part* is one stretch of measured episodes under one load shape: the sequential part, one
concurrency level, an open-loop run, a burst, a round in a fresh process. Its recorder keeps
columns of int64 nanoseconds (``array('q')``: 8 bytes an episode, cheap to append, cheap to
pickle across processes) and folds each episode's spans into per-stage columns as it goes,
so a 100,000-episode run holds a few megabytes, not a list of span tuples.

Only successful episodes enter the latency and stage columns; a failed episode is counted
and, for the first few distinct failures, sampled with its stack.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ctool.model.declared import DeclaredMetric

BETWEEN_STAGES = "(between stages)"
"""The stage-table row for episode time spent outside every top-level stage (hand-offs)."""

MAX_ERROR_SAMPLES = 10


def new_column() -> array[int]:
    return array("q")


@dataclass
class StageColumn:
    """One stage's time, per episode in which it ran (several spans of it are summed)."""

    depth: int
    parent: str | None
    count: int = 0
    """Span occurrences (an episode may enter a stage more than once)."""
    positions: array[int] = field(default_factory=new_column)
    """Index of the episode within the part's ok episodes."""
    durations: array[int] = field(default_factory=new_column)


@dataclass
class ErrorRecord:
    episode: int
    type: str
    message: str
    stack: str


@dataclass
class BlockingSite:
    """An event-loop call site seen during stalls, with the stall time attributed to it."""

    function: str
    file: str
    line: int
    kind: str | None
    callee: str | None
    stage: str | None
    stack: list[str]
    count: int = 0
    total_ns: int = 0
    max_ns: int = 0
    kind_ns: dict[str, int] = field(default_factory=dict)
    """Stall time credited to this site per class of sample; ``kind`` is the largest."""
    holder: str | None = None
    """For a ``gil`` site: the thread seen running while the loop thread waited for the
    GIL, and where (``thread NAME at file:line in function``)."""

    def merge(self, other: BlockingSite) -> None:
        self.count += other.count
        self.total_ns += other.total_ns
        self.max_ns = max(self.max_ns, other.max_ns)
        self.stage = self.stage or other.stage
        self.holder = self.holder or other.holder
        for kind, ns in other.kind_ns.items():
            self.kind_ns[kind] = self.kind_ns.get(kind, 0) + ns
        if self.kind_ns:
            best = max(self.kind_ns, key=lambda k: self.kind_ns[k])
            self.kind = best if best != "?" else None


@dataclass
class MonitorSummary:
    """What the in-process monitors saw: GC pauses, loop lag, blocking call sites."""

    gc_pause_ns: int = 0
    gc_collections: int = 0
    stalls: int = 0
    """Heartbeats at least the threshold late (exact, unlike the sampled sites)."""
    stalled_ns: int = 0
    lag_ns: array[int] = field(default_factory=new_column)
    sites: dict[tuple[str, int, str, str | None], BlockingSite] = field(default_factory=dict)
    step_timed: bool = False
    """Stalls are loop steps timed one by one (``ctool.monitors.steps``), each counted with
    its exact duration; False: heartbeats late by at least the threshold (a lower bound)."""
    stall_ns: array[int] = field(default_factory=new_column)
    """Every stall's duration, in the order they ended (step timing only)."""
    stall_start_ns: array[int] = field(default_factory=new_column)
    """When each of them began, on the clock of ``time.monotonic_ns`` (one clock for every
    process of a machine)."""
    attributed_stalls: int = 0
    """Stalls in which a sample named a call site of the pipeline."""
    attributed_ns: int = 0
    """Stall time credited to named call sites."""
    kinds: dict[str, list[int]] = field(default_factory=dict)
    """Per class of stall (``cpu``, ``blocking``, ``gil``; ``?`` unseen): [count, ns]."""

    def merge(self, other: MonitorSummary) -> None:
        self.gc_pause_ns += other.gc_pause_ns
        self.gc_collections += other.gc_collections
        self.stalls += other.stalls
        self.stalled_ns += other.stalled_ns
        self.lag_ns.extend(other.lag_ns)
        self.step_timed = self.step_timed or other.step_timed
        self.stall_ns.extend(other.stall_ns)
        self.stall_start_ns.extend(other.stall_start_ns)
        self.attributed_stalls += other.attributed_stalls
        self.attributed_ns += other.attributed_ns
        for kind, (count, ns) in other.kinds.items():
            tally = self.kinds.setdefault(kind, [0, 0])
            tally[0] += count
            tally[1] += ns
        for key, site in other.sites.items():
            mine = self.sites.get(key)
            if mine is None:
                copied = {"stack": list(site.stack), "kind_ns": dict(site.kind_ns)}
                self.sites[key] = BlockingSite(**{**site.__dict__, **copied})
            else:
                mine.merge(site)


@dataclass
class Checkpoint:
    """Cumulative figures read between two episodes of a part (``run.checkpoints``): how
    many ok episodes came before, the process's CPU time, and the declared metrics' values
    (by dotted path). Differences of neighbours give per-batch values."""

    ok: int
    cpu_ns: int
    values: dict[str, float] = field(default_factory=dict)


@dataclass
class PartRecords:
    """The measured episodes of one part, in completion order."""

    label: str
    latencies: array[int] = field(default_factory=new_column)
    """ns from the intended start (open loop, burst) or the actual start (otherwise)."""
    service: array[int] | None = None
    """ns from the actual start; ``None`` when it equals ``latencies``."""
    offsets: array[int] = field(default_factory=new_column)
    """ns from the part's start to each episode's (intended) start."""
    between: array[int] = field(default_factory=new_column)
    """ns of each episode outside every top-level stage."""
    stages: dict[str, StageColumn] = field(default_factory=dict)
    errors: int = 0
    error_samples: list[ErrorRecord] = field(default_factory=list)
    errors_by_type: dict[str, int] = field(default_factory=dict)
    wall_ns: int = 0
    t_start_mono_ns: int = 0
    """``time.monotonic_ns()`` at the part's start: comparable across processes."""
    t_end_mono_ns: int = 0
    queue_depth_max: int = 0
    digest: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    monitor: MonitorSummary | None = None
    pid: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    """Sequential parts: figures read at batch edges (empty: none were read)."""
    declared: list[DeclaredMetric] = field(default_factory=list)
    """The pipeline's declared metrics (``metric_specs()``), as the process that ran it read
    them."""
    neutral_settings: list[str] = field(default_factory=list)
    """The pipeline's ``neutral_settings``: settings that change how it runs, not what."""

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def attempted(self) -> int:
        return len(self.latencies) + self.errors

    def service_ns(self) -> array[int]:
        return self.service if self.service is not None else self.latencies


def merge_parts(label: str, parts: list[PartRecords]) -> PartRecords:
    """Concatenate parts (in the given order) into one, e.g. the workers of one run."""
    merged = PartRecords(label)
    if any(p.service is not None for p in parts):
        merged.service = new_column()
    offset_base = 0
    first_mono = min((p.t_start_mono_ns for p in parts), default=0)
    for part in parts:
        base = len(merged.latencies)
        merged.latencies.extend(part.latencies)
        if merged.service is not None:
            merged.service.extend(part.service_ns())
        # Offsets stay relative to the earliest part's start (parts may overlap in time).
        shift = part.t_start_mono_ns - first_mono if part.t_start_mono_ns else offset_base
        merged.offsets.extend(o + shift for o in part.offsets)
        merged.between.extend(part.between)
        for name, col in part.stages.items():
            mine = merged.stages.get(name)
            if mine is None:
                mine = merged.stages[name] = StageColumn(col.depth, col.parent)
            mine.count += col.count
            mine.positions.extend(p + base for p in col.positions)
            mine.durations.extend(col.durations)
        merged.errors += part.errors
        for kind, n in part.errors_by_type.items():
            merged.errors_by_type[kind] = merged.errors_by_type.get(kind, 0) + n
        for sample in part.error_samples:
            if len(merged.error_samples) < MAX_ERROR_SAMPLES:
                merged.error_samples.append(sample)
        merged.queue_depth_max = max(merged.queue_depth_max, part.queue_depth_max)
        offset_base += part.wall_ns
        if part.monitor is not None:
            if merged.monitor is None:
                merged.monitor = MonitorSummary()
            merged.monitor.merge(part.monitor)
    if parts:
        starts = [p.t_start_mono_ns for p in parts if p.t_start_mono_ns]
        ends = [p.t_end_mono_ns for p in parts if p.t_end_mono_ns]
        if starts and ends:
            merged.t_start_mono_ns, merged.t_end_mono_ns = min(starts), max(ends)
            merged.wall_ns = merged.t_end_mono_ns - merged.t_start_mono_ns
        else:
            merged.wall_ns = sum(p.wall_ns for p in parts)
        merged.digest = parts[0].digest
        merged.metrics = parts[0].metrics
        merged.declared = parts[0].declared
        merged.neutral_settings = parts[0].neutral_settings
    return merged
