"""Leak analysis: pure functions from memory samples to slopes, sites and types.

Nothing here measures, prints or reads a clock; ``ctool.leak.runner`` collects the samples
and calls these. A trend is a Theil--Sen fit (median of pairwise slopes, robust to the odd
GC or allocator step) of bytes against measured episodes, with Sen's confidence interval
(``scipy.stats.theilslopes``). The verdict built on the trends (sequential: leak, clean
because growth stopped, or inconclusive with a detection limit) is
``ctool.analysis.leak_verdict``; the rules and their defaults are in ``docs/leakcheck.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ctool.model.schema import LeakSite, SlopeFit, TypeGrowth

DEFAULT_THRESHOLD = 0.0
"""Bytes per episode the user tolerates (``--threshold``): growth at or below it is not a
leak. 0: any growth that goes on is one."""
DEFAULT_RESOLUTION = 8.0
"""Bytes per episode: growth is "flat" (stopped) when the upper bound of the last window's
interval is within max(threshold, this). See docs/leakcheck.md."""
DEFAULT_HORIZON = 10_000
"""Measured episodes of steady growth before it is called a leak: a bound reached later
than this (a cache filling over more episodes) is, for the check, a leak."""
RSS_RESOLUTION = 256.0
"""Bytes per episode: RSS moves in pages and allocator arenas; steadier growth than this,
beyond traced memory's, is native memory growing."""
MAX_FIT_SAMPLES = 400
"""Theil--Sen is O(n^2): longer series are thinned evenly to this many samples."""
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
    resolution: float = DEFAULT_RESOLUTION
    horizon: int = DEFAULT_HORIZON


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
    if x.size > MAX_FIT_SAMPLES:
        keep = np.unique(np.linspace(0, x.size - 1, MAX_FIT_SAMPLES).round().astype(int))
        x, y = x[keep], y[keep]
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


STEADY_RATIO = 1.5
"""A type grows steadily when its growth per episode before and after the last round's
start differ by less than this factor (both positive)."""


def type_growth(
    start: Mapping[str, int],
    end: Mapping[str, int],
    episodes: int,
    *,
    top: int = 10,
    min_growth: int | None = None,
    mid: Mapping[str, int] | None = None,
    mid_episode: int = 0,
    sites: Mapping[str, tuple[str, str | None]] | None = None,
) -> list[TypeGrowth]:
    """Object types whose live count grew, largest growth first.

    ``min_growth`` (default: 1 per 100 episodes, at least 5) keeps the handful of objects
    that a clean run creates once out of the table. With ``mid`` (the count at the start
    of the last round, after ``mid_episode`` episodes) each row has its growth per episode
    before and after, and ``steady`` when the two agree; ``sites`` gives a type's line.
    """
    floor = max(5, episodes // 100) if min_growth is None else min_growth
    rows = []
    for name, count in end.items():
        growth = count - start.get(name, 0)
        if growth < floor:
            continue
        early = late = None
        steady = None
        if mid is not None and 0 < mid_episode < episodes:
            early = (mid.get(name, 0) - start.get(name, 0)) / mid_episode
            late = (count - mid.get(name, 0)) / (episodes - mid_episode)
            steady = early > 0 and late > 0 and max(early, late) < STEADY_RATIO * min(early, late)
        site, stage = (sites or {}).get(name, (None, None))
        rows.append(
            TypeGrowth(
                type=name,
                start=start.get(name, 0),
                end=count,
                growth=growth,
                per_episode=growth / episodes if episodes else 0.0,
                per_episode_early=early,
                per_episode_late=late,
                steady=steady,
                site=site,
                stage=stage,
            )
        )
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
