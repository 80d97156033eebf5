"""What is alive in this process, measured without leaving traces of the measuring.

The helpers leakcheck needs (``ctool.leak.runner``): live objects counted by type,
tracemalloc snapshots turned into plain per-traceback growth, the RSS, and which source
frames are machinery (ctool, the event loop, tracemalloc) rather than the pipeline's.
Each is written so that what it allocates while tracemalloc traces is either freed at once
or recognisably ctool's: counts run in C over chunks that allocate no ints, the RSS is one
``pread``, snapshot results are held as one ``bytes`` object while objects are counted.
"""

from __future__ import annotations

import ast
import asyncio
import functools
import gc
import json
import linecache
import os
import sys
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ctool.analysis.leak import Frame, RawSite

if TYPE_CHECKING:
    import tracemalloc


def growth_since(start: tracemalloc.Snapshot) -> list[RawSite]:
    """Allocation growth between ``start`` and now, one entry per traceback.

    Two end snapshots 10 ms apart, and per traceback the smaller growth of the two: a
    buffer that one of the pipeline's own threads holds mid-read at one instant (psutil's
    32 kB read buffer in a health-probe thread) is rarely held at both, while what the
    episodes left behind is in both.
    """
    import tracemalloc

    def diffs() -> dict[tuple[Frame, ...], tuple[int, int]]:
        return {
            tuple((frame.filename, frame.lineno) for frame in reversed(diff.traceback)): (
                diff.size_diff,
                diff.count_diff,
            )
            for diff in tracemalloc.take_snapshot().compare_to(start, "traceback")
            if diff.size_diff or diff.count_diff  # negatives too: merged tracebacks net out
        }

    first = diffs()
    time.sleep(0.01)  # the main thread waits; the pipeline's threads finish what they hold
    second = diffs()
    sites = []
    for frames in first.keys() | second.keys():
        a, b = first.get(frames, (0, 0)), second.get(frames, (0, 0))
        size, count = min(a, b)
        if size or count:
            sites.append(RawSite(frames, size, count))
    return sites


def live_traces(snapshot: tracemalloc.Snapshot) -> list[RawSite]:
    """Every traceback's live blocks in ``snapshot``."""
    return [
        RawSite(
            frames=tuple((frame.filename, frame.lineno) for frame in reversed(stat.traceback)),
            size_diff=stat.size,
            count_diff=stat.count,
        )
        for stat in snapshot.statistics("traceback")
    ]


class RSSReader:
    """Resident set size without allocating anything that lives: on Linux one ``pread`` of
    ``/proc/self/statm`` on a descriptor opened before tracing starts (psutil keeps caches
    that would show up as growing sites); elsewhere psutil."""

    def __init__(self) -> None:
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
        try:
            self._fd: int | None = os.open("/proc/self/statm", os.O_RDONLY)
        except OSError:
            self._fd = None
        self._process: Any = None

    def read(self) -> int:
        if self._fd is not None:
            return int(os.pread(self._fd, 128, 0).split()[1]) * self._page
        if self._process is None:
            import psutil

            self._process = psutil.Process(os.getpid())
        return int(self._process.memory_info().rss)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def encode_sites(sites: list[RawSite]) -> bytes:
    return json.dumps([[site.frames, site.size_diff, site.count_diff] for site in sites]).encode()


def decode_sites(blob: bytes) -> list[RawSite]:
    if not blob:
        return []
    return [
        RawSite(tuple((str(f), int(n)) for f, n in frames), int(size), int(count))
        for frames, size, count in json.loads(blob)
    ]


_COUNT_CHUNK = 256
"""Counts up to 256 are CPython's cached small ints: counting in chunks of 256 and merging
allocates one int per (chunk, type) instead of one per object -- ten times faster while
tracemalloc is tracing, which is when the start count runs."""


def count_types(*, exclude: tuple[object, ...]) -> Counter[type]:
    """Live objects by type: every GC-tracked object, plus untracked objects (str, bytes,
    int, float...) once per reference from a container -- how a list of leaked bytes shows
    up as ``bytes``. ``exclude`` names ctool's own containers (and so their direct
    contents) to leave out. Everything runs in C (map, filterfalse, compress, Counter)."""
    import operator
    from itertools import compress, count, filterfalse, repeat

    # The same calls on nothing first: Counter.update's isinstance(Mapping) check fills ABC
    # caches (weakrefs, sets) the first time it sees a map, and they must not count as growth.
    Counter(map(type, ())).update(Counter())
    objects = gc.get_objects()
    # The ``exclude`` tuple itself is a live container: following it would count the
    # contents of an untracked container it names (a dict of ints) a second time.
    found = next(compress(count(), map(operator.is_, objects, repeat(exclude))), None)
    if found is not None:
        del objects[found]
    untracked = list(filterfalse(gc.is_tracked, gc.get_referents(*objects)))
    # A dict holding only atoms is untracked (a CPython optimisation) yet mutable: a cache
    # of str -> bytes grows inside one. Its contents count too (tuples of atoms, immutable,
    # are not followed: they cannot grow, and there are tens of thousands of them).
    dicts = list(compress(untracked, map(operator.is_, map(type, untracked), repeat(dict))))
    layers = [objects, untracked, gc.get_referents(*dicts)]
    del objects, untracked, dicts
    counts: Counter[type] = Counter()
    for items in layers:
        for i in range(0, len(items), _COUNT_CHUNK):
            counts.update(Counter(map(type, items[i : i + _COUNT_CHUNK])))
    del layers
    for obj in exclude:
        counts[type(obj)] -= 1
        counts.subtract(map(type, filterfalse(gc.is_tracked, gc.get_referents(obj))))
    return counts


def count_types_in_thread(*, exclude: tuple[object, ...] = ()) -> Counter[type]:
    """``count_types`` while tracemalloc traces: each allocation's cost grows with the
    stack it captures, and a fresh thread's stack is a few frames instead of the event
    loop's dozen (half the time, measured)."""
    import threading

    result: list[Counter[type]] = []
    worker = threading.Thread(
        target=lambda: result.append(count_types(exclude=exclude)),
        name="ctool-leakcheck-count",
        daemon=True,  # a non-daemon thread leaves its lock in threading._shutdown_locks
    )
    worker.start()
    worker.join()
    return result[0]


def type_sites(
    names: set[str], *, per_type: int = 200, skip: tuple[Mapping[Any, int], ...] = ()
) -> dict[str, Counter[tuple[str, int]]]:
    """Where live objects of the named types were allocated: for up to ``per_type`` traced
    objects of each (GC-tracked ones and the untracked ones a container holds), the
    innermost frame of their tracemalloc traceback that is not machinery. Call while
    tracemalloc traces; objects made before it started have no traceback."""
    import tracemalloc

    found: dict[str, Counter[tuple[str, int]]] = {name: Counter() for name in names}
    wanted = {kind for kind in _live_types() if _type_name(kind) in names}
    if not wanted:
        return found
    seen = 0
    own = {id(value) for counts in skip for value in counts.values()}
    objects = gc.get_objects()
    referents = gc.get_referents(*objects)
    # As in count_types: untracked dicts (holding only atoms) are followed one level more.
    dicts = [obj for obj in referents if type(obj) is dict and not gc.is_tracked(obj)]
    for layer in (objects, referents, gc.get_referents(*dicts)):
        for obj in layer:
            kind = type(obj)
            if kind not in wanted or id(obj) in own:
                continue
            tally = found[_type_name(kind)]
            if sum(tally.values()) >= per_type:
                continue
            trace = tracemalloc.get_object_traceback(obj)
            if trace is None:
                continue
            frame = next(
                (
                    (f.filename, f.lineno)
                    for f in reversed(trace)
                    if not is_plumbing_file(f.filename)
                    and not resolved(f.filename).startswith(ctool_roots())
                ),
                None,
            )
            if frame is not None:
                tally[frame] += 1
                seen += 1
        if seen >= per_type * len(wanted):
            break
    return found


def _live_types() -> set[type]:
    return {type(obj) for obj in gc.get_objects()} | {int, float, str, bytes, bytearray, tuple}


def by_name(counts: Mapping[type, int]) -> dict[str, int]:
    named: dict[str, int] = {}
    for kind, count in counts.items():
        name = _type_name(kind)
        named[name] = named.get(name, 0) + count
    return named


def _type_name(kind: type) -> str:
    module = getattr(kind, "__module__", "builtins")
    name = getattr(kind, "__qualname__", kind.__name__)
    return name if module == "builtins" else f"{module}.{name}"


@functools.cache
def ctool_roots() -> tuple[str, ...]:
    """ctool's machinery: everything but the reference pipeline, which is user code here."""
    ctool_dir = Path(__file__).resolve().parent.parent
    roots = [str(p) + os.sep for p in ctool_dir.iterdir() if p.is_dir() and p.name != "pipeline"]
    return (*roots, str(ctool_dir / "__init__.py"), str(ctool_dir / "__main__.py"))


@functools.cache
def _plumbing_roots() -> tuple[str, ...]:
    import selectors
    import tracemalloc

    roots = [str(Path(asyncio.__file__).resolve().parent) + os.sep]
    roots += [str(Path(m.__file__).resolve()) for m in (tracemalloc, selectors) if m.__file__]
    for name in ("typer", "click"):
        module = sys.modules.get(name)
        if module is not None and module.__file__:
            roots.append(str(Path(module.__file__).resolve().parent) + os.sep)
    return (*ctool_roots(), *roots)


@functools.lru_cache(maxsize=4096)
def resolved(filename: str) -> str:
    try:
        return str(Path(filename).resolve())
    except (OSError, ValueError):
        return filename


@functools.lru_cache(maxsize=4096)
def is_plumbing_file(filename: str) -> bool:
    """Frames hidden from a site's traceback: ctool, the event loop, tracemalloc, imports."""
    if filename.startswith("<") and ("importlib" in filename or filename == "<unknown>"):
        return True
    return resolved(filename).startswith(_plumbing_roots())


@functools.lru_cache(maxsize=4096)
def describe_line(filename: str, lineno: int) -> tuple[str | None, str | None]:
    """(enclosing function's qualified name, the stripped source line) of a frame."""
    code = linecache.getline(filename, lineno).strip() or None
    return _enclosing_function(filename, lineno), code


def _enclosing_function(filename: str, lineno: int) -> str | None:
    best: tuple[int, str] | None = None
    for first, last, qualname in _function_ranges(filename):
        if first <= lineno <= last and (best is None or first > best[0]):
            best = (first, qualname)
    return best[1] if best else None


@functools.lru_cache(maxsize=256)
def _function_ranges(filename: str) -> tuple[tuple[int, int, str], ...]:
    try:
        source = Path(filename).read_text(encoding="utf-8")
        tree = ast.parse(source, filename)
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return ()
    ranges: list[tuple[int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                qualname = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    ranges.append((child.lineno, child.end_lineno or child.lineno, qualname))
                visit(child, qualname + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return tuple(ranges)
