"""The sequential leak verdict: does retained memory grow without bound, and how fast?

Pure functions over memory samples (``ctool.leak.runner`` collects them, round after round,
and asks :func:`decide` after each round whether the answer is settled). The question is not
"is the slope above a threshold" -- a cache still warming and a slow true leak look alike
over a thousand episodes -- but "does the growth stop?". The rules (docs/leakcheck.md):

* Each series is fitted twice: the whole measured run and its **last window** (the last
  third of the samples). ``T`` is the user's tolerance (``--threshold``, default 0).
* **growing**: both intervals' lower bounds are above ``T`` (unless the last window is
  both within the resolution and under a quarter of the run's slope: growth fading out).
* **flat**: the last window's upper bound is within ``max(T, resolution)``.
* **unsettled**: neither (the last window is too noisy to say).

Then, for retained (traced) memory:

* flat -> **clean**: ``stopped`` when the whole run grew (a plateau, with its level and the
  episode it was reached), ``none`` when it did not grow at all;
* growing, at a stable rate (the last window's slope at least a quarter of the run's), over at least
  ``horizon`` measured episodes and more than the growth floor -> **leak**; before the horizon
  the run extends; when the budget runs out first -> **inconclusive** (still growing);
* unsettled -> extend; when the budget runs out -> **inconclusive**, with the detection limit
  reached: the width of the last window's interval, the smallest steady growth it would show.

RSS sees memory outside what the engine traces (``malloc`` from C under tracemalloc): when
traced memory is flat and RSS grows steadily by more than ``RSS_RESOLUTION`` per episode
beyond it, the same horizon rule applies to RSS and the reason says RSS grew beyond traced
memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from ctool.analysis.leak import (
    MIN_LATE_SAMPLES,
    MIN_SAMPLES,
    RSS_RESOLUTION,
    Criteria,
    fit_trend,
    late_window,
)
from ctool.model.format import exact_bytes, size
from ctool.model.schema import LeakVerdict, Plateau, Projection, SlopeFit

STABLE_FRACTION = 0.25
"""Growth is steady when the last window's slope is at least this share of the run's. Not
higher: a dict's table grows in steps (resizes), and a last window between two resizes
sees only the per-entry objects, half the run's average rate."""
PLATEAU_SHARE = 0.95
"""A plateau is reached at the first sample with this share of the rise."""

State = Literal["growing", "flat", "unsettled"]
Growth = Literal["steady", "stopped", "none", "slowing", "unsettled"]


@dataclass(frozen=True)
class LeakAnalysis:
    """The verdict (``None`` while the run should extend) and what it rests on."""

    verdict: LeakVerdict | None
    reason: str
    growth: Growth
    traced: SlopeFit
    rss: SlopeFit
    traced_late: SlopeFit | None
    rss_late: SlopeFit | None
    detection_limit: float | None = None
    detection_window: float | None = None
    plateau: Plateau | None = None
    rss_beyond_traced: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def settled(self) -> bool:
        return self.verdict is not None


@dataclass(frozen=True)
class Fits:
    """The four trends: traced and RSS over the run and over its last window."""

    traced: SlopeFit
    rss: SlopeFit
    traced_late: SlopeFit | None
    rss_late: SlopeFit | None

    def analysis(
        self,
        verdict: LeakVerdict | None,
        reason: str,
        growth: Growth,
        limit: float | None,
        window: float | None,
        *,
        plateau: Plateau | None = None,
        beyond: float | None = None,
    ) -> LeakAnalysis:
        return LeakAnalysis(
            verdict,
            reason,
            growth,
            self.traced,
            self.rss,
            self.traced_late,
            self.rss_late,
            detection_limit=limit,
            detection_window=window,
            plateau=plateau,
            rss_beyond_traced=beyond,
        )


def state_of(full: SlopeFit, late: SlopeFit | None, floor: float, resolution: float) -> State:
    if late is None:
        late = full
    quiet = late.ci_high <= max(floor, resolution)
    faded = late.slope < STABLE_FRACTION * full.slope
    if late.ci_low > floor and full.ci_low > floor and not (quiet and faded):
        return "growing"
    if quiet:
        return "flat"
    return "unsettled"


def _fits(
    episodes: Sequence[float], values: Sequence[float], criteria: Criteria, rss_base: float
) -> tuple[SlopeFit, SlopeFit | None]:
    full = fit_trend(episodes, values, confidence=criteria.confidence, rss_base=rss_base)
    late_x, late_y = late_window(episodes, values)
    late = (
        fit_trend(late_x, late_y, confidence=criteria.confidence, rss_base=rss_base)
        if len(late_x) >= MIN_LATE_SAMPLES
        else None
    )
    return full, late


def describe_trend(fit: SlopeFit, what: str, confidence: float) -> str:
    span = fit.episodes_spanned or 0.0
    return (
        f"{what} {exact_bytes(fit.slope)}/episode ({int(confidence * 100)}% CI "
        f"{exact_bytes(fit.ci_low)} to {exact_bytes(fit.ci_high)}), "
        f"{size(fit.slope * span, signed=True)} over {span:g} episodes"
    )


def plateau_of(episodes: Sequence[float], values: Sequence[float], level: float) -> Plateau:
    """The level of the last window and the episode from which the series stays at 95 %
    of the rise to it or above (after its last sample below: a spike early on does not
    count as reaching it)."""
    rise = level - values[0]
    target = values[0] + PLATEAU_SHARE * rise
    reached = int(episodes[0])
    for episode, value in zip(episodes, values, strict=True):
        if value < target:
            reached = int(episode)
    later = [int(e) for e in episodes if e > reached]
    return Plateau(bytes=level, growth_bytes=rise, episode=later[0] if later else reached)


def decide(
    episodes: Sequence[float],
    traced: Sequence[float],
    rss: Sequence[float],
    criteria: Criteria,
    *,
    final: bool,
) -> LeakAnalysis:
    """Judge the samples so far; ``final``: the budget is spent, no more rounds."""
    if len(episodes) < MIN_SAMPLES:
        raise ValueError(f"leak analysis needs at least {MIN_SAMPLES} samples")
    rss_base = float(rss[0])
    t_full, t_late = _fits(episodes, traced, criteria, rss_base)
    r_full, r_late = _fits(episodes, rss, criteria, rss_base)
    done = float(episodes[-1])
    fits = Fits(t_full, r_full, t_late, r_late)
    t_state = state_of(t_full, t_late, criteria.threshold, criteria.resolution)
    what = "retained memory"
    fit, late = t_full, t_late
    beyond = rss_outgrows_traced(fits, criteria)
    if t_state == "flat":
        if beyond is None:
            return _clean(episodes, traced, criteria, fits)
        t_state, what, fit, late = "growing", "RSS", r_full, r_late
    window = late if late is not None else fit
    limit = window.ci_high - window.ci_low
    span = window.episodes_spanned
    trend = describe_trend(fit, what, criteria.confidence)
    native = _native_note(beyond, t_full.slope)
    if t_state == "unsettled":
        if not final:
            return fits.analysis(None, f"{trend}: not settled yet", "unsettled", limit, span)
        return fits.analysis(
            "inconclusive",
            f"{trend}: the budget ran out before the growth was settled; steady growth below "
            f"{exact_bytes(limit)}/episode over the last {span or 0:g} "
            f"episodes would not have been seen{native}",
            "unsettled",
            limit,
            span,
            beyond=beyond,
        )
    stable = late is None or late.slope >= STABLE_FRACTION * fit.slope
    floor_ok = 100.0 * fit.slope * done / max(rss_base, 1.0) > criteria.growth_floor_pct
    if stable and done >= criteria.horizon and floor_ok:
        still = "" if late is None else f", {exact_bytes(late.slope)}/episode over the last third"
        return fits.analysis(
            "leak",
            f"{trend}: still growing at a stable rate after {done:g} episodes (horizon "
            f"{criteria.horizon:g}){still}{native}",
            "steady",
            limit,
            span,
            beyond=beyond,
        )
    growth: Growth = "steady" if stable else "slowing"
    if not final:
        return fits.analysis(None, f"{trend}: still growing", growth, limit, span)
    why = _why_not_settled(stable=stable, done=done, criteria=criteria)
    return fits.analysis(
        "inconclusive",
        f"{trend}: still growing when the budget ran out; {why}{native}",
        growth,
        limit,
        span,
        beyond=beyond,
    )


def _why_not_settled(*, stable: bool, done: float, criteria: Criteria) -> str:
    if not stable:
        return "growth is slowing and may level off later"
    if done < criteria.horizon:
        return (
            f"a bound reached after more than {done:g} episodes cannot be ruled out "
            f"(the horizon is {criteria.horizon:g})"
        )
    return f"the growth is below the floor ({criteria.growth_floor_pct:g}% of RSS)"


RSS_OUTGROWS = 2.0
"""RSS grows "clearly faster" than traced memory: the lower end of its slope's interval is
above this many times the upper end of the traced slope's (and the gap above the floor)."""


def rss_outgrows_traced(fits: Fits, criteria: Criteria) -> float | None:
    """Bytes per episode by which RSS grows beyond traced memory, when it clearly does --
    whatever the traced verdict -- else None. That growth is outside Python's allocator,
    which only ``--engine memray`` attributes."""
    floor = max(criteria.threshold, RSS_RESOLUTION)
    state = state_of(fits.rss, fits.rss_late, floor, floor)
    gap = fits.rss.slope - fits.traced.slope
    if state != "growing" or gap <= floor:
        return None
    if fits.rss.ci_low <= RSS_OUTGROWS * max(fits.traced.ci_high, 0.0):
        return None
    return gap


def _native_note(beyond: float | None, traced_slope: float) -> str:
    if beyond is None:
        return ""
    return (
        f"; the process's RSS grew {exact_bytes(beyond)}/episode beyond traced memory "
        f"({exact_bytes(traced_slope)}/episode traced): memory outside Python's allocator "
        "(a C extension, malloc) that this engine cannot see; `--engine memray` sees it "
        "with its call site"
    )


def _clean(
    episodes: Sequence[float],
    traced: Sequence[float],
    criteria: Criteria,
    fits: Fits,
) -> LeakAnalysis:
    full, late = fits.traced, fits.traced_late
    window = late if late is not None else full
    limit = max(window.ci_high, 0.0)
    span = window.episodes_spanned
    trend = describe_trend(full, "retained memory", criteria.confidence)
    flat = f"flat over the last {window.episodes_spanned or 0:g} episodes (at most " + (
        f"{exact_bytes(limit)}/episode)"
    )
    t = criteria.threshold
    _, late_y = late_window(episodes, traced)
    level = float(sorted(late_y)[len(late_y) // 2])
    if full.ci_low > t or _rose(traced, level, late_y, t * (full.episodes_spanned or 0.0)):
        plateau = plateau_of(episodes, traced, level)
        return fits.analysis(
            "clean",
            f"{trend}, then {flat}: growth that stopped (bounded), a plateau of "
            f"{size(plateau.growth_bytes, signed=True)} reached by episode {plateau.episode}",
            "stopped",
            limit,
            span,
            plateau=plateau,
        )
    return fits.analysis("clean", f"{trend}: no growth; {flat}", "none", limit, span)


def _rose(values: Sequence[float], level: float, late: Sequence[float], tolerated: float) -> bool:
    """The series rose to ``level``: from the median of its first samples, by more than
    the tolerance over the run and by more than four times the late window's spread (its
    median absolute deviation, scaled to a standard deviation)."""
    head = sorted(values[:MIN_LATE_SAMPLES])
    first = head[len(head) // 2]
    deviations = sorted(abs(v - level) for v in late)
    spread = 1.4826 * deviations[len(deviations) // 2]
    rise = level - first
    return rise > max(tolerated, 4 * spread, 0.0)


def projection(
    slope: float, *, episodes_per_s: float | None, rss_bytes: float | None
) -> Projection:
    """Bytes per million episodes and, at the measured rate, time to +10 % of RSS."""
    seconds = None
    if slope > 0 and episodes_per_s and rss_bytes:
        seconds = 0.1 * rss_bytes / (slope * episodes_per_s)
    return Projection(
        bytes_per_episode=slope,
        bytes_per_million_episodes=slope * 1e6,
        episodes_per_s=episodes_per_s,
        seconds_to_10pct_rss=seconds,
    )
