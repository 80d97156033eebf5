"""The marker's targets judged against what was measured, and the messages a person can act
on: the measured value against the target, the bottleneck stage, the blocking call's
``file:line`` and stage, the growing allocation site."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ctool.model.format import ms_unit, num, short_path, size
from ctool.pytest_plugin.measure import Measured
from ctool.pytest_plugin.options import MarkOptions

if TYPE_CHECKING:
    from ctool.model.leak_schema import LeakcheckReport
    from ctool.model.schema import BlockingCall, ProfileReport


@dataclass
class Verdict:
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Said in the failure message and as a warning, never failing on their own."""

    @property
    def passed(self) -> bool:
        return not self.failures


def judge(measured: Measured, options: MarkOptions) -> Verdict:
    verdict = Verdict()
    report = measured.report
    _errors(report, verdict)
    latency = report.latency_ms
    for name, value, target in (
        ("p50", latency.p50, options.p50_ms),
        ("p95", latency.p95, options.p95_ms),
        ("p99", latency.p99, options.p99_ms),
    ):
        if target is not None and not value < target:
            verdict.failures.append(
                f"latency {name} {ms_unit(value)} >= target {ms_unit(target)} "
                f"({latency.count} episodes{_at(options)})"
            )
    if options.min_eps is not None and not report.throughput_eps > options.min_eps:
        verdict.failures.append(
            f"throughput {num(report.throughput_eps)} episodes/s <= target "
            f"{num(options.min_eps)} episodes/s{_at(options)}"
        )
    if options.no_blocking:
        _blocking(report, options, verdict)
    if options.max_memory_kb is not None and measured.memory is not None:
        mem = measured.memory
        if not mem.mean_kb < options.max_memory_kb:
            verdict.failures.append(
                f"memory in flight per episode {num(mem.mean_kb)} kB (mean of {mem.episodes} "
                f"episodes at concurrency 1; p95 {num(mem.p95_kb)} kB, max {num(mem.max_kb)} kB) "
                f">= target {num(options.max_memory_kb)} kB"
            )
    if options.no_leak and measured.leak is not None:
        _leak(measured.leak, options, verdict)
    return verdict


def _at(options: MarkOptions) -> str:
    return f" at concurrency {options.concurrency}" if options.concurrency > 1 else ""


def _errors(report: ProfileReport, verdict: Verdict) -> None:
    errors = report.errors
    if not errors.count:
        return
    first = errors.samples[0] if errors.samples else None
    detail = f": first {first.type}: {first.message}" if first else ""
    verdict.failures.append(
        f"{errors.count} of {errors.count + report.latency_ms.count} episodes raised{detail}"
    )


def _blocking(report: ProfileReport, options: MarkOptions, verdict: Verdict) -> None:
    """Calls that waited on the loop thread (sleep, I/O, a lock) fail; stretches of the
    loop's own computation ("cpu") are named in a note, as ``ctool suite`` counts them."""
    calls = report.resources.blocking_calls
    waited = [c for c in calls if c.kind != "cpu"]
    named = {(c.file, c.line) for c in waited}
    computed = [c for c in calls if c.kind == "cpu" and (c.file, c.line) not in named]
    beyond = f"beyond {ms_unit(options.block_threshold_ms)}"
    if waited:
        lines = [f"{len(waited)} call site(s) blocked the event loop {beyond}:"]
        lines.extend(_call_line(call) for call in waited[:5])
        verdict.failures.append("\n".join(lines))
    if computed:
        sites = "; ".join(_call_line(call).strip() for call in computed[:3])
        verdict.notes.append(
            f"{len(computed)} site(s) held the loop computing {beyond} (not blocking "
            f"calls: the thread ran): {sites}"
        )


def _call_line(call: BlockingCall) -> str:
    stage = f" in stage {call.stage}" if call.stage else " outside any stage"
    callee = f" (calls {call.callee})" if call.callee else ""
    return (
        f"  {short_path(call.file)}:{call.line} in {call.function}(){callee}{stage}: "
        f"{call.count} time(s), max {ms_unit(call.max_ms)}, {call.kind or 'blocking'}"
    )


def _leak(leak: LeakcheckReport, options: MarkOptions, verdict: Verdict) -> None:
    sizes = f"(leakcheck: {leak.warmup} warm-up + {leak.episodes} episodes)"
    if leak.verdict == "clean":
        return
    if leak.verdict == "inconclusive":
        text = f"leak verdict inconclusive {sizes}: {leak.reason}"
        if options.strict:
            verdict.failures.append(text + " -- fails because strict=True")
        else:
            verdict.notes.append(text + " -- not a failure without strict=True")
        return
    lines = [f"memory leak {sizes}: {leak.reason}"]
    for site in leak.sites[:3]:
        stage = f" in stage {site.stage}" if site.stage else ""
        code = f": {site.code.strip()}" if site.code else ""
        lines.append(
            f"  growing site {short_path(site.file)}:{site.line}{stage}, "
            f"{size(site.bytes_per_episode)} per episode{code}"
        )
    verdict.failures.append("\n".join(lines))


def bottleneck_line(report: ProfileReport) -> str:
    name = report.bottleneck
    if not name or name not in report.stages:
        return "bottleneck: no stages marked (ctool.span) in the body"
    stage = report.stages[name]
    return (
        f"bottleneck: stage {name}, {100 * stage.share:.0f} % of episode time "
        f"(p50 {ms_unit(stage.p50_ms)}, p95 {ms_unit(stage.p95_ms)})"
    )


def failure_message(nodeid: str, measured: Measured, verdict: Verdict) -> str:
    lines = [f"ctool: {nodeid} missed its performance targets:"]
    lines.extend(f"- {failure}" for failure in verdict.failures)
    lines.append(bottleneck_line(measured.report))
    lines.extend(f"note: {note}" for note in verdict.notes)
    return "\n".join(lines)


def status_text(report: ProfileReport) -> str:
    """What ``pytest -v`` shows after a measured test's status."""
    latency = report.latency_ms
    return f"p50 {ms_unit(latency.p50)}, p95 {ms_unit(latency.p95)}"
