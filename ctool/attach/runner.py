"""``run_attach(AttachConfig)``: sample a running Python process and report on it.

The report is a ``ProfileReport`` whose one "episode" is the sampling window, so it renders
and compares like any other: resources (the target's CPU and RSS over time), event-loop
stalls with their call sites (``ctool.attach.stalls``), and hotspot rows folded by the same
user-code rule as every profiler's (``ctool.profilers.boundary``), from the busy samples.
``program`` in the report names the process, the rate and py-spy's sample counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from time import monotonic_ns, perf_counter_ns
from typing import Any

from ctool.analysis.assemble import MeasuredRun, profile_report
from ctool.attach.record import blocking_asked, check_target, record
from ctool.attach.resources import INTERVAL_S, ProcessSampler
from ctool.attach.stalls import busy_only, find_stalls, loop_profiles
from ctool.host.environment import capture_environment
from ctool.model.errors import UsageError
from ctool.model.records import PartRecords
from ctool.model.schema import ProfileReport, ProfilerRun, RunConfigModel, now_iso
from ctool.profilers.boundary import folding_of
from ctool.profilers.frames import set_user_code
from ctool.profilers.pyspy import hotspot_rows, parse_speedscope, raw_top

ARTIFACTS_ROOT = Path("ctool-out")
MAX_TIMELINE_POINTS = 600
MAX_DURATION_S = 24 * 3600


@dataclass(frozen=True)
class AttachConfig:
    pid: int
    duration_s: float = 10.0
    rate: int = 100
    top: int = 10
    hotspots: str = "boundary"
    user_code: tuple[str, ...] = ()
    block_threshold_ms: float = 5.0
    command: str | None = None
    artifacts_dir: Path | None = None

    def validate(self) -> None:
        if not 1 <= self.duration_s <= MAX_DURATION_S:
            raise UsageError(f"--duration with --pid must be 1 to {MAX_DURATION_S} seconds")
        if not 1 <= self.rate <= 10_000:
            raise UsageError(f"--pyspy-rate must be 1 to 10000 Hz, got {self.rate}")


def run_attach(config: AttachConfig) -> ProfileReport:
    """Sample ``config.pid`` for ``config.duration_s``; never stops or changes it."""
    config.validate()
    try:
        set_user_code(config.user_code)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    binary, cmdline = check_target(config.pid)
    created = now_iso()
    out_dir = config.artifacts_dir or ARTIFACTS_ROOT / (
        f"attach-{config.pid}-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "pyspy.speedscope.json"
    interval = max(INTERVAL_S, config.duration_s / MAX_TIMELINE_POINTS)
    sampler = ProcessSampler(config.pid, interval)
    sampler.start()
    start, start_mono = perf_counter_ns(), monotonic_ns()
    try:
        document = record(
            binary, config.pid, duration_s=config.duration_s, rate=config.rate, path=path
        )
    finally:
        end, end_mono = perf_counter_ns(), monotonic_ns()
        sampled = sampler.stop()
    return _report(
        config,
        document,
        sampled,
        cmdline,
        created,
        (start, end, start_mono, end_mono),
        path,
        ended=sampler.ended,
    )


def _report(
    config: AttachConfig,
    document: dict[str, Any],
    sampled: dict[str, Any],
    cmdline: str,
    created: str,
    clock: tuple[int, int, int, int],
    path: Path,
    *,
    ended: bool,
) -> ProfileReport:
    start, end, start_mono, end_mono = clock
    interval_s = 1.0 / config.rate
    summary = find_stalls(document, threshold_ms=config.block_threshold_ms, interval_s=interval_s)
    folding = folding_of(config.hotspots)
    profile = parse_speedscope(busy_only(document), folding=folding)
    everything = parse_speedscope(document, folding=folding)
    part = PartRecords("sequential", wall_ns=end - start)
    part.latencies.append(end - start)
    part.offsets.append(0)
    part.between.append(end - start)
    part.t_start_mono_ns, part.t_end_mono_ns = start_mono, end_mono
    warnings = []
    if ended:
        warnings.append(f"process {config.pid} ended during the recording")
    loops = len(loop_profiles(document))
    if not loops:
        warnings.append("no asyncio event loop ran in the samples: no loop stalls to report")
    metadata = {
        "pid": config.pid,
        "rate_hz": config.rate,
        "mode": "blocking" if blocking_asked() else "nonblocking",
        "samples": everything.samples,
        "busy_samples": profile.samples,
        "threads": everything.threads,
        "raw_top": raw_top(profile, top=config.top),
        "folding": folding,
        "open_with": "https://www.speedscope.app",
    }
    measured = MeasuredRun(
        config=RunConfigModel(
            pipeline=f"pid {config.pid}",
            episodes=1,
            duration_s=config.duration_s,
            profilers=["pyspy"],
            command=config.command,
            block_threshold_ms=config.block_threshold_ms,
            settings={"cmdline": cmdline},
        ),
        created_at=created,
        environment=capture_environment(),
        complete=not document.get("interrupted"),
        incomplete_reason="interrupted" if document.get("interrupted") else None,
        sequential=part,
        monitor=summary,
        sampled=sampled,
        hotspots=hotspot_rows(profile, top=config.top, profiler="pyspy"),
        profilers=[ProfilerRun(name="pyspy", metadata=metadata)],
        artifacts={"pyspy": str(path)},
        warnings=warnings,
    )
    report = profile_report(measured)
    # Outside the process: no GC hook, no heartbeat. The longest stall is the largest lag.
    report.resources.gc_pause_ms_total = report.resources.gc_collections = None
    report.resources.loop_lag_ms_p99 = None
    report.program = {  # type: ignore[attr-defined]  # an extra field (extra="allow")
        "kind": "pid",
        "pid": config.pid,
        "cmdline": cmdline,
        "event_loops": loops,
        "interval_ms": interval_s * 1e3,
    }
    return report
