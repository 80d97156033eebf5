"""Live Prometheus metrics: scraped over HTTP on 127.0.0.1, parsed, and seen to move."""

from __future__ import annotations

import json
import re
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from ctool.exporters.prometheus import PrometheusObserver
from ctool.model.declared import read_declarations
from ctool.model.errors import UsageError
from ctool.model.version import __version__
from ctool.monitors.observer import RunObserver
from ctool.pipeline.engine import METRIC_SPECS

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboards" / "ctool.json"


def scrape(url: str) -> dict[str, float]:
    """Every sample of the exposition, keyed by name{labels}."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(url, timeout=5) as resp:
        text = resp.read().decode("utf-8")
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}"] = sample.value
    return out


def _spans(base: int) -> list[tuple[str, int, int, int]]:
    return [
        ("MMEI", base, base + 100_000, 0),
        ("MCEA", base + 100_000, base + 400_000, 0),
        ("MCEA.phi", base + 200_000, base + 350_000, 1),
        ("ESGT", base + 400_000, base + 1_400_000, 0),
        ("ESGT", base + 1_400_000, base + 1_500_000, 0),  # a stage entered twice: summed
    ]


def _drive(obs: PrometheusObserver, start: int, count: int, hits: int) -> None:
    for i in range(start, start + count):
        error = ValueError("boom") if i % 10 == 9 else None
        obs.on_episode(i, 2_000_000, _spans(0), error)
    obs.on_sample(queue_depth=start + count, loop_lag_ms=1.5, cpu_percent=97.0, rss_mb=100.0)
    obs.on_metrics(
        {"phi": {"cache_hits": hits, "cache_misses": 7, "hit_rate": hits / (hits + 7)},
         "messages": {"count": 10 * hits, "bytes": 1000.0}}
    )  # fmt: skip


@pytest.fixture
def observer() -> Any:
    obs = PrometheusObserver(0)
    yield obs
    obs.close()


def test_observer_is_a_run_observer(observer: PrometheusObserver) -> None:
    assert isinstance(observer, RunObserver)


def test_scrape_parses_and_values_move(observer: PrometheusObserver) -> None:
    assert observer.url.startswith("http://127.0.0.1:")
    observer.on_start(planned_episodes=40, pipeline="ctool.pipeline:create")
    # The reference pipeline's declarations, by the route every pipeline's take.
    observer.on_declared(read_declarations(METRIC_SPECS))
    _drive(observer, 0, 20, hits=30)
    first = scrape(observer.url)
    _drive(observer, 20, 20, hits=50)
    second = scrape(observer.url)

    assert first["ctool_episodes_total{}"] == 20 and second["ctool_episodes_total{}"] == 40
    assert first["ctool_episode_latency_seconds_count{}"] == 20
    assert second["ctool_episode_latency_seconds_sum{}"] == pytest.approx(40 * 0.002)
    assert second["ctool_episode_latency_seconds_bucket{le=0.002}"] == 40
    assert second["ctool_episode_latency_seconds_bucket{le=0.0015}"] == 0
    assert first["ctool_episode_errors_total{type=ValueError}"] == 2
    assert second["ctool_episode_errors_total{type=ValueError}"] == 4
    assert second["ctool_stage_latency_seconds_count{stage=ESGT}"] == 40
    assert second["ctool_stage_latency_seconds_sum{stage=ESGT}"] == pytest.approx(40 * 0.0011)
    assert second["ctool_stage_latency_seconds_sum{stage=MCEA.phi}"] == pytest.approx(40 * 15e-5)
    hits = "ctool_pipeline_phi_cache_hits_total{}"
    assert first[hits] == 30 and second[hits] == 50
    assert second["ctool_pipeline_phi_cache_misses_total{}"] == 7
    assert second["ctool_pipeline_phi_hit_rate{}"] == pytest.approx(50 / 57)
    assert first["ctool_queue_depth{}"] == 20 and second["ctool_queue_depth{}"] == 40
    assert second["ctool_event_loop_lag_seconds{}"] == pytest.approx(0.0015)
    assert second["ctool_process_resident_memory_bytes{}"] == 100 * 1024 * 1024
    assert second["ctool_throughput_episodes_per_second{}"] > 0
    assert second["ctool_pipeline_metric{name=messages.count}"] == 500
    assert second["ctool_run_planned_episodes{}"] == 40
    assert second["ctool_run_active{}"] == 1
    assert second[f"ctool_run_info{{pipeline=ctool.pipeline:create,version={__version__}}}"] == 1


def test_finish_stops_listening(observer: PrometheusObserver) -> None:
    url = observer.url
    observer.on_start(planned_episodes=None, pipeline="p")
    scrape(url)
    observer.on_finish(complete=True)
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)
    observer.on_finish(complete=True)  # idempotent


def test_own_registry_and_loopback_only(observer: PrometheusObserver) -> None:
    from prometheus_client import REGISTRY

    second = PrometheusObserver(0)  # would clash on the global registry
    try:
        assert REGISTRY.get_sample_value("ctool_episodes_total") is None
        assert second.port != observer.port
    finally:
        second.close()
    host = observer._server.server_address[0]
    assert host == "127.0.0.1"


def test_taken_port_is_a_usage_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(UsageError, match=f"--metrics-port {port}: cannot listen"):
            PrometheusObserver(port)
    with pytest.raises(UsageError, match="not a TCP port"):
        PrometheusObserver(70000)


def test_dashboard_queries_only_exported_metrics(observer: PrometheusObserver) -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    observer.on_start(planned_episodes=1, pipeline="p")
    observer.on_declared(read_declarations(METRIC_SPECS))
    _drive(observer, 0, 10, hits=3)
    exported = {key.split("{")[0] for key in scrape(observer.url)}
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    assert len(exprs) >= 8
    used = {name for expr in exprs for name in re.findall(r"\b(ctool_[a-z_]+)", expr)}
    assert used and used <= exported, used - exported
    titles = " ".join(panel["title"].lower() for panel in dashboard["panels"])
    for word in ("p50", "throughput", "error", "stage", "queue", "lag", "hit rate"):
        assert word in titles
    assert any("histogram_quantile(0.99" in e for e in exprs)


def _profile_has_metrics_port() -> bool:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "ctool", "profile", "--help"], capture_output=True, text=True
    )
    return proc.returncode == 0 and "--metrics-port" in proc.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


STAGES = ("TIG", "ESGT", "MEA", "MCEA", "MMEI")


def _moved(first: dict[str, float], second: dict[str, float]) -> bool:
    """Does ``second``, a later scrape than ``first``, show a live run that moved?"""

    def grew(name: str) -> bool:
        return second.get(name, 0) > first.get(name, 0)

    phi = ("ctool_pipeline_phi_cache_hits_total{}", "ctool_pipeline_phi_cache_misses_total{}")
    return (
        second.get("ctool_run_active{}") == 1
        and grew("ctool_episodes_total{}")
        and grew("ctool_episode_latency_seconds_count{}")
        and all(second.get(f"ctool_stage_latency_seconds_count{{stage={s}}}", 0) for s in STAGES)
        and sum(second.get(name, 0) for name in phi) > 0  # pushed once a second
        and second.get("ctool_throughput_episodes_per_second{}", 0) > 0
    )


@pytest.mark.slow
def test_real_profile_run_serves_moving_metrics(tmp_path: Path) -> None:
    """`ctool profile --metrics-port` in a subprocess, scraped twice while it runs."""
    import subprocess
    import sys
    import time

    if not _profile_has_metrics_port():
        pytest.skip("ctool profile has no --metrics-port here (the harness is not merged)")
    port = _free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    cmd = [sys.executable, "-m", "ctool", "profile", "--duration", "6", "--concurrency", "2",
           "--metrics-port", str(port), "--quiet", "-o", str(tmp_path / "run.json")]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first: dict[str, float] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                first = scrape(url)
            except OSError:
                time.sleep(0.1)
                continue
            if first.get("ctool_episodes_total{}", 0) > 0:
                break
            time.sleep(0.1)
        assert first.get("ctool_episodes_total{}", 0) > 0, "the run served metrics"
        # Scrape again until the live run shows its counters grown and the pipeline's own
        # metrics in, however long that takes on this machine.
        second = first
        deadline = time.monotonic() + 60
        while not _moved(first, second) and time.monotonic() < deadline:
            time.sleep(0.1)
            try:
                second = scrape(url)
            except OSError:
                break  # the run is over: it stopped listening
    finally:
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert second["ctool_episodes_total{}"] > first["ctool_episodes_total{}"]
    assert (
        second["ctool_episode_latency_seconds_count{}"]
        > first["ctool_episode_latency_seconds_count{}"]
    )
    for stage in STAGES:
        assert second[f"ctool_stage_latency_seconds_count{{stage={stage}}}"] > 0
    phi = ("ctool_pipeline_phi_cache_hits_total{}", "ctool_pipeline_phi_cache_misses_total{}")
    assert sum(second[name] for name in phi) > 0  # declared by the pipeline, as any would
    assert second["ctool_run_active{}"] == 1
    assert second["ctool_throughput_episodes_per_second{}"] > 0
    with pytest.raises(OSError):
        scrape(url)  # stopped listening when the run finished
