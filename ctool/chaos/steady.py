"""The steady-state hypothesis, per window, and what recovery looked like.

Tolerances (the plan's ``[hypothesis]``, or defaults from the control):

* ``p50_ms``, ``p99_ms``: the window's percentiles at most this;
* ``error_rate``: bad episodes (any outcome but ``ok``) at most this fraction of the window's;
* ``throughput_ratio``: the window's good episodes per second at least this fraction of the
  control's median window;
* ``wrong_rate``: wrong outputs (escaped or caught) at most this fraction.

A window is checked against every tolerance; a phase (before the first fault, during,
after the last) holds when all its windows do.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from ctool.chaos.driver import EpisodeRecord
from ctool.chaos.plan import OUTPUT_PREFIX
from ctool.model.chaos_schema import (
    FaultWindow,
    HypothesisCheck,
    Recovery,
    TimelineWindow,
)

DEFAULT_ERROR_RATE = 0.01
DEFAULT_P99_FACTOR = 2.0
DEFAULT_THROUGHPUT_RATIO = 0.5


def percentile(values: list[float], q: float) -> float | None:
    """The exact ``q`` percentile (nearest rank) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(q / 100.0 * len(ordered)) - 1, 0)
    return ordered[rank]


def default_hypothesis(control: list[EpisodeRecord]) -> dict[str, float]:
    """Without a plan's ``[hypothesis]``: p99 within 2x the control's, 1 % errors, no wrong
    outputs, half the control's throughput (a shared machine's own swings stay inside)."""
    p99 = percentile([r.latency_ms for r in control if r.status == "ok"], 99) or 0.0
    return {
        "p99_ms": round(max(p99 * DEFAULT_P99_FACTOR, 1.0), 3),
        "error_rate": DEFAULT_ERROR_RATE,
        "wrong_rate": 0.0,
        "throughput_ratio": DEFAULT_THROUGHPUT_RATIO,
    }


@dataclass
class Spans:
    """When faults were on: [start, end) intervals on the experiment's clock."""

    intervals: list[tuple[float, float, str]]

    @property
    def first_start(self) -> float | None:
        return min((s for s, _, _ in self.intervals), default=None)

    @property
    def last_end(self) -> float | None:
        return max((e for _, e, _ in self.intervals), default=None)

    def active(self, start: float, end: float) -> list[str]:
        return sorted(
            {label for s, e, label in self.intervals if s < end - SLACK_S and e > start + SLACK_S}
        )


def fault_spans(
    stage_faults: list[tuple[str, float, float]], windows: list[FaultWindow], run_end: float
) -> Spans:
    out = [(s, min(e, run_end), label) for label, s, e in stage_faults if s < run_end]
    out += [(w.start_s, w.end_s if w.end_s is not None else run_end, w.label) for w in windows]
    return Spans(out)


SLACK_S = 0.02
"""A window that overlaps a fault by less than this (a fault stopped a few ms late) is not
"during" it."""


def _phase(start: float, end: float, spans: Spans) -> str:
    first, last = spans.first_start, spans.last_end
    if first is None or last is None or end <= first + SLACK_S:
        return "before"
    if start >= last - SLACK_S:
        return "after"
    return "during"


def timeline(
    experiment: list[EpisodeRecord],
    control: list[EpisodeRecord],
    outcomes: dict[int, str],
    spans: Spans,
    *,
    window_s: float,
    duration_s: float,
    hypothesis: dict[str, float],
    by_index: dict[int, EpisodeRecord] | None = None,
) -> list[TimelineWindow]:
    """Windows of ``window_s`` over the experiment, with the control's same windows."""
    count = max(round(duration_s / window_s), 1)  # a last sliver joins the window before
    control_rates = _rates(control, {r.index: "ok" for r in control if r.status == "ok"})
    reference = statistics.median(_per_window(control_rates, window_s, count)) if control else 0
    rows: list[TimelineWindow] = []
    for n in range(count):
        start = n * window_s
        end = duration_s if n == count - 1 else (n + 1) * window_s
        last = n == count - 1
        mine = [r for r in experiment if start <= r.end_s and (r.end_s < end or last)]
        theirs = [r for r in control if start <= r.end_s and (r.end_s < end or last)]
        good = [r for r in mine if outcomes.get(r.index) == "ok"]
        span_s = max(end - start, 1e-9)
        row = TimelineWindow(
            start_s=round(start, 6),
            end_s=round(end, 6),
            phase=_phase(start, end, spans),  # type: ignore[arg-type]
            episodes=len(mine),
            errors=sum(1 for r in mine if _failed(outcomes.get(r.index, "ok"))),
            wrong=sum(1 for r in mine if outcomes.get(r.index, "").startswith("wrong")),
            p50_ms=percentile([r.latency_ms for r in mine], 50),
            p99_ms=percentile([r.latency_ms for r in mine], 99),
            throughput_eps=len(good) / span_s,
            control_episodes=len(theirs),
            control_p50_ms=percentile([r.latency_ms for r in theirs], 50),
            control_p99_ms=percentile([r.latency_ms for r in theirs], 99),
            control_throughput_eps=len(theirs) / span_s,
            faults=spans.active(start, end),
        )
        row.violations = violations(row, hypothesis, reference)
        row.violations += output_violations(row, mine, by_index or {}, hypothesis)
        row.holds = not row.violations
        rows.append(row)
    return rows


def _failed(outcome: str) -> bool:
    """Did not return a result: failed, timed out, lost (wrong outputs count apart)."""
    return outcome != "ok" and not outcome.startswith("wrong") and outcome != "duplicated"


def _rates(records: list[EpisodeRecord], good: dict[int, str]) -> list[float]:
    return [r.end_s for r in records if r.index in good]


def _per_window(ends: list[float], window_s: float, count: int) -> list[float]:
    counts = [0] * count
    for end in ends:
        n = int(end // window_s)
        if 0 <= n < count:
            counts[n] += 1
    return [c / window_s for c in counts] or [0.0]


def violations(row: TimelineWindow, hypothesis: dict[str, float], reference: float) -> list[str]:
    """Which tolerances the window breaks, each as a short phrase."""
    out: list[str] = []
    if "p50_ms" in hypothesis and row.p50_ms is not None and row.p50_ms > hypothesis["p50_ms"]:
        out.append(f"p50 {row.p50_ms:.1f} ms > {hypothesis['p50_ms']:g} ms")
    if "p99_ms" in hypothesis and row.p99_ms is not None and row.p99_ms > hypothesis["p99_ms"]:
        out.append(f"p99 {row.p99_ms:.1f} ms > {hypothesis['p99_ms']:g} ms")
    episodes = max(row.episodes, 1)
    if "error_rate" in hypothesis and row.errors / episodes > hypothesis["error_rate"]:
        out.append(f"errors {row.errors}/{row.episodes} > {hypothesis['error_rate']:.1%}")
    if "wrong_rate" in hypothesis and row.wrong / episodes > hypothesis["wrong_rate"]:
        out.append(f"wrong {row.wrong}/{row.episodes} > {hypothesis['wrong_rate']:.1%}")
    ratio = hypothesis.get("throughput_ratio")
    if ratio is not None and reference > 0 and row.throughput_eps < ratio * reference:
        out.append(f"throughput {row.throughput_eps:.1f}/s < {ratio:.0%} of {reference:.1f}/s")
    return out


def output_violations(
    row: TimelineWindow,
    mine: list[EpisodeRecord],
    control: dict[int, EpisodeRecord],
    hypothesis: dict[str, float],
) -> list[str]:
    """``[hypothesis.outputs]``: each watched output's mean over the window's episodes
    against the control's mean over the same episodes."""
    out: list[str] = []
    for key, tolerance in hypothesis.items():
        if not key.startswith(OUTPUT_PREFIX):
            continue
        name = key[len(OUTPUT_PREFIX) :]
        pairs = [
            (r.values[name], ref.values[name])
            for r in mine
            if name in r.values and (ref := control.get(r.index)) is not None and name in ref.values
        ]
        if not pairs:
            continue
        mean = statistics.fmean(a for a, _ in pairs)
        reference = statistics.fmean(b for _, b in pairs)
        if not math.isfinite(mean):
            out.append(f"{name}: not a number")
            continue
        off = abs(mean - reference) / abs(reference) if reference else float(mean != 0)
        row.outputs[name] = round(off, 6)
        if off > tolerance:
            out.append(f"{name} {off:.1%} off the control > {tolerance:.1%}")
    return out


def checks(rows: list[TimelineWindow]) -> list[HypothesisCheck]:
    out: list[HypothesisCheck] = []
    for phase in ("before", "during", "after"):
        mine = [r for r in rows if r.phase == phase]
        check = HypothesisCheck(phase=phase)
        check.windows = len(mine)
        check.held = sum(1 for r in mine if r.holds)
        if mine:
            check.verdict = "held" if check.held == len(mine) else "violated"
            broken = next((r for r in mine if not r.holds), None)
            if broken is not None:
                check.first_violation = (
                    f"{broken.start_s:g}-{broken.end_s:g} s: {'; '.join(broken.violations)}"
                )
        out.append(check)
    return out


def recovery(
    experiment: list[EpisodeRecord],
    control: list[EpisodeRecord],
    outcomes: dict[int, str],
    spans: Spans,
    rows: list[TimelineWindow],
    hypothesis: dict[str, float],
    *,
    duration_s: float,
    control_duration_s: float,
) -> Recovery:
    limit = hypothesis.get("p99_ms", math.inf)

    def bad(r: EpisodeRecord) -> bool:
        return outcomes.get(r.index, "ok") != "ok" or r.latency_ms > limit

    out = Recovery()
    first, last = spans.first_start, spans.last_end
    broken = sorted((r for r in experiment if bad(r)), key=lambda r: r.end_s)
    if first is not None:
        detected = next((r for r in broken if r.end_s >= first), None)
        out.time_to_detect_s = None if detected is None else round(detected.end_s - first, 6)
    if last is not None and last < duration_s:
        after = [r for r in broken if r.end_s >= last]
        tail_start = rows[-1].start_s if rows else duration_s
        if not after:
            out.time_to_recover_s = 0.0
        elif after[-1].end_s < tail_start:  # good again before the run's last window
            out.time_to_recover_s = round(after[-1].end_s - last, 6)
    good = sum(1 for v in outcomes.values() if v == "ok")
    control_good = sum(1 for r in control if r.status == "ok")
    if control_good and duration_s > 0 and control_duration_s > 0:
        rate = good / duration_s
        out.throughput_lost = round(1.0 - rate / (control_good / control_duration_s), 6)
    control_p99 = percentile([r.latency_ms for r in control if r.status == "ok"], 99)
    if control_p99 and first is not None and last is not None:
        during = [r.latency_ms for r in experiment if first <= r.start_s < last]
        after_ = [r.latency_ms for r in experiment if r.start_s >= last]
        p_during, p_after = percentile(during, 99), percentile(after_, 99)
        out.p99_inflation_during = None if p_during is None else round(p_during / control_p99, 4)
        out.p99_inflation_after = None if p_after is None else round(p_after / control_p99, 4)
    allowed = hypothesis.get("error_rate")
    if allowed:
        out.error_budget = round(allowed * len(outcomes), 4)
        bad_count = sum(1 for v in outcomes.values() if v != "ok")
        out.budget_burned = round(bad_count / out.error_budget, 4) if out.error_budget else None
        rates = [r.errors / r.episodes / allowed for r in rows if r.episodes]
        out.burn_rate_max = round(max(rates), 4) if rates else None
    return out
