"""Replicas of a pipeline, wherever they run: the scaling steps, exact merging, faults.

An *executor* gives ctool a :class:`ReplicaPool`: N replicas of the pipeline, each in its own
process (``--workers N``: local worker processes, ``ctool.run.workers``; ``--executor
dask``: tasks on a Dask cluster, ``ctool.executors.dask``). This module holds what every
executor shares:

* :func:`run_scaling`: the sequential part on 1, 2, 4, ... and N replicas at once (the scaling
  rows); the N-replica step is the headline.
* The clock rule. Each replica measures on its own clock. Parts from one host share
  ``CLOCK_MONOTONIC`` and are merged on it; parts from different hosts are never compared by
  timestamp: their offsets stay relative to each replica's own start (drift windows overlay
  the replicas' clocks) and a step's wall time is its longest replica's.
* Throughput of a step: the sum of each replica's episodes / its own wall time.
* Exactness: every latency a replica measured comes back (as ``PartRecords`` columns, stored
  in the report's compact sample format); the merged percentiles are those of the
  concatenated samples.
* Faults: a replica that dies (:class:`ReplicaLost`) becomes a failed row that names it; the
  run goes on with the rest and the report is marked incomplete.
* Versions: each replica reports its Python, ctool and pipeline source hash; a different
  ctool, Python minor version or pipeline source is refused (the replicas would measure
  different code), a different Python patch release is a warning.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib.util
import os
import platform
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ctool.model.errors import UsageError
from ctool.model.records import PartRecords, merge_parts
from ctool.model.version import __version__

if TYPE_CHECKING:
    from ctool.model.schema import ReplicaRow

INTERRUPT_TIMEOUT_S = 10.0


class ReplicaLost(Exception):
    """A replica's process died (killed, crashed) or its worker left the cluster."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.message = message


@dataclass
class ReplicaInfo:
    """Where a replica runs and what it runs (reported by the replica itself)."""

    index: int
    host: str
    pid: int
    address: str | None = None
    python: str = ""
    ctool: str = ""
    pipeline_hash: str = ""
    role: str = "replica"
    """``replica`` (``--workers``, Dask) or ``round`` (``--rounds``: one after another)."""

    def name(self) -> str:
        worker = f", Dask worker {self.address}" if self.address and "://" in self.address else ""
        return f"{self.role} {self.index} (pid {self.pid} on {self.host}{worker})"


def pipeline_hash(ref: str) -> str:
    """SHA-256 (16 hex digits) of the pipeline module's source and its sibling ``*.py`` files.

    The factory's module file and every ``.py`` next to it (its package), by relative path and
    content: two hosts with different pipeline code get different hashes.
    """
    module = ref.split(":", 1)[0]
    digest = hashlib.sha256()
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    origin = spec.origin if spec is not None else None
    if not origin or not origin.endswith(".py"):
        return "unknown"
    root = Path(origin).parent
    for path in sorted(root.glob("*.py")):
        digest.update(path.name.encode() + b"\0")
        with contextlib.suppress(OSError):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def local_info(index: int, pipeline: str, address: str | None = None) -> ReplicaInfo:
    """This process, described as a replica (also the parent's reference for version checks)."""
    return ReplicaInfo(
        index=index,
        host=socket.gethostname(),
        pid=os.getpid(),
        address=address,
        python=platform.python_version(),
        ctool=__version__,
        pipeline_hash=pipeline_hash(pipeline),
    )


def check_versions(parent: ReplicaInfo, replicas: list[ReplicaInfo]) -> list[str]:
    """Refuse (``UsageError``) replicas running other code; return warnings for small gaps."""
    warnings: list[str] = []
    for info in replicas:
        problems = []
        if info.ctool != parent.ctool:
            problems.append(f"ctool {info.ctool} (here {parent.ctool})")
        if info.python.split(".")[:2] != parent.python.split(".")[:2]:
            problems.append(f"Python {info.python} (here {parent.python})")
        if info.pipeline_hash != parent.pipeline_hash:
            problems.append(
                f"pipeline source hash {info.pipeline_hash} (here {parent.pipeline_hash})"
            )
        if problems:
            raise UsageError(
                f"{info.name()} runs other code: {', '.join(problems)}; install the same "
                "versions on every worker (docs/scale-out.md)"
            )
        if info.python != parent.python:
            warnings.append(f"{info.name()} runs Python {info.python} (here {parent.python})")
    return warnings


class ReplicaPool(Protocol):
    """N started replicas, driven by :func:`run_scaling`."""

    infos: list[ReplicaInfo]

    async def start(self, count: int) -> None:
        """Start ``count`` replicas (pipeline built, warm-up done); fill ``infos``."""

    async def run(
        self, index: int, *, episodes: int | None, duration_s: float | None, tag: str
    ) -> PartRecords:
        """Run the sequential part on replica ``index``; ``ReplicaLost`` if it died. ``tag``
        names the part (its raw-samples file: ``write_samples``)."""

    async def interrupt(self, indices: list[int]) -> dict[int, PartRecords]:
        """Stop the running parts of these replicas and return what each measured so far."""

    async def close(self, *, graceful: bool) -> None:
        """Stop every replica (and what the pool started); idempotent."""


def scaling_steps(workers: int) -> list[int]:
    """1, 2, 4, ... below ``workers``, then ``workers``."""
    steps = []
    k = 1
    while k < workers:
        steps.append(k)
        k *= 2
    steps.append(workers)
    return steps


def step_tag(step: int, index: int) -> str:
    """``step2-replica1``: replica 1's part in the step with two replicas."""
    return f"step{step}-replica{index}"


def write_samples(directory: str | None, tag: str, part: PartRecords) -> None:
    """``DIR/TAG.ns``: the part's raw latencies, ns, one a line (written by the replica)."""
    if not directory:
        return
    from ctool.model.io import atomic_write_text

    path = Path(directory) / f"{tag}.ns"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, "".join(f"{v}\n" for v in part.latencies))


def part_throughput(part: PartRecords) -> float:
    """Episodes per second of one replica's part, on that replica's own clock."""
    return part.ok / (part.wall_ns / 1e9) if part.wall_ns > 0 else 0.0


def merge_replica_parts(label: str, parts: list[PartRecords]) -> PartRecords:
    """Exact merge of replica parts: every sample kept, no cross-host timestamp subtracted."""
    hosts = {str(p.extra.get("host", "")) for p in parts}
    if len(hosts) <= 1:
        return merge_parts(label, parts)  # one host: one monotonic clock
    merged = merge_parts(label, parts)
    merged.offsets = type(merged.offsets)("q")
    for part in parts:  # each replica's offsets from its own start: the windows overlay
        merged.offsets.extend(part.offsets)
    merged.wall_ns = max((p.wall_ns for p in parts), default=0)
    merged.t_start_mono_ns = merged.t_end_mono_ns = 0
    return merged


@dataclass
class ReplicaOutcome:
    info: ReplicaInfo
    part: PartRecords | None = None
    error: str | None = None
    """Why the replica failed (it died, its worker left); ``None`` when it did not."""


@dataclass
class WorkersResult:
    merged: PartRecords
    scaling: list[tuple[int, float, PartRecords]]
    digest: str | None
    replicas: list[ReplicaOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[ReplicaOutcome]:
        return [r for r in self.replicas if r.error is not None]


class ScalingRun:
    """The scaling steps over a pool; ``result`` holds what was measured, even if cut short."""

    def __init__(self, pool: ReplicaPool, pipeline: str) -> None:
        self.pool = pool
        self.pipeline = pipeline
        self.result: WorkersResult | None = None
        self.lost: dict[int, str] = {}
        self._running: list[int] = []
        self._scaling: list[tuple[int, float, PartRecords]] = []
        self._digest: str | None = None
        self._warnings: list[str] = []
        self._last: dict[int, PartRecords] = {}
        """The parts of the latest step that came back: the headline."""

    async def run(
        self, workers: int, *, episodes: int | None, duration_s: float | None
    ) -> WorkersResult:
        pool = self.pool
        graceful = False
        try:
            await pool.start(workers)
            self._warnings = check_versions(local_info(-1, self.pipeline), pool.infos)
            done: set[int] = set()
            for k in scaling_steps(workers):
                await self._step_on_survivors(
                    workers, k, done, episodes=episodes, duration_s=duration_s
                )
            graceful = True
            return self._finish()
        except asyncio.CancelledError:
            await self._keep_partial()
            raise
        finally:
            await pool.close(graceful=graceful)

    async def _step_on_survivors(
        self,
        workers: int,
        k: int,
        done: set[int],
        *,
        episodes: int | None,
        duration_s: float | None,
    ) -> None:
        """The step with ``k`` replicas, on the first ``k`` still alive. When every one of
        them died before its part came back, the step runs again on the next survivors: a
        dead replica never takes the others' episodes with it. ``done``: the replica counts
        of the steps that measured something."""
        while True:
            alive = [i for i in range(workers) if i not in self.lost][:k]
            if not alive or len(alive) in done:
                return
            parts = await self._step(alive, episodes=episodes, duration_s=duration_s)
            if parts:  # else every replica of the step was lost (``self.lost`` grew)
                done.add(len(alive))
                self._record_step(parts, complete=len(parts) == len(alive))
                return

    async def _step(
        self, indices: list[int], *, episodes: int | None, duration_s: float | None
    ) -> dict[int, PartRecords]:
        self._running = list(indices)
        outcomes = await asyncio.gather(
            *(
                self.pool.run(
                    i, episodes=episodes, duration_s=duration_s, tag=step_tag(len(indices), i)
                )
                for i in indices
            ),
            return_exceptions=True,
        )
        self._running = []
        parts: dict[int, PartRecords] = {}
        for index, outcome in zip(indices, outcomes, strict=True):
            if isinstance(outcome, ReplicaLost):
                self.lost[index] = outcome.message
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                parts[index] = self._tag(index, outcome)
        return parts

    def _tag(self, index: int, part: PartRecords) -> PartRecords:
        info = self.pool.infos[index]
        part.pid = info.pid
        part.extra = {**part.extra, "replica": index, "host": info.host}
        return part

    def _record_step(self, parts: dict[int, PartRecords], *, complete: bool) -> None:
        """The step's parts become the headline; a step that lost a replica is no scaling row
        (its throughput would not be that of the replicas it started with)."""
        ordered = [parts[i] for i in sorted(parts)]
        if self._digest is None:
            self._digest = ordered[0].digest
        if complete:
            merged = merge_replica_parts(f"{len(ordered)} workers", ordered)
            throughput = sum(part_throughput(p) for p in ordered)
            self._scaling.append((len(ordered), throughput, merged))
        self._last = parts
        self.result = self._finish()

    def _finish(self) -> WorkersResult:
        last = self._last
        ordered = [last[i] for i in sorted(last)]
        merged = merge_replica_parts(f"{len(ordered)} workers", ordered)
        merged.digest = self._digest
        outcomes = [
            ReplicaOutcome(info, last.get(info.index), self.lost.get(info.index))
            for info in self.pool.infos
        ]
        self.result = WorkersResult(
            merged, list(self._scaling), self._digest, outcomes, list(self._warnings)
        )
        return self.result

    async def _keep_partial(self) -> None:
        """Interrupted: what the running replicas measured so far becomes the headline."""
        running = list(self._running)
        if running:
            with contextlib.suppress(Exception):
                partial = await asyncio.wait_for(
                    asyncio.shield(self.pool.interrupt(running)), INTERRUPT_TIMEOUT_S
                )
                if partial:
                    self._last = {i: self._tag(i, p) for i, p in partial.items()}
        if self._last or self.pool.infos:
            self._finish()


def replica_rows(outcomes: list[ReplicaOutcome]) -> list[ReplicaRow]:
    """The report's per-replica rows: headline-step figures, each on the replica's own clock
    (``WorkersResult.replicas``; or the rounds of ``--rounds``, when one was lost)."""
    from ctool.model.schema import ReplicaRow

    rows = []
    for outcome in outcomes:
        info, part = outcome.info, outcome.part
        rows.append(
            ReplicaRow(
                index=info.index,
                host=info.host,
                pid=info.pid,
                address=info.address,
                episodes=part.ok if part is not None else 0,
                errors=part.errors if part is not None else 0,
                throughput_eps=part_throughput(part) if part is not None else None,
                python=info.python or None,
                ctool=info.ctool or None,
                pipeline_hash=info.pipeline_hash or None,
                failed=outcome.error,
            )
        )
    return rows
