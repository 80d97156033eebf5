"""A leakcheck run's report, assembled from what it measured.

Pure functions over plain data: ``ctool.leak.runner`` runs the episodes, samples memory and
calls ``ctool.analysis.leak`` for the verdict and the sites; it then hands everything over
as a ``LeakMeasurement`` and ``leakcheck_report`` builds the ``LeakcheckReport``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ctool.analysis.leak import CONFIDENCE, Criteria, type_growth
from ctool.analysis.leak_verdict import LeakAnalysis, projection
from ctool.model.schema import (
    Environment,
    ErrorSample,
    ErrorSummary,
    LatencySummary,
    LeakBudget,
    LeakcheckReport,
    LeakSample,
    LeakSite,
    LeakVerdict,
    RunConfigModel,
    SlopeFit,
)


@dataclass
class LeakMeasurement:
    """What a leakcheck run measured, as plain data: the input of ``leakcheck_report``.

    The four sample columns have one entry per sample taken (measured episodes so far,
    traced bytes, RSS bytes, live objects); ``latency_ns`` has one per measured episode.
    """

    config: RunConfigModel
    environment: Environment
    created_at: str
    complete: bool
    planned_episodes: int
    episodes: int
    """Measured episodes (fewer than planned after a Ctrl-C)."""
    warmup: int
    every: int
    criteria: Criteria
    top: int
    sample_episodes: list[int]
    sample_traced: list[int]
    sample_rss: list[int]
    sample_objects: list[int]
    analysis: LeakAnalysis | None
    """``None``: too few samples for a slope."""
    sites: list[LeakSite]
    start_types: Mapping[str, int]
    """Live objects by type name at the start of the measured part."""
    end_types: Mapping[str, int]
    latency_ns: Sequence[int]
    error_count: int
    error_samples: list[ErrorSample]
    traceback_frames: int
    attribution_episodes: int
    duration_s: float
    engine: str = "tracemalloc"
    budget: LeakBudget | None = None
    mid_types: Mapping[str, int] | None = None
    """Live objects by type at the start of the last round (``None``: one round)."""
    mid_episode: int = 0
    type_sites: Mapping[str, tuple[str, str | None]] | None = None
    """Per type name: ``file:line`` making most of its new objects, and its stage."""
    error_by_type: Mapping[str, int] | None = None
    """Episode errors by exception type name."""


Fits = tuple[SlopeFit, SlopeFit, SlopeFit | None, SlopeFit | None]
"""Traced, RSS, and the late-window fits of each."""


def leakcheck_report(m: LeakMeasurement) -> LeakcheckReport:
    """The report of a leakcheck run: verdict and fits, samples, sites, types, errors."""
    verdict, reason, fits = verdict_and_fits(m)
    types = type_growth(
        m.start_types,
        m.end_types,
        m.episodes,
        top=m.top,
        mid=m.mid_types,
        mid_episode=m.mid_episode,
        sites=m.type_sites or {},
    )
    evidence = [
        f"{row.type} +{row.per_episode:.3g} per episode, steady"
        + (f", made at {row.site}" if row.site else "")
        + (f" (stage {row.stage})" if row.stage else "")
        for row in types
        if row.steady
    ]
    if verdict == "leak" and evidence:
        reason = f"{reason}; object evidence: {'; '.join(evidence[:3])}"
    analysis = m.analysis
    rate = _episode_rate(m.latency_ns)
    slope = 0.0
    if analysis is not None:
        slope = analysis.traced.slope if analysis.rss_beyond_traced is None else analysis.rss.slope
    return LeakcheckReport(
        created_at=m.created_at,
        complete=m.complete,
        environment=m.environment,
        config=m.config,
        episodes=m.episodes,
        warmup=m.warmup,
        every=m.every,
        threshold_bytes_per_episode=m.criteria.threshold,
        growth_floor_pct=m.criteria.growth_floor_pct,
        verdict=verdict,
        reason=reason,
        traced=fits[0],
        rss=fits[1],
        traced_late=fits[2],
        rss_late=fits[3],
        samples=[
            LeakSample(episode=e, traced_bytes=t, rss_bytes=r, objects=o)
            for e, t, r, o in zip(
                m.sample_episodes, m.sample_traced, m.sample_rss, m.sample_objects, strict=True
            )
        ],
        sites=m.sites,
        types=types,
        duration_s=m.duration_s,
        # Measured episodes under tracemalloc: slower than a plain run, not a benchmark.
        latency_ms=latency(m.latency_ns),
        errors=ErrorSummary(
            count=m.error_count,
            rate=m.error_count / max(1, m.warmup + m.episodes + m.attribution_episodes),
            samples=m.error_samples,
            by_type=dict(m.error_by_type or {}),
        ),
        traceback_frames=m.traceback_frames,
        attribution_episodes=m.attribution_episodes,
        confidence=CONFIDENCE,
        engine=m.engine,
        growth=None if analysis is None else analysis.growth,
        plateau=None if analysis is None else analysis.plateau,
        detection_limit_bytes_per_episode=None if analysis is None else analysis.detection_limit,
        detection_window_episodes=None if analysis is None else analysis.detection_window,
        projection=projection(
            slope, episodes_per_s=rate, rss_bytes=float(m.sample_rss[-1]) if m.sample_rss else None
        ),
        budget=m.budget,
        rss_beyond_traced_bytes_per_episode=(
            None if analysis is None else analysis.rss_beyond_traced
        ),
        evidence=evidence,
    )


def _episode_rate(latency_ns: Sequence[int]) -> float | None:
    total = sum(latency_ns)
    return len(latency_ns) * 1e9 / total if total else None


def verdict_and_fits(m: LeakMeasurement) -> tuple[LeakVerdict, str, Fits]:
    """The analysis's verdict and fits or, with too few samples for a slope, "inconclusive"
    and the raw change; the reason says so when the run was interrupted."""
    analysis = m.analysis
    fits: Fits
    verdict: LeakVerdict
    if analysis is not None and analysis.verdict is not None:
        verdict, reason = analysis.verdict, analysis.reason
        fits = (analysis.traced, analysis.rss, analysis.traced_late, analysis.rss_late)
    elif analysis is not None:  # interrupted between rounds: not judged as final
        verdict, reason = "inconclusive", analysis.reason
        fits = (analysis.traced, analysis.rss, analysis.traced_late, analysis.rss_late)
    else:
        verdict = "inconclusive"
        reason = f"{len(m.sample_episodes)} samples are too few for a slope"
        fits = (
            flat_fit(m.sample_episodes, m.sample_traced),
            flat_fit(m.sample_episodes, m.sample_rss),
            None,
            None,
        )
    if not m.complete:
        reason = f"interrupted after {m.episodes} of {m.planned_episodes} episodes; {reason}"
    return verdict, reason, fits


def latency(latency_ns: Sequence[int]) -> LatencySummary:
    """Latency of the measured episodes, without the raw samples."""
    import numpy as np

    from ctool.analysis.summary import latency_summary

    return latency_summary(np.asarray(latency_ns, dtype=np.int64), with_samples=False)


def flat_fit(episodes: Sequence[int], values: Sequence[int]) -> SlopeFit:
    """For a run interrupted before it had enough samples: the raw change, no interval."""
    first = float(values[0]) if values else 0.0
    last = float(values[-1]) if values else 0.0
    span = float(episodes[-1] - episodes[0]) if len(episodes) > 1 else 0.0
    slope = (last - first) / span if span else 0.0
    return SlopeFit(
        slope=slope,
        ci_low=slope,
        ci_high=slope,
        intercept=first,
        growth_pct=100.0 * (last - first) / max(first, 1.0),
        growth_bytes=last - first,
        first_bytes=first,
        episodes_spanned=span,
        samples=len(values),
    )
