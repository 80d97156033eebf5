"""Leak analysis: pure functions from memory samples to a slope, a verdict, sites and types.

Nothing here measures, prints or reads a clock; ``ctool.harness.leak`` collects the samples
and calls these. The rules (documented with their defaults in ``docs/leakcheck.md``):

* A trend is a Theil--Sen fit (median of pairwise slopes, robust to the odd GC or allocator
  step) of bytes against measured episodes, with Sen's confidence interval
  (``scipy.stats.theilslopes``). Growth over the run is the fitted slope times the episodes
  spanned; the floor compares it with the process's RSS at the first sample.
* One series (traced bytes or RSS) is judged:
  - **leak** when the interval's lower bound exceeds the threshold, the growth exceeds the
    floor, and the last third of the run still grows (its own lower bound above the
    threshold);
  - **clean** when the interval's upper bound is within the threshold, or even the upper
    bound's growth is within the floor; also when the run grew but the last third is flat
    (upper bound within the threshold): growth that stops is a bound being reached (a cache
    filling up), not a leak;
  - **inconclusive** otherwise: the interval straddles the threshold.
* The run's verdict: traced memory is exact, so it decides; RSS (which sees memory outside
  Python's allocator) may add a leak when traced memory is clean, and is otherwise reported
  but not allowed to make a clean run inconclusive (pages and allocator arenas make it
  step-shaped and noisy).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ctool.model.format import exact_bytes, size
from ctool.model.schema import LeakSite, LeakVerdict, SlopeFit, TypeGrowth

DEFAULT_THRESHOLD = 256.0
"""Bytes per episode. See docs/leakcheck.md for why."""
DEFAULT_GROWTH_FLOOR_PCT = 0.1
"""Growth over the measured run, in percent of the process's RSS at its start."""
CONFIDENCE = 0.95
MIN_SAMPLES = 5
"""Fewer points give a Theil--Sen interval too wide to say anything."""
MIN_LATE_SAMPLES = 5


@dataclass(frozen=True)
class Criteria:
    threshold: float = DEFAULT_THRESHOLD
    growth_floor_pct: float = DEFAULT_GROWTH_FLOOR_PCT
    confidence: float = CONFIDENCE


@dataclass(frozen=True)
class SeriesJudgement:
    verdict: LeakVerdict
    reason: str
    levelled_off: bool = False


@dataclass(frozen=True)
class LeakAnalysis:
    verdict: LeakVerdict
    reason: str
    traced: SlopeFit
    rss: SlopeFit
    traced_late: SlopeFit | None
    rss_late: SlopeFit | None


def fit_trend(
    episodes: Sequence[float],
    values: Sequence[float],
    *,
    confidence: float = CONFIDENCE,
    rss_base: float | None = None,
) -> SlopeFit:
    """Theil--Sen slope (bytes per episode) with its confidence interval and run growth.

    ``rss_base`` (the process's RSS at the first sample) gives ``growth_pct_of_rss``.
    """
    import numpy as np
    from scipy.stats import theilslopes

    x = np.asarray(episodes, dtype=float)
    y = np.asarray(values, dtype=float)
    if x.size < 2:
        raise ValueError("a trend needs at least two samples")
    result = theilslopes(y, x, alpha=confidence)
    slope = float(result[0])
    intercept = float(result[1])
    low = float(result[2])
    high = float(result[3])
    span = float(x[-1] - x[0])
    growth = slope * span
    base = float(y[0])
    return SlopeFit(
        slope=slope,
        ci_low=low,
        ci_high=high,
        intercept=intercept,
        growth_pct=_percent(growth, base),
        growth_bytes=growth,
        first_bytes=base,
        episodes_spanned=span,
        samples=int(x.size),
        growth_pct_of_rss=None if rss_base is None else _percent(growth, rss_base),
    )


def _percent(part: float, whole: float) -> float:
    # A base of zero cannot happen with real memory; one byte keeps the result finite (JSON).
    return 100.0 * part / max(whole, 1.0)


def late_window(
    episodes: Sequence[float], values: Sequence[float]
) -> tuple[list[float], list[float]]:
    """The last third of the samples (at least ``MIN_LATE_SAMPLES``), for the "does it
    still grow at the end?" check."""
    n = len(episodes)
    start = max(0, n - max(MIN_LATE_SAMPLES, n // 3))
    return list(episodes[start:]), list(values[start:])


def judge_series(
    full: SlopeFit,
    late: SlopeFit | None,
    criteria: Criteria,
    *,
    what: str,
    floor_base: float | None = None,
) -> SeriesJudgement:
    """Apply the module's rule to one series (``what`` names it in the reason).

    ``floor_base`` is what the growth floor is a percent of: the process's RSS at the
    first sample (default: the series' own first sample).
    """
    t = criteria.threshold
    floor = criteria.growth_floor_pct
    span = full.episodes_spanned or 0.0
    base = floor_base if floor_base is not None else (full.first_bytes or 0.0)
    growth_pct = _percent(full.slope * span, base)
    upper_growth_pct = _percent(full.ci_high * span, base)
    trend = (
        f"{what} {exact_bytes(full.slope)}/episode "
        f"({int(criteria.confidence * 100)}% CI {exact_bytes(full.ci_low)} to "
        f"{exact_bytes(full.ci_high)}), {size(full.slope * span, signed=True)} over "
        f"{span:g} episodes ({growth_pct:+.2f}% of RSS)"
    )
    if full.ci_high <= t:
        return SeriesJudgement("clean", f"{trend}: within {t:g} B/episode")
    if upper_growth_pct <= floor:
        return SeriesJudgement(
            "clean", f"{trend}: growth within the floor, {floor:g}% of the process"
        )
    if late is not None and late.ci_high <= t:
        return SeriesJudgement(
            "clean",
            f"{trend}, but flat over the last third ({exact_bytes(late.slope)}/episode): "
            "growth that levels off is a bound being reached (e.g. a cache filling), "
            "not a leak",
            levelled_off=True,
        )
    if full.ci_low > t and growth_pct > floor:
        if late is None or late.ci_low > t:
            still = (
                ""
                if late is None
                else f", and still growing over the last third ({exact_bytes(late.slope)}/episode)"
            )
            return SeriesJudgement("leak", f"{trend}: above {t:g} B/episode{still}")
        return SeriesJudgement(
            "inconclusive",
            f"{trend}, but the last third's trend ({exact_bytes(late.ci_low)} to "
            f"{exact_bytes(late.ci_high)}) cannot tell growth that continues from growth "
            "that levels off; run more episodes",
        )
    return SeriesJudgement(
        "inconclusive",
        f"{trend}: the interval straddles {t:g} B/episode; too noisy to say, run more episodes",
    )


def analyze(
    episodes: Sequence[float],
    traced: Sequence[float],
    rss: Sequence[float],
    criteria: Criteria,
) -> LeakAnalysis:
    """Fit both series and decide the run's verdict."""
    if len(episodes) < MIN_SAMPLES:
        raise ValueError(f"leak analysis needs at least {MIN_SAMPLES} samples")
    fits: dict[str, tuple[SlopeFit, SlopeFit | None]] = {}
    rss_base = float(rss[0])
    for name, values in (("traced", traced), ("rss", rss)):
        full = fit_trend(episodes, values, confidence=criteria.confidence, rss_base=rss_base)
        late_x, late_y = late_window(episodes, values)
        late = (
            fit_trend(late_x, late_y, confidence=criteria.confidence, rss_base=rss_base)
            if len(late_x) >= MIN_LATE_SAMPLES
            else None
        )
        fits[name] = (full, late)
    traced_fit, traced_late = fits["traced"]
    rss_fit, rss_late = fits["rss"]
    on_traced = judge_series(
        traced_fit, traced_late, criteria, what="retained memory", floor_base=rss_base
    )
    on_rss = judge_series(rss_fit, rss_late, criteria, what="RSS", floor_base=rss_base)
    verdict, reason = combine(on_traced, on_rss)
    return LeakAnalysis(verdict, reason, traced_fit, rss_fit, traced_late, rss_late)


def combine(traced: SeriesJudgement, rss: SeriesJudgement) -> tuple[LeakVerdict, str]:
    """Traced memory decides; RSS can only add a leak the Python allocator does not see."""
    if traced.verdict == "leak":
        return "leak", traced.reason
    if rss.verdict == "leak" and traced.verdict == "clean":
        return "leak", (
            f"{rss.reason}, while Python's traced memory does not grow: memory outside "
            "Python's allocator (a C extension, native buffers)"
        )
    if traced.verdict == "inconclusive":
        return "inconclusive", traced.reason
    if rss.verdict != "clean":
        return "clean", f"{traced.reason} (RSS: {rss.reason})"
    return "clean", traced.reason


def type_growth(
    start: Mapping[str, int],
    end: Mapping[str, int],
    episodes: int,
    *,
    top: int = 10,
    min_growth: int | None = None,
) -> list[TypeGrowth]:
    """Object types whose live count grew, largest growth first.

    ``min_growth`` (default: 1 per 100 episodes, at least 5) keeps the handful of objects
    that a clean run creates once out of the table.
    """
    floor = max(5, episodes // 100) if min_growth is None else min_growth
    rows = [
        TypeGrowth(
            type=name,
            start=start.get(name, 0),
            end=count,
            growth=count - start.get(name, 0),
            per_episode=(count - start.get(name, 0)) / episodes if episodes else 0.0,
        )
        for name, count in end.items()
        if count - start.get(name, 0) >= floor
    ]
    rows.sort(key=lambda row: (-row.growth, row.type))
    return rows[:top]


Frame = tuple[str, int]
"""(filename, line)."""


@dataclass(frozen=True)
class RawSite:
    """One traceback's growth between the start and the end of the measured part."""

    frames: tuple[Frame, ...]
    """Innermost first."""
    size_diff: int
    count_diff: int


def rank_sites(
    raw: Sequence[RawSite],
    episodes: int,
    *,
    is_plumbing: Callable[[str], bool],
    stage_of: Callable[[Sequence[Frame]], str | None],
    describe: Callable[[str, int], tuple[str | None, str | None]] = lambda f, n: (None, None),
    top: int = 10,
) -> list[LeakSite]:
    """Growing allocation sites, largest first.

    ``raw`` holds the pipeline's tracebacks (the caller has dropped ctool's own
    bookkeeping). ``is_plumbing(file)`` hides frames of
    the machinery (ctool's harness, the event loop, tracemalloc, importlib) from each
    traceback, and the site is the innermost frame left. Tracebacks that differ only in
    hidden frames are merged; one line reached by two call paths stays two sites (each may
    belong to a different stage). ``describe(file, line)`` gives (function, source line).
    """
    merged: dict[tuple[Frame, ...], tuple[int, int]] = {}
    for site in raw:
        user = tuple(frame for frame in site.frames if not is_plumbing(frame[0]))
        if not user:
            continue
        size, count = merged.get(user, (0, 0))
        merged[user] = (size + site.size_diff, count + site.count_diff)
    growing = [item for item in merged.items() if item[1][0] > 0]
    ordered = sorted(growing, key=lambda item: (-item[1][0], item[0]))[:top]
    sites: list[LeakSite] = []
    for frames, (size, count) in ordered:
        filename, line = frames[0]
        function, code = describe(filename, line)
        sites.append(
            LeakSite(
                file=filename,
                line=line,
                function=function,
                code=code,
                stage=stage_of(frames),
                size_diff_bytes=size,
                count_diff=count,
                bytes_per_episode=size / episodes if episodes else 0.0,
                traceback=[f"{f}:{n}" for f, n in frames],
            )
        )
    return sites


def attribute_sites(
    sites: Sequence[LeakSite],
    window: Sequence[RawSite],
    *,
    is_plumbing: Callable[[str], bool],
    stage_of: Callable[[Sequence[Frame]], str | None],
) -> list[LeakSite]:
    """Give each site the stage and traceback of its largest deep traceback in ``window``.

    ``window`` holds the live blocks of a few episodes traced with deep tracebacks; a site
    (found with one-frame tracebacks) is matched by its line, the innermost frame that is
    not plumbing. Sites the window did not see keep what they had.
    """
    best: dict[Frame, tuple[int, tuple[Frame, ...]]] = {}
    for raw in window:
        user = tuple(frame for frame in raw.frames if not is_plumbing(frame[0]))
        if raw.size_diff <= 0 or not user:
            continue
        known = best.get(user[0])
        if known is None or raw.size_diff > known[0]:
            best[user[0]] = (raw.size_diff, user)
    out: list[LeakSite] = []
    for site in sites:
        found = best.get((site.file, site.line))
        if found is None:
            out.append(site)
            continue
        frames = found[1]
        out.append(
            site.model_copy(
                update={
                    "stage": stage_of(frames) or site.stage,
                    "traceback": [f"{f}:{n}" for f, n in frames],
                }
            )
        )
    return out
