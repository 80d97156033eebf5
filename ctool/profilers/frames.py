"""Where a source location belongs: ctool's own machinery, the standard library, or the workload.

Profilers use this to keep ctool out of the bottleneck table (the harness and the profilers
themselves are not what the user came to see) and to name the function that contains a line
when the profiler reports only ``file:line`` (tracemalloc).

The reference pipeline lives in ``ctool/pipeline`` and is *workload*, not machinery.
"""

from __future__ import annotations

import ast
import functools
import os
import sysconfig
from pathlib import Path

_CTOOL_DIR = Path(__file__).resolve().parent.parent
_CTOOL_PREFIX = str(_CTOOL_DIR) + os.sep
_WORKLOAD_PREFIX = str(_CTOOL_DIR / "pipeline") + os.sep


def _prefixes(*keys: str) -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    found = {os.path.realpath(paths[key]) + os.sep for key in keys if key in paths}
    found |= {paths[key] + os.sep for key in keys if key in paths}
    return tuple(sorted(found))


_STDLIB = _prefixes("stdlib", "platstdlib")
_SITE = _prefixes("purelib", "platlib")


@functools.lru_cache(maxsize=4096)
def is_machinery(filename: str) -> bool:
    """A file of ctool itself (any package, the span API too) that is not the reference workload."""
    return filename.startswith(_CTOOL_PREFIX) and not filename.startswith(_WORKLOAD_PREFIX)


@functools.lru_cache(maxsize=4096)
def is_library(filename: str) -> bool:
    """Standard library, frozen or built-in code, or a third-party package in site-packages."""
    if not filename or filename.startswith(("<", "~")):
        return True
    if filename.startswith(str(_CTOOL_DIR)):
        return False
    return filename.startswith(_STDLIB) or filename.startswith(_SITE)


def is_workload(filename: str) -> bool:
    """Code the user wrote (or the reference pipeline): neither ctool machinery nor a library."""
    return not is_machinery(filename) and not is_library(filename)


def owner_frame(frames: list[tuple[str, int]]) -> tuple[str, int] | None:
    """The innermost frame that is not library code (frames innermost first).

    An allocation made by ``asyncio`` on behalf of the harness belongs to the harness; one
    made by ``json`` on behalf of the pipeline belongs to the pipeline.
    """
    for frame in frames:
        if not is_library(frame[0]):
            return frame
    return None


@functools.lru_cache(maxsize=256)
def _function_spans(filename: str) -> tuple[tuple[int, int, str], ...]:
    """(first line, last line, qualified name) of every function in a source file."""
    try:
        with open(filename, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), filename)
    except (OSError, SyntaxError, ValueError):
        return ()
    spans: list[tuple[int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                    spans.append((first, child.end_lineno or child.lineno, name))
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return tuple(spans)


def function_lines(filename: str, qualname: str) -> tuple[int, int] | None:
    """First and last line of the function ``qualname`` in a source file, if found."""
    for first, last, name in _function_spans(filename):
        if name == qualname:
            return first, last
    return None


def function_at(filename: str, lineno: int) -> str:
    """The qualified name of the innermost function containing ``filename:lineno``."""
    best: tuple[int, int, str] | None = None
    for first, last, name in _function_spans(filename):
        if first <= lineno <= last and (best is None or last - first < best[1] - best[0]):
            best = (first, last, name)
    return best[2] if best is not None else "<module>"


def stage_from_module(filename: str, stages: set[str]) -> str | None:
    """Guess a stage from where the code lives: ``tig.py`` -> ``TIG``, ``esgt/x.py`` -> ``ESGT``.

    Only the file's own name and its directory are looked at (a user's home directory called
    ``mea`` must not make everything "MEA"); a nested stage ``MCEA.phi`` matches ``phi.py``.
    """
    if not stages or filename.startswith(("<", "~")):
        return None
    path = Path(filename)
    by_name = {stage.rsplit(".", 1)[-1].lower(): stage for stage in sorted(stages)}
    for part in (path.stem, path.parent.name):
        found = by_name.get(part.lower())
        if found is not None:
            return found
    return None
