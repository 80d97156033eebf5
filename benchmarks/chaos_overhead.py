"""What does chaos cost a span or a fault point when no chaos run targets it? (issue 22)

Targets: with no plan installed, at most 20 ns more per span (and per ``fault_point``) than
before the fault hook existed; with a plan installed that does not target the stage, at
most 100 ns more.

Variants, interleaved in rounds (each round runs every variant's block once, in a rotated
order; a block is ``--calls`` calls in a tight loop), timed per call in the thread's CPU
time (``time.thread_time_ns``: time the thread spent descheduled on a busy machine does
not count):

* span: ``with span("x"): pass`` outside a recorded episode (the hook's check is the same
  work either way; inside one, two clock reads per span are timed too, which on a VM whose
  clock is a system call swamp a 20 ns difference: ``--recorded`` times that case), with
  - ``before``: a copy of the span class as it was before the hook (main at 26250a6),
  - ``no plan``: ``ctool.spans.span`` with no hook installed,
  - ``plan``: ``ctool.spans.span`` with a chaos plan installed whose faults target
    other spans and points;
* fault point: ``fault_point("x", v)`` with
  - ``identity``: a plain function returning ``v`` (what a call costs at all),
  - ``before``: a copy of ``fault_point`` as it was on main at 26250a6,
  - ``no plan`` (judged against ``before``) and ``plan`` (judged against ``no plan``:
    ``fault_point`` has always cost a global read and a call).

Each variant's extra cost is the median over rounds of (variant - baseline) per call, with
a distribution-free 95 % interval of that median (order statistics of the rounds' paired
differences); the machine is shared, so the rounds are many and short.

Run:  python benchmarks/chaos_overhead.py [--rounds 201] [--calls 5000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from time import perf_counter_ns, thread_time_ns
from types import TracebackType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ctool import spans  # noqa: E402
from ctool.chaos.inject import Injector  # noqa: E402
from ctool.chaos.plan import ChaosPlan, parse_fault_option  # noqa: E402
from ctool.faults import fault_point  # noqa: E402
from ctool.spans import EpisodeRecorder, activate, deactivate, span  # noqa: E402

_get = spans._current.get  # noqa: SLF001 - the benchmark copies the old span exactly
_clock = perf_counter_ns


class BeforeSpan:
    """``ctool.spans.span`` as it was before the chaos hook (main at 26250a6)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> BeforeSpan:
        log = _get()
        if log is not None:
            log.append(_clock())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        log = _get()
        if log is not None:
            log.append((self.name, _clock()))


def identity(name: str, value: Any) -> Any:
    return value


_before_injector: Callable[[str, Any], Any] | None = None


def before_point(name: str, value: Any) -> Any:
    """``ctool.fault_point`` as it was before the chaos run's targets (main at 26250a6)."""
    injector = _before_injector
    if injector is None:
        return value
    return injector(name, value)


RECORDED = False
"""``--recorded``: time spans inside a recorded episode (two clock reads each)."""


def span_block(cls: Callable[[str], Any], calls: int) -> float:
    one = cls("x")
    token = activate(EpisodeRecorder()) if RECORDED else None
    start = thread_time_ns()
    for _ in range(calls):
        with one:
            pass
    elapsed = thread_time_ns() - start
    if token is not None:
        deactivate(token)
    return elapsed / calls


def point_block(function: Callable[[str, Any], Any], calls: int) -> float:
    value = 1.5
    start = thread_time_ns()
    for _ in range(calls):
        function("x", value)
    return (thread_time_ns() - start) / calls


def other_plan() -> Injector:
    faults = [
        parse_fault_option("error:span:OTHER:probability=0.5"),
        parse_fault_option("corrupt:point:other.value:mode=nan"),
    ]
    return Injector(ChaosPlan(faults=tuple(faults)), seed=0)


def measure(rounds: int, calls: int) -> dict[str, list[float]]:
    injector = other_plan()
    variants: dict[str, Callable[[], float]] = {
        "span before": lambda: span_block(BeforeSpan, calls),
        "span no plan": lambda: span_block(span, calls),
        "point identity": lambda: point_block(identity, calls),
        "point before": lambda: point_block(before_point, calls),
        "point no plan": lambda: point_block(fault_point, calls),
    }

    def with_plan(block: Callable[[], float]) -> Callable[[], float]:
        def run() -> float:
            with injector.installed():
                return block()

        return run

    variants["span plan"] = with_plan(lambda: span_block(span, calls))
    variants["point plan"] = with_plan(lambda: point_block(fault_point, calls))
    names = list(variants)
    results: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            results[name].append(variants[name]())
    return results


def interval(diffs: list[float]) -> tuple[float, float]:
    """A distribution-free 95 % interval for the median paired difference (order
    statistics: ranks n/2 -+ 1.96 sqrt(n)/2), robust to the rounds a busy machine spoils."""
    ordered = sorted(diffs)
    n = len(ordered)
    half = int(1.96 * n**0.5 / 2 + 1)
    low, high = max(n // 2 - half, 0), min(n // 2 + half, n - 1)
    return ordered[low], ordered[high]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=201)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--recorded", action="store_true", help="spans inside an episode")
    args = parser.parse_args()
    global RECORDED
    RECORDED = args.recorded
    results = measure(args.rounds, args.calls)
    where = "recorded" if RECORDED else "unrecorded"
    print(f"{args.rounds} rounds x {args.calls} calls ({where} spans); ns per call, medians")
    for name, values in results.items():
        print(f"  {name:<16} {statistics.median(values):7.1f} ns")
    rows = [
        ("span, no plan", "span no plan", "span before", 20.0),
        ("span, plan elsewhere", "span plan", "span before", 100.0),
        ("point, no plan", "point no plan", "point before", 20.0),
        ("point, plan elsewhere", "point plan", "point no plan", 100.0),
    ]
    print("extra cost per call (variant - baseline, paired by round):")
    failed = False
    for label, variant, base, target in rows:
        diffs = [a - b for a, b in zip(results[variant], results[base], strict=True)]
        low, high = interval(diffs)
        median = statistics.median(diffs)
        ratio = statistics.median(results[variant]) / statistics.median(results[base])
        verdict = "ok" if high <= target else "OVER" if low > target else "inconclusive"
        failed = failed or verdict == "OVER"
        print(
            f"  {label:<32} {median:+6.1f} ns  95% [{low:+.1f}, {high:+.1f}]  "
            f"ratio {ratio:.3f}  target <= {target:g} ns: {verdict}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
