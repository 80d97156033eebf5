"""cProfile backend: deterministic function timings of the episode thread.

Hotspots are ranked by *own* time: a function's self time plus the time of the C functions
(``math.sin``, ``select.epoll.poll``) and library code (numpy's Python wrappers, the standard
library) it calls, down to the next function of the user's code. So a row names code the
user can change -- ``score_routes`` rather than ``numpy.linalg.inv`` -- as pyinstrument does
when it hides library frames; the folded parts are in ``extra["builtin_ms"]`` and
``extra["library_ms"]``. Library time reached from no user function (the event loop's own
work) keeps its own row. The unfolded view is in the metadata (``raw_top``), the workload's
functions by *cumulative* time in ``by_cumulative``, and the ``.prof`` artifact keeps every
function for snakeviz (``snakeviz cprofile.prof``) or ``pstats``.

cProfile measures wall time on the thread that called :meth:`start` (the episode thread).
"""

from __future__ import annotations

import threading
import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ctool.profilers.base import Availability, ProfilerFragment, ProfilerOptions
from ctool.profilers.boundary import folding_of
from ctool.profilers.cprofile_boundary import folded_rows
from ctool.profilers.frames import is_library, is_machinery, is_workload
from ctool.profilers.stages import (
    FunctionKey,
    StageSampler,
    StageVotes,
    held_stages,
    holder_stage,
    resolve_stage,
    stage_of_calls,
)

BUILTIN_FILE = "~"


@dataclass
class FunctionStat:
    """One function's totals from a cProfile run, C-function time folded into its caller."""

    key: FunctionKey
    function: str
    code: types.CodeType | None
    calls: int
    primitive_calls: int
    self_s: float
    cumulative_s: float
    builtin_s: float = 0.0
    library_s: float = 0.0
    callers: dict[FunctionKey, float] = field(default_factory=dict)
    """Caller key -> cumulative seconds spent in this function when called from there."""
    caller_calls: dict[FunctionKey, int] = field(default_factory=dict)
    """Caller key -> calls made to this function from there."""

    @property
    def filename(self) -> str:
        return self.key[0]

    @property
    def is_builtin(self) -> bool:
        return self.code is None

    @property
    def is_library(self) -> bool:
        return self.is_builtin or is_library(self.filename)


def _key(code: Any) -> tuple[FunctionKey, str, types.CodeType | None]:
    if isinstance(code, types.CodeType):
        name = getattr(code, "co_qualname", code.co_name)
        return (code.co_filename, code.co_firstlineno, code.co_name), name, code
    text = str(code)
    return (BUILTIN_FILE, 0, text), text, None


def function_stats(entries: Iterable[Any], *, fold_builtins: bool = True) -> list[FunctionStat]:
    """Fold ``_lsprof.Profiler.getstats()`` entries into one :class:`FunctionStat` per function.

    A C function's self time goes to each Python caller in proportion to what that caller
    spent in it (cProfile records it per caller); what no profiled caller accounts for stays
    on the C function's own row.
    """
    stats: dict[FunctionKey, FunctionStat] = {}
    entries = list(entries)
    for entry in entries:
        key, name, code = _key(entry.code)
        stats[key] = FunctionStat(
            key=key,
            function=name,
            code=code,
            calls=entry.callcount,
            primitive_calls=entry.callcount - entry.reccallcount,
            self_s=entry.inlinetime,
            cumulative_s=entry.totaltime,
        )
    for entry in entries:
        caller_key, _, caller_code = _key(entry.code)
        for sub in entry.calls or ():
            callee_key, _, callee_code = _key(sub.code)
            callee = stats.get(callee_key)
            if callee is None:
                continue
            callee.callers[caller_key] = callee.callers.get(caller_key, 0.0) + sub.totaltime
            calls = callee.caller_calls.get(caller_key, 0) + getattr(sub, "callcount", 0)
            callee.caller_calls[caller_key] = calls
            if fold_builtins and callee_code is None and caller_code is not None:
                moved = min(sub.inlinetime, callee.self_s)
                callee.self_s -= moved
                stats[caller_key].self_s += moved
                stats[caller_key].builtin_s += moved
    return list(stats.values())


def fold_library(stats: Sequence[FunctionStat]) -> None:
    """Move library functions' self time up to the nearest non-library caller, in place.

    Each library function's time is split among its callers in proportion to the time each
    caller spent in it; a library caller passes it further up. Time that reaches no
    non-library caller (a top-level event-loop call, a cycle) stays where it is.
    """
    by_key = {stat.key: stat for stat in stats}
    pending: dict[FunctionKey, float] = {}
    for stat in stats:
        if stat.is_library and stat.self_s > 0:
            pending[stat.key] = stat.self_s
            stat.self_s = 0.0
    for _ in range(64):
        if not pending:
            break
        passed: dict[FunctionKey, float] = {}
        for key, amount in pending.items():
            stat = by_key[key]
            callers = {c: w for c, w in stat.callers.items() if c != key and c in by_key and w > 0}
            total = sum(callers.values())
            if total <= 0:
                stat.self_s += amount
                continue
            for caller_key, weight in callers.items():
                caller, share = by_key[caller_key], amount * weight / total
                if caller.is_library:
                    passed[caller_key] = passed.get(caller_key, 0.0) + share
                else:
                    caller.self_s += share
                    caller.library_s += share
        pending = passed
    for key, amount in pending.items():
        by_key[key].self_s += amount


def raw_top(stats: Sequence[FunctionStat], *, top: int) -> list[dict[str, Any]]:
    """Functions by their own self time (C calls folded, library code not): the flat view."""
    total = sum(stat.self_s for stat in stats) or 1.0
    hidden = machinery_owned(stats)
    ranked = sorted((s for s in stats if shown(s, hidden)), key=lambda s: s.self_s, reverse=True)
    return [
        {
            "function": stat.function,
            "file": stat.filename,
            "line": stat.key[1],
            "self_ms": stat.self_s * 1e3,
            "share": stat.self_s / total,
        }
        for stat in ranked[:top]
    ]


def _line_range(code: types.CodeType | None) -> tuple[int, int] | None:
    if code is None:
        return None
    lines = [line for _, _, line in code.co_lines() if line is not None]
    return (min(lines), max(lines)) if lines else None


def _holds_blocks(stat: FunctionStat) -> tuple[int, int] | None:
    """The function's line range when span blocks lie inside it."""
    span = _line_range(stat.code)
    if span is None or not held_stages(stat.filename, *span):
        return None
    return span


def propagate_stages(stats: Sequence[FunctionStat], votes: StageVotes) -> dict[FunctionKey, str]:
    """Stage per function: sampled votes, else the callers' (time-weighted), else the module.

    A caller that itself holds span blocks (``episode`` with a block per stage) passes on
    the stage of the block whose lines call this function, not its own majority stage.
    """
    stages: dict[FunctionKey, str] = {}
    by_key = {stat.key: stat for stat in stats}
    holders = {stat.key: span for stat in stats if (span := _holds_blocks(stat)) is not None}
    for stat in stats:
        span = holders.get(stat.key)
        found = (
            votes.stage(stat.key)
            if span is None
            else holder_stage(held_stages(stat.filename, *span))
        )
        if found is not None:
            stages[stat.key] = found
    # A few passes reach functions a couple of calls below a known one.
    for _ in range(4):
        changed = False
        for stat in stats:
            if stat.key in stages or not stat.callers:
                continue
            weights: dict[str, float] = {}
            for caller, seconds in stat.callers.items():
                span = holders.get(caller)
                if span is not None:
                    stage = stage_of_calls(
                        stat.key[2], filename=by_key[caller].filename, first=span[0], last=span[1]
                    )
                else:
                    stage = stages.get(caller)
                if stage is not None:
                    weights[stage] = weights.get(stage, 0.0) + seconds
            if weights and sum(weights.values()) >= 0.5 * stat.cumulative_s:
                stages[stat.key] = max(weights.items(), key=lambda item: item[1])[0]
                changed = True
        if not changed:
            break
    for stat in stats:
        if stat.key not in stages and stat.key not in holders:
            found = resolve_stage(StageVotes(), stat.key, stat.filename)
            if found is not None:
                stages[stat.key] = found
    return stages


def machinery_owned(stats: Sequence[FunctionStat]) -> set[FunctionKey]:
    """ctool's functions, and library or C functions called only on ctool's behalf.

    ``ast.parse`` called by the span locator is ctool's cost, not the workload's; a library
    function called by both stays the workload's.
    """
    owned = {stat.key for stat in stats if is_machinery(stat.filename)}
    for _ in range(5):
        grown = {
            stat.key
            for stat in stats
            if stat.key not in owned
            and (stat.is_builtin or is_library(stat.filename))
            and stat.callers
            and all(caller in owned for caller in stat.callers)
        }
        if not grown:
            break
        owned |= grown
    return owned


def shown(stat: FunctionStat, hidden: set[FunctionKey]) -> bool:
    """Rows worth a user's attention: not ctool's own, with time of their own."""
    return stat.key not in hidden and stat.self_s > 0


def workload_by_cumulative(
    stats: Sequence[FunctionStat], *, top: int, stages: dict[FunctionKey, str]
) -> list[dict[str, Any]]:
    """The user's own functions by inclusive time (library and ctool frames left out)."""
    total = sum(stat.self_s for stat in stats) or 1.0
    ranked = sorted(
        (s for s in stats if not s.is_builtin and is_workload(s.filename)),
        key=lambda s: s.cumulative_s,
        reverse=True,
    )
    return [
        {
            "function": stat.function,
            "file": stat.filename,
            "line": stat.key[1],
            "calls": stat.calls,
            "cumulative_ms": stat.cumulative_s * 1e3,
            "share": stat.cumulative_s / total,
            "stage": stages.get(stat.key),
        }
        for stat in ranked[:top]
    ]


def hottest_workload(stats: Sequence[FunctionStat], count: int) -> list[FunctionStat]:
    """The ``count`` hottest functions by self time, preferring the user's code over libraries."""
    hidden = machinery_owned(stats)
    candidates = [s for s in stats if not s.is_builtin and shown(s, hidden)]
    own = [s for s in candidates if not is_library(s.filename)]
    ranked = sorted(own or candidates, key=lambda s: s.self_s, reverse=True)
    return [s for s in ranked[:count] if s.self_s > 0]


class CProfileBackend:
    name: ClassVar[str] = "cprofile"
    description: ClassVar[str] = "cProfile: function self/cumulative time, .prof for snakeviz"
    claims: ClassVar[frozenset[str]] = frozenset({"sys.setprofile"})

    def __init__(self) -> None:
        self._profile: Any = None
        self._sampler: StageSampler | None = None
        self._options: ProfilerOptions | None = None

    def availability(self) -> Availability:
        try:
            import cProfile  # noqa: F401
        except ImportError as exc:  # some embedded builds ship without _lsprof
            return Availability(False, f"cProfile is not importable: {exc}")
        return Availability(True)

    def start(self, options: ProfilerOptions) -> None:
        import cProfile

        self._options = options
        self._sampler = StageSampler(threading.get_ident())
        self._sampler.start()
        self._profile = cProfile.Profile()
        self._profile.enable()

    def stop(self) -> ProfilerFragment:
        if self._profile is None or self._options is None or self._sampler is None:
            raise RuntimeError("cprofile: stop() without start()")
        profile, options, sampler = self._profile, self._options, self._sampler
        self._profile = self._sampler = None
        profile.disable()
        sampler.stop()
        entries = profile.getstats()
        votes = sampler.votes()
        folding = folding_of(options.extra.get("hotspots"))
        unfolded = function_stats(entries, fold_builtins=False)
        rows = folded_rows(unfolded, votes, folding, machinery_owned(unfolded))
        user_s = sum(row.seconds for row in rows)
        stats = function_stats(entries)
        flat = raw_top(stats, top=options.top)
        fold_library(stats)
        stages = propagate_stages(stats, votes)
        path = options.output_dir / "cprofile.prof"
        profile.dump_stats(str(path))
        total_s = sum(stat.self_s for stat in stats)
        return ProfilerFragment(
            name=self.name,
            hotspots=[row.hotspot(profiler=self.name, total=user_s) for row in rows[: options.top]],
            artifacts={"cprofile": str(path)},
            metadata={
                "total_ms": total_s * 1e3,
                "user_ms": user_s * 1e3,
                "functions": len(stats),
                "folding": folding,
                "raw_top": flat,
                "stage_samples": sampler.samples,
                "by_cumulative": workload_by_cumulative(stats, top=options.top, stages=stages),
                "open_with": f"snakeviz {path}",
            },
        )
