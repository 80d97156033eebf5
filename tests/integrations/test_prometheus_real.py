"""A real Prometheus server scrapes a running ``ctool profile --metrics-port`` (one process,
then a distributed run on a LocalCluster, found through the exporter's ``/targets``) and
evaluates every PromQL expression of ``dashboards/ctool.json`` through its HTTP API."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from replica_helpers import free_port, get_json, subprocess_env

PROMETHEUS = shutil.which("prometheus")
pytestmark = pytest.mark.skipif(
    PROMETHEUS is None,
    reason="Debian's prometheus package is not installed here (.ci/run installs it)",
)

TESTS = Path(__file__).resolve().parents[1] / "helpers"
DASHBOARD = TESTS.parents[1] / "dashboards" / "ctool.json"
DEADLINE_S = 120.0
RATE_WINDOW = "10s"  # what Grafana's $__rate_interval is for a 1 s scrape, give or take
ERRORS = "ctool_episode_errors_total"
PHI = "ctool_pipeline_phi_cache_"


def dashboard_expressions() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    exprs = [t["expr"] for p in panels for t in p.get("targets", [])]
    return list(dict.fromkeys(exprs))  # a panel shown twice is evaluated once


def promql(expr: str) -> str:
    """A Grafana expression as Prometheus takes it: every run, a 10 s rate window."""
    return expr.replace("$__rate_interval", RATE_WINDOW).replace("$instance", ".*")


class Prometheus:
    def __init__(self, tmp: Path, targets_url: str) -> None:
        self.port = free_port()
        config = tmp / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            "  - job_name: ctool\n"
            f"    http_sd_configs: [{{url: '{targets_url}', refresh_interval: 1s}}]\n"
        )
        assert PROMETHEUS is not None
        self.proc = subprocess.Popen(
            [
                PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=error",
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            assert self.proc.poll() is None, "prometheus exited"
            time.sleep(0.2)
        raise AssertionError("prometheus did not become ready")

    def query(self, expr: str) -> list[dict[str, Any]]:
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        answer = get_json(url)
        assert answer["status"] == "success", (expr, answer)
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _watch(args: list[str], tmp: Path, skip: str) -> tuple[dict[str, Any], Prometheus, set[str]]:
    """Run ``ctool profile ARGS`` under a real Prometheus; every dashboard expression that
    returned data while it ran (or just after), the report, and the server (still up)."""
    port = free_port()
    out = tmp / "report.json"
    env = subprocess_env()
    prometheus = Prometheus(tmp, f"http://127.0.0.1:{port}/targets")
    command = [sys.executable, "-m", "ctool", "profile", "-q", "-o", str(out)]
    command += ["--metrics-port", str(port), "--metrics-linger", "60", *args]
    proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    expected = {e for e in dashboard_expressions() if skip not in e}
    seen: set[str] = set()
    ended: float | None = None
    try:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline and not expected <= seen:
            for expr in dashboard_expressions():
                if expr not in seen and prometheus.query(promql(expr)):
                    seen.add(expr)
            if proc.poll() is not None:
                ended = ended or time.monotonic()
                if time.monotonic() - ended > 2 * int(RATE_WINDOW[:-1]):
                    break
            time.sleep(0.5)
        _, stderr = proc.communicate(timeout=DEADLINE_S)
        assert proc.returncode == 0, stderr
    except BaseException:
        prometheus.close()
        raise
    finally:
        if proc.poll() is None:
            proc.kill()
    return json.loads(out.read_text()), prometheus, seen


def _final(prometheus: Prometheus, expr: str) -> dict[str, float]:
    """``max_over_time`` of a counter per replica label: its final scraped value."""
    rows = prometheus.query(f"max_over_time({expr}[10m])")
    return {r["metric"].get("replica", "?"): float(r["value"][1]) for r in rows}


def test_dashboard_queries_on_a_single_process_run(tmp_path: Path) -> None:
    report, prometheus, seen = _watch(
        ["--pipeline", "ctool.pipeline:create", "--duration", "6", "--warmup", "2"],
        tmp_path,
        ERRORS,
    )
    try:
        missing = [e for e in dashboard_expressions() if ERRORS not in e and e not in seen]
        assert not missing, f"no data for: {missing}"
        # The clean run had no errors: only the error panels may be empty (the next test
        # evaluates them on a run that has errors).
        episodes = _final(prometheus, "ctool_episodes_total")
        assert episodes == {"parent": report["latency_ms"]["count"] + report["errors"]["count"]}
        assert report["errors"]["count"] == 0
    finally:
        prometheus.close()


def test_dashboard_queries_on_a_distributed_run_with_errors(tmp_path: Path) -> None:
    pytest.importorskip("distributed", reason='needs the dask extra: pip install "ctool[dask]"')
    args = ["--pipeline", "harness_pipelines:create", "--set", "fail_every=7"]
    args += ["--executor", "dask", "--workers", "2", "--duration", "5", "--warmup", "1"]
    report, prometheus, seen = _watch(args, tmp_path, PHI)
    try:
        # This pipeline has no Φ cache: only the Φ panels may be empty (the run above has it).
        missing = [e for e in dashboard_expressions() if PHI not in e and e not in seen]
        assert not missing, f"no data for: {missing}"
        # Every replica was scraped, under its own label, besides the parent.
        per_replica = _final(prometheus, "ctool_episodes_total")
        assert set(per_replica) == {"parent", "0", "1"}
        assert per_replica["parent"] == 0  # the episodes ran on the replicas
        # Replica 1 ran only the headline step: its counter is its report row, exactly.
        row = report["replicas"][1]
        assert per_replica["1"] == row["episodes"] + row["errors"]
        assert row["errors"] > 0
        # Replica 0 ran the 1-replica step too.
        step_one = report["scaling"][0]["episodes"]
        assert per_replica["0"] > report["replicas"][0]["episodes"] + step_one
        errors = _final(prometheus, ERRORS)
        assert errors["1"] == row["errors"]
    finally:
        prometheus.close()


def test_every_dashboard_expression_is_checked_by_one_of_the_runs() -> None:
    exprs = dashboard_expressions()
    assert len(exprs) >= 15
    assert not [e for e in exprs if ERRORS in e and PHI in e]  # each run skips one kind only
    assert any("by (instance, replica)" in e for e in exprs)  # the per-replica panels stay
