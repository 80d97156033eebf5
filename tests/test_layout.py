"""The layout rules of docs/design.md section 2 that import-linter cannot check.

- No module imports a private name (``_x``) of another module, nor reaches one through a
  module it imported (``mod._x``): a file split by size instead of by job shows up here.
- Every package of ctool says in its docstring what it holds.
"""

from __future__ import annotations

import ast
from pathlib import Path

import ctool

CTOOL = Path(ctool.__file__).resolve().parent


def _modules() -> list[Path]:
    return sorted(p for p in CTOOL.rglob("*.py") if "__pycache__" not in p.parts)


def _module_name(path: Path) -> str:
    if not path.is_relative_to(CTOOL.parent):
        return path.stem
    parts = list(path.relative_to(CTOOL.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_imports(path: Path) -> list[str]:
    """``file:line name`` of each private name this module takes from another module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _module_name(path)
    found: list[str] = []
    imported_modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == here:
                continue
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"{path.name}:{node.lineno} {node.module}.{alias.name}")
                else:
                    imported_modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    imported_modules.add(alias.asname)
    found.extend(
        f"{path.name}:{node.lineno} {node.value.id}.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in imported_modules
        and _private(node.attr)
    )
    return found


def test_no_module_imports_a_private_name_of_another() -> None:
    found = [hit for path in _modules() for hit in private_imports(path)]
    assert found == []


def test_the_rule_catches_both_forms(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from ctool.leak.runner import _Run\nfrom ctool.leak import runner as r\nr._thing()\n"
    )
    assert [hit.split(" ")[1] for hit in private_imports(sample)] == [
        "ctool.leak.runner._Run",
        "r._thing",
    ]


def test_every_package_says_what_it_holds() -> None:
    silent = []
    for init in sorted(CTOOL.rglob("__init__.py")):
        if "__pycache__" in init.parts or "templates" in init.parts:
            continue
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        if not doc or len(doc) < 40:
            silent.append(str(init.relative_to(CTOOL)))
    assert silent == []
