"""Live Prometheus metrics of a run (``ctool profile --metrics-port PORT``).

``PrometheusObserver(port)`` is a :class:`~ctool.monitors.observer.RunObserver`. It listens on
127.0.0.1 only (a profiling run is not a service to expose on the network; put a proxy or an
SSH tunnel in front to scrape it from elsewhere) from construction, so a port that is taken
fails before the run starts, and it stops listening in ``on_finish``. Port 0 picks a free
port; ``observer.port`` says which.

The metrics live on the observer's own ``CollectorRegistry``, never the process-global one,
so two observers (or a pipeline that exports its own metrics) do not collide:

==========================================  =========  ============================================
name                                        type       what
==========================================  =========  ============================================
ctool_episode_latency_seconds               histogram  end-to-end latency of each measured episode
ctool_stage_latency_seconds{stage}          histogram  time in each stage per episode (span sums)
ctool_episodes_total                        counter    measured episodes finished (errors included)
ctool_episode_errors_total{type}            counter    episodes that raised, by exception type
ctool_throughput_episodes_per_second        gauge      episodes finished in the last 5 s, per second
ctool_queue_depth                           gauge      episodes waiting or in flight (sampler)
ctool_event_loop_lag_seconds                gauge      how late the loop's heartbeat was (sampler)
ctool_process_cpu_percent                   gauge      process CPU, percent of one core (sampler)
ctool_process_resident_memory_bytes         gauge      process RSS (sampler)
ctool_pipeline_<name>[_total]               counter    each declared metric (``metric_specs()``):
                                            or gauge   a counter's count, else the published
                                                       figure; ``cache.hits`` -> ``cache_hits``
ctool_pipeline_metric{name}                 gauge      every numeric pipeline metric, dotted name
ctool_run_info{pipeline,version}            gauge      1; labels describe the run
ctool_run_planned_episodes                  gauge      planned measured episodes (0: a duration run)
ctool_run_active                            gauge      1 while the run goes, 0 once it finished
==========================================  =========  ============================================

Callbacks are cheap (a few microseconds per episode) and never raise.

Besides ``/metrics``, the server answers ``/targets`` in Prometheus's HTTP service-discovery
format (``http_sd_configs``): this exporter, and the exporter of every replica of a
distributed run (``--executor dask``: each replica serves its own on its worker's host,
``set_targets``), each labelled ``replica`` (``parent``, ``0``, ``1``, ...). Point Prometheus
at ``/targets`` and it scrapes every replica as the run starts them (docs/monitoring.md).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler

from ctool.model.declared import DeclaredMetric
from ctool.model.errors import UsageError
from ctool.model.version import __version__
from ctool.spans import SpanRecord

LATENCY_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01,
    0.015, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
"""Seconds. Dense around a millisecond, where the reference pipeline's episodes and stages
fall, and wide enough for a stalled or overloaded run."""

THROUGHPUT_WINDOW_S = 5.0
LISTEN_ADDRESS = "127.0.0.1"


def series_name(declared: str) -> str:
    """``cache.hit_rate`` -> ``ctool_pipeline_cache_hit_rate`` (a counter adds ``_total``)."""
    return "ctool_pipeline_" + re.sub(r"[^A-Za-z0-9_]", "_", declared)


def _flat_numbers(data: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flat_numbers(value, name + "."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = float(value)
    return out


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


class PrometheusObserver:
    """Serves a run's metrics for Prometheus on ``address:port`` until ``on_finish``."""

    def __init__(self, port: int, *, address: str = LISTEN_ADDRESS, linger_s: float = 0.0) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        if not 0 <= port <= 65535:
            raise UsageError(f"--metrics-port {port}: not a TCP port (0-65535)")
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self._latency = Histogram(
            "ctool_episode_latency_seconds",
            "End-to-end latency of each measured episode.",
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self._stage = Histogram(
            "ctool_stage_latency_seconds",
            "Time spent in each stage per episode (sum of the stage's spans).",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self._episodes = Counter(
            "ctool_episodes", "Measured episodes finished (errors included).", registry=reg
        )
        self._errors = Counter(
            "ctool_episode_errors",
            "Episodes that raised, by exception type.",
            ["type"],
            registry=reg,
        )
        self._throughput = Gauge(
            "ctool_throughput_episodes_per_second",
            f"Episodes finished in the last {THROUGHPUT_WINDOW_S:g} s, per second.",
            registry=reg,
        )
        self._queue = Gauge(
            "ctool_queue_depth", "Episodes waiting or in flight (sampler).", registry=reg
        )
        self._lag = Gauge(
            "ctool_event_loop_lag_seconds",
            "How late the event loop's heartbeat was at the last sample.",
            registry=reg,
        )
        self._cpu = Gauge(
            "ctool_process_cpu_percent", "Process CPU, percent of one core.", registry=reg
        )
        self._rss = Gauge(
            "ctool_process_resident_memory_bytes", "Process resident set size.", registry=reg
        )
        self._pipeline = Gauge(
            "ctool_pipeline_metric",
            "Numeric metrics the pipeline reports through its metrics() hook.",
            ["name"],
            registry=reg,
        )
        self._info = Gauge(
            "ctool_run_info",
            "Always 1; the labels describe the run.",
            ["pipeline", "version"],
            registry=reg,
        )
        self._planned = Gauge(
            "ctool_run_planned_episodes",
            "Measured episodes planned (0 for a duration run).",
            registry=reg,
        )
        self._active = Gauge(
            "ctool_run_active", "1 while the run goes, 0 once it finished.", registry=reg
        )
        self._stage_children: dict[str, Any] = {}
        self._error_children: dict[str, Any] = {}
        self._declared: dict[str, tuple[DeclaredMetric, Any]] = {}
        """Declared metric name -> (declaration, its own series)."""
        self._last_count: dict[str, float] = {}
        self._done: deque[float] = deque()
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._closed = False
        self.address = address
        self.linger_s = linger_s
        self._scrapes = 0
        """Scrapes started; ``_scrapes_served``: the latest one whose answer was made."""
        self._scrapes_served = 0
        self._scraped = threading.Condition(self._lock)
        self._replica_targets: list[dict[str, Any]] = []
        try:
            self._server, self._thread = self._serve(port, address)
        except OSError as exc:
            raise UsageError(
                f"--metrics-port {port}: cannot listen on {address}:{port}: {exc.strerror or exc}"
            ) from None

    def _serve(self, port: int, address: str) -> tuple[Any, threading.Thread]:
        from wsgiref.simple_server import make_server

        from prometheus_client.exposition import ThreadingWSGIServer, make_wsgi_app

        metrics_app = make_wsgi_app(self.registry)

        def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            if environ.get("PATH_INFO") == "/targets":
                body = json.dumps(self.targets()).encode()
                start_response("200 OK", [("Content-Type", "application/json")])
                return [body]
            with self._lock:
                self._scrapes += 1
                number = self._scrapes
            result: Iterable[bytes] = list(metrics_app(environ, start_response))
            with self._scraped:
                self._scrapes_served = max(self._scrapes_served, number)
                self._scraped.notify_all()
            return result

        server = make_server(address, port, app, ThreadingWSGIServer, handler_class=_QuietHandler)
        thread = threading.Thread(target=server.serve_forever, name="ctool-metrics", daemon=True)
        thread.start()
        return server, thread

    def set_targets(self, replicas: list[dict[str, Any]]) -> None:
        """The replicas' own exporters (``{"url": "host:port", "replica": index}``)."""
        with self._lock:
            self._replica_targets = list(replicas)

    def targets(self) -> list[dict[str, Any]]:
        """Prometheus HTTP service discovery: this exporter and every replica's."""
        with self._lock:
            replicas = list(self._replica_targets)
        groups = [{"targets": [f"{self.address}:{self.port}"], "labels": {"replica": "parent"}}]
        groups += [
            {"targets": [str(r["url"])], "labels": {"replica": str(r["replica"])}} for r in replicas
        ]
        return groups

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}/metrics"

    # --- RunObserver -------------------------------------------------------------------

    def on_start(self, *, planned_episodes: int | None, pipeline: str) -> None:
        self._started = time.monotonic()
        self._info.labels(pipeline=pipeline, version=__version__).set(1)
        self._planned.set(planned_episodes or 0)
        self._active.set(1)

    def on_episode(
        self,
        index: int,
        latency_ns: int,
        spans: list[SpanRecord],
        error: BaseException | None,
    ) -> None:
        self._latency.observe(latency_ns / 1e9)
        self._episodes.inc()
        if error is not None:
            name = type(error).__name__
            child = self._error_children.get(name)
            if child is None:
                child = self._error_children[name] = self._errors.labels(type=name)
            child.inc()
        if spans:
            totals: dict[str, int] = {}
            for name, start, end, _depth in spans:
                totals[name] = totals.get(name, 0) + (end - start)
            for name, total in totals.items():
                child = self._stage_children.get(name)
                if child is None:
                    child = self._stage_children[name] = self._stage.labels(stage=name)
                child.observe(total / 1e9)
        now = time.monotonic()
        with self._lock:
            self._done.append(now)
        self._update_throughput(now)

    def on_sample(
        self,
        *,
        queue_depth: int,
        loop_lag_ms: float,
        cpu_percent: float,
        rss_mb: float,
    ) -> None:
        self._queue.set(queue_depth)
        self._lag.set(loop_lag_ms / 1000.0)
        self._cpu.set(cpu_percent)
        self._rss.set(rss_mb * 1024 * 1024)
        self._update_throughput(time.monotonic())

    def on_metrics(self, metrics: Mapping[str, Any]) -> None:
        flat = _flat_numbers(metrics)
        for name, value in flat.items():
            self._pipeline.labels(name=name).set(value)
        for name, (spec, series) in self._declared.items():
            published = flat.get(name)
            if published is None:
                continue
            if spec.kind != "counter":
                series.set(published)
                continue
            last = self._last_count.get(name, 0.0)
            # The pipeline's counts are cumulative; a smaller one means it was reset.
            series.inc(published - last if published >= last else published)
            self._last_count[name] = published

    def on_declared(self, declared: Sequence[DeclaredMetric]) -> None:
        """One series per declared metric, ``ctool_pipeline_<name>``: a counter for a
        counter, a gauge of the published figure for the other kinds."""
        from prometheus_client import Counter, Gauge

        for spec in declared:
            family = series_name(spec.name)
            if spec.name in self._declared or any(
                series_name(name) == family for name in self._declared
            ):
                continue
            unit = f", {spec.unit}" if spec.unit else ""
            text = f"{spec.title} ({spec.kind}{unit}; pipeline metric {spec.name})."
            kind = Counter if spec.kind == "counter" else Gauge
            self._declared[spec.name] = (spec, kind(family, text, registry=self.registry))

    def on_finish(self, *, complete: bool) -> None:
        """Final values; with ``linger_s``, keep serving until they were scraped once (at
        most that long), so that a short run's last episodes reach Prometheus."""
        self._update_throughput(time.monotonic())
        self._active.set(0)
        if self.linger_s > 0:
            with self._scraped:
                seen = self._scrapes  # a scrape started after this sees the final values
                self._scraped.wait_for(lambda: self._scrapes_served > seen, timeout=self.linger_s)
        self.close()

    # --- helpers -----------------------------------------------------------------------

    def _update_throughput(self, now: float) -> None:
        with self._lock:
            horizon = now - THROUGHPUT_WINDOW_S
            while self._done and self._done[0] < horizon:
                self._done.popleft()
            window = min(THROUGHPUT_WINDOW_S, max(now - self._started, 1e-3))
            self._throughput.set(len(self._done) / window)

    def close(self) -> None:
        """Stop listening (idempotent). Metrics stay readable through ``registry``."""
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
