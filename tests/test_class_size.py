"""Size rule for the run machinery (issue 21, "Runs as composed parts"): a class in
``ctool/run``, ``ctool/leak``, ``ctool/ab`` or ``ctool/monitors`` has at most 150 lines and
at most 12 instance attributes. A class over it holds more than one job: find the second one
and give it its own part (docs/design.md section 3).

Instance attributes are the names a class's methods assign on ``self`` together with its
annotated class-level fields (a dataclass's). The exceptions are named below with the
reason; an entry that no longer matches an offender must be removed, and a test says so.
"""

from __future__ import annotations

import ast
from pathlib import Path

MAX_CLASS_LINES = 150
MAX_ATTRIBUTES = 12
PACKAGES = ("run", "leak", "ab", "monitors")

EXCEPTIONS: dict[str, str] = {
    "ctool/run/config.py::RunConfig": "a frozen record of options: declarations, no state",
    "ctool/leak/config.py::LeakcheckOptions": "a frozen record of options: declarations",
    "ctool/ab/runner.py::ABPlan": "a frozen record of options: declarations, no state",
    "ctool/monitors/watchdog.py::LoopWatchdog": (
        "being rewritten by the stall-timing change (issue 25's `stalls`); split it there"
    ),
    "ctool/monitors/sampler.py::ResourceSampler": (
        "17 attributes: the process/children CPU reader and the timeline are its second and "
        "third jobs; outside this change's files"
    ),
}

ROOT = Path(__file__).resolve().parent.parent


def _attributes(cls: ast.ClassDef) -> set[str]:
    """Names assigned on ``self`` in the class's own methods, and its annotated fields."""
    names = {
        stmt.target.id
        for stmt in cls.body
        if isinstance(stmt, ast.AnnAssign)
        and isinstance(stmt.target, ast.Name)
        and "ClassVar" not in ast.unparse(stmt.annotation)
    }
    for method in cls.body:
        if not isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(method):
            target = node.target if isinstance(node, ast.AnnAssign) else None
            targets = node.targets if isinstance(node, ast.Assign) else [target]
            if isinstance(node, ast.AugAssign):
                targets = [node.target]
            for t in targets:
                if (
                    isinstance(t, ast.Attribute)
                    and isinstance(t.value, ast.Name)
                    and t.value.id == "self"
                ):
                    names.add(t.attr)
    return names


def _classes(tree: ast.AST) -> list[ast.ClassDef]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]


def _offenders() -> dict[str, str]:
    offenders: dict[str, str] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / "ctool" / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
            for cls in _classes(tree):
                assert cls.end_lineno is not None
                lines = cls.end_lineno - cls.lineno + 1
                attributes = len(_attributes(cls))
                if lines > MAX_CLASS_LINES or attributes > MAX_ATTRIBUTES:
                    offenders[f"{rel}::{cls.name}"] = (
                        f"{lines} lines (max {MAX_CLASS_LINES}), "
                        f"{attributes} attributes (max {MAX_ATTRIBUTES})"
                    )
    return offenders


def test_run_machinery_classes_are_small() -> None:
    over = {key: what for key, what in _offenders().items() if key not in EXCEPTIONS}
    listing = "\n".join(f"  {key}: {what}" for key, what in over.items())
    assert not over, f"{len(over)} classes over the size rule (split them by job):\n{listing}"


def test_every_exception_is_still_needed() -> None:
    offenders = _offenders()
    stale = sorted(key for key in EXCEPTIONS if key not in offenders)
    assert not stale, "exceptions that no longer apply (remove them): " + ", ".join(stale)


def test_the_check_counts_what_it_should() -> None:
    """Fields, ``self`` assignments of every kind, once each; ClassVars and locals not."""
    source = (
        "class C:\n"
        "    a: int\n"
        "    k: ClassVar[int] = 1\n"
        "    def __init__(self):\n"
        "        self.b = 1\n"
        "        self.c: int = 2\n"
        "        local = 3\n"
        "    def more(self):\n"
        "        self.b += 1\n"
        "        self.d = self.e = 0\n"
    )
    (cls,) = _classes(ast.parse(source))
    assert _attributes(cls) == {"a", "b", "c", "d", "e"}
