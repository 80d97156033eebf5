"""Pipeline replicas in worker processes: ``--workers N`` and ``--rounds R``.

A worker is a fresh interpreter (``python -m ctool.run.workers``): it builds the pipeline
from a JSON spec on stdin, runs the warm-up, says it is ready, then runs the sequential part
whenever the parent asks and sends back its :class:`PartRecords` (with its own loop
watchdog and GC figures). The protocol runs over a private copy of the worker's stdout; the
worker's fd 1 is pointed at stderr so a pipeline that prints cannot corrupt it. Workers
ignore SIGINT: on Ctrl-C (or SIGTERM) the parent sends SIGUSR1 to each worker still running
a part, which ends the part and sends back what it measured so far, then stops them.

* ``--rounds R``: R workers one after another, each started fresh, each running the part
  once: per-round statistics that include process-to-process variation (what ``ctool
  compare`` tests on).
* ``--workers N``: N workers started together and kept; the part is run with 1, 2, 4, ...
  and N of them at once (the scaling rows); the N-worker run is the headline, its records
  merged (``LocalPool`` driven by ``ctool.run.replicas.ScalingRun``). A worker that dies
  is a failed replica row; the run goes on with the others. Every part digests its
  outputs (an ``outputs()`` that cannot be digested fails every episode, as in one
  process); the report's digest is the first step's, the same episodes an in-process run
  would digest.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pickle
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from ctool.host.child import serve_reporting_errors, use_parent_path
from ctool.model.errors import EXIT_USAGE, CtoolError, UsageError
from ctool.model.records import PartRecords
from ctool.monitors.hang import HangMonitor
from ctool.run.replicas import (
    ReplicaInfo,
    ReplicaLost,
    ReplicaOutcome,
    ScalingRun,
    WorkersResult,
    local_info,
    scaling_steps,
    write_samples,
)

__all__ = ["LocalPool", "WorkerSpec", "WorkersResult", "run_rounds", "run_workers", "scaling_steps"]

if TYPE_CHECKING:
    from ctool.run.shapes import LoadDriver

WORKER_MODULE = "ctool.run.workers"
CLOSE_TIMEOUT_S = 5.0
PARTIAL_TIMEOUT_S = 5.0
STOP_SIGNAL = signal.SIGUSR1
"""Parent to worker: stop the part now and send what was measured (the run was interrupted)."""


@dataclass
class WorkerSpec:
    pipeline: str
    seed: int | None
    preset: str | None
    settings: dict[str, Any]
    warmup: int
    block_threshold_ms: float
    sys_path: list[str] = field(default_factory=lambda: list(sys.path))
    samples_dir: str | None = None
    """Each part's raw latencies also go to ``samples_dir/TAG.ns`` (``--replica-samples``)."""
    episode_timeout_s: float = 0.0

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__).encode() + b"\n"

    @classmethod
    def from_json(cls, line: bytes) -> WorkerSpec:
        """The spec a parent sent with :meth:`to_json`, checked field by field."""
        data = json.loads(line)
        if not isinstance(data, dict):
            raise CtoolError("worker spec: expected a JSON object", exit_code=EXIT_USAGE)
        seed, preset = data.get("seed"), data.get("preset")
        return cls(
            pipeline=str(data["pipeline"]),
            seed=None if seed is None else int(seed),
            preset=None if preset is None else str(preset),
            settings=dict(data.get("settings") or {}),
            warmup=int(data.get("warmup", 0)),
            block_threshold_ms=float(data.get("block_threshold_ms", 0.0)),
            samples_dir=None if data.get("samples_dir") is None else str(data["samples_dir"]),
            episode_timeout_s=float(data.get("episode_timeout_s", 0.0)),
            sys_path=[str(entry) for entry in data.get("sys_path", [])],
        )


# -- parent side --------------------------------------------------------------------------------


class WorkerDied(CtoolError):
    """The worker process exited while the parent waited for it."""


class WorkerProcess:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.busy = False
        """A part was asked for and has not come back yet."""
        self.ended = False
        """It ended itself after its part (a sync episode hung past --episode-timeout)."""

    @property
    def pid(self) -> int:
        return self.proc.pid

    @classmethod
    async def spawn(cls, spec: WorkerSpec) -> WorkerProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            WORKER_MODULE,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        worker = cls(proc)
        await worker._send(spec.to_json())
        return worker

    async def _send(self, line: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line)
        with contextlib.suppress(ConnectionError):
            await self.proc.stdin.drain()

    async def _receive(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        header = await self.proc.stdout.readline()
        if not header:
            code = await self.proc.wait()
            raise WorkerDied(f"worker process {self.pid} exited unexpectedly (exit code {code})")
        data = await self.proc.stdout.readexactly(int(header))
        message: dict[str, Any] = pickle.loads(data)
        if message.get("type") == "error":
            text = str(message.get("message", "worker failed"))
            if message.get("exit_code") == EXIT_USAGE:
                raise UsageError(text)
            raise CtoolError(text)
        return message

    async def ready(self) -> dict[str, Any]:
        """The worker's "ready" message (its ``info``: host, pid, versions)."""
        return await self._receive()

    async def run(
        self, *, episodes: int | None, duration_s: float | None, tag: str = "part"
    ) -> PartRecords:
        command = {"cmd": "run", "episodes": episodes, "duration_s": duration_s, "tag": tag}
        self.busy = True
        await self._send(json.dumps(command).encode() + b"\n")
        message = await self._receive()
        self.busy = False
        self.ended = bool(message.get("ended"))
        part: PartRecords = message["part"]
        return part

    async def close(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self._send(b'{"cmd": "exit"}\n')
                assert self.proc.stdin is not None
                self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), CLOSE_TIMEOUT_S)
            except TimeoutError:
                self.kill()
                await self.proc.wait()

    def signal(self, signum: int) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signum)

    def kill(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()


async def _stop_all(workers: list[WorkerProcess], *, graceful: bool) -> None:
    if graceful:
        await asyncio.gather(*(w.close() for w in workers), return_exceptions=True)
    for w in workers:
        w.kill()
    for w in workers:
        with contextlib.suppress(Exception):
            await w.proc.wait()


async def run_rounds(
    spec: WorkerSpec,
    rounds: int,
    *,
    episodes: int | None,
    duration_s: float | None,
    on_round: Callable[[ReplicaOutcome], Awaitable[None] | None] | None = None,
) -> list[ReplicaOutcome]:
    """Each round in a fresh worker process, one after another. A round whose worker dies
    is a failed outcome (named ``round I``); the other rounds go on."""
    outcomes: list[ReplicaOutcome] = []
    for index in range(rounds):
        outcome = await _one_round(spec, index, episodes=episodes, duration_s=duration_s)
        outcomes.append(outcome)
        if on_round is not None:
            maybe = on_round(outcome)
            if maybe is not None:
                await maybe
    return outcomes


async def _one_round(
    spec: WorkerSpec, index: int, *, episodes: int | None, duration_s: float | None
) -> ReplicaOutcome:
    worker = await WorkerProcess.spawn(spec)
    info = ReplicaInfo(index, socket.gethostname(), worker.pid, role="round")
    graceful = False
    try:
        message = await worker.ready()
        info = ReplicaInfo(**{**message.get("info", {}), "index": index, "role": "round"})
        part = await worker.run(episodes=episodes, duration_s=duration_s)
        part.label = f"round {index}"
        graceful = True
        return ReplicaOutcome(info, part)
    except WorkerDied as exc:
        return ReplicaOutcome(info, error=f"{info.name()} died: {exc}")
    finally:
        await _stop_all([worker], graceful=graceful)


class LocalPool:
    """``--workers N``: N worker processes on this machine (a :class:`ReplicaPool`)."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self.procs: list[WorkerProcess] = []
        self.infos: list[ReplicaInfo] = []

    async def start(self, count: int) -> None:
        self.procs = list(
            await asyncio.gather(*(WorkerProcess.spawn(self.spec) for _ in range(count)))
        )
        ready = await asyncio.gather(*(w.ready() for w in self.procs))
        self.infos = [
            ReplicaInfo(**{**message.get("info", {}), "index": index})
            for index, message in enumerate(ready)
        ]

    async def run(
        self, index: int, *, episodes: int | None, duration_s: float | None, tag: str
    ) -> PartRecords:
        worker = self.procs[index]
        if worker.ended:  # it ended itself after a hung sync episode: a fresh one goes on
            await self._replace(index)
            worker = self.procs[index]
        try:
            return await worker.run(episodes=episodes, duration_s=duration_s, tag=tag)
        except WorkerDied as exc:
            raise ReplicaLost(index, f"{self.infos[index].name()} died: {exc}") from None

    async def _replace(self, index: int) -> None:
        old = self.procs[index]
        with contextlib.suppress(Exception):
            await old.proc.wait()
        fresh = await WorkerProcess.spawn(self.spec)
        message = await fresh.ready()
        self.procs[index] = fresh
        self.infos[index] = ReplicaInfo(**{**message.get("info", {}), "index": index})

    async def interrupt(self, indices: list[int]) -> dict[int, PartRecords]:
        async def one(index: int) -> PartRecords:
            worker = self.procs[index]
            worker.signal(signal.SIGUSR1)
            message = await asyncio.wait_for(worker._receive(), CLOSE_TIMEOUT_S)
            part: PartRecords = message["part"]
            return part

        busy = [i for i in indices if self.procs[i].busy]
        results = await asyncio.gather(*(one(i) for i in busy), return_exceptions=True)
        return {i: r for i, r in zip(busy, results, strict=True) if isinstance(r, PartRecords)}

    async def close(self, *, graceful: bool) -> None:
        await _stop_all(self.procs, graceful=graceful)


async def run_workers(
    spec: WorkerSpec,
    workers: int,
    *,
    episodes: int | None,
    duration_s: float | None,
) -> WorkersResult:
    """The scaling steps on ``workers`` local worker processes (see ``ScalingRun``)."""
    return await ScalingRun(LocalPool(spec), spec.pipeline).run(
        workers, episodes=episodes, duration_s=duration_s
    )


# -- worker side --------------------------------------------------------------------------------


def _send(out: IO[bytes], message: dict[str, Any]) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(b"%d\n" % len(data) + data)
    out.flush()


async def _serve(spec: WorkerSpec, out: IO[bytes]) -> None:
    from ctool.run.shapes import LoadDriver
    from ctool.workload.loader import build_pipeline

    adapter = build_pipeline(
        spec.pipeline, seed=spec.seed, preset=spec.preset, settings=spec.settings
    )
    driver = LoadDriver(adapter, episode_timeout_s=spec.episode_timeout_s)
    hangs = HangMonitor(driver.runner, lambda _: _end_hung_worker(driver, out)).start()
    await driver.warmup(spec.warmup)
    info = local_info(0, spec.pipeline, address=f"local pid {os.getpid()}").__dict__
    _send(out, {"type": "ready", "pid": os.getpid(), "info": info})
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.buffer.readline)
            if not line:
                return
            command = json.loads(line)
            if command.get("cmd") != "run":
                return
            part = await _run_part(spec, driver, command)
            part.metrics = adapter.metrics()
            part.pid = os.getpid()
            write_samples(spec.samples_dir, str(command.get("tag", "part")), part)
            _send(out, {"type": "result", "part": part})
    finally:
        hangs.stop()
        with contextlib.suppress(Exception):
            await adapter.aclose()


def _end_hung_worker(driver: LoadDriver, out: IO[bytes]) -> None:
    """A sync episode ran past ``--episode-timeout`` (on the hang monitor's thread; the
    loop's thread is stuck in it): send the part so far, the hung episode counted as an error
    of kind ``timeout``, and end this worker. The parent starts a fresh one if it needs it."""
    from ctool.run.shapes import EpisodeTimeout

    index = driver.runner.next_index - 1
    for recorder in driver.book.open_parts():
        recorder.add_error(index, EpisodeTimeout(index, driver.runner.timeout_s, cancelled=True))
    parts = driver.book.abandon()
    with contextlib.suppress(Exception):
        if parts:
            _send(out, {"type": "result", "part": parts[0], "ended": True})
        else:  # hung in the warm-up
            message = f"worker {os.getpid()}: a warm-up episode ran past --episode-timeout"
            _send(out, {"type": "error", "message": message, "exit_code": 1})
    os._exit(0)


async def _run_part(spec: WorkerSpec, driver: Any, command: dict[str, Any]) -> Any:
    """The sequential part; SIGUSR1 (the parent was interrupted) ends it with what it has."""
    from ctool.monitors.watchdog import LoopWatchdog, pipeline_roots

    loop = asyncio.get_running_loop()
    watchdog = LoopWatchdog(
        threshold_ms=spec.block_threshold_ms, user_roots=pipeline_roots(spec.pipeline)
    )
    watchdog.start()
    task = loop.create_task(
        driver.sequential(episodes=command.get("episodes"), duration_s=command.get("duration_s"))
    )
    loop.add_signal_handler(signal.SIGUSR1, task.cancel)
    try:
        part = await task
    except asyncio.CancelledError:
        part = driver.book.abandon()[0]
        part.extra["partial"] = True
    finally:
        loop.remove_signal_handler(signal.SIGUSR1)
        part_monitor = watchdog.stop()
    part.monitor = part_monitor
    return part


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)  # "stop the part" matters only during one
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # a hang-up reaches the whole group
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything the pipeline prints goes to stderr, not into the protocol
    try:
        spec = WorkerSpec.from_json(sys.stdin.buffer.readline() or b"{}")
    except (ValueError, KeyError, TypeError) as exc:
        _send(out, {"type": "error", "message": f"bad worker spec: {exc}", "exit_code": 2})
        return EXIT_USAGE
    use_parent_path(spec.sys_path)
    return serve_reporting_errors(
        lambda: asyncio.run(_serve(spec, out)), lambda message: _send(out, message)
    )


if __name__ == "__main__":
    sys.exit(main())
