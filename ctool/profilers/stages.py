"""Which pipeline stage a function, a line or a sample belongs to.

Stages are the spans a pipeline marks (``with ctool.span("ESGT")``). A sampling profiler
(py-spy) or an allocation tracer (tracemalloc) sees whole stacks, so the stage of a sample is
the span block enclosing its innermost frame (``LOCATOR.stage_of_stack``). A deterministic
profiler (cProfile, line_profiler, memory_profiler) sees functions, not stacks: for those a
light :class:`StageSampler` thread samples the episode thread's stack while they run, and a
function's stage is the one it was seen running in most often. Stages are never guessed
from file names: what no sample and no span block places has no stage.

The block map (``LOCATOR``) is filled while spans run in *locate* mode and by ``@stage``;
lookups happen when a profiler stops, so blocks entered during the run are known by then.
"""

from __future__ import annotations

import linecache
import re
import sys
import threading
from collections import Counter
from collections.abc import Hashable, Sequence

from ctool.profilers.span_blocks import learn_blocks
from ctool.spans import LOCATOR

Frame = tuple[str, int]
"""(filename, line number)."""
FunctionKey = tuple[str, int, str]
"""(filename, first line of the function, function name), as cProfile keys functions."""


def known_stages() -> set[str]:
    return {block[0] for block in LOCATOR.blocks()}


def frame_stages(frames: Sequence[Frame]) -> list[str | None]:
    """The stage each frame (innermost first) ran in.

    A frame belongs to the nearest span block at or outside it: the function that contains
    ``with span("ESGT"):`` and everything it calls inside that block are ESGT; frames outside
    every block (the event loop, the harness) belong to no stage.
    """
    learn_blocks(filename for filename, _ in frames)
    result: list[str | None] = [None] * len(frames)
    pending: list[int] = []
    for index, (filename, lineno) in enumerate(frames):
        pending.append(index)
        found = LOCATOR.stage_at(filename, lineno)
        if found is not None:
            for waiting in pending:
                result[waiting] = found
            pending.clear()
    return result


class StageVotes:
    """Weighted votes of which stage a key (function, site) ran in; the majority wins."""

    def __init__(self) -> None:
        self._votes: dict[Hashable, Counter[str | None]] = {}

    def add(self, key: Hashable, stage: str | None, weight: float = 1.0) -> None:
        votes = self._votes.get(key)
        if votes is None:
            votes = self._votes[key] = Counter()
        votes[stage] += weight  # type: ignore[assignment]

    def stage(self, key: Hashable) -> str | None:
        votes = self._votes.get(key)
        if not votes:
            return None
        best, _ = max(votes.items(), key=lambda item: (item[1], item[0] is not None))
        return best

    def weights(self, key: Hashable) -> dict[str | None, float]:
        """Every stage's votes for ``key`` (empty when never seen)."""
        return dict(self._votes.get(key, {}))

    def __contains__(self, key: Hashable) -> bool:
        return key in self._votes


def held_stages(filename: str, first: int, last: int) -> set[str]:
    """The stages whose span blocks begin inside lines ``first..last`` of ``filename``."""
    return {
        stage
        for stage, block_file, block_first, _ in LOCATOR.blocks()
        if block_file == filename and first <= block_first <= last
    }


def holder_stage(stages: set[str]) -> str | None:
    """The stage of a function holding these blocks: one stage (or one with its sub-stages,
    ``parse`` holding ``parse.tokens``) names it; blocks of several stages (an ``episode`` method
    running every stage) name none -- its time is not one stage's."""
    roots = {stage.split(".", 1)[0] for stage in stages}
    if len(roots) != 1:
        return None
    return min(stages, key=len)


def stage_of_calls(
    name: str, *, filename: str | None = None, first: int = 0, last: int = sys.maxsize
) -> str | None:
    """The stage whose span blocks call ``name(...)``, read from their source lines.

    A function never caught by a sampler (too short) but called directly inside
    ``with span("ESGT"):`` is ESGT's. Restricted to one caller's ``filename`` and line range
    when given. ``None`` when no block calls it or blocks of different stages do.
    """
    if not name.isidentifier():
        return None
    call = re.compile(rf"(?<![\w]){re.escape(name)}\s*\(")
    found: set[str] = set()
    for _, block_file, block_first, block_last in LOCATOR.blocks():
        if filename is not None and (block_file != filename or not first <= block_first <= last):
            continue
        for lineno in range(block_first, block_last + 1):
            text = linecache.getline(block_file, lineno)
            if call.search(text) and not text.lstrip().startswith(("def ", "async def ")):
                stage = LOCATOR.stage_at(block_file, lineno)  # the innermost block of the line
                if stage is not None:
                    found.add(stage)
    return found.pop() if len(found) == 1 else None


def resolve_stage(
    votes: StageVotes,
    key: Hashable,
    filename: str,
    *,
    name: str | None = None,
    stages: set[str] | None = None,
) -> str | None:
    """The voted stage, else the stage whose span blocks call ``name`` (read from the blocks'
    source), else none. ``filename`` and ``stages`` are kept for callers' compatibility; a
    stage is never guessed from a file's name."""
    del filename, stages
    found = votes.stage(key)
    if found is None and name is not None:
        found = stage_of_calls(name)
    return found


class StageSampler:
    """Samples one thread's Python stack at a low rate to learn which stage code runs in.

    Costs one stack walk per sample (about 100 Hz by default) from a daemon thread; the
    stage lookup itself is deferred to :meth:`votes`, after the run.
    """

    def __init__(self, thread_id: int | None = None, *, hz: float = 100.0) -> None:
        self.thread_id = thread_id if thread_id is not None else threading.get_ident()
        self.interval = 1.0 / hz if hz > 0 else 0.01
        self._stacks: Counter[tuple[tuple[str, int, int, str], ...]] = Counter()
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._halt.clear()
        self._thread = threading.Thread(target=self._run, name="ctool-stage-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def samples(self) -> int:
        return sum(self._stacks.values())

    def _run(self) -> None:
        while not self._halt.wait(self.interval):
            frame = sys._current_frames().get(self.thread_id)
            stack: list[tuple[str, int, int, str]] = []
            while frame is not None and len(stack) < 256:
                code = frame.f_code
                stack.append((code.co_filename, frame.f_lineno, code.co_firstlineno, code.co_name))
                frame = frame.f_back
            del frame
            if stack:
                self._stacks[tuple(stack)] += 1

    def votes(self) -> StageVotes:
        """Per function (:data:`FunctionKey`) and per line (:data:`Frame`): stage votes."""
        votes = StageVotes()
        for stack, count in self._stacks.items():
            stages = frame_stages([(filename, lineno) for filename, lineno, _, _ in stack])
            seen: set[FunctionKey] = set()
            for (filename, lineno, first, name), found in zip(stack, stages, strict=True):
                key = (filename, first, name)
                if key not in seen:  # recursion counts once per sample
                    seen.add(key)
                    votes.add(key, found, count)
                votes.add((filename, lineno), found, count)
        return votes
