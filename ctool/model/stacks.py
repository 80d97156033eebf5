"""The one reader of sampled call stacks: speedscope JSON and folded text.

py-spy writes speedscope (``sampled`` profiles, one per thread; other tools write
``evented`` ones) and ctool writes episode-rooted folded stacks (``a;b;c 12`` per line, as
flamegraph.pl and inferno read them). Both are read here, once, into :class:`Stacks`:
frames, and per profile its stacks (outermost frame first, indexes into the frames) with
their weights. The profilers fold them into hotspot rows (``profilers.pyspy``), analysis
builds call trees from them (``analysis.flametree``), and the renderers draw the trees.
It lives in the model because it is a file format that both the profilers and analysis
read (docs/design.md section 2: neither may import the other).

Bad input raises ``ValueError`` with a one-line reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal


@dataclass(frozen=True)
class Frame:
    name: str
    file: str = ""
    line: int | None = None


@dataclass
class StackProfile:
    """One profile (a thread): its stacks, outermost frame first, and their weights."""

    name: str
    kind: Literal["sampled", "evented"] = "sampled"
    unit: str = "none"
    stacks: list[list[int]] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)


@dataclass
class Stacks:
    frames: list[Frame]
    profiles: list[StackProfile]


def _frames(doc: dict[str, Any]) -> list[Frame]:
    shared = doc.get("shared")
    frames = shared.get("frames") if isinstance(shared, dict) else None
    if not isinstance(frames, list):
        raise ValueError("not a speedscope profile (no shared.frames)")
    out = []
    for f in frames:
        if not isinstance(f, dict):
            raise ValueError("not a speedscope profile (a frame is not an object)")
        line = f.get("line")
        out.append(
            Frame(
                str(f.get("name") or "?"),
                str(f.get("file") or ""),
                line if isinstance(line, int) and not isinstance(line, bool) else None,
            )
        )
    return out


def _checked(stack: Any, count: int) -> list[int]:
    if not isinstance(stack, list):
        raise ValueError("speedscope sample is not a list of frames")
    for i in stack:
        if not isinstance(i, int) or not 0 <= i < count:
            raise ValueError(f"speedscope sample refers to frame {i!r}, which does not exist")
    return stack


def _sampled(prof: dict[str, Any], out: StackProfile, count: int) -> None:
    samples = prof.get("samples")
    weights = prof.get("weights")
    if not isinstance(samples, list):
        raise ValueError("speedscope sampled profile without samples")
    if not isinstance(weights, list) or len(weights) != len(samples):
        weights = [1.0] * len(samples)
    for stack, weight in zip(samples, weights, strict=True):
        out.stacks.append(_checked(stack, count))
        out.weights.append(float(weight))


def _evented(prof: dict[str, Any], out: StackProfile, count: int) -> None:
    """Open/close events as stacks weighted by the time each stack was open."""
    events = prof.get("events")
    if not isinstance(events, list):
        raise ValueError("speedscope evented profile without events")
    open_stack: list[int] = []
    last_at: float | None = None
    for ev in events:
        if not isinstance(ev, dict):
            raise ValueError("speedscope event is not an object")
        at = float(ev.get("at", 0.0))
        if last_at is not None and open_stack and at > last_at:
            out.stacks.append(_checked(list(open_stack), count))
            out.weights.append(at - last_at)
        last_at = at
        kind, frame = ev.get("type"), ev.get("frame")
        if kind == "O" and isinstance(frame, int):
            open_stack.append(frame)
        elif kind == "C" and open_stack:
            open_stack.pop()


def read_speedscope(doc: Any) -> Stacks:
    """A decoded speedscope document, checked."""
    if not isinstance(doc, dict):
        raise ValueError("not a speedscope profile (top level is not an object)")
    frames = _frames(doc)
    profiles = doc.get("profiles")
    if not isinstance(profiles, list) or not profiles:
        raise ValueError("speedscope file holds no profiles")
    out: list[StackProfile] = []
    for n, prof in enumerate(profiles):
        if not isinstance(prof, dict):
            raise ValueError("speedscope profile is not an object")
        evented = prof.get("type") == "evented"
        one = StackProfile(
            str(prof.get("name") or f"thread {n}"),
            "evented" if evented else "sampled",
            str(prof.get("unit") or "none"),
        )
        (_evented if evented else _sampled)(prof, one, len(frames))
        out.append(one)
    return Stacks(frames, out)


def read_folded(text: str) -> Stacks:
    """Folded stacks (``a;b;c 12`` per line): frames named only, one profile."""
    frames: list[Frame] = []
    index: dict[str, int] = {}
    profile = StackProfile("folded", unit="samples")
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        stack, _, count = line.rpartition(" ")
        try:
            weight = float(count)
        except ValueError:
            raise ValueError(f"folded stacks, line {number}: no sample count") from None
        ids = []
        for name in (frame for frame in stack.split(";") if frame):
            if name not in index:
                index[name] = len(frames)
                frames.append(Frame(name))
            ids.append(index[name])
        profile.stacks.append(ids)
        profile.weights.append(weight)
    return Stacks(frames, [profile])


def _text(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read: {exc}") from None


def load_speedscope(path: str | Path) -> Stacks:
    text = _text(path)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg})") from None
    return read_speedscope(doc)


def load_folded(path: str | Path) -> Stacks:
    return read_folded(_text(path))
