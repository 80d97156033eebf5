"""A Chaos Toolkit provider: actions and probes over ctool chaos runs (docs/chaos.md).

Use in an experiment as ``{"type": "python", "module": "ctool.chaos.ctk", "func": ...,
"arguments": {...}}``. Plain functions of plain values; this module imports nothing of
chaostoolkit (and nothing heavy), so the provider works with any of its versions.

Against a live run (``ctool chaos --live DIR``, started beside the experiment):

* actions ``start_fault(live_dir, fault)``, ``stop_fault(live_dir, fault=None)`` (None:
  every fault), ``end_run(live_dir, timeout_s)`` (ends the experiment, waits for the
  report);
* probes ``wait_for_experiment(live_dir, timeout_s)`` (the control is done),
  ``hypothesis_holds(live_dir)`` (the last window holds ctool's steady-state hypothesis:
  tolerance ``true``), ``window_metric(live_dir, name)`` (``error_rate``, ``p99_ms``,
  ``throughput_eps``, ...: tolerance a ``range``).

A whole run: the action ``run_experiment(...)`` runs ``ctool chaos`` to the end and returns
the verdict and the accounting; the probe ``report_value(path, field)`` reads a dotted field
of a chaos report.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

DEFAULT_TIMEOUT_S = 120.0
POLL_S = 0.05


def _status(live_dir: str) -> dict[str, Any]:
    try:
        data = json.loads((Path(live_dir) / "status.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _faults(live_dir: str) -> list[str]:
    try:
        data = json.loads((Path(live_dir) / "faults.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [str(x) for x in data] if isinstance(data, list) else []


def _write_faults(live_dir: str, faults: list[str]) -> None:
    path = Path(live_dir) / "faults.json"
    temporary = path.with_name(f".faults.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(faults) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def _wait(live_dir: str, done: Any, timeout_s: float, what: str) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        status = _status(live_dir)
        if done(status):
            return status
        if time.monotonic() >= deadline:
            raise TimeoutError(f"ctool chaos --live {live_dir}: {what} within {timeout_s:g} s")
        time.sleep(POLL_S)


def wait_for_experiment(live_dir: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> bool:
    """Probe: true once the live run's experiment has started and published a window."""
    status = _wait(
        live_dir,
        lambda s: s.get("phase") in ("experiment", "done"),
        timeout_s,
        "no experiment",
    )
    return status.get("phase") == "experiment"


def start_fault(live_dir: str, fault: str) -> list[str]:
    """Action: turn ``fault`` (a ``--fault`` string) on in the live run; the faults on."""
    faults = _faults(live_dir)
    if fault not in faults:
        faults.append(fault)
    _write_faults(live_dir, faults)
    _wait(live_dir, lambda s: fault in s.get("faults_on", []), 10.0, f"{fault!r} not on")
    return faults


def stop_fault(live_dir: str, fault: str | None = None) -> list[str]:
    """Action (and rollback): turn ``fault`` off, or every fault; the faults still on."""
    faults = [] if fault is None else [f for f in _faults(live_dir) if f != fault]
    _write_faults(live_dir, faults)
    if _status(live_dir).get("phase") == "experiment":
        _wait(live_dir, lambda s: s.get("faults_on", []) == sorted(faults), 10.0, "faults on")
    return faults


def hypothesis_holds(live_dir: str, settle_s: float = 0.0) -> bool:
    """Probe: the last whole window held ctool's steady-state hypothesis (after waiting
    ``settle_s`` for the window to fill)."""
    if settle_s > 0:
        time.sleep(settle_s)
    return bool(_status(live_dir).get("holds"))


def window_metric(live_dir: str, name: str) -> float | None:
    """Probe: one number of the last whole window (``error_rate``, ``p50_ms``, ``p99_ms``,
    ``throughput_eps``, ``episodes``, ``errors``, ``wrong``)."""
    status = _status(live_dir)
    if name in status and isinstance(status[name], (int, float)):
        return float(status[name])
    value = status.get("window", {}).get(name)
    return None if value is None else float(value)


def end_run(live_dir: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> dict[str, Any]:
    """Action: end the live run's experiment (its report is complete) and wait for it."""
    (Path(live_dir) / "stop").touch()
    return _wait(live_dir, lambda s: s.get("phase") == "done", timeout_s, "not done")


def run_experiment(
    pipeline: str | None = None,
    preset: str | None = None,
    plan: str | None = None,
    faults: list[str] | None = None,
    duration_s: float | None = None,
    seed: int = 0,
    output: str | None = None,
) -> dict[str, Any]:
    """Action: a whole ``ctool chaos`` run (control, then the experiment); its verdict and
    accounting, and the report written to ``output`` if given."""
    from ctool.chaos.options import chaos_options
    from ctool.chaos.runner import run_chaos
    from ctool.model.io import write_report

    options = chaos_options(
        plan_path=plan,
        faults=faults,
        pipeline=pipeline,
        preset=preset,
        settings={},
        seed=seed,
        duration_s=duration_s,
        episodes=None,
        concurrency=None,
        episode_timeout_s=None,
        window_s=None,
        abort_burn=None,
        proxies=None,
    )
    report = run_chaos(options)
    if output:
        write_report(report, output)
    return {
        "verdict": report.verdict,
        "reason": report.verdict_reason,
        "accounting": report.accounting.model_dump(),
        "recovery": report.recovery.model_dump(),
    }


def report_value(path: str, field: str) -> Any:
    """Probe: a dotted field of a chaos report (``accounting.wrong_escaped``)."""
    value: Any = json.loads(Path(path).read_text(encoding="utf-8"))
    for part in field.split("."):
        value = value[part] if isinstance(value, dict) else value[int(part)]
    return value
