"""Who is the user: where a source location belongs (docs/profilers.md, "Who is the user").

The rule: *user code* is every file outside the standard library, site-packages (and
frozen or built-in code) and ctool's own machinery. ``ctool/pipeline``, the reference
workload, is user code. ``--user-code PATH_OR_PACKAGE`` (repeatable, :func:`set_user_code`)
overrides it: files under those paths, or in those packages, are user code wherever they
are installed (an installed package of the user's own).

Profilers use this to keep ctool out of the bottleneck table (the harness and the profilers
themselves are not what the user came to see), to fold library time into boundary rows
(``ctool.profilers.boundary``) and to name the function that contains a line when the
profiler reports only ``file:line`` (tracemalloc).
"""

from __future__ import annotations

import ast
import functools
import os
import re
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
_user_prefixes: tuple[str, ...] = ()


def resolve_user_code(entry: str) -> str:
    """A ``--user-code`` entry as a path prefix: an existing path, else an importable
    package's directory (or module file). Raises ``ValueError`` with a one-line reason."""
    path = Path(entry).expanduser()
    if path.exists():
        return str(path.resolve())
    import importlib.util

    try:
        spec = importlib.util.find_spec(entry)
    except (ImportError, ValueError) as exc:
        raise ValueError(f"--user-code {entry!r}: not a path, and not importable: {exc}") from None
    if spec is None:
        raise ValueError(f"--user-code {entry!r}: no such path or importable package")
    if spec.submodule_search_locations:
        return str(Path(next(iter(spec.submodule_search_locations))).resolve())
    if spec.origin and spec.origin not in ("built-in", "frozen"):
        return str(Path(spec.origin).resolve())
    raise ValueError(f"--user-code {entry!r}: a built-in module has no source to profile")


def set_user_code(entries: list[str] | tuple[str, ...]) -> None:
    """Treat files under these paths or packages as user code (``--user-code``)."""
    global _user_prefixes
    prefixes: set[str] = set()
    for entry in entries:
        found = resolve_user_code(entry)
        prefixes.add(found if found.endswith(".py") else found + os.sep)
    _user_prefixes = tuple(sorted(prefixes))
    is_machinery.cache_clear()
    is_library.cache_clear()


def is_user_override(filename: str) -> bool:
    """Named user code by ``--user-code``."""
    return bool(_user_prefixes) and filename.startswith(_user_prefixes)


@functools.lru_cache(maxsize=4096)
def is_machinery(filename: str) -> bool:
    """A file of ctool itself (any package, the span API too) that is not the reference workload."""
    if is_user_override(filename):
        return False
    return filename.startswith(_CTOOL_PREFIX) and not filename.startswith(_WORKLOAD_PREFIX)


@functools.lru_cache(maxsize=4096)
def is_library(filename: str) -> bool:
    """Standard library, frozen or built-in code, or a third-party package in site-packages."""
    if not filename or filename.startswith(("<", "~")):
        return True
    if filename.startswith(str(_CTOOL_DIR)) or is_user_override(filename):
        return False
    if not os.path.isabs(filename) and not os.path.exists(filename):
        return True  # no source file: generated code, or a frame py-spy misread ("__doc__")
    return filename.startswith(_STDLIB) or filename.startswith(_SITE)


def has_source(filename: str) -> bool:
    """A frame from a real file (not ``<string>``, generated code or a misread frame)."""
    return bool(filename) and not filename.startswith(("<", "~")) and os.path.isabs(filename)


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


_BUILTIN_FORMS = (
    (re.compile(r"<method '([\w.]+)' of '([\w.]+)' objects>"), r"\2.\1"),
    (re.compile(r"<built-in method ([\w.]+) of ([\w.]+) object at 0x[0-9a-f]+>"), r"\2.\1"),
    (re.compile(r"<built-in method ([\w.]+)>"), r"\1"),
    (re.compile(r"<built-in function ([\w.]+)>"), r"\1"),
)


@functools.lru_cache(maxsize=4096)
def library_module(filename: str) -> str:
    """The dotted module of a library file (``.../site-packages/yaml/parser.py`` ->
    ``yaml.parser``), or ``""`` when it lies under no known prefix."""
    for prefix in sorted(_SITE + _STDLIB, key=len, reverse=True):
        if filename.startswith(prefix):
            rest = filename[len(prefix) :].removesuffix(".py")
            parts = [p for p in rest.split(os.sep) if p and p != "__init__"]
            if parts and parts[0] in ("site-packages", "dist-packages"):
                parts = parts[1:]
            return ".".join(parts)
    return ""


def library_name(filename: str, function: str) -> str:
    """How a row names a library function: its top-level package and the function
    (``yaml.load``, ``networkx.single_source_dijkstra``), a C function as its type's method
    (``sqlite3.Connection.execute``)."""
    if filename.startswith("~") or function.startswith("<"):
        for pattern, form in _BUILTIN_FORMS:
            match = pattern.fullmatch(function)
            if match:
                name = match.expand(form)
                return name.removeprefix("builtins.").lstrip("_")
        return function
    module = library_module(filename)
    top = module.split(".", 1)[0] if module else Path(filename).stem
    return f"{top}.{function}" if top else function
