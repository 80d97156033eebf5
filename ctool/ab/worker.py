"""One side of a ``ctool ab`` round: a long-lived worker process the parent drives in lockstep.

``python -m ctool.ab.worker``: reads a JSON spec line on stdin, builds the pipeline,
runs the warm-up (digesting its outputs: the behaviour check), answers ``ready`` with the
warm-up's median episode time, then runs one block per ``{"cmd": "run", "episodes": N}``
line and answers with each episode's measures. The answers go over a private copy of stdout
(fd 1 points at stderr, so a pipeline that prints cannot corrupt the protocol). SIGINT is
ignored: the parent decides when a worker stops (it closes stdin, then terminates).

Per episode, always: wall time (``perf_counter_ns``) and the episode thread's CPU time
(``thread_time_ns``; the episode runs on this thread's event loop). With ``measure``
``instructions``, also the instructions the episode retired, from
:mod:`ctool.ab.counters`; or, under Valgrind, collection is toggled on around each
measured block (:mod:`ctool.ab.callgrind`). Nothing else runs in the worker: no
sampler, watchdog or profiler thread, so under Valgrind (which serialises threads) the
count is the episodes'.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import sys
import time
from typing import IO, Any

from ctool.host.child import serve_reporting_errors, use_parent_path
from ctool.model.errors import EXIT_USAGE

WORKER_MODULE = "ctool.ab.worker"


def _send(out: IO[str], message: dict[str, Any]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


class _Episodes:
    def __init__(self, spec: dict[str, Any]) -> None:
        from ctool.ab.counters import open_counter
        from ctool.workload.loader import build_pipeline

        self.adapter = build_pipeline(
            spec["pipeline"],
            seed=spec.get("seed"),
            preset=spec.get("preset"),
            settings=spec.get("settings") or {},
        )
        self.counter = open_counter(spec.get("measure", "wall"))
        self.toggle = None
        if spec.get("callgrind"):
            from ctool.ab.callgrind import Toggle

            self.toggle = Toggle(str(spec["callgrind"]))
        self.loop = asyncio.new_event_loop()
        self.index = 0

    def measured(self, episodes: int) -> dict[str, list[int]]:
        """A block the parent asked for; under callgrind, the only instructions counted."""
        if self.toggle is None:
            return self.block(episodes)
        self.toggle.toggle()
        try:
            return self.block(episodes)
        finally:
            self.toggle.toggle()

    def block(self, episodes: int, outputs: list[Any] | None = None) -> dict[str, list[int]]:
        wall: list[int] = []
        cpu: list[int] = []
        instructions: list[int] = []
        counter = self.counter
        for _ in range(episodes):
            if counter is not None:
                counter.start()
            c0, w0 = time.thread_time_ns(), time.perf_counter_ns()
            result = self.loop.run_until_complete(self.adapter.episode(self.index))
            w1, c1 = time.perf_counter_ns(), time.thread_time_ns()
            if counter is not None:
                instructions.append(counter.stop())
            wall.append(w1 - w0)
            cpu.append(c1 - c0)
            if outputs is not None:
                outputs.append(self.adapter.outputs(result))
            self.index += 1
        data = {"wall_ns": wall, "cpu_ns": cpu}
        if counter is not None:
            data["instructions"] = instructions
        return data

    def close(self) -> None:
        self.loop.run_until_complete(self.adapter.aclose())
        self.loop.close()


def _serve(spec: dict[str, Any], out: IO[str]) -> None:
    from ctool.workload.digest import output_digest

    episodes = _Episodes(spec)
    try:
        outputs: list[Any] = []
        warm = episodes.block(max(int(spec.get("warmup", 0)), 3), outputs)
        digest = None if any(o is None for o in outputs) else output_digest(outputs)
        _send(
            out,
            {
                "type": "ready",
                "pid": os.getpid(),
                "episode_ms": statistics.median(warm["wall_ns"]) / 1e6,
                "digest": digest,
            },
        )
        for line in sys.stdin:
            command = json.loads(line)
            if command.get("cmd") != "run":
                break
            _send(out, {"type": "block", **episodes.measured(int(command["episodes"]))})
    finally:
        episodes.close()


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    try:
        spec = json.loads(sys.stdin.readline() or "{}")
        if not isinstance(spec, dict) or "pipeline" not in spec:
            raise ValueError("expected a JSON object with a pipeline")
    except ValueError as exc:
        _send(out, {"type": "error", "message": f"bad worker spec: {exc}", "exit_code": 2})
        return EXIT_USAGE
    use_parent_path(spec.get("sys_path", []))
    return serve_reporting_errors(lambda: _serve(spec, out), lambda message: _send(out, message))


if __name__ == "__main__":
    sys.exit(main())
