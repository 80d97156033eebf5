"""Compare two profile reports, or A/B rounds, into a :class:`CompareReport`. Pure functions.

What is compared (one :class:`MetricComparison` row each): latency p50, p95, p99 and mean,
throughput, each stage's p50 and p95, Φ time (p50, p95) and cache hit rate, peak RSS and
CPU time per episode. Which values a test sees (the *mode*):

* ``rounds`` -- both reports carry two or more rounds (``ctool profile --rounds R``, each
  round a fresh process): one value per round and side; Mann-Whitney U and a bootstrap
  interval (``ctool.analysis.statistics.two_sample_ratio``). Round-to-round spread includes
  the machine's run-to-run drift, so a verdict here accounts for it.
* ``batches`` -- otherwise: one value per batch of consecutive episodes of one run (the
  report's ``batches``, or 20 batches rebuilt from the raw latencies). Batches share one
  process, so a verdict here is **blind to run-to-run drift** and the report says so.
* ``ab`` -- :func:`compare_paired`: ``ctool ab``'s interleaved rounds, one report per half
  round; the Wilcoxon signed-rank test on per-round log ratios B/A.

Metrics with no per-window values are compared descriptively when they are steady (better /
worse / same beyond the threshold: RSS, the Φ cache hit rate) and are ``inconclusive`` when
they are noisy (timings, CPU time): one value per side says nothing about the noise.

Besides the rows: a hotspot diff, an environment and configuration diff with warnings, and
the behaviour check on the output digests. The gate (``--gate``) marks which rows decide the
exit code of ``--fail-on-regression`` / ``--fail-on-change``.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from ctool.analysis.statistics import (
    BOOTSTRAP_RESAMPLES,
    CHANGED_VERDICTS,
    WORSE_VERDICTS,
    RatioTest,
    classify,
    describe_single,
    paired_ratio,
    two_sample_ratio,
)
from ctool.model.errors import ReportError, UsageError
from ctool.model.schema import (
    CompareReport,
    Hotspot,
    MetricComparison,
    ProfileReport,
    Report,
    RunConfigModel,
    Verdict,
    WindowStats,
    now_iso,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

DEFAULT_THRESHOLD = 0.05
DEFAULT_ALPHA = 0.05
DEFAULT_GATE: tuple[str, ...] = ("p50",)
"""The robust centre. Each gated metric adds its own chance of a false alarm (docs/compare.md
measures them on the model): gate tails and throughput on purpose, with enough rounds."""
GATE_ALIASES: dict[str, str] = {
    "p50": "latency.p50",
    "p95": "latency.p95",
    "p99": "latency.p99",
    "mean": "latency.mean",
    "throughput": "throughput",
    "rss": "rss.peak_mb",
    "cpu": "cpu.ms_per_episode",
    "phi": "phi.p50",
}
_METRIC_PREFIXES = ("latency.", "throughput", "stage.", "phi.", "rss.", "cpu.")

OPTIMISATION_SETTINGS: frozenset[str] = frozenset(
    {
        "kuramoto",
        "phi",
        "phi_cache",
        "health_probe",
        "pooling",
        "leak_bytes",
        "probe_interval_ms",
        "phi_cache_size",
    }
)
"""Reference-pipeline settings that change how, not what (``ctool.pipeline.config``: the
presets' five switches and the test knobs): outputs stay comparable. Kept here, not imported,
so that reports do not depend on the reference pipeline."""
_OUTPUT_CONFIG_FIELDS = ("pipeline", "seed", "episodes", "warmup", "rounds")
"""Run settings that change which episodes the digest covers."""

SAMPLE_BATCHES = 20
HOTSPOT_MIN_SHARE = 0.01
HOTSPOT_MIN_RATIO = 1.2


@dataclass(frozen=True)
class MetricSpec:
    name: str
    unit: str | None
    lower_is_better: bool = True
    timing: bool = True
    """Timings are worded faster/slower, other metrics better/worse."""
    noisy: bool = True
    """Noisy metrics need per-window values for a verdict; steady ones compare as is."""


_CORE: tuple[MetricSpec, ...] = (
    MetricSpec("latency.p50", "ms"),
    MetricSpec("latency.p95", "ms"),
    MetricSpec("latency.p99", "ms"),
    MetricSpec("latency.mean", "ms"),
    MetricSpec("throughput", "episodes/s", lower_is_better=False),
)
_TAIL: tuple[MetricSpec, ...] = (
    MetricSpec("phi.p50", "ms"),
    MetricSpec("phi.p95", "ms"),
    MetricSpec("phi.hit_rate", None, lower_is_better=False, timing=False, noisy=False),
    MetricSpec("rss.peak_mb", "MB", timing=False, noisy=False),
    MetricSpec("cpu.ms_per_episode", "ms/episode", timing=False),
)

# Keys a WindowStats.metrics dict may use for the non-latency rows.
_WINDOW_METRIC_KEYS: dict[str, tuple[str, ...]] = {
    "phi.p50": ("phi.p50_ms",),
    "phi.p95": ("phi.p95_ms",),
    "phi.hit_rate": ("phi.hit_rate",),
    "rss.peak_mb": ("rss_mb_peak", "resources.rss_mb_peak", "rss.peak_mb"),
    "cpu.ms_per_episode": ("cpu_ms_per_episode", "cpu.ms_per_episode"),
}


# ---------------------------------------------------------------- input checks


def require_profile(report: Report, source: str) -> ProfileReport:
    """The report as a :class:`ProfileReport` fit for comparison, or a one-line ReportError."""
    if not isinstance(report, ProfileReport):
        raise ReportError(
            f"{source}: is a {report.kind} report; compare needs two profile reports "
            "(made by 'ctool profile -o FILE')"
        )
    if report.latency_ms.count == 0:
        raise ReportError(f"{source}: the report has zero episodes; nothing to compare")
    _check_values(report, source)
    return report


def _bad(value: float) -> bool:
    return not math.isfinite(value) or value < 0


def _check_values(report: ProfileReport, source: str) -> None:
    if _bad(report.throughput_eps):
        raise ReportError(f"{source}: throughput_eps is {report.throughput_eps}")
    for name, stage in report.stages.items():
        for field in ("mean_ms", "p50_ms", "p95_ms", "p99_ms"):
            value = getattr(stage, field)
            if _bad(value):
                raise ReportError(f"{source}: stages.{name}.{field} is {value}")
    for label, windows in (("rounds", report.rounds), ("batches", report.batches)):
        for pos, window in enumerate(windows):
            for field in ("mean_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms"):
                value = getattr(window, field)
                if _bad(value):
                    raise ReportError(f"{source}: {label}[{pos}].{field} is {value}")
            if window.throughput_eps is not None and _bad(window.throughput_eps):
                raise ReportError(
                    f"{source}: {label}[{pos}].throughput_eps is {window.throughput_eps}"
                )
            for stage_name, stats in window.stages.items():
                for field, value in stats.items():
                    if _bad(value):
                        raise ReportError(
                            f"{source}: {label}[{pos}].stages.{stage_name}.{field} is {value}"
                        )


# ---------------------------------------------------------------- metric values


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def summary_values(report: ProfileReport) -> dict[str, float]:
    """Whole-run value of every metric the report has, keyed by metric name."""
    lat = report.latency_ms
    values: dict[str, float] = {
        "latency.p50": lat.p50,
        "latency.p95": lat.p95,
        "latency.p99": lat.p99,
        "latency.mean": lat.mean,
        "throughput": report.throughput_eps,
    }
    for name, stage in report.stages.items():
        values[f"stage.{name}.p50"] = stage.p50_ms
        values[f"stage.{name}.p95"] = stage.p95_ms
    phi = report.pipeline_metrics.get("phi")
    if isinstance(phi, Mapping):
        for key, metric in (("p50_ms", "phi.p50"), ("p95_ms", "phi.p95"), ("hit_rate", None)):
            value = _number(phi.get(key))
            if value is not None:
                values[metric or "phi.hit_rate"] = value
    res = report.resources
    if res.rss_mb_peak is not None:
        values["rss.peak_mb"] = res.rss_mb_peak
    if res.cpu_percent_mean is not None and report.throughput_eps > 0:
        values["cpu.ms_per_episode"] = res.cpu_percent_mean * 10.0 / report.throughput_eps
    return {k: v for k, v in values.items() if math.isfinite(v)}


def window_values(window: WindowStats) -> dict[str, float]:
    """Per-window value of every metric the window has (rounds and batches alike).

    A window without ``throughput_eps`` gets ``1000 / mean_ms``: for sequential episodes the
    service rate, which is what throughput measures there.
    """
    values: dict[str, float] = {
        "latency.p50": window.p50_ms,
        "latency.p95": window.p95_ms,
        "latency.p99": window.p99_ms,
        "latency.mean": window.mean_ms,
    }
    if window.throughput_eps is not None:
        values["throughput"] = window.throughput_eps
    elif window.mean_ms > 0:
        values["throughput"] = 1000.0 / window.mean_ms
    for name, stats in window.stages.items():
        for field, suffix in (("p50_ms", "p50"), ("p95_ms", "p95")):
            value = _number(stats.get(field))
            if value is not None:
                values[f"stage.{name}.{suffix}"] = value
    for metric, keys in _WINDOW_METRIC_KEYS.items():
        for key in keys:
            value = _number(window.metrics.get(key))
            if value is not None:
                values[metric] = value
                break
    return values


def window_from_latencies(
    ms: FloatArray, index: int, stages: Mapping[str, FloatArray] | None = None
) -> WindowStats:
    """A :class:`WindowStats` of consecutive sequential episodes (latencies in ms; per-stage
    times optional). Sequential episodes: throughput is episodes over summed latency."""
    import numpy as np

    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    stage_rows = {
        name: {
            "mean_ms": float(values.mean()),
            "p50_ms": float(np.percentile(values, 50)),
            "p95_ms": float(np.percentile(values, 95)),
        }
        for name, values in (stages or {}).items()
    }
    total = float(ms.sum())
    return WindowStats(
        index=index,
        episodes=int(ms.size),
        mean_ms=float(ms.mean()),
        p50_ms=float(p50),
        p95_ms=float(p95),
        p99_ms=float(p99),
        max_ms=float(ms.max()),
        throughput_eps=1000.0 * ms.size / total if total > 0 else None,
        stages=stage_rows,
    )


def windows_from_samples(report: ProfileReport, source: str) -> list[WindowStats]:
    """Rebuild ``SAMPLE_BATCHES`` consecutive batches from the raw latencies, if stored."""
    samples = report.latency_ms.samples
    if samples is None or samples.count < 2 * SAMPLE_BATCHES:
        return []
    import numpy as np

    from ctool.model.samples import decode_ns

    try:
        raw = decode_ns(samples.data, samples.count)
    except ValueError as exc:
        raise ReportError(f"{source}: {exc}") from None
    if raw.size and int(raw.min()) < 0:
        raise ReportError(f"{source}: latency samples hold negative values")
    ms = raw.astype(np.float64) / 1e6
    return [
        window_from_latencies(chunk, index)
        for index, chunk in enumerate(np.array_split(ms, SAMPLE_BATCHES))
    ]


def metric_specs(names: Iterable[str]) -> list[MetricSpec]:
    """The rows to show, in a fixed order, for the metric names present on either side."""
    present = set(names)
    specs = [spec for spec in _CORE if spec.name in present]
    stages: list[str] = []
    for name in names:
        if name.startswith("stage.") and name.endswith(".p50"):
            stage = name[len("stage.") : -len(".p50")]
            if stage not in stages:
                stages.append(stage)
    for stage in stages:
        specs.append(MetricSpec(f"stage.{stage}.p50", "ms"))
        if f"stage.{stage}.p95" in present:
            specs.append(MetricSpec(f"stage.{stage}.p95", "ms"))
    specs.extend(spec for spec in _TAIL if spec.name in present)
    return specs


# ---------------------------------------------------------------- gate


def parse_gate(text: str | Sequence[str] | None) -> list[str]:
    """``"p50,p99,throughput"`` -> metric names or patterns; a bad entry is a UsageError."""
    if text is None:
        return list(DEFAULT_GATE)
    parts = text.split(",") if isinstance(text, str) else list(text)
    entries = [part.strip() for part in parts if part.strip()]
    if not entries:
        raise UsageError("--gate needs at least one metric, e.g. --gate p50,p99,throughput")
    for entry in entries:
        if entry == "all" or entry in GATE_ALIASES:
            continue
        if not entry.startswith(_METRIC_PREFIXES):
            known = ", ".join([*GATE_ALIASES, "all"])
            raise UsageError(
                f"--gate: unknown metric {entry!r} (use {known}, or a metric name such as "
                "stage.ESGT.p95; * and ? match)"
            )
    return entries


def is_timing(metric: str) -> bool:
    return metric.startswith(("latency.", "stage.")) or metric in (
        "throughput",
        "phi.p50",
        "phi.p95",
    )


def _gate_matches(entry: str, metric: str) -> bool:
    if entry == "all":
        return is_timing(metric)
    return fnmatch.fnmatchcase(metric, GATE_ALIASES.get(entry, entry))


def unmatched_gate(report: CompareReport) -> list[str]:
    """Gate entries that picked no row: a typo that would make the gate never fire."""
    return [e for e in report.gate if not any(_gate_matches(e, r.metric) for r in report.metrics)]


def _apply_gate(rows: list[MetricComparison], gate: Sequence[str]) -> None:
    for row in rows:
        row.gated = any(_gate_matches(entry, row.metric) for entry in gate)


def regressions_and_changes(rows: Sequence[MetricComparison]) -> tuple[list[str], list[str]]:
    regressions = [r.metric for r in rows if r.gated and r.verdict in WORSE_VERDICTS]
    changes = [r.metric for r in rows if r.gated and r.verdict in CHANGED_VERDICTS]
    return regressions, changes


# ---------------------------------------------------------------- rows


def _median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2.0


def _no_spread(values: Sequence[float]) -> bool:
    return len(set(values)) <= 1


def _row(
    spec: MetricSpec,
    before: Sequence[float],
    after: Sequence[float],
    summary_before: float | None,
    summary_after: float | None,
    *,
    tester: Callable[[Sequence[float], Sequence[float]], RatioTest],
    method: str,
    alpha: float,
    threshold: float,
) -> MetricComparison:
    def single(note: str) -> MetricComparison:
        ratio, verdict = describe_single(
            summary_before,
            summary_after,
            threshold=threshold,
            lower_is_better=spec.lower_is_better,
        )
        if spec.noisy:
            verdict = "inconclusive"
        return MetricComparison(
            metric=spec.name,
            before=summary_before,
            after=summary_after,
            ratio=ratio,
            verdict=verdict,
            lower_is_better=spec.lower_is_better,
            method="single value",
            unit=spec.unit,
            note=note,
        )

    if not before or not after:
        if summary_before is None or summary_after is None:
            side = "before" if summary_before is None else "after"
            return single(f"missing in {side}")
        return single("no per-window values" if spec.noisy else "")
    if not spec.noisy and (_no_spread(before) or _no_spread(after)):
        # A deterministic counter (hit rate): one value per side says it all.
        summary_before, summary_after = _median(before), _median(after)
        return single("")
    test = tester(before, after)
    verdict: Verdict = classify(
        test,
        alpha=alpha,
        threshold=threshold,
        lower_is_better=spec.lower_is_better,
        timing=spec.timing,
    )
    note = test.reason
    if verdict == "inconclusive" and not note:
        note = "the interval reaches beyond the threshold: more data would decide"
    return MetricComparison(
        metric=spec.name,
        before=_median(before),
        after=_median(after),
        ratio=test.ratio,
        ci_low=test.ci_low,
        ci_high=test.ci_high,
        p_value=test.p_value,
        verdict=verdict,
        lower_is_better=spec.lower_is_better,
        method=method,
        unit=spec.unit,
        n_before=test.n_before,
        n_after=test.n_after,
        note=note,
    )


def _series(windows: Sequence[Mapping[str, float]], name: str) -> list[float]:
    return [w[name] for w in windows if name in w]


def _names(*groups: Iterable[Mapping[str, float]]) -> list[str]:
    names: list[str] = []
    for group in groups:
        for values in group:
            names.extend(k for k in values if k not in names)
    return names


Series = Callable[[str], tuple[list[float], list[float]]]
Summaries = Callable[[str], tuple[float | None, float | None]]


def _rows(
    names: Sequence[str],
    series: Series,
    summaries: Summaries,
    *,
    tester: Callable[[Sequence[float], Sequence[float]], RatioTest],
    method: str,
    alpha: float,
    threshold: float,
) -> tuple[list[MetricComparison], dict[str, dict[str, list[float]]]]:
    """One row per metric; also the per-window values each test used."""
    rows: list[MetricComparison] = []
    windows: dict[str, dict[str, list[float]]] = {}
    for spec in metric_specs(names):
        before, after = series(spec.name)
        row = _row(
            spec,
            before,
            after,
            *summaries(spec.name),
            tester=tester,
            method=method,
            alpha=alpha,
            threshold=threshold,
        )
        rows.append(row)
        if row.method != "single value":
            windows[spec.name] = {"before": before, "after": after}
    return rows, windows


# ---------------------------------------------------------------- diffs


def _hotspot_key(spot: Hotspot) -> tuple[str, str, str]:
    parts = PurePath(spot.file).parts
    return spot.profiler, "/".join(parts[-2:]), spot.function


def _hotspot_shares(spots: Sequence[Hotspot]) -> dict[tuple[str, str, str], tuple[Hotspot, float]]:
    """Each row's share of its profiler's time: the row's own share, else its self time
    over the listed rows' total (so runs of different lengths compare)."""
    totals: dict[str, float] = {}
    for spot in spots:
        totals[spot.profiler] = totals.get(spot.profiler, 0.0) + (spot.self_ms or 0.0)
    shares: dict[tuple[str, str, str], tuple[Hotspot, float]] = {}
    for spot in spots:
        if spot.share is not None:
            share = spot.share
        elif spot.self_ms is not None and totals[spot.profiler] > 0:
            share = spot.self_ms / totals[spot.profiler]
        else:
            continue
        key = _hotspot_key(spot)
        previous = shares.get(key)
        shares[key] = (spot, share + (previous[1] if previous else 0.0))
    return shares


def hotspot_diff(before: Sequence[Hotspot], after: Sequence[Hotspot]) -> list[dict[str, Any]]:
    """Functions that appeared, vanished, grew or shrank between two hotspot lists.

    Rows are matched by profiler, the file's last two path parts and the function (not the
    line: edits move lines). Hotspot lists are top-N, so "appeared" means "entered the
    list". A row counts when its share moves by >= 1 point and by >= 1.2x.
    """
    if not before or not after:
        return []
    old, new = _hotspot_shares(before), _hotspot_shares(after)
    rows: list[dict[str, Any]] = []
    for key in [*old, *(k for k in new if k not in old)]:
        b = old[key][1] if key in old else 0.0
        a = new[key][1] if key in new else 0.0
        if abs(a - b) < HOTSPOT_MIN_SHARE:
            continue
        if key not in old:
            change = "appeared"
        elif key not in new:
            change = "vanished"
        elif a >= b * HOTSPOT_MIN_RATIO:
            change = "grew"
        elif b >= a * HOTSPOT_MIN_RATIO:
            change = "shrank"
        else:
            continue
        spot = (new.get(key) or old[key])[0]
        rows.append(
            {
                "change": change,
                "profiler": spot.profiler,
                "function": spot.function,
                "file": spot.file,
                "line": spot.line,
                "share_before": b,
                "share_after": a,
            }
        )
    rows.sort(key=lambda row: -abs(row["share_after"] - row["share_before"]))
    return rows


_MACHINE_FIELDS = ("hostname", "cpu_model", "cpu_count")
_ENV_FIELDS = ("python", "implementation", "platform", *_MACHINE_FIELDS)
_CONFIG_FIELDS = (
    "pipeline",
    "preset",
    "seed",
    "episodes",
    "warmup",
    "concurrency",
    "rate",
    "duration_s",
    "burst",
    "workers",
    "rounds",
    "profilers",
)


def _diff_row(field: str, before: Any, after: Any) -> dict[str, Any]:
    return {"field": field, "before": before, "after": after}


def environment_diff(before: Report, after: Report) -> tuple[list[dict[str, Any]], list[str]]:
    """Differences in environment and configuration, and the warnings they call for."""
    rows: list[dict[str, Any]] = []
    for field in _ENV_FIELDS:
        b, a = getattr(before.environment, field), getattr(after.environment, field)
        if b != a:
            rows.append(_diff_row(f"environment.{field}", b, a))
    for field in _CONFIG_FIELDS:
        b, a = getattr(before.config, field), getattr(after.config, field)
        if b != a:
            rows.append(_diff_row(f"config.{field}", b, a))
    settings_b, settings_a = before.config.settings, after.config.settings
    rows.extend(
        _diff_row(f"settings.{key}", settings_b.get(key), settings_a.get(key))
        for key in sorted(set(settings_b) | set(settings_a))
        if settings_b.get(key) != settings_a.get(key)
    )
    warnings: list[str] = []
    machine = [r for r in rows if r["field"] in {f"environment.{f}" for f in _MACHINE_FIELDS}]
    if machine:
        what = ", ".join(
            f"{r['field'].split('.', 1)[1]} {r['before']} vs {r['after']}" for r in machine
        )
        warnings.append(
            f"the runs come from different machines ({what}): the ratio measures the "
            "machines as much as the code"
        )
    for field in ("python", "implementation"):
        b, a = getattr(before.environment, field), getattr(after.environment, field)
        if b != a:
            warnings.append(f"different Python {field}: {b} vs {a}")
    if sorted(before.config.profilers) != sorted(after.config.profilers):
        warnings.append("the runs used different profilers; their overhead is in the timings")
    return rows, warnings


def behaviour(before: ProfileReport, after: ProfileReport) -> tuple[str, str]:
    """``outputs identical`` / ``outputs changed`` / ``not comparable``, and why."""
    db, da = before.output_digest, after.output_digest
    if db is None or da is None:
        side = "before" if db is None else "after"
        return "not comparable", f"no output digest in {side} (the pipeline has no outputs hook)"
    if db == da:
        return "outputs identical", f"digest {db[:12]}"
    reasons = []
    for field in _OUTPUT_CONFIG_FIELDS:
        b, a = getattr(before.config, field), getattr(after.config, field)
        if b != a:
            reasons.append(f"{field} {b} vs {a}")
    settings_b, settings_a = before.config.settings, after.config.settings
    reasons.extend(
        f"setting {key} {settings_b.get(key)} vs {settings_a.get(key)}"
        for key in sorted(set(settings_b) | set(settings_a))
        if key not in OPTIMISATION_SETTINGS and settings_b.get(key) != settings_a.get(key)
    )
    if reasons:
        return "not comparable", "the runs did different work: " + "; ".join(reasons)
    return "outputs changed", f"digest {db[:12]} vs {da[:12]}"


# ---------------------------------------------------------------- the two designs


def _windows(report: ProfileReport, source: str) -> list[WindowStats]:
    return list(report.batches) or windows_from_samples(report, source)


def _typical_episodes(windows: Sequence[WindowStats]) -> float:
    return _median([float(w.episodes) for w in windows]) or 0.0


def _finish(
    rows: list[MetricComparison],
    *,
    gate: Sequence[str],
    **fields: Any,
) -> CompareReport:
    _apply_gate(rows, gate)
    regressions, changes = regressions_and_changes(rows)
    return CompareReport(
        metrics=rows,
        gate=list(gate),
        regressions=regressions,
        changes=changes,
        created_at=now_iso(),
        **fields,
    )


def compare_reports(
    before: ProfileReport,
    after: ProfileReport,
    *,
    before_name: str = "before",
    after_name: str = "after",
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = DEFAULT_ALPHA,
    gate: Sequence[str] | None = None,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> CompareReport:
    """Compare two profile reports (already checked with :func:`require_profile`)."""
    gate = parse_gate(gate)
    warnings: list[str] = []
    for name, report in ((before_name, before), (after_name, after)):
        if not report.complete:
            warnings.append(f"{name} is incomplete (the run was interrupted)")
        warnings.extend(f"{name}: {warning}" for warning in report.warnings)
    if len(before.rounds) >= 2 and len(after.rounds) >= 2:
        mode = "rounds"
        win_b, win_a = list(before.rounds), list(after.rounds)
        method = f"Mann-Whitney U on round values, bootstrap {100 * (1 - alpha):g} % interval"
    else:
        mode = "batches"
        win_b, win_a = _windows(before, before_name), _windows(after, after_name)
        method = f"Mann-Whitney U on batch values, bootstrap {100 * (1 - alpha):g} % interval"
        one_side = [
            n for n, r in ((before_name, before), (after_name, after)) if len(r.rounds) >= 2
        ]
        if one_side:
            warnings.append(f"only {one_side[0]} has rounds; compared on batches of one run")
    size_b, size_a = _typical_episodes(win_b), _typical_episodes(win_a)
    if size_b and size_a and max(size_b, size_a) > 2 * min(size_b, size_a):
        warnings.append(
            f"windows differ in size ({size_b:g} vs {size_a:g} episodes): tail percentiles of "
            "windows of different sizes are biased against the larger one"
        )
    values_b = [window_values(w) for w in win_b]
    values_a = [window_values(w) for w in win_a]
    sum_b, sum_a = summary_values(before), summary_values(after)

    def tester(b: Sequence[float], a: Sequence[float]) -> RatioTest:
        return two_sample_ratio(b, a, alpha=alpha, resamples=resamples)

    rows, windows = _rows(
        _names([sum_b, sum_a], values_b, values_a),
        lambda name: (_series(values_b, name), _series(values_a, name)),
        lambda name: (sum_b.get(name), sum_a.get(name)),
        tester=tester,
        method=method,
        alpha=alpha,
        threshold=threshold,
    )
    env_rows, env_warnings = environment_diff(before, after)
    verdict, detail = behaviour(before, after)
    return _finish(
        rows,
        gate=gate,
        environment=after.environment,
        config=after.config,
        before=before_name,
        after=after_name,
        mode=mode,
        blind_to_drift=mode == "batches",
        threshold=threshold,
        alpha=alpha,
        hotspots=hotspot_diff(before.hotspots, after.hotspots),
        environment_diff=env_rows,
        behaviour=verdict,
        behaviour_detail=detail,
        warnings=warnings + env_warnings,
        windows=windows,
    )


def _paired_behaviour(
    a_reports: Sequence[ProfileReport], b_reports: Sequence[ProfileReport]
) -> tuple[str, str]:
    for label, reports in (("A", a_reports), ("B", b_reports)):
        digests = {r.output_digest for r in reports}
        if None in digests:
            return "not comparable", f"{label} has no output digest (no outputs hook)"
        if len(digests) > 1:
            return (
                "not comparable",
                f"{label}'s outputs differ between its rounds: the pipeline is not "
                "deterministic for a fixed seed",
            )
    return behaviour(a_reports[0], b_reports[0])


def compare_paired(
    a_reports: Sequence[ProfileReport],
    b_reports: Sequence[ProfileReport],
    *,
    a_name: str = "A",
    b_name: str = "B",
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = DEFAULT_ALPHA,
    gate: Sequence[str] | None = None,
    config: RunConfigModel | None = None,
) -> CompareReport:
    """``ctool ab``: round ``i`` ran ``a_reports[i]`` then ``b_reports[i]`` on one machine.

    Each metric's per-round log ratio B/A is tested with the Wilcoxon signed-rank test;
    ``ratio`` is the Hodges-Lehmann estimate of B/A with its exact interval, ``before`` and
    ``after`` the medians of A's and B's round values.
    """
    if not a_reports or len(a_reports) != len(b_reports):
        raise ValueError("compare_paired needs one B report per A report")
    gate = parse_gate(gate)
    values_a = [summary_values(r) for r in a_reports]
    values_b = [summary_values(r) for r in b_reports]
    method = f"Wilcoxon signed-rank on paired log ratios, {100 * (1 - alpha):g} % interval"

    def pairs(name: str) -> tuple[list[float], list[float]]:
        both = [(a[name], b[name]) for a, b in zip(values_a, values_b, strict=True)
                if name in a and name in b]  # fmt: skip
        return [p[0] for p in both], [p[1] for p in both]

    def tester(a: Sequence[float], b: Sequence[float]) -> RatioTest:
        return paired_ratio(a, b, alpha=alpha)

    rows, windows = _rows(
        _names(values_a, values_b),
        pairs,
        lambda name: (_median(_series(values_a, name)), _median(_series(values_b, name))),
        tester=tester,
        method=method,
        alpha=alpha,
        threshold=threshold,
    )
    env_rows, warnings = environment_diff(a_reports[0], b_reports[0])
    for label, reports in (("A", a_reports), ("B", b_reports)):
        if any(not r.complete for r in reports):
            warnings.append(f"a round of {label} is incomplete")
        seen = dict.fromkeys(warning for r in reports for warning in r.warnings)
        warnings.extend(f"{label}: {warning}" for warning in seen)
    verdict, detail = _paired_behaviour(a_reports, b_reports)
    return _finish(
        rows,
        gate=gate,
        environment=a_reports[0].environment,
        config=config or a_reports[0].config,
        before=a_name,
        after=b_name,
        mode="ab",
        blind_to_drift=False,
        threshold=threshold,
        alpha=alpha,
        hotspots=hotspot_diff(a_reports[0].hotspots, b_reports[0].hotspots),
        environment_diff=env_rows,
        behaviour=verdict,
        behaviour_detail=detail,
        warnings=warnings,
        windows=windows,
    )


def compare_files(
    before: str,
    after: str,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = DEFAULT_ALPHA,
    gate: Sequence[str] | None = None,
) -> tuple[CompareReport, tuple[ProfileReport, ProfileReport]]:
    """Load, check and compare two report files; returns the report and the two inputs."""
    from ctool.model.io import load_report

    old = require_profile(load_report(before), before)
    new = require_profile(load_report(after), after)
    report = compare_reports(
        old,
        new,
        before_name=before,
        after_name=after,
        threshold=threshold,
        alpha=alpha,
        gate=gate,
    )
    return report, (old, new)
