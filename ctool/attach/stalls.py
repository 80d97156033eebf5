"""Event-loop stalls found in py-spy's samples of a foreign process.

The loop thread is the thread whose samples run ``BaseEventLoop._run_once``. A sample of it
is *waiting* when its stack is in the selector's ``select`` (the loop idles there until a
timer or I/O is due); any other sample inside ``_run_once`` is the loop running a callback.
A **stall** is a run of at least ``MIN_SAMPLES`` consecutive running samples whose sampled
time (the samples' weights: one interval each) is at least the threshold: the loop stayed
out of its wait that long. Its resolution is the sampling interval (10 ms at 100 Hz): a
stall is counted to within one interval either way, and one shorter than two intervals may
be missed. Each of a stall's samples is credited with its share of the stall, at its *call
site* (the innermost frame of the user's code, by the hotspot rows' rule) with the library
function under it as the ``callee``.

Samples the loop spends waiting, and samples of other threads parked in the standard
library's waits (``threading``, ``queue``, ``selectors``), are idle time: :func:`busy_only`
drops them before the hotspot rows are folded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ctool.model.records import BlockingSite, MonitorSummary
from ctool.profilers.frames import is_library, is_workload, library_name

MIN_SAMPLES = 2
STACK_KEEP = 8
IDLE_FILES = ("threading.py", "queue.py", "selectors.py")

Frame = tuple[str, str, int]
"""(file, function, line) of a speedscope frame."""


def frames_of(document: dict[str, Any]) -> list[Frame]:
    shared = document.get("shared", {}).get("frames", [])
    return [
        (str(f.get("file") or "?"), str(f.get("name") or "?"), int(f.get("line") or 0))
        for f in shared
    ]


def _runs_loop(stack: Sequence[int], frames: list[Frame]) -> bool:
    return any(
        frames[i][1].endswith("_run_once") and frames[i][0].endswith("base_events.py")
        for i in stack
    )


def _waits(stack: Sequence[int], frames: list[Frame]) -> bool:
    return any(
        frames[i][0].endswith("selectors.py") and frames[i][1].endswith("select") for i in stack
    )


def loop_profiles(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The sampled profiles (one per thread) in which an asyncio loop runs."""
    frames = frames_of(document)
    return [
        p
        for p in document.get("profiles", [])
        if p.get("type") == "sampled" and any(_runs_loop(s, frames) for s in p.get("samples", []))
    ]


def find_stalls(
    document: dict[str, Any], *, threshold_ms: float, interval_s: float
) -> MonitorSummary:
    """Stalls of every loop thread in the document, as the watchdog's summary type."""
    summary = MonitorSummary()
    frames = frames_of(document)
    threshold_s = threshold_ms / 1e3
    for profile in loop_profiles(document):
        samples: list[list[int]] = profile.get("samples", [])
        weights: list[float] = profile.get("weights") or [interval_s] * len(samples)
        scale = 1e-3 if profile.get("unit") == "milliseconds" else 1.0
        run: list[tuple[list[int], float]] = []
        for stack, weight in [*zip(samples, weights, strict=False), ([], 0.0)]:
            if stack and _runs_loop(stack, frames) and not _waits(stack, frames):
                run.append((stack, weight * scale))
                continue
            _credit(summary, run, frames, threshold_s)
            run = []
    return summary


def _credit(
    summary: MonitorSummary,
    run: list[tuple[list[int], float]],
    frames: list[Frame],
    threshold_s: float,
) -> None:
    stalled_s = sum(w for _, w in run)
    if len(run) < MIN_SAMPLES or stalled_s < threshold_s or stalled_s <= 0:
        return
    stalled_ns = int(stalled_s * 1e9)
    summary.stalls += 1
    summary.stalled_ns += stalled_ns
    summary.lag_ns.append(stalled_ns)
    seen: dict[tuple[str, int, str, str | None], int] = {}
    sites: dict[tuple[str, int, str, str | None], BlockingSite] = {}
    for stack, weight in run:
        site = site_of(stack, frames)
        if site is None:
            continue
        key: tuple[str, int, str, str | None] = (site.file, site.line, site.function, None)
        sites.setdefault(key, site)
        seen[key] = seen.get(key, 0) + int(weight * 1e9)
    for found, attributed in seen.items():
        known = summary.sites.get(found)
        if known is None:
            known = summary.sites[found] = sites[found]
        known.count += 1
        known.total_ns += attributed
        known.max_ns = max(known.max_ns, attributed)


def site_of(stack: Sequence[int], frames: list[Frame]) -> BlockingSite | None:
    """The call site of one sample (stack outermost first): its innermost user frame."""
    inner_first = [frames[i] for i in reversed(stack)]
    at = next((d for d, f in enumerate(inner_first) if is_workload(f[0])), None)
    if at is None:
        return None
    file, function, line = inner_first[at]
    callee = None
    if at > 0:
        lib_file, lib_function, _ = inner_first[0]
        callee = library_name(lib_file, lib_function) if is_library(lib_file) else lib_function
    stack_text = [f"{f}:{n} in {fn}" for f, fn, n in inner_first[:STACK_KEEP]]
    return BlockingSite(function, file, line, None, callee, None, stack_text)


def busy_only(document: dict[str, Any]) -> dict[str, Any]:
    """The document without idle samples: loop threads waiting in the selector, other
    threads whose innermost frame is a standard-library wait (``IDLE_FILES``)."""
    frames = frames_of(document)
    profiles = []
    for profile in document.get("profiles", []):
        if profile.get("type") != "sampled":
            continue
        samples = profile.get("samples", [])
        weights = profile.get("weights") or []
        keep = [i for i, stack in enumerate(samples) if stack and not _idle(stack, frames)]
        profiles.append(
            {
                **profile,
                "samples": [samples[i] for i in keep],
                "weights": [weights[i] for i in keep if i < len(weights)],
            }
        )
    return {**document, "profiles": profiles}


def _idle(stack: Sequence[int], frames: list[Frame]) -> bool:
    if _waits(stack, frames):
        return True
    file = frames[stack[-1]][0]
    return is_library(file) and file.endswith(IDLE_FILES)
