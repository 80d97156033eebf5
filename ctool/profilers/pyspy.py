"""py-spy backend: a sampling profiler in a subprocess, attached to this process with ptrace.

``py-spy record --pid PID --rate HZ --format speedscope`` runs for the measured region and
stops on SIGINT, writing a speedscope JSON file (open it at https://www.speedscope.app). The
hotspot rows are folded from that file's stacks by ``ctool.profilers.boundary``: by default
(``--hotspots boundary``) library time is charged to ``caller -> library function`` at the
caller's line, the user's own lines stay rows of their own, and stacks with no user code
(the harness, the event loop, ctool's threads) are no rows. ``--hotspots user`` folds library
time into the calling user function; ``all`` is the innermost frame of each sample. The plain
innermost-frame view is also in the metadata (``raw_top``). A sample's stage is the span
whose block holds the innermost frame on its stack that lies inside a span block.

py-spy needs ptrace rights over this process. When they are refused (a container without
``SYS_PTRACE``, ``kernel.yama.ptrace_scope`` >= 1 for a child tracing its parent) the
availability check says so in one line with the fix. ``CTOOL_PYSPY`` names another binary.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar

from ctool.model.errors import ProfilerUnavailable
from ctool.model.schema import Hotspot
from ctool.model.stacks import read_speedscope
from ctool.profilers.base import Availability, ProfilerFragment, ProfilerOptions
from ctool.profilers.boundary import DEFAULT_FOLDING, Folding, StackFolder, folding_of
from ctool.profilers.frames import is_library, is_machinery
from ctool.profilers.stages import StageVotes, frame_stages

CHUNKS = 8
"""Consecutive slices of the samples whose row shares give compare's movers an interval."""
ENV_BINARY = "CTOOL_PYSPY"
ENV_BLOCKING = "CTOOL_PYSPY_BLOCKING"
ATTACH_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 30.0
INTERRUPT_EVERY_S = 0.2
IGNORE_SIGINT = ["/bin/sh", "-c", 'trap "" INT; exec "$0" "$@"']
"""py-spy says it is sampling a moment before it installs its Ctrl-C handler, and a SIGINT
in between kills it before it writes anything (7 times in 20 in a test). Started with SIGINT
ignored -- a disposition that survives ``exec`` and that its handler then replaces -- an
early SIGINT is lost instead; :meth:`PySpyBackend.stop` repeats it until py-spy exits."""
PTRACE_FIX = (
    "run as root, or give the container ptrace rights (docker run --cap-add SYS_PTRACE), "
    "or allow it with 'sysctl kernel.yama.ptrace_scope=0'"
)
_REFUSED = ("permission denied", "operation not permitted", "ptrace")


def blocking(options: ProfilerOptions) -> bool:
    """Pause the process at each sample? On by default. Unpaused (``--nonblocking``) py-spy
    costs the workload less -- on the optimized preset about 4 % of throughput against 7 %
    paused, at 100 Hz (benchmarks/profilers.py) -- but tears samples, and tears them most
    where stacks are deep and change fast: on examples/docpipe.py 61 of 549 samples (11 %)
    were torn, and the yaml.load row read 57.6 % against the stage table's 65.4 %; paused,
    0 torn and 63.0 % against 64.9 % (2026-11-29, 80 episodes at 200 Hz). A bottleneck
    table must be right first. ``CTOOL_PYSPY_BLOCKING=0`` or
    ``options.extra["pyspy_blocking"] = False`` reads without pausing."""
    if "pyspy_blocking" in options.extra:
        return bool(options.extra["pyspy_blocking"])
    return os.environ.get(ENV_BLOCKING, "").strip().lower() not in ("0", "false", "no", "off")


def find_binary() -> str | None:
    """``$CTOOL_PYSPY``, else py-spy next to this interpreter (a venv), else on PATH."""
    override = os.environ.get(ENV_BINARY)
    if override:
        return override if os.access(override, os.X_OK) else None
    beside = Path(sys.executable).parent / "py-spy"
    if os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("py-spy")


def _ptrace_scope() -> int | None:
    try:
        return int(Path("/proc/sys/kernel/yama/ptrace_scope").read_text().strip())
    except (OSError, ValueError):
        return None


def explain_failure(output: str) -> str:
    """One line from py-spy's error output; a ptrace refusal gets the fix appended."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    first = next((line for line in lines if "error" in line.lower()), lines[0] if lines else "")
    first = first.removeprefix("Error:").strip() or "py-spy exited without a reason"
    if any(word in output.lower() for word in _REFUSED):
        scope = _ptrace_scope()
        where = f" (kernel.yama.ptrace_scope={scope})" if scope else ""
        return f"ptrace is not permitted{where}: py-spy says {first!r}; {PTRACE_FIX}"
    return f"py-spy failed: {first}"


_probe_cache: dict[tuple[str, int], Availability] = {}


def probe(binary: str) -> Availability:
    """Can ``binary`` read this process's stacks? One ``py-spy dump`` (~15 ms), cached."""
    key = (binary, os.getpid())
    cached = _probe_cache.get(key)
    if cached is not None:
        return cached
    try:
        done = subprocess.run(
            [binary, "dump", "--pid", str(os.getpid())],
            capture_output=True,
            text=True,
            timeout=ATTACH_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        result = Availability(False, f"py-spy at {binary} could not run: {exc}")
    else:
        if done.returncode == 0:
            result = Availability(True)
        else:
            result = Availability(False, explain_failure(done.stderr + "\n" + done.stdout))
    _probe_cache[key] = result
    return result


@dataclass
class FunctionSamples:
    function: str
    filename: str
    self_s: float = 0.0
    cumulative_s: float = 0.0
    samples: int = 0
    raw_self_s: float = 0.0
    """Seconds as the innermost frame, library frames not folded."""
    lines: dict[int, float] = field(default_factory=dict)
    """Line -> own seconds."""


@dataclass
class SpeedscopeProfile:
    """Hotspot-ready totals parsed from py-spy's speedscope JSON."""

    functions: dict[tuple[str, str], FunctionSamples]
    votes: StageVotes
    total_s: float
    samples: int
    threads: int
    folder: StackFolder = field(default_factory=StackFolder)


def thread_id(profile_name: str) -> int | None:
    """py-spy names a profile ``Thread 25154 "MainThread"``: the OS thread id comes first."""
    parts = profile_name.split()
    if len(parts) >= 2 and parts[0] == "Thread" and parts[1].isdigit():
        return int(parts[1])
    return None


def parse_speedscope(
    document: dict[str, Any],
    *,
    episode_thread: int | None = None,
    folding: Folding = DEFAULT_FOLDING,
) -> SpeedscopeProfile:
    """Fold every sampled profile (one per thread) of a speedscope document into functions
    (read by ``ctool.model.stacks``, the one speedscope reader; bad input: ValueError).

    Sample stacks are listed outermost frame first. Each function is counted once per
    sample for cumulative time, however deep its recursion. On threads other than the
    episode thread (its OS id), samples of ctool's own threads -- ctool frames and no user
    code: the resource sampler, the watchdog -- are left out; the episode thread keeps all
    (the event loop's work between episodes is part of the run, as cProfile sees it).
    """
    stacks = read_speedscope(document)
    keys = [(f.file or "?", f.name) for f in stacks.frames]
    lines = [f.line or 0 for f in stacks.frames]
    library = [is_library(file) for file, _ in keys]
    machinery = [is_machinery(file) for file, _ in keys]
    workload = [not (lib or own) for lib, own in zip(library, machinery, strict=True)]
    functions: dict[tuple[str, str], FunctionSamples] = {}
    votes = StageVotes()
    folder = StackFolder(folding, chunks=CHUNKS)
    stage_cache: dict[tuple[int, ...], list[str | None]] = {}
    total = 0.0
    count = 0
    profiles = [p for p in stacks.profiles if p.kind == "sampled"]
    threads = 0
    for profile in profiles:
        thread = thread_id(profile.name)
        others = episode_thread is not None and thread != episode_thread
        counted = False
        scale = 1e-3 if profile.unit == "milliseconds" else 1.0
        weights = profile.weights
        sampled = profile.stacks
        for index, stack in enumerate(sampled):
            weight = weights[index] * scale
            if not stack:
                continue
            if others and _ctools_own(stack, machinery, workload):
                continue
            counted = True
            total += weight
            count += 1
            inner_first = tuple(reversed(stack))
            chunk = index * CHUNKS // max(len(sampled), 1)
            folder.add([(keys[i][0], keys[i][1], lines[i]) for i in inner_first], weight, chunk)
            stages = stage_cache.get(inner_first)
            if stages is None:
                stages = frame_stages([(keys[i][0], lines[i]) for i in inner_first])
                stage_cache[inner_first] = stages
            owner = next((d for d, i in enumerate(inner_first) if not library[i]), 0)
            seen: set[tuple[str, str]] = set()
            for depth, frame_index in enumerate(inner_first):
                key = keys[frame_index]
                entry = functions.get(key)
                if entry is None:
                    entry = functions[key] = FunctionSamples(function=key[1], filename=key[0])
                if depth == 0:
                    entry.raw_self_s += weight
                if depth == owner:
                    entry.self_s += weight
                    line = lines[frame_index]
                    entry.lines[line] = entry.lines.get(line, 0.0) + weight
                if key not in seen:
                    seen.add(key)
                    entry.cumulative_s += weight
                    entry.samples += 1
                    votes.add(key, stages[depth], weight)
        threads += counted
    return SpeedscopeProfile(functions, votes, total, count, threads, folder)


def _ctools_own(stack: list[int], machinery: list[bool], workload: list[bool]) -> bool:
    return any(machinery[i] for i in stack) and not any(workload[i] for i in stack)


def hotspot_rows(profile: SpeedscopeProfile, *, top: int, profiler: str) -> list[Hotspot]:
    """The folded rows (:class:`StackFolder`), shares of the time in the user's code."""
    return profile.folder.hotspots(profiler=profiler, top=top)


def raw_top(profile: SpeedscopeProfile, *, top: int) -> list[dict[str, Any]]:
    """Functions by innermost-frame samples, library frames not folded: the flat view."""
    total = profile.total_s or 1.0
    ranked = sorted(
        (f for f in profile.functions.values() if f.raw_self_s > 0),
        key=lambda f: f.raw_self_s,
        reverse=True,
    )
    return [
        {
            "function": f.function,
            "file": f.filename,
            "self_ms": f.raw_self_s * 1e3,
            "share": f.raw_self_s / total,
        }
        for f in ranked[:top]
    ]


class _OutputReader(threading.Thread):
    """Reads py-spy's output until it says it is sampling (or exits), then ends.

    It must not outlive the attach: a thread blocked on a pipe would show up in the samples,
    and py-spy writes too little afterwards to fill the pipe; the rest is read at stop.
    """

    def __init__(self, stream: IO[str]) -> None:
        super().__init__(name="ctool-pyspy-output", daemon=True)
        self.stream = stream
        self.lines: list[str] = []
        self.sampling = threading.Event()

    def run(self) -> None:
        for line in self.stream:
            self.lines.append(line)
            if "Sampling process" in line:
                self.sampling.set()
                return

    @property
    def text(self) -> str:
        return "".join(self.lines)


class PySpyBackend:
    name: ClassVar[str] = "pyspy"
    description: ClassVar[str] = "py-spy: sampling profiler attached with ptrace, speedscope JSON"

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self._reader: _OutputReader | None = None
        self._path: Path | None = None
        self._options: ProfilerOptions | None = None
        self._started_at = 0.0
        self._thread: int | None = None
        self._handle: Any = None

    def availability(self) -> Availability:
        binary = find_binary()
        if binary is None:
            where = os.environ.get(ENV_BINARY)
            if where:
                return Availability(False, f"py-spy binary {where!r} ({ENV_BINARY}) is missing")
            return Availability(False, "py-spy binary not found; pip install py-spy")
        return probe(binary)

    def command(self, binary: str, options: ProfilerOptions, path: Path) -> list[str]:
        pid = options.pid if options.pid is not None else os.getpid()
        argv = [binary, "record", "--pid", str(pid), "--rate", str(options.pyspy_rate)]
        argv += ["--format", "speedscope", "--output", str(path)]
        if not blocking(options):
            argv.append("--nonblocking")
        if options.extra.get("pyspy_subprocesses"):
            argv.append("--subprocesses")
        return argv

    def start(self, options: ProfilerOptions) -> None:
        binary = find_binary()
        if binary is None:
            raise ProfilerUnavailable("profiler 'pyspy' cannot run here: py-spy binary not found")
        if options.pyspy_rate <= 0:
            raise ProfilerUnavailable(f"--pyspy-rate must be positive, got {options.pyspy_rate}")
        self._options = options
        self._thread = threading.get_native_id() if options.pid in (None, os.getpid()) else None
        self._path = options.output_dir / "pyspy.speedscope.json"
        self._path.unlink(missing_ok=True)
        process = subprocess.Popen(
            [*IGNORE_SIGINT, *self.command(binary, options, self._path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # the user's Ctrl-C reaches us; we stop py-spy ourselves
        )
        assert process.stdout is not None
        reader = _OutputReader(process.stdout)
        reader.start()
        deadline = time.monotonic() + ATTACH_TIMEOUT_S
        while not reader.sampling.wait(0.01):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                reader.join(timeout=2)
                reason = explain_failure(reader.text) if reader.text else "py-spy did not attach"
                raise ProfilerUnavailable(f"profiler 'pyspy' cannot run here: {reason}")
        self._process, self._reader = process, reader
        self._handle = _process_handle(process.pid)
        self._started_at = time.perf_counter()

    def stop(self) -> ProfilerFragment:
        process, reader, path, options = self._process, self._reader, self._path, self._options
        if process is None or reader is None or path is None or options is None:
            raise RuntimeError("pyspy: stop() without start()")
        self._process = self._reader = None
        duration_s = time.perf_counter() - self._started_at
        own_cpu_s = _cpu_seconds(self._handle)
        self._handle = None
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while process.poll() is None and time.monotonic() < deadline:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=INTERRUPT_EVERY_S)
            except subprocess.TimeoutExpired:
                continue
        if process.poll() is None:
            process.kill()
        reader.join(timeout=2)
        rest, _ = process.communicate()
        reader.lines.append(rest or "")
        if not path.exists():
            raise RuntimeError(
                f"py-spy wrote no profile (exit status {process.returncode}): "
                + explain_failure(reader.text)
            )
        folding = folding_of(options.extra.get("hotspots"))
        profile = parse_speedscope(
            json.loads(path.read_text()), episode_thread=self._thread, folding=folding
        )
        expected = duration_s * options.pyspy_rate
        folded = path.with_name("pyspy.folded")
        folded.write_text(profile.folder.folded_text(), encoding="utf-8")
        return ProfilerFragment(
            name=self.name,
            hotspots=hotspot_rows(profile, top=options.top, profiler=self.name),
            artifacts={"pyspy": str(path), "pyspy_folded": str(folded)},
            metadata={
                "rate_hz": options.pyspy_rate,
                "mode": "blocking" if blocking(options) else "nonblocking",
                "samples": profile.samples,
                "threads": profile.threads,
                "sampled_s": profile.total_s,
                "duration_s": duration_s,
                "expected_samples": round(expected),
                "errors": _errors_reported(reader.text),
                "pyspy_cpu_percent": None if own_cpu_s is None else 100 * own_cpu_s / duration_s,
                "raw_top": raw_top(profile, top=options.top),
                "folding": folding,
                "user_s": profile.folder.total_s,
                "outside_s": profile.folder.outside_s,
                "open_with": "https://www.speedscope.app",
            },
            row_shares=profile.folder.chunk_shares(),
            row_ms_per_episode=profile.folder.chunk_ms_per_episode(
                int(options.extra.get("episodes") or 0)
            ),
        )


def _process_handle(pid: int) -> Any:
    """A psutil handle on py-spy, made at start so that stop() imports nothing while sampled."""
    try:
        import psutil

        return psutil.Process(pid)
    except Exception:  # no psutil, or gone already: a missing figure, not a failure
        return None


def _cpu_seconds(handle: Any) -> float | None:
    """CPU time py-spy itself has used: on a busy machine it competes with the workload."""
    if handle is None:
        return None
    try:
        times = handle.cpu_times()
    except Exception:
        return None
    return float(times.user + times.system)


def _errors_reported(output: str) -> int | None:
    """py-spy's own count of failed samples ("Samples: 99 Errors: 0")."""
    for line in reversed(output.splitlines()):
        marker = line.find("Errors:")
        if marker >= 0:
            digits = line[marker + len("Errors:") :].strip().split()[0:1]
            if digits and digits[0].isdigit():
                return int(digits[0])
    return None
