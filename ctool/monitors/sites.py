"""Where the loop thread is: the pipeline's call site on its stack, and the stage.

A sample of the loop thread's stack is credited to its *call site*: the innermost frame in
the pipeline's own code (not the standard library, not an installed third-party package,
not ctool's harness). The innermost frame is kept too, as the ``callee`` (say
``psutil.cpu_percent``), and the stage comes from ``LOCATOR`` (span blocks seen in locate
mode, ``@stage``). Samples in which no frame of the pipeline's code is on the stack above
ctool's own frames (the loop idling, ctool's bookkeeping between episodes) name no site.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from ctool.model.records import BlockingSite
from ctool.spans import StageLocator

STACK_DEPTH = 64
STACK_KEEP = 8

_CTOOL_DIR = Path(__file__).resolve().parent.parent
_TOOL_DIRS = tuple(
    str(p) + os.sep for p in _CTOOL_DIR.iterdir() if p.is_dir() and p.name != "pipeline"
)
"""Every package of ctool but the reference pipeline (user code as far as ctool is concerned)."""


def _library_prefixes() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    found = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    found |= {p for p in sys.path if p.endswith(("site-packages", "dist-packages"))}
    return tuple(sorted({str(Path(p).resolve()) + os.sep for p in found if p}, key=len))


class FrameClassifier:
    """Sorts source files into the pipeline's code, libraries, and ctool's own machinery.

    ``user_roots`` are directories that always hold the pipeline's code (its own package),
    even when it is installed under site-packages.
    """

    def __init__(self, user_roots: Sequence[str] = ()) -> None:
        self._libs = _library_prefixes()
        resolved = [Path(r).resolve() for r in user_roots]
        self._user = tuple(str(r) + os.sep if r.is_dir() else str(r) for r in resolved)
        self._cache: dict[str, str] = {}

    def kind(self, filename: str) -> str:
        known = self._cache.get(filename)
        if known is not None:
            return known
        if filename.startswith("<"):
            result = "library"  # <frozen ...>, <string>
        else:
            path = str(Path(filename).resolve())
            if path.startswith(_TOOL_DIRS):
                result = "tool"
            elif self._user and path.startswith(self._user):
                result = "user"
            elif path.startswith(str(_CTOOL_DIR) + os.sep):
                result = "user"  # ctool.pipeline and friends: a pipeline, even if installed
            elif path.startswith(self._libs):
                result = "library"
            else:
                result = "user"
        self._cache[filename] = result
        return result


def pipeline_roots(ref: str) -> list[str]:
    """Where the pipeline's own code lives: its top-level package's directories, or its file.

    Call after the pipeline was imported.
    """
    top = ref.partition(":")[0].split(".")[0]
    module = sys.modules.get(top)
    if module is None:
        return []
    paths = [str(p) for p in getattr(module, "__path__", None) or []]
    file = getattr(module, "__file__", None)
    if not paths and file:
        paths = [str(file)]
    return paths


@dataclass
class _Frame:
    file: str
    line: int
    function: str
    module: str


def _walk(frame: FrameType | None) -> list[_Frame]:
    frames: list[_Frame] = []
    while frame is not None and len(frames) < STACK_DEPTH:
        code = frame.f_code
        module = frame.f_globals.get("__name__", "?")
        # f_lineno is None between instructions that carry no line (e.g. a RESUME).
        line = frame.f_lineno or code.co_firstlineno
        frames.append(_Frame(code.co_filename, line, code.co_qualname, str(module)))
        frame = frame.f_back
    return frames


def site_of(
    frame: FrameType | None, classifier: FrameClassifier, locator: StageLocator
) -> BlockingSite | None:
    """The pipeline call site a stack (innermost ``frame``) is in, or None."""
    frames = _walk(frame)
    del frame
    if not frames:
        return None
    # The episode's frames are those inside (innermost from) ctool's own: beyond the
    # first harness frame lie the event loop and the program that started the run.
    site_at: int | None = None
    for i, f in enumerate(frames):
        kind = classifier.kind(f.file)
        if kind == "tool":
            break
        if kind == "user":
            site_at = i
            break
    if site_at is None:
        return None  # the loop is idle or in ctool's own code: no pipeline call to blame
    site = frames[site_at]
    innermost = frames[0]
    callee = None
    if site_at > 0:
        callee = f"{innermost.module}.{innermost.function}"
    stage = locator.stage_of_stack((f.file, f.line) for f in frames)
    stack = [f"{f.file}:{f.line} in {f.function}" for f in frames[:STACK_KEEP]]
    return BlockingSite(site.function, site.file, site.line, None, callee, stage, stack)


def thread_at(name: str, frame: FrameType | None, classifier: FrameClassifier) -> str:
    """``thread NAME at file:line in function``: where another thread runs, its innermost
    frame of user code when it has one (else its innermost frame)."""
    frames = _walk(frame)
    del frame
    if not frames:
        return f"thread {name}"
    chosen = next((f for f in frames if classifier.kind(f.file) == "user"), frames[0])
    return f"thread {name} at {chosen.file}:{chosen.line} in {chosen.function}"
