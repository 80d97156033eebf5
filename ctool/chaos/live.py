"""``ctool chaos --live DIR``: faults turned on and off from outside while the experiment runs.

The directory is the whole interface (the Chaos Toolkit provider, :mod:`ctool.chaos.ctk`,
uses it; so can a shell):

* the control runs for ``--duration``; the experiment then runs until ``stop`` appears
  (or Ctrl-C), so an outside tool decides how long it lasts.
* ``faults.json``: a JSON list of ``--fault`` strings, the faults on now. The run reads it
  every :data:`POLL_S`; a fault that appears is turned on (its window starts then), one that
  disappears is turned off.
* ``stop``: when this file exists the experiment ends (its report is complete).
* ``status.json`` (written by the run, atomically): the phase (``control``,
  ``experiment``, ``done``) and the last whole window's numbers: episodes, failed, wrong,
  error rate, p50/p99, good episodes per second, whether it holds the hypothesis.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ctool.chaos.account import outcome_of
from ctool.chaos.plan import STAGE_KINDS, Fault, parse_fault_option
from ctool.chaos.steady import percentile, violations
from ctool.chaos.windows import WindowFault, WindowRecord, window_fault
from ctool.model.chaos_schema import TimelineWindow
from ctool.model.errors import UsageError
from ctool.model.io import atomic_write_text

if TYPE_CHECKING:
    from ctool.chaos.runner import ChaosRun

POLL_S = 0.05


def write_status(directory: Path, status: dict[str, Any]) -> None:
    atomic_write_text(directory / "status.json", json.dumps(status, indent=1) + "\n")


@dataclass
class LiveFault:
    text: str
    fault: Fault
    number: int | None = None
    """The injector's number for a stage fault."""
    effect: WindowFault | None = None
    record: WindowRecord | None = None


@dataclass
class LiveControl:
    directory: Path
    run: ChaosRun
    on: dict[str, LiveFault] = field(default_factory=dict)
    seen: list[LiveFault] = field(default_factory=list)

    def wanted(self) -> list[str]:
        path = self.directory / "faults.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return list(self.on)  # missing or mid-write: keep what is on
        return [str(x) for x in data] if isinstance(data, list) else list(self.on)

    async def serve(self, proxies: dict[str, Any]) -> None:
        """Until cancelled: follow ``faults.json``, honour ``stop``, publish the status."""
        next_status = 0.0
        while True:
            self.apply(self.wanted(), proxies)
            if (self.directory / "stop").exists():
                self.run.experiment.stop()
            if time.monotonic() >= next_status:
                write_status(self.directory, self.status("experiment"))
                next_status = time.monotonic() + self.run.options.window_s / 4
            await asyncio.sleep(POLL_S)

    def offset(self) -> float:
        return time.monotonic() - self.run.experiment.t0

    def apply(self, wanted: list[str], proxies: dict[str, Any]) -> None:
        injector = self.run.injector
        assert injector is not None
        for text in [t for t in wanted if t not in self.on]:
            try:
                fault = replace(parse_fault_option(text), start_s=round(self.offset(), 6))
            except UsageError as exc:
                self.run.warnings.append(f"--live: ignored {text!r}: {exc.message}")
                self.on[text] = LiveFault(text, Fault(kind="error"))  # not retried
                continue
            live = LiveFault(text, fault)
            if fault.kind in STAGE_KINDS:
                live.number = injector.add(fault)
            else:
                live.effect = window_fault(fault, proxies)
                live.record = WindowRecord(fault.label, fault.kind, fault.start_s)
                live.effect.start()
            self.on[text] = live
            self.seen.append(live)
        for text in [t for t in self.on if t not in wanted]:
            self.turn_off(self.on.pop(text))

    def turn_off(self, live: LiveFault) -> None:
        end = round(self.offset(), 6)
        if live.number is not None and self.run.injector is not None:
            self.run.injector.remove(live.number)
            live.fault = replace(live.fault, duration_s=max(end - live.fault.start_s, 0.0))
            self.run.injector.faults[live.number] = live.fault
        if live.effect is not None and live.record is not None:
            live.effect.stop()
            live.record.end_s = end

    def stop_all(self) -> None:
        for live in list(self.on.values()):
            self.turn_off(live)
        self.on.clear()

    def windows(self) -> list[WindowRecord]:
        return [live.record for live in self.seen if live.record is not None]

    def stage_faults(self) -> list[Fault]:
        return [live.fault for live in self.seen if live.number is not None]

    def status(self, phase: str) -> dict[str, Any]:
        run = self.run
        window = run.options.window_s
        now = self.offset()
        start = max(now - window, 0.0)
        control = {r.index: r for r in run.control.records}
        recent = [r for r in run.experiment.records if start <= r.end_s < now]
        # An episode past the control's last has no digest yet (the report checks it after
        # the catch-up): here it counts by how it ended, never as wrong.
        outcomes = [
            outcome_of(r, control.get(r.index, r if r.status == "ok" else None)) for r in recent
        ]
        failed = sum(1 for o in outcomes if o.startswith(("failed", "timed", "lost")))
        wrong = sum(1 for o in outcomes if o.startswith("wrong"))
        row = TimelineWindow(
            start_s=start,
            end_s=now,
            phase="during" if self.on else "after",
            episodes=len(recent),
            errors=failed,
            wrong=wrong,
            p50_ms=percentile([r.latency_ms for r in recent], 50),
            p99_ms=percentile([r.latency_ms for r in recent], 99),
            throughput_eps=sum(1 for o in outcomes if o == "ok") / max(now - start, 1e-9),
        )
        reference = len(run.control.records) / max(run.control_duration_s, 1e-9)
        broken = violations(row, run.hypothesis, reference) if recent else ["no episodes"]
        return {
            "phase": phase,
            "offset_s": round(now, 3),
            "faults_on": sorted(self.on),
            "episodes": len(run.experiment.records),
            "window": row.model_dump(exclude={"violations", "holds"}),
            "error_rate": failed / len(recent) if recent else None,
            "holds": not broken,
            "violations": broken,
            "hypothesis": run.hypothesis,
        }
