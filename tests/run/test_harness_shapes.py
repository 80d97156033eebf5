"""``run_profile`` in process on small pipelines: load shapes, errors, watchdog, profilers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import harness_pipelines
import numpy as np
import pytest

from ctool.model.errors import PipelineLoadError, ProfilerUnavailable, UsageError
from ctool.model.samples import decode_ns
from ctool.model.schema import ProfileReport
from ctool.profilers import registry
from ctool.run.config import RunConfig
from ctool.run.runner import run_profile

QUICK = "harness_pipelines:create"


def _run(**kwargs: object) -> object:
    kwargs.setdefault("pipeline", QUICK)
    kwargs.setdefault("warmup", 2)
    return run_profile(RunConfig(**kwargs))  # type: ignore[arg-type]


def test_sequential_run_records_stages_digest_and_metrics() -> None:
    report = run_profile(RunConfig(pipeline=QUICK, episodes=60, warmup=2, seed=3))
    assert report.complete and report.latency_ms.count == 60
    lat = report.latency_ms
    assert lat.min <= lat.p50 <= lat.p90 <= lat.p95 <= lat.p99 <= lat.p999 <= lat.max
    assert list(report.stages)[-1] == "(between stages)"
    assert set(report.stages) == {"parse", "score", "score.inner", "emit", "(between stages)"}
    assert report.stages["score.inner"].parent == "score"
    assert report.bottleneck in {"parse", "score"}
    assert report.pipeline_metrics["episodes"]["count"] == 62  # warm-up included
    assert report.config.settings == {} and report.config.seed == 3
    assert len(report.batches) == 20 and report.throughput_eps > 0
    again = run_profile(RunConfig(pipeline=QUICK, episodes=60, warmup=2, seed=3))
    other = run_profile(RunConfig(pipeline=QUICK, episodes=60, warmup=2, seed=4))
    assert report.output_digest and report.output_digest == again.output_digest
    assert other.output_digest != report.output_digest


def test_exceptions_are_counted_sampled_and_the_run_goes_on() -> None:
    report = run_profile(
        RunConfig(pipeline=QUICK, episodes=50, warmup=0, settings={"fail_every": 5})
    )
    assert report.complete
    assert report.errors.count == 10 and report.errors.rate == pytest.approx(0.2)
    assert report.latency_ms.count == 40
    sample = report.errors.samples[0]
    assert sample.type == "ValueError" and sample.message == "bad episode 0"
    assert "harness_pipelines.py" in sample.stack and "bad episode" in sample.stack


def test_open_loop_latency_counts_from_the_intended_start() -> None:
    """One 150 ms stall at 200 arrivals/s: the ~30 arrivals behind it carry the wait."""
    report = run_profile(
        RunConfig(
            pipeline=QUICK,
            episodes=0,
            warmup=2,
            rate=200,
            duration_s=0.5,
            settings={"stall_at": 30, "stall_ms": 150, "work": 50},
        )
    )
    (row,) = report.load
    assert row.rate == 200 and row.episodes == 100
    assert row.max_ms >= 150
    assert row.p95_ms >= 75  # > 10 arrivals waited at least half the stall
    assert row.queue_depth_max is not None and row.queue_depth_max >= 10
    # Measured from the actual start (closed-loop style) the tail would be hidden:
    assert row.extra["service_p50_ms"] < row.p95_ms / 10
    assert row.extra["start_delay_max_ms"] >= 100
    # With --episodes 0 the open loop is the headline, samples included.
    assert report.latency_ms.count == 100 and report.latency_ms.max >= 150
    assert report.latency_ms.samples is not None
    values = decode_ns(report.latency_ms.samples.data, 100)
    assert int(np.sum(values >= 75e6)) >= 10
    assert report.output_digest is None  # no sequential part


def test_burst_drains_and_reports_queue_depth() -> None:
    report = run_profile(RunConfig(pipeline=QUICK, episodes=10, warmup=0, burst=25))
    burst = report.load[-1]
    assert burst.label == "burst 25" and burst.episodes == 25 and burst.queue_depth_max == 25
    assert burst.extra["drain_s"] > 0 and burst.p50_ms <= burst.max_ms
    assert report.latency_ms.count == 10  # the sequential part stays the headline


def test_concurrency_sweep_rows_and_verdict() -> None:
    report = run_profile(RunConfig(pipeline=QUICK, episodes=20, warmup=0, concurrency=(1, 4)))
    rows = [r for r in report.load if r.concurrency]
    assert [r.concurrency for r in rows] == [1, 4]
    assert [r.episodes for r in rows] == [20, 40]  # max(episodes, 10 x level)
    assert rows[1].queue_depth_max == 4
    assert report.load_verdict is not None
    assert report.load_verdict.verdict in {"scales", "knee", "cliff", "inconclusive"}
    assert "elasticity" in rows[1].extra


def _duration_run() -> ProfileReport:
    """One 0.6 s sequential run, checked for what holds however fast the machine is."""
    seen = RecordingObserver()
    report = run_profile(
        RunConfig(pipeline=QUICK, warmup=0, duration_s=0.6, settings={"work": 50}),
        observers=[seen],
    )
    # The duration, not an episode budget, ended the run: none was planned, and it ran until
    # the deadline (it stops at the first episode ending past it).
    assert report.complete and report.config.duration_s == 0.6
    assert seen.started is None
    assert report.duration_s is not None and report.duration_s >= 0.6
    # Episodes ran, and every one the pipeline ran was measured and recorded (warm-up 0).
    count = report.latency_ms.count
    assert count >= 1 and report.errors.count == 0
    assert seen.episodes == count == report.pipeline_metrics["episodes"]["count"]
    assert report.latency_ms.samples is not None and report.latency_ms.samples.count == count
    assert decode_ns(report.latency_ms.samples.data, count).size == count
    assert sum(batch.episodes for batch in report.batches) == count
    return report


def test_sustained_duration_run_reports_drift_and_timeline() -> None:
    # A drift needs data (ctool.analysis.summary.drift): 50 episodes over its 10 time
    # windows, 3 of them in the first window and 3 in the last. How many episodes 0.6 s holds
    # depends on the machine, so a starved run may have too few: run again (each run checked
    # in _duration_run) until one has a drift analysis, for at most 60 s.
    deadline = time.monotonic() + 60
    report = _duration_run()
    while report.drift is None and time.monotonic() < deadline:
        report = _duration_run()
    assert report.drift is not None, "no duration run had a drift analysis within 60 s"
    assert report.drift.verdict in {
        "stable",
        "slower over time",
        "faster over time",
        "inconclusive",
    }
    assert sum(window.episodes for window in report.drift.windows) == report.latency_ms.count
    assert report.resources.timeline and "queue_depth" in report.resources.timeline[0]
    r = report.resources
    assert r.rss_mb_peak is not None and r.rss_mb_start is not None
    assert r.rss_mb_peak >= r.rss_mb_start
    assert r.cpu_percent_mean is not None and r.gc_collections is not None


def test_a_sync_pipeline_runs_too() -> None:
    report = run_profile(RunConfig(pipeline="harness_pipelines:create_sync", episodes=20))
    assert report.latency_ms.count == 20 and "only" in report.stages
    assert report.output_digest is None  # no outputs() hook


def test_watchdog_names_the_blocking_call_with_its_stage() -> None:
    block_every, block_ms = 4, 50
    seen = RecordingObserver()
    report = run_profile(
        RunConfig(
            pipeline=QUICK,
            episodes=12,
            warmup=1,
            settings={"block_every": block_every, "block_ms": block_ms},
        ),
        observers=[seen],
    )
    # The blocking calls injected into measured episodes (the warm-up runs unwatched).
    injected = sum(1 for index in seen.indices if index % block_every == 0)
    assert injected == 3  # episodes 4, 8 and 12
    blocking = [b for b in report.resources.blocking_calls if b.kind == "blocking"]
    assert blocking, report.resources.blocking_calls
    top = blocking[0]
    assert top.function == "Quick._blocking_probe"
    assert top.file.endswith("harness_pipelines.py")
    source = Path(top.file).read_text().splitlines()[top.line - 1]
    assert "time.sleep" in source
    assert top.stage == "emit"
    # Seen in at least one of the stalls it caused and in no more than it caused (the
    # watchdog samples: it may miss one, or drop the last if the run ends before it is done).
    assert 1 <= top.count <= injected and top.max_ms <= top.total_ms
    assert top.callee is None  # time.sleep is C: the site is the innermost Python frame
    # The heartbeat counts every stall: each injected call holds the loop 50 ms, so its beat
    # is at least 50 - 3 ms (the period) late. A slow machine can only add stalls.
    stalls = report.resources.loop_stalls
    assert stalls is not None and stalls >= max(injected, top.count)
    stalled_ms = report.resources.loop_stalled_ms
    assert stalled_ms is not None and stalled_ms >= injected * (block_ms - 3)


def test_watchdog_classes_a_lock_wait_as_blocking() -> None:
    report = run_profile(
        RunConfig(pipeline=QUICK, episodes=6, warmup=1, settings={"lock_every": 2, "block_ms": 50})
    )
    seen = [b for b in report.resources.blocking_calls if b.function == "Quick._wait_for_lock"]
    assert seen and seen[0].kind == "blocking" and seen[0].stage == "emit"
    assert "waits on a lock" in Path(seen[0].file).read_text().splitlines()[seen[0].line - 1]


def test_watchdog_stays_quiet_without_blocking_calls() -> None:
    report = run_profile(RunConfig(pipeline=QUICK, warmup=1, duration_s=0.3))
    assert not [b for b in report.resources.blocking_calls if b.kind == "blocking"]
    assert report.resources.loop_lag_ms_max is not None  # the heartbeat ran


def test_pipeline_errors_happen_before_anything_runs() -> None:
    with pytest.raises(PipelineLoadError, match="cannot import"):
        _run(pipeline="no_such_module_xyz:create")
    with pytest.raises(PipelineLoadError, match="has no attribute"):
        _run(pipeline="harness_pipelines:nope")
    with pytest.raises(PipelineLoadError, match="broken"):
        _run(pipeline="harness_broken_pipeline:create")
    with pytest.raises(PipelineLoadError, match="exploded"):
        _run(pipeline="harness_pipelines:create_failing_factory")
    with pytest.raises(PipelineLoadError, match="no episode"):
        _run(pipeline="harness_pipelines:create_no_episode")
    with pytest.raises(UsageError, match="no setting 'colour'"):
        _run(settings={"colour": "red"})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"episodes": -1}, "--episodes must be between 0 and"),
        ({"episodes": 0}, "nothing to run"),
        ({"concurrency": (0,)}, "--concurrency"),
        ({"rate": 0.0}, "--rate must be a positive number"),
        ({"workers": 2, "rounds": 2}, "cannot be combined"),
        ({"workers": 2, "profilers": ("fake",)}, "--profiler runs in this process"),
        ({"block_threshold_ms": -1.0}, "--block-threshold-ms"),
    ],
)
def test_bad_configurations_are_usage_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        RunConfig(pipeline=QUICK, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def fake_backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[type]:
    cls = harness_pipelines.FakeProfiler
    cls.starts = cls.stops = 0
    cls.available = True
    ep = EntryPoint(name="fake", value="harness_pipelines:FakeProfiler", group=registry.GROUP)
    info = registry.BackendInfo("fake", ep.value, "tests", ep)
    monkeypatch.setattr(registry, "discover", lambda: {"fake": info})
    yield cls


def test_profiler_seam_start_stop_calibrate_collect(fake_backend: type, tmp_path: Path) -> None:
    report = run_profile(
        RunConfig(
            pipeline=QUICK, episodes=20, warmup=0, profilers=("fake",), artifacts_dir=tmp_path
        )
    )
    assert report.config.profilers == ["fake"]
    assert [h.function for h in report.hotspots] == ["hot_function"]
    assert report.artifacts == {"fake": str(tmp_path / "fake.txt")}
    (run,) = report.profilers
    assert run.name == "fake" and run.ok and run.metadata["rows"] == 1
    assert run.metadata["calibration"]["slices"] == 4  # how the overhead was measured
    assert run.overhead_ratio is not None and run.overhead_ratio > 0
    # Once around the measured region, then once per calibration slice (4).
    assert fake_backend.starts == fake_backend.stops == 5


def test_unavailable_profiler_warns_or_fails_with_require(fake_backend: type) -> None:
    fake_backend.available = False
    warnings: list[str] = []
    report = run_profile(
        RunConfig(pipeline=QUICK, episodes=5, warmup=0, profilers=("fake",)), warn=warnings.append
    )
    assert report.complete and not report.hotspots
    assert warnings == report.warnings and "not here" in warnings[0]
    with pytest.raises(ProfilerUnavailable, match="not here"):
        run_profile(RunConfig(pipeline=QUICK, episodes=5, profilers=("fake",), require=True))
    with pytest.raises(UsageError, match="unknown profiler 'nope'"):
        run_profile(RunConfig(pipeline=QUICK, episodes=5, profilers=("nope",)))
    assert fake_backend.starts == 0


class RecordingObserver:
    def __init__(self) -> None:
        self.started: int | None = -1
        self.episodes = 0
        self.indices: list[int] = []
        self.errors = 0
        self.samples = 0
        self.finished: bool | None = None

    def on_start(self, *, planned_episodes: int | None, pipeline: str) -> None:
        self.started = planned_episodes

    def on_episode(self, index: int, latency_ns: int, spans: object, error: object) -> None:
        self.episodes += 1
        self.indices.append(index)
        self.errors += error is not None

    def on_sample(self, **_: object) -> None:
        self.samples += 1

    def on_metrics(self, metrics: object) -> None:
        pass

    def on_finish(self, *, complete: bool) -> None:
        self.finished = complete


class BrokenObserver(RecordingObserver):
    def on_episode(self, index: int, latency_ns: int, spans: object, error: object) -> None:
        raise RuntimeError("observer bug")


def test_observers_see_the_run_and_a_broken_one_is_dropped() -> None:
    good, bad = RecordingObserver(), BrokenObserver()
    report = run_profile(
        RunConfig(pipeline=QUICK, episodes=30, warmup=3, settings={"fail_every": 10}),
        observers=[good, bad],
    )
    assert good.started == 30 and good.episodes == 30 and good.errors == 3
    assert good.finished is True and good.samples >= 1
    assert any("BrokenObserver failed and was dropped" in w for w in report.warnings)
