"""The Chaos Toolkit provider, with the real ``chaos run`` on the reference pipeline.

A ``ctool chaos --live`` run goes first (its control, then an experiment that waits for
faults); the Chaos Toolkit experiment checks ctool's hypothesis, slows TIG through the
provider, lets it go, and checks the hypothesis again. Its journal must show the hypothesis
checked before and after; ctool's report must show the fault's window and every episode.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from paths import subprocess_env

from ctool.chaos import ctk
from ctool.model.chaos_schema import ChaosReport
from ctool.model.io import load_report

CHAOS = shutil.which("chaos", path=str(Path(sys.executable).parent))
pytestmark = pytest.mark.skipif(CHAOS is None, reason="chaostoolkit is not installed")

FAULT = "latency:span:TIG:ms=30,mode=blocking"


def provider(func: str, **arguments: object) -> dict[str, object]:
    return {"type": "python", "module": "ctool.chaos.ctk", "func": func, "arguments": arguments}


def experiment(live: str) -> dict[str, object]:
    holds = {
        "type": "probe",
        "name": "ctool-hypothesis-holds",
        "tolerance": True,
        "provider": provider("hypothesis_holds", live_dir=live, settle_s=1.2),
    }
    return {
        "version": "1.0.0",
        "title": "The reference pipeline recovers from a slow TIG stage",
        "description": "ctool chaos --live, driven by the Chaos Toolkit",
        "tags": ["ctool"],
        "steady-state-hypothesis": {
            "title": "ctool's steady state holds",
            "probes": [
                {
                    "type": "probe",
                    "name": "experiment-running",
                    "tolerance": True,
                    "provider": provider("wait_for_experiment", live_dir=live, timeout_s=120),
                },
                holds,
            ],
        },
        "method": [
            {
                "type": "action",
                "name": "slow-tig",
                "provider": provider("start_fault", live_dir=live, fault=FAULT),
                "pauses": {"after": 1.0},
            },
            {
                "type": "probe",
                "name": "p50-under-fault",
                "provider": provider("window_metric", live_dir=live, name="p50_ms"),
            },
            {
                "type": "action",
                "name": "heal-tig",
                "provider": provider("stop_fault", live_dir=live, fault=FAULT),
                "pauses": {"after": 1.0},
            },
        ],
        "rollbacks": [
            {
                "type": "action",
                "name": "no-fault-left",
                "provider": provider("stop_fault", live_dir=live),
            }
        ],
    }


def test_chaos_run_checks_ctools_hypothesis_before_and_after(tmp_path: Path) -> None:
    live = tmp_path / "live"
    live.mkdir()
    report_path = tmp_path / "chaos.json"
    # The steady state: half the episodes under 20 ms (the slow TIG adds 30 ms to every
    # one), no errors. Throughput is left out: on a shared 2-core machine it is not steady.
    plan = tmp_path / "hypothesis.toml"
    plan.write_text("[hypothesis]\np50_ms = 20\nerror_rate = 0.01\n")
    run = subprocess.Popen(
        [
            sys.executable, "-m", "ctool", "chaos", "--live", str(live), "--plan", str(plan),
            "--duration", "2", "--window", "0.5", "-o", str(report_path), "-q",
        ],
        env=subprocess_env(),
        cwd=tmp_path,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        (tmp_path / "experiment.json").write_text(json.dumps(experiment(str(live))))
        journal_path = tmp_path / "journal.json"
        chaos = subprocess.run(
            [CHAOS, "--no-version-check", "run", "--journal-path", str(journal_path),
             str(tmp_path / "experiment.json")],
            env=subprocess_env(),
            cwd=tmp_path,
            capture_output=True,
            timeout=240,
        )  # fmt: skip
        ctk.end_run(str(live), timeout_s=120)
        _, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    journal = json.loads(journal_path.read_text())
    assert chaos.returncode == 0, chaos.stdout.decode()[-2000:] + chaos.stderr.decode()[-2000:]
    assert journal["status"] == "completed", journal.get("status")
    before, after = journal["steady_states"]["before"], journal["steady_states"]["after"]
    status = json.loads((live / "status.json").read_text())
    assert before["steady_state_met"] is True, status
    assert after is not None and after["steady_state_met"] is True, status
    names = [p["activity"]["name"] for p in before["probes"]]
    assert "ctool-hypothesis-holds" in names
    runs = {r["activity"]["name"]: r for r in journal["run"]}
    assert runs["p50-under-fault"]["output"] >= 30.0  # the fault was on while it looked

    assert run.returncode == 0, err.decode()[-2000:]
    report = load_report(report_path)
    assert isinstance(report, ChaosReport) and report.complete
    assert report.accounting.accounted
    slow = next(f for f in report.faults if f.kind == "latency")
    assert slow.applied > 0 and slow.end_s is not None
