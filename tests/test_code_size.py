"""Size rules for the code under ``ctool/`` (CONTRIBUTING.md, "Size rules").

* A module has at most 500 lines.
* A function (``def`` or ``async def``: methods and nested functions too) has at most 80
  lines, from its ``def`` line to its last line; decorators are not counted.

The only exceptions are declarative tables, named below with the reason: a function whose
length is a list of declarations (a Typer command's options, a table of metrics), not logic.
An entry is ``path`` (a whole module) or ``path::qualname`` (one function; nested functions
read ``outer.<locals>.inner``, as Python's ``__qualname__`` does). An entry that no longer
matches an offender must be removed, and a test says so.
"""

from __future__ import annotations

import ast
from pathlib import Path

MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80

EXCEPTIONS: dict[str, str] = {
    "ctool/cli/profile.py::profile_command": "Typer option signature (162 of its lines)",
    "ctool/cli/ab.py::ab_command": "Typer option signature (40 of its lines)",
    "ctool/exporters/prometheus.py::PrometheusObserver.__init__": (
        "the metric table: one declaration per exported Prometheus metric"
    ),
}

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "ctool"

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


def _functions(node: ast.AST, prefix: str = "") -> list[tuple[str, FunctionNode]]:
    """Every function under ``node`` with its qualified name, nested ones included."""
    found: list[tuple[str, FunctionNode]] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, FunctionNode):
            qualname = prefix + child.name
            found.append((qualname, child))
            found.extend(_functions(child, qualname + ".<locals>."))
        elif isinstance(child, ast.ClassDef):
            found.extend(_functions(child, prefix + child.name + "."))
        else:
            found.extend(_functions(child, prefix))
    return found


def _offenders() -> dict[str, str]:
    """``path`` or ``path::qualname`` -> what is too long, for every module of ``ctool``."""
    offenders: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        source = path.read_text(encoding="utf-8")
        lines = len(source.splitlines())
        if lines > MAX_MODULE_LINES:
            offenders[rel] = f"module, {lines} lines (max {MAX_MODULE_LINES})"
        for qualname, function in _functions(ast.parse(source, filename=rel)):
            assert function.end_lineno is not None
            length = function.end_lineno - function.lineno + 1
            if length > MAX_FUNCTION_LINES:
                offenders[f"{rel}::{qualname}"] = (
                    f"function, {length} lines (max {MAX_FUNCTION_LINES})"
                )
    return offenders


def test_modules_and_functions_are_small() -> None:
    over = {key: what for key, what in _offenders().items() if key not in EXCEPTIONS}
    listing = "\n".join(f"  {key}: {what}" for key, what in over.items())
    assert not over, f"{len(over)} over the size rules (split them):\n{listing}"


def test_every_exception_is_still_needed() -> None:
    offenders = _offenders()
    stale = sorted(key for key in EXCEPTIONS if key not in offenders)
    assert not stale, "exceptions that no longer apply (remove them): " + ", ".join(stale)


def test_the_check_sees_what_it_should() -> None:
    """Nested functions and methods are measured; decorators are not counted."""
    source = (
        "@decorator\n"
        "@another\n"
        "def outer():\n"
        "    class Inner:\n"
        "        async def method(self):\n"
        "            def nested():\n"
        "                pass\n"
    )
    found = {name: f.end_lineno - f.lineno + 1 for name, f in _functions(ast.parse(source))}
    assert found == {
        "outer": 5,
        "outer.<locals>.Inner.method": 3,
        "outer.<locals>.Inner.method.<locals>.nested": 2,
    }
