"""The worker processes of ``ctool ab``, seen from the parent.

* :class:`SubprocessWorker` -- ``python -m ctool.ab.worker`` with the round's
  ``PYTHONHASHSEED``, driven one block at a time over its stdin and stdout;
* :class:`CallgrindWorker` -- the same worker under ``valgrind --tool=callgrind`` for
  ``--measure instructions`` where the machine has no perf counters
  (:mod:`ctool.ab.callgrind` says why callgrind and how), and :func:`callgrind_round`,
  one round of two of them.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ctool.ab.callgrind import read_total, toggle_library, valgrind_command
from ctool.ab.worker import WORKER_MODULE
from ctool.analysis.compare.blocks import ABRound
from ctool.model.errors import CtoolError, UsageError
from ctool.model.schema import CompareReport, ProfileReport
from ctool.workload.loader import parse_settings

if TYPE_CHECKING:
    from ctool.ab.runner import ABPlan, Side

CLOSE_TIMEOUT_S = 5.0
CALLGRIND_EPISODES = 20
"""Measured episodes per worker under Valgrind (``--episodes`` overrides)."""


class SubprocessWorker:
    """``python -m ctool.ab.worker`` with its own hash seed."""

    close_timeout_s = CLOSE_TIMEOUT_S

    def __init__(
        self, plan: ABPlan, side: Side, hash_seed: int, prefix: Sequence[str] = ()
    ) -> None:
        self.side = side
        env = dict(os.environ, PYTHONHASHSEED=str(hash_seed))
        sys_path = [p for p in sys.path if p]
        if side.checkout is not None:
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(side.checkout), env.get("PYTHONPATH", "")) if p
            )
            sys_path = [str(side.checkout), *sys_path]
        self.spec = {
            "pipeline": side.pipeline or plan.pipeline,
            "seed": plan.seed,
            "preset": side.preset,
            "settings": parse_settings(list(side.settings)),
            "warmup": plan.warmup,
            "measure": plan.measure,
            "sys_path": sys_path,
        }
        self.proc = subprocess.Popen(
            [*(prefix or [sys.executable]), "-m", WORKER_MODULE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=side.checkout,
            env=env,
            start_new_session=True,  # Ctrl-C reaches the parent only; it stops the workers
        )
        self.episode_ms = 0.0
        self.digest: str | None = None
        self._send(self.spec)  # the worker starts building while its partner starts

    def _receive(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        message: dict[str, Any] = json.loads(line) if line.strip() else {}
        if message.get("type") == "error" or not message:
            self.proc.wait(timeout=CLOSE_TIMEOUT_S)
            text = str(message.get("message") or self._stderr_tail())
            if message.get("exit_code") == 2 or self.proc.returncode == 2:
                raise UsageError(f"{self.side.name}: {text}")
            raise CtoolError(f"{self.side.name}: worker failed: {text}")
        return message

    def _stderr_tail(self) -> str:
        assert self.proc.stderr is not None
        lines = [ln for ln in self.proc.stderr.read().splitlines() if ln.strip()]
        return lines[-1] if lines else f"exited {self.proc.returncode}"

    def _send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def ready(self) -> None:
        message = self._receive()
        self.episode_ms = float(message["episode_ms"])
        self.digest = message.get("digest")

    def run(self, episodes: int) -> dict[str, list[int]]:
        self.send_run(episodes)
        return self.receive_block()

    def send_run(self, episodes: int) -> None:
        self._send({"cmd": "run", "episodes": episodes})

    def receive_block(self) -> dict[str, list[int]]:
        message = self._receive()
        return {k: v for k, v in message.items() if k != "type"}

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                assert self.proc.stdin is not None
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=self.close_timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


class CallgrindWorker(SubprocessWorker):
    def __init__(
        self, plan: ABPlan, side: Side, hash_seed: int, out_file: Path, library: str
    ) -> None:
        self.out_file = out_file
        self.library = library
        self.close_timeout_s = 120.0  # Valgrind writes its counts after the worker exits
        super().__init__(plan, side, hash_seed, prefix=valgrind_command(out_file))

    def _send(self, message: dict[str, Any]) -> None:
        if "pipeline" in message:  # the spec: count with the toggle, no perf counter
            message = {**message, "measure": "wall", "callgrind": self.library}
        super()._send(message)


def callgrind_round(plan: ABPlan, hash_seed: int) -> ABRound:
    """One round of ``--measure instructions`` under Valgrind: A and B at once, each
    counting ``CALLGRIND_EPISODES`` episodes after its warm-up."""
    library = str(toggle_library())
    n = plan.episodes or CALLGRIND_EPISODES
    with tempfile.TemporaryDirectory(prefix="ctool-ab-callgrind-") as scratch:
        workers = [
            CallgrindWorker(plan, side, hash_seed, Path(scratch) / f"{side.label}.out", library)
            for side in (plan.a, plan.b)
        ]
        try:
            for worker in workers:
                worker.ready()
            for worker in workers:
                worker.send_run(n)
            for worker in workers:
                worker.receive_block()
        finally:
            for worker in workers:
                worker.close()
        a, b = (read_total(w.out_file) / n for w in workers)
    return ABRound(
        hash_seed,
        n,
        a_blocks=[{"instructions.per_episode": a}],
        b_blocks=[{"instructions.per_episode": b}],
        digests=(workers[0].digest, workers[1].digest),
    )


ProfiledRunner = Callable[["ABPlan", "Side", int, Path], ProfileReport]
"""Runs one profiled half round (plan, side, index, report path) and returns its report."""


def profile_command(plan: ABPlan, side: Side, out: Path) -> list[str]:
    """``python -m ctool profile`` for one profiled half round, with ``--profiler``."""
    episodes = plan.episodes or 100
    command = [
        sys.executable, "-m", "ctool", "profile", "--pipeline", side.pipeline or plan.pipeline,
        "--seed", str(plan.seed), "--episodes", str(episodes), "--warmup", str(plan.warmup),
        "--quiet", "-o", str(out),
    ]  # fmt: skip
    for name in plan.profilers:
        command += ["--profiler", name]
    if side.preset:
        command += ["--preset", side.preset]
    for setting in side.settings:
        command += ["--set", setting]
    return command


def profile_half(plan: ABPlan, side: Side, index: int, out: Path) -> ProfileReport:
    """One profiled half round: a fresh ``python -m ctool profile`` process."""
    from ctool.analysis.compare import require_profile
    from ctool.model.io import load_report

    env = dict(os.environ)
    if side.checkout is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(side.checkout), env.get("PYTHONPATH", "")) if p
        )
    proc = subprocess.run(
        profile_command(plan, side, out), capture_output=True, text=True,
        cwd=side.checkout, env=env, check=False,
    )  # fmt: skip
    if proc.returncode == 130:
        raise KeyboardInterrupt
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        message = lines[-1].removeprefix("ctool: error: ") if lines else "no message"
        if proc.returncode == 2:
            raise UsageError(f"{side.name}: {message}")
        raise CtoolError(f"{side.name}, profiled round {index + 1}: exited {proc.returncode}")
    return require_profile(load_report(out), f"{side.name} profiled round {index + 1}")


def with_profiled_rounds(
    plan: ABPlan, report: CompareReport, runner: ProfiledRunner
) -> CompareReport:
    """Extra rounds under the profilers (A B, B A, ...): where time moved, never timing."""
    from ctool.analysis.movers import where_time_moved

    a_runs: list[ProfileReport] = []
    b_runs: list[ProfileReport] = []
    with tempfile.TemporaryDirectory(prefix="ctool-ab-profiled-") as scratch:
        folder = plan.keep or Path(scratch)
        for index in range(plan.profiled_rounds):
            order = [(plan.a, a_runs), (plan.b, b_runs)]
            for side, runs in order[::-1] if index % 2 else order:
                out = folder / f"{side.label}-profiled-{index + 1:02d}.json"
                runs.append(runner(plan, side, index, out))
    return report.model_copy(update=where_time_moved(a_runs, b_runs))
