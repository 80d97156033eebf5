"""Boundary rows: library time charged to the user's call site that entered the library.

A sampled stack (innermost frame first) is classified by its innermost frame of *user code*
(``ctool.profilers.frames``, "who is the user"):

* no user frame, or ctool's machinery before any user frame: the harness, the event loop's
  own work, ctool's helper threads. Never a row; counted in ``outside_s``.
* the innermost frame is user code: a **user row** -- the function's own lines (a callback a
  library calls, a ``key=`` function or a Jinja filter, is a user row of its own).
* library frames above the innermost user frame: a **boundary row**
  ``caller -> library function`` at the caller's line, charged with every library frame
  above it; the library frames around a callback are charged once, to the boundary row that
  entered the library.

Every row carries the stage of the span whose block contains the innermost frame on the
stack that lies inside a span block (``LOCATOR.stage_of_stack``); a function whose time
falls in several stages gets one row per stage. Stages are never guessed from file names.

``--hotspots`` chooses the folding: ``boundary`` (the default), ``user`` (library time
folded into the user function that called it, as pyinstrument shows it) or ``all`` (the
innermost frame of each sample, unfolded).
"""

from __future__ import annotations

import linecache
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ctool.model.schema import Hotspot
from ctool.profilers.frames import (
    function_at,
    has_source,
    is_library,
    is_machinery,
    library_module,
    library_name,
)
from ctool.profilers.span_blocks import learn_blocks
from ctool.spans import LOCATOR

Folding = Literal["boundary", "user", "all"]
FOLDINGS: tuple[str, ...] = ("boundary", "user", "all")
DEFAULT_FOLDING: Folding = "boundary"

StackFrame = tuple[str, str, int]
"""(filename, function name, line)."""


def folding_of(value: Any) -> Folding:
    """``--hotspots`` checked: one of :data:`FOLDINGS`."""
    text = str(value or DEFAULT_FOLDING)
    if text == "user":
        return "user"
    if text == "all":
        return "all"
    if text == "boundary":
        return "boundary"
    raise ValueError(f"--hotspots must be one of {', '.join(FOLDINGS)}, got {text!r}")


@dataclass
class Row:
    """One folded row's totals."""

    kind: Literal["user", "boundary", "library"]
    function: str
    """What the table shows: ``caller -> library function`` for a boundary row."""
    file: str
    line: int
    stage: str | None
    seconds: float = 0.0
    samples: int = 0
    caller: str | None = None
    callee: str | None = None
    callee_file: str | None = None
    lines: dict[int, float] = field(default_factory=dict)
    note: str | None = None
    calls: int | None = None
    cumulative_s: float | None = None

    def hotspot(
        self, *, profiler: str, total: float, extra: dict[str, Any] | None = None
    ) -> Hotspot:
        hot = sorted(self.lines.items(), key=lambda item: item[1], reverse=True)[:5]
        info: dict[str, Any] = {"kind": self.kind, "samples": self.samples}
        if self.caller is not None:
            info["caller"] = self.caller
        if self.callee is not None:
            info.update(callee=self.callee, callee_file=self.callee_file)
        if len(hot) > 1:
            info["hot_lines"] = [[number, seconds * 1e3] for number, seconds in hot]
        if self.note:
            info["note"] = self.note
        info.update(extra or {})
        return Hotspot(
            profiler=profiler,
            function=self.function,
            file=self.file,
            line=self.line,
            self_ms=self.seconds * 1e3,
            calls=self.calls,
            cumulative_ms=None if self.cumulative_s is None else self.cumulative_s * 1e3,
            share=self.seconds / total if total > 0 else None,
            stage=self.stage,
            extra=info,
        )


def user_function(filename: str, name: str, line: int) -> str:
    """A user function's qualified name (``DocPipeline.episode``), read from its source."""
    found = function_at(filename, line) if line > 0 else "<module>"
    if found == "<module>" or found.rsplit(".", 1)[-1] != name:
        return name
    return found


ENTRY_DEPTH = 12
"""How many library frames inward the call line's callee name is looked for."""


def calls_on_line(filename: str, line: int, name: str) -> bool:
    """Does the source line call ``name(...)``?"""
    if not name.isidentifier() or line <= 0:
        return False
    text = linecache.getline(filename, line)
    return re.search(rf"(?<![\w]){re.escape(name)}\s*\(", text) is not None


def entered(frames: Sequence[StackFrame], user: int) -> int:
    """The library frame the user frame at ``user`` entered: the function the call line
    names (``nx.betweenness_centrality(...)`` past networkx's dispatch wrappers), else the
    first frame inside it that has a source file (not a decorator's generated code or a
    frame py-spy misread)."""
    file, _, line = frames[user]
    first: int | None = None
    for index in range(user - 1, max(user - 1 - ENTRY_DEPTH, -1), -1):
        callee_file, callee_name, _ = frames[index]
        if not has_source(callee_file):
            continue
        if first is None:
            first = index
        if calls_on_line(file, line, callee_name):
            return index
    return first if first is not None else user - 1


def label(row: Row) -> str:
    """A row's name across runs: ``caller -> library function [stage]`` (no line: an edit
    elsewhere in the file moves lines, not time)."""
    return f"{row.function} [{row.stage or '-'}]"


def frame_label(filename: str, function: str) -> str:
    """A frame in folded stacks: ``function (module)`` for libraries, ``function (file)``
    for the user's code; never a ``;``."""
    if is_library(filename):
        where = library_module(filename) if has_source(filename) else ""
    else:
        where = os.path.relpath(filename) if filename.startswith(os.getcwd()) else filename
    text = f"{function} ({where})" if where else function
    return text.replace(";", ":")


def folded_stack(frames: Sequence[StackFrame]) -> str:
    """A sample rooted at its outermost user frame (the episode): the harness, the event
    loop and ctool's frames above it are cut off. Outermost first, ``;``-separated."""
    outer = next(
        (
            i
            for i in range(len(frames) - 1, -1, -1)
            if not is_library(frames[i][0]) and not is_machinery(frames[i][0])
        ),
        len(frames) - 1,
    )
    return ";".join(frame_label(file, name) for file, name, _ in reversed(frames[: outer + 1]))


class StackFolder:
    """Folds weighted stacks into rows (see the module docstring)."""

    def __init__(self, folding: Folding = DEFAULT_FOLDING, *, chunks: int = 1) -> None:
        self.folding = folding
        self.rows: dict[tuple[Any, ...], Row] = {}
        self.total_s = 0.0
        self.outside_s = 0.0
        self._stage_cache: dict[tuple[tuple[str, int], ...], str | None] = {}
        self.chunk_rows: list[dict[str, float]] = [{} for _ in range(max(chunks, 1))]
        """Per consecutive slice of the samples: seconds per row label (:func:`label`)."""
        self.folded: dict[str, int] = {}
        """Episode-rooted folded stacks (``a;b;c`` -> samples), see :func:`folded_stack`."""

    def stage_of(self, frames: Sequence[StackFrame]) -> str | None:
        key = tuple((file, line) for file, _, line in frames)
        if key not in self._stage_cache:
            learn_blocks(file for file, _ in key)
            self._stage_cache[key] = LOCATOR.stage_of_stack(key)
        return self._stage_cache[key]

    def add(self, frames: Sequence[StackFrame], weight: float, chunk: int = 0) -> bool:
        """Add one sample (innermost frame first); ``False`` when it is not the user's."""
        user = next((i for i, (file, _, _) in enumerate(frames) if not is_library(file)), None)
        if user is None or is_machinery(frames[user][0]):
            self.outside_s += weight
            return False
        self.total_s += weight
        stack = folded_stack(frames)
        self.folded[stack] = self.folded.get(stack, 0) + 1
        row = self._add_row(frames, user, weight)
        key = label(row)
        slot = self.chunk_rows[min(chunk, len(self.chunk_rows) - 1)]
        slot[key] = slot.get(key, 0.0) + weight
        return True

    def _add_row(self, frames: Sequence[StackFrame], user: int, weight: float) -> Row:
        stage = self.stage_of(frames)
        file, name, line = frames[user]
        if self.folding == "all":
            inner_file, inner_name, inner_line = frames[0]
            lib = user != 0
            shown = (
                library_name(inner_file, inner_name)
                if lib
                else user_function(inner_file, inner_name, inner_line)
            )
            row = self._row(
                ("all", inner_file, inner_name, stage),
                "library" if lib else "user",
                shown,
                inner_file,
                stage,
            )
            row.lines[inner_line] = row.lines.get(inner_line, 0.0) + weight
        elif user == 0 or self.folding == "user":
            row = self._row(
                ("user", file, name, stage), "user", user_function(file, name, line), file, stage
            )
            row.lines[line] = row.lines.get(line, 0.0) + weight
        else:
            callee_file, callee_name, _ = frames[entered(frames, user)]
            caller = user_function(file, name, line)
            callee = library_name(callee_file, callee_name)
            row = self._row(  # one row per call site and the function it names
                ("boundary", file, name, line, callee, stage),
                "boundary",
                f"{caller} -> {callee}",
                file,
                stage,
            )
            row.caller, row.callee, row.callee_file = caller, callee, callee_file
            row.lines[line] = row.lines.get(line, 0.0) + weight
        row.seconds += weight
        row.samples += 1
        return row

    def _row(
        self, key: tuple[Any, ...], kind: Any, function: str, file: str, stage: str | None
    ) -> Row:
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = Row(kind, function, file, 0, stage)
        return row

    def ranked(self) -> list[Row]:
        for row in self.rows.values():
            if row.lines:
                row.line = max(row.lines.items(), key=lambda item: item[1])[0]
        return sorted(self.rows.values(), key=lambda row: row.seconds, reverse=True)

    def chunk_shares(self) -> list[dict[str, float]]:
        """Each slice's rows as shares of that slice's user time (empty slices left out)."""
        out = []
        for rows in self.chunk_rows:
            total = sum(rows.values())
            if total > 0:
                out.append({key: round(value / total, 6) for key, value in rows.items()})
        return out

    def chunk_ms_per_episode(self, episodes: int) -> list[dict[str, float]]:
        """Each slice's rows as ms per episode: a slice holds ``episodes / slices`` episodes
        of a sequential run (samples come evenly in time). Empty when ``episodes`` is 0."""
        if episodes <= 0:
            return []
        per_slice = episodes / len(self.chunk_rows)
        return [
            {key: round(value * 1e3 / per_slice, 6) for key, value in rows.items()}
            for rows in self.chunk_rows
            if rows
        ]

    def folded_text(self) -> str:
        """The episode-rooted stacks in folded form, for flamegraph.pl or inferno."""
        return "".join(f"{stack} {count}\n" for stack, count in sorted(self.folded.items()))

    def hotspots(self, *, profiler: str, top: int) -> list[Hotspot]:
        return [row.hotspot(profiler=profiler, total=self.total_s) for row in self.ranked()[:top]]
