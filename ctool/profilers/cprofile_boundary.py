"""cProfile's rows folded by the boundary rule (``ctool.profilers.boundary``).

cProfile records, per function, the time spent in it *per calling function*, one level deep
and without the calling line. That is enough for exact boundary rows:

* a **boundary row** ``U -> L`` for a user function ``U`` calling a library (or C) function
  ``L`` is charged with ``L``'s cumulative time when called from ``U`` -- exactly what
  cProfile recorded for that edge -- less the time of user callbacks inside it;
* a **user row** is a user function's self time (its own lines);
* a **callback** (user code a library calls: a ``key=`` function, a Jinja filter) is a user
  row; its time is taken out of the boundary row that entered the library. When the
  callback is reachable from more than one boundary row, cProfile cannot say which one
  it ran under: its time is taken out in proportion and the rows say so (``note``).

The calling line is known only when the caller's source calls the function's name on one
line; otherwise the row has no line and says from which lines it may come. A row's stage is
the span block that holds the call line; else the stage the stage sampler saw the caller
run in. A call made from lines in several stages is split into one row per stage by the
sampler's counts of those lines.
"""

from __future__ import annotations

import functools
import re
import sys
import types
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ctool.profilers.boundary import Folding, Row, calls_on_line
from ctool.profilers.frames import is_machinery, library_name
from ctool.profilers.span_blocks import learn_blocks
from ctool.profilers.stages import FunctionKey, StageVotes, held_stages, resolve_stage
from ctool.spans import LOCATOR

if TYPE_CHECKING:
    from ctool.profilers.cprofile import FunctionStat


def is_user(stat: FunctionStat) -> bool:
    return not stat.is_library and not is_machinery(stat.filename)


def reach(stats: Sequence[FunctionStat]) -> dict[FunctionKey, float]:
    """Per function, the fraction of its time spent on behalf of user code.

    A user function's is 1; a library function's is the edge-weighted share of its callers'
    (machinery callers count 0). The event loop's ``_run_once`` runs user coroutines but is
    called by ctool: it is not user-reached, and never a row.
    """
    by_key = {stat.key: stat for stat in stats}
    fraction = {stat.key: 1.0 if is_user(stat) else 0.0 for stat in stats}
    for _ in range(32):
        changed = False
        for stat in stats:
            if is_user(stat) or stat.cumulative_s <= 0:
                continue
            inflow = sum(
                seconds * fraction.get(caller, 0.0)
                for caller, seconds in stat.callers.items()
                if caller in by_key and caller != stat.key
            )
            value = min(inflow / stat.cumulative_s, 1.0)
            if abs(value - fraction[stat.key]) > 1e-9:
                fraction[stat.key] = value
                changed = True
        if not changed:
            break
    return fraction


def _boundaries_above(
    key: FunctionKey, by_key: dict[FunctionKey, FunctionStat]
) -> set[tuple[FunctionKey, FunctionKey]]:
    """The (user caller, library callee) edges through which library function ``key`` is
    reached, walking up library callers."""
    found: set[tuple[FunctionKey, FunctionKey]] = set()
    seen = {key}
    frontier = [key]
    while frontier:
        current = frontier.pop()
        for caller in by_key[current].callers:
            stat = by_key.get(caller)
            if stat is None:
                continue
            if is_user(stat):
                found.add((caller, current))
            elif stat.is_library and caller not in seen:
                seen.add(caller)
                frontier.append(caller)
    return found


def boundary_edges(
    stats: Sequence[FunctionStat],
) -> tuple[dict[tuple[FunctionKey, FunctionKey], float], set[tuple[FunctionKey, FunctionKey]]]:
    """Net seconds per (user caller, library callee) edge, and the edges whose net time is
    inexact (a callback reachable from several of them)."""
    by_key = {stat.key: stat for stat in stats}
    edges: dict[tuple[FunctionKey, FunctionKey], float] = {}
    for stat in stats:
        if not stat.is_library:
            continue
        for caller, seconds in stat.callers.items():
            caller_stat = by_key.get(caller)
            if caller_stat is not None and is_user(caller_stat) and seconds > 0:
                edges[(caller, stat.key)] = edges.get((caller, stat.key), 0.0) + seconds
    inexact: set[tuple[FunctionKey, FunctionKey]] = set()
    for stat in stats:
        if not is_user(stat):
            continue
        for caller, seconds in stat.callers.items():
            caller_stat = by_key.get(caller)
            if caller_stat is None or not caller_stat.is_library or seconds <= 0:
                continue
            above = [edge for edge in _boundaries_above(caller, by_key) if edge in edges]
            weight = sum(edges[edge] for edge in above)
            if weight <= 0:
                continue
            if len(above) > 1:
                inexact.update(above)
            for edge in above:
                edges[edge] = max(edges[edge] - seconds * edges[edge] / weight, 0.0)
    return edges, inexact


def short_name(stat: FunctionStat) -> str:
    """The name a call site spells: ``execute`` for ``sqlite3.Connection.execute``."""
    if stat.is_builtin:
        return library_name(stat.filename, stat.function).rsplit(".", 1)[-1]
    return stat.key[2]


def _lines(code: types.CodeType | None) -> tuple[int, int] | None:
    if code is None:
        return None
    lines = [line for _, _, line in code.co_lines() if line is not None]
    return (min(lines), max(lines)) if lines else None


def call_lines(caller: FunctionStat, callee: FunctionStat) -> list[int]:
    """The caller's lines that call the callee by name, or by a name it is bound to in a
    module (``hashlib.sha256`` is ``_hashlib.openssl_sha256``)."""
    span = _lines(caller.code)
    if span is None:
        return []
    lines = range(span[0], span[1] + 1)
    for name in (short_name(callee), *builtin_aliases(caller, callee)):
        found = [n for n in lines if calls_on_line(caller.filename, n, name)]
        if found:
            return found
    return []


_BUILTIN = re.compile(r"<built-in (?:method|function) ([\w.]+)>")


@functools.lru_cache(maxsize=1024)
def _aliases_of(qualified: str, names: tuple[str, ...]) -> tuple[str, ...]:
    module_name, _, attr = qualified.rpartition(".")
    target = getattr(sys.modules.get(module_name), attr, None)
    if target is None:
        return ()
    modules = [m for m in list(sys.modules.values()) if m is not None]
    return tuple(n for n in names if any(getattr(m, n, None) is target for m in modules))


def builtin_aliases(caller: FunctionStat, callee: FunctionStat) -> tuple[str, ...]:
    """Names the caller uses that are bound, in some loaded module, to the built-in function
    ``callee`` (the C function ``_hashlib.openssl_sha256`` as ``hashlib.sha256``)."""
    if not callee.is_builtin or caller.code is None:
        return ()
    match = _BUILTIN.fullmatch(callee.function)
    if match is None or "." not in match.group(1):
        return ()
    return _aliases_of(match.group(1), tuple(caller.code.co_names))


def named_callee(
    caller: FunctionStat, callee: FunctionStat, children: dict[FunctionKey, list[FunctionStat]]
) -> tuple[FunctionStat, list[int]]:
    """The library function the caller's source names, and the lines that call it.

    The function entered may be a wrapper the source never names (networkx's generated
    ``argmap_betweenness_centrality_33``, a decorator's ``wrapper``): then the first library
    function below it, a few levels down, that the caller's lines call by name.
    """
    lines = call_lines(caller, callee)
    if lines:
        return callee, lines
    frontier, seen = [callee], {callee.key}
    for _ in range(6):
        below: list[FunctionStat] = []
        for stat in frontier:
            for child in children.get(stat.key, []):
                if child.key in seen or not child.is_library:
                    continue
                seen.add(child.key)
                found = call_lines(caller, child)
                if found:
                    return child, found
                below.append(child)
        frontier = below
    return callee, []


def caller_stage(caller: FunctionStat, votes: StageVotes) -> str | None:
    """The stage a caller runs in when its call line is in no span block: none when it holds
    span blocks itself (its lines outside them are in no stage), else the sampled stage or
    the stage whose blocks call it by name."""
    span = _lines(caller.code)
    if span is not None and held_stages(caller.filename, *span):
        return None
    return resolve_stage(votes, caller.key, caller.filename, name=caller.key[2])


class StageOf:
    """A user function's stage when the sampler never saw it and no block names it: the
    stage of the call lines (or the calling functions) that reach it, a callback's through
    the boundary row that entered the library, weighted by time."""

    def __init__(self, stats: Sequence[FunctionStat], votes: StageVotes) -> None:
        self.by_key = {stat.key: stat for stat in stats}
        self.votes = votes
        self._memo: dict[FunctionKey, str | None] = {}

    def __call__(self, stat: FunctionStat, depth: int = 0) -> str | None:
        if stat.key in self._memo:
            return self._memo[stat.key]
        self._memo[stat.key] = None  # cycles stop here
        span = _lines(stat.code)
        holds = span is not None and bool(held_stages(stat.filename, *span))
        # A comprehension, lambda or inner function written inside a span block runs there.
        found = None if holds else LOCATOR.stage_at(stat.filename, stat.key[1])
        found = found or caller_stage(stat, self.votes)
        if found is None and not holds and depth < 6:
            found = self._from_callers(stat, depth)
        self._memo[stat.key] = found
        return found

    def at_call(self, caller: FunctionStat, callee: FunctionStat, depth: int) -> str | None:
        for line in call_lines(caller, callee):
            stage = LOCATOR.stage_at(caller.filename, line)
            if stage is not None:
                return stage
        return self(caller, depth + 1)

    def _from_callers(self, stat: FunctionStat, depth: int) -> str | None:
        weights: dict[str, float] = {}
        for caller_key, seconds in stat.callers.items():
            caller = self.by_key.get(caller_key)
            if caller is None or caller_key == stat.key:
                continue
            if is_user(caller):
                found = [(self.at_call(caller, stat, depth), seconds)]
            elif caller.is_library:
                found = [
                    (self.at_call(self.by_key[u], self.by_key[lib], depth), seconds)
                    for u, lib in _boundaries_above(caller_key, self.by_key)
                ]
            else:
                continue
            for stage, weight in found:
                if stage is not None:
                    weights[stage] = weights.get(stage, 0.0) + weight
        return max(weights.items(), key=lambda item: item[1])[0] if weights else None


def place(
    caller: FunctionStat, lines: list[int], seconds: float, votes: StageVotes, fallback: str | None
) -> list[tuple[int, str | None, float, str | None]]:
    """(line, stage, seconds, note) rows for one boundary edge (see the module docstring)."""
    if not lines:
        return [(0, fallback, seconds, "call line unknown: the caller never names it")]
    by_stage: dict[str | None, list[int]] = {}
    for line in lines:
        by_stage.setdefault(LOCATOR.stage_at(caller.filename, line) or fallback, []).append(line)
    if len(by_stage) == 1:
        ((stage, found),) = by_stage.items()
        if len(found) == 1:
            return [(found[0], stage, seconds, None)]
        return [(0, stage, seconds, "called from lines " + ", ".join(map(str, found)))]
    weights = {
        stage: sum(sum(votes.weights((caller.filename, n)).values()) for n in found)
        for stage, found in by_stage.items()
    }
    total = sum(weights.values())
    rows: list[tuple[int, str | None, float, str | None]] = []
    for stage, found in by_stage.items():
        share = weights[stage] / total if total > 0 else 1 / len(by_stage)
        note = "split between stages by the stage sampler's counts of the call lines"
        rows.append((found[0] if len(found) == 1 else 0, stage, seconds * share, note))
    return rows


def folded_rows(
    stats: Sequence[FunctionStat], votes: StageVotes, folding: Folding, hidden: set[FunctionKey]
) -> list[Row]:
    """cProfile's rows under ``folding`` (built-in time *not* folded into ``stats``)."""
    by_key = {stat.key: stat for stat in stats}
    rows: dict[tuple[Any, ...], Row] = {}
    learn_blocks(stat.filename for stat in stats if is_user(stat))

    def add(key: tuple[Any, ...], row: Row) -> None:
        existing = rows.get(key)
        if existing is None:
            rows[key] = row
        else:
            existing.seconds += row.seconds
            existing.samples += row.samples
            if row.kind == "boundary" and row.calls is not None:
                existing.calls = (existing.calls or 0) + row.calls

    stage_of = StageOf(stats, votes)
    if folding == "all":
        fraction = reach(stats)
        for stat in stats:
            seconds = stat.self_s * fraction.get(stat.key, 0.0)
            if stat.key in hidden or seconds <= 0:
                continue
            kind: Any = "library" if stat.is_library else "user"
            shown = _name(stat)
            row = Row(kind, shown, stat.filename, stat.key[1], votes.stage(stat.key), seconds)
            row.calls = stat.calls
            add((stat.key,), row)
        return _ranked(rows)
    for stat in stats:
        if is_user(stat) and stat.key not in hidden and stat.self_s > 0:
            row = Row("user", _name(stat), stat.filename, stat.key[1], stage_of(stat))
            row.seconds, row.calls, row.cumulative_s = stat.self_s, stat.calls, stat.cumulative_s
            add((stat.key, row.stage), row)
    edges, inexact = boundary_edges(stats)
    children: dict[FunctionKey, list[FunctionStat]] = {}
    for stat in stats:
        for caller_key in stat.callers:
            children.setdefault(caller_key, []).append(stat)
    for (caller_key, callee_key), seconds in edges.items():
        caller = by_key[caller_key]
        if caller_key in hidden or seconds <= 0:
            continue
        callee, lines = named_callee(caller, by_key[callee_key], children)
        for line, stage, part, note in place(caller, lines, seconds, votes, stage_of(caller)):
            if folding == "user":
                row = Row("user", _name(caller), caller.filename, caller.key[1], stage, part)
                add((caller_key, stage), row)
                continue
            callee_name = library_name(callee.filename, callee.function)
            row = Row("boundary", f"{_name(caller)} -> {callee_name}", caller.filename, line, stage)
            row.seconds, row.calls = part, by_key[callee_key].caller_calls.get(caller_key)
            row.caller, row.callee, row.callee_file = _name(caller), callee_name, callee.filename
            notes = (note, _INEXACT if (caller_key, callee_key) in inexact else None)
            row.note = "; ".join(n for n in notes if n) or None
            # One row per call site: edges to a wrapper and to what it wraps (networkx's
            # ``argmap_...`` and the function) that name the same call merge.
            add((caller_key, callee_name, line, stage), row)
    return _ranked(rows)


_INEXACT = (
    "approximate: a user callback inside it is reachable from several boundary rows, and "
    "cProfile's one-level caller data cannot say which it ran under"
)


def _name(stat: FunctionStat) -> str:
    """A library function as ``package.function``; a user function by its qualified name."""
    if stat.is_library:
        return library_name(stat.filename, stat.function)
    return stat.function


def _ranked(rows: dict[tuple[Any, ...], Row]) -> list[Row]:
    return sorted(rows.values(), key=lambda row: row.seconds, reverse=True)
