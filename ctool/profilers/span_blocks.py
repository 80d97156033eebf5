"""Span blocks read from the source, so that every row whose line lies in one gets its stage.

The block map (``ctool.spans.LOCATOR``) is filled at run time: by spans in locate mode (the
harness's warm-up) and by ``@stage`` when a function is decorated. A block that never ran in
locate mode stays unknown -- a span in an aiohttp handler task (its context is the
server's, not the episode's), a span entered only after the warm-up, a helper thread's --
and a row on a line inside it had no stage. :func:`learn_blocks` reads each user file a
profiler's rows point into once, finds its ``with ctool.span("NAME"):`` blocks (``async
with`` too, ``span`` imported from ctool under any alias) and ``@ctool.stage("NAME")``
functions, and adds them to the map, exactly as the run would have (same first and last
lines). Only literal names are read: a span named by a variable is left to the run.
"""

from __future__ import annotations

import ast
import functools
import threading
from collections.abc import Iterable

from ctool.profilers.frames import has_source, is_library, is_machinery
from ctool.spans import LOCATOR

Block = tuple[str, int, int]
"""(stage, first line, last line)."""

_learned: set[str] = set()
_lock = threading.Lock()


def _ctool_names(tree: ast.Module) -> tuple[set[str], set[str], set[str]]:
    """Names bound to the ``ctool`` module, to ``span`` and to ``stage`` in a module."""
    modules, spans, stages = set(), set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "ctool":
                    modules.add(alias.asname or "ctool")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "ctool":
            for alias in node.names:
                if alias.name == "span":
                    spans.add(alias.asname or "span")
                elif alias.name == "stage":
                    stages.add(alias.asname or "stage")
    return modules, spans, stages


def _literal_call(node: ast.AST, modules: set[str], names: set[str], attr: str) -> str | None:
    """The literal first argument of ``ctool.<attr>("x")`` or ``<alias>("x")``."""
    if not isinstance(node, ast.Call) or not node.args:
        return None
    func = node.func
    named = isinstance(func, ast.Name) and func.id in names
    dotted = (
        isinstance(func, ast.Attribute)
        and func.attr == attr
        and isinstance(func.value, ast.Name)
        and func.value.id in modules
    )
    first = node.args[0]
    if (named or dotted) and isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    return None


@functools.lru_cache(maxsize=512)
def source_blocks(filename: str) -> tuple[Block, ...]:
    """Every span block and ``@stage`` function with a literal name in a source file."""
    try:
        with open(filename, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), filename)
    except (OSError, SyntaxError, ValueError):
        return ()
    modules, spans, stages = _ctool_names(tree)
    if not (modules or spans or stages):
        return ()
    found: list[Block] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                name = _literal_call(item.context_expr, modules, spans, "span")
                if name is not None:
                    end = node.end_lineno or node.lineno
                    found.append((name, item.context_expr.lineno, end))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                name = _literal_call(decorator, modules, stages, "stage")
                if name is not None:
                    found.append((name, node.lineno, node.end_lineno or node.lineno))
    return tuple(found)


def learn_blocks(filenames: Iterable[str]) -> None:
    """Add the span blocks of these files (user code only, each file once) to the map."""
    for filename in filenames:
        if filename in _learned:
            continue
        with _lock:
            _learned.add(filename)
        if not has_source(filename) or is_library(filename) or is_machinery(filename):
            continue
        for stage, first, last in source_blocks(filename):
            LOCATOR.add(stage, filename, first, last)
