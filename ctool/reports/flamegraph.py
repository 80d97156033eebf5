"""A flame graph (icicle: callers on top) drawn as inline SVG from a speedscope profile.

py-spy writes speedscope JSON (``report.artifacts["pyspy"]``). This module reads the
``sampled`` and ``evented`` profile types of that format, merges the threads' profiles into
one call tree (one top-level node per thread when there are several), prunes frames too
narrow to see, and lays the tree out as SVG rectangles with a ``<title>`` tooltip each. The
page script (``templates/report.js``) adds click-to-zoom using the ``data-*`` attributes.

Every name and path in the output is escaped here: the SVG is placed in the page verbatim.
Bad input raises ``ValueError`` with a one-line reason; the HTML report shows it instead of
the graph.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

WIDTH = 1036
ROW = 17
MAX_FRAMES = 3000
"""Upper bound on drawn rectangles; the minimum visible width rises until it fits."""
MIN_FRACTION = 0.0008
MAX_DEPTH = 120
CHAR_PX = 6.6


@dataclass
class FlameNode:
    name: str
    file: str = ""
    line: int | None = None
    value: float = 0.0
    children: dict[Any, FlameNode] = field(default_factory=dict)

    def child(self, key: Any, name: str, file: str = "", line: int | None = None) -> FlameNode:
        node = self.children.get(key)
        if node is None:
            node = self.children[key] = FlameNode(name, file, line)
        return node

    def add_stack(self, stack: Iterable[tuple[Any, str, str, int | None]], weight: float) -> None:
        """Add ``weight`` along a root-to-leaf stack of (key, name, file, line)."""
        node = self
        node.value += weight
        for key, name, file, line in stack:
            node = node.child(key, name, file, line)
            node.value += weight


@dataclass
class FlameGraph:
    root: FlameNode
    unit: str
    threads: int

    @property
    def total(self) -> float:
        return self.root.value


def _frames(doc: dict[str, Any]) -> list[tuple[str, str, int | None]]:
    shared = doc.get("shared")
    frames = shared.get("frames") if isinstance(shared, dict) else None
    if not isinstance(frames, list):
        raise ValueError("not a speedscope profile (no shared.frames)")
    out: list[tuple[str, str, int | None]] = []
    for f in frames:
        if not isinstance(f, dict):
            raise ValueError("not a speedscope profile (a frame is not an object)")
        line = f.get("line")
        out.append(
            (
                str(f.get("name", "?")),
                str(f.get("file") or ""),
                line if isinstance(line, int) else None,
            )
        )
    return out


def _stack(
    frames: Sequence[tuple[str, str, int | None]], indices: Iterable[Any]
) -> list[tuple[Any, str, str, int | None]]:
    out = []
    for i in indices:
        if not isinstance(i, int) or not 0 <= i < len(frames):
            raise ValueError(f"speedscope sample refers to frame {i!r}, which does not exist")
        name, file, line = frames[i]
        out.append((i, name, file, line))
    return out


def _add_sampled(
    node: FlameNode, prof: dict[str, Any], frames: Sequence[tuple[str, str, int | None]]
) -> None:
    samples = prof.get("samples")
    weights = prof.get("weights")
    if not isinstance(samples, list):
        raise ValueError("speedscope sampled profile without samples")
    if not isinstance(weights, list) or len(weights) != len(samples):
        weights = [1.0] * len(samples)
    for stack, weight in zip(samples, weights, strict=True):
        if not isinstance(stack, list):
            raise ValueError("speedscope sample is not a list of frames")
        node.add_stack(_stack(frames, stack), float(weight))


def _add_evented(
    node: FlameNode, prof: dict[str, Any], frames: Sequence[tuple[str, str, int | None]]
) -> None:
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
            node.add_stack(_stack(frames, open_stack), at - last_at)
        last_at = at
        kind, frame = ev.get("type"), ev.get("frame")
        if kind == "O" and isinstance(frame, int):
            open_stack.append(frame)
        elif kind == "C" and open_stack:
            open_stack.pop()


def parse_speedscope(doc: Any) -> FlameGraph:
    if not isinstance(doc, dict):
        raise ValueError("not a speedscope profile (top level is not an object)")
    frames = _frames(doc)
    profiles = doc.get("profiles")
    if not isinstance(profiles, list) or not profiles:
        raise ValueError("speedscope file holds no profiles")
    root = FlameNode("all")
    unit = "samples"
    several = len(profiles) > 1
    for n, prof in enumerate(profiles):
        if not isinstance(prof, dict):
            raise ValueError("speedscope profile is not an object")
        if prof.get("unit") not in (None, "none"):
            unit = str(prof["unit"])
        target = root
        if several:
            target = FlameNode(str(prof.get("name") or f"thread {n}"))
        if prof.get("type") == "evented":
            _add_evented(target, prof, frames)
        else:
            _add_sampled(target, prof, frames)
        if several and target.value > 0:
            root.children[("thread", n)] = target
            root.value += target.value
    return FlameGraph(root, unit, len(profiles))


def load_speedscope(path: str | Path) -> FlameGraph:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg})") from None
    return parse_speedscope(doc)


@dataclass
class _Box:
    node: FlameNode
    x: float
    w: float
    depth: int


def _layout(graph: FlameGraph) -> list[_Box]:
    total = graph.total
    min_fraction = MIN_FRACTION
    while True:
        boxes: list[_Box] = []
        todo = [(graph.root, 0.0, 0)]
        while todo:
            node, x, depth = todo.pop()
            w = node.value / total
            boxes.append(_Box(node, x, w, depth))
            if depth >= MAX_DEPTH:
                continue
            cx = x
            # Widest first, so the eye finds the big callees at the left of their parent.
            for child in sorted(node.children.values(), key=lambda c: -c.value):
                cw = child.value / total
                if cw >= min_fraction:
                    todo.append((child, cx, depth + 1))
                cx += cw
        if len(boxes) <= MAX_FRAMES:
            return boxes
        min_fraction *= 2


def _color(node: FlameNode) -> str:
    digest = hashlib.md5((node.file or node.name).encode(), usedforsecurity=False).digest()
    stdlib = "/lib/python" in node.file or node.file.startswith("<")
    hue = digest[0] % 55
    sat = 35 if stdlib else 75 + digest[1] % 20
    light = 78 if stdlib else 58 + digest[2] % 12
    return f"hsl({hue},{sat}%,{light}%)"


def _fit(text: str, px: float) -> str:
    chars = int((px - 6) / CHAR_PX)
    if chars < 3:
        return ""
    return text if len(text) <= chars else text[: chars - 1] + "…"


def parse_folded(text: str, root_name: str = "episode") -> FlameGraph:
    """Folded stacks (``a;b;c 12`` per line, as flamegraph.pl and inferno read them)."""
    root = FlameNode(root_name)
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        stack, _, count = line.rpartition(" ")
        try:
            weight = float(count)
        except ValueError:
            raise ValueError(f"folded stacks, line {number}: no sample count") from None
        frames = [frame for frame in stack.split(";") if frame]
        root.add_stack(((name, name, "", None) for name in frames), weight)
    if root.value <= 0:
        raise ValueError("folded stacks hold no samples")
    return FlameGraph(root, "samples", 1)


def load_folded(path: str | Path) -> FlameGraph:
    try:
        return parse_folded(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read: {exc}") from None


def _share_changes(before: FlameGraph, after: FlameGraph) -> dict[int, float]:
    """Per node of ``after`` (by ``id``): its share of after's total minus the same stack's
    share of before's total (difffolded's normalised delta)."""
    changes: dict[int, float] = {}
    todo: list[tuple[FlameNode, FlameNode | None]] = [(after.root, before.root)]
    while todo:
        node, old = todo.pop()
        old_share = old.value / before.total if old is not None and before.total else 0.0
        changes[id(node)] = node.value / after.total - old_share
        for key, child in node.children.items():
            todo.append((child, old.children.get(key) if old is not None else None))
    return changes


def _diff_color(change: float, scale: float) -> str:
    """Red where a frame's share grew, blue where it shrank, white where it held (the
    scheme of Brendan Gregg's difffolded)."""
    strength = min(abs(change) / scale, 1.0) if scale > 0 else 0.0
    light = 97 - round(strength * 45)
    hue = 0 if change > 0 else 220
    return f"hsl({hue},85%,{light}%)"


def diff_flame_svg(before: FlameGraph, after: FlameGraph) -> str:
    """The differential flame graph: ``after``'s shape, each frame coloured by the change
    of its share from ``before`` (red grew, blue shrank); the tooltip says by how much."""
    changes = _share_changes(before, after)
    scale = max((abs(v) for v in changes.values()), default=0.0)
    return flame_svg(
        after,
        fill=lambda node: _diff_color(changes.get(id(node), 0.0), scale),
        note=lambda node: f"share {100 * changes.get(id(node), 0.0):+.2f} pts vs before",
    )


def flame_svg(
    graph: FlameGraph,
    *,
    fill: Callable[[FlameNode], str] | None = None,
    note: Callable[[FlameNode], str] | None = None,
) -> str:
    """The icicle as one ``<svg>`` element (escaped, self-contained); ``fill`` and ``note``
    colour a frame and add a line to its tooltip (the differential graph)."""
    boxes = _layout(graph)
    depth = max(b.depth for b in boxes) + 1
    height = depth * ROW + 4
    total = graph.total
    parts = [
        f'<svg class="flame" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" data-width="{WIDTH}" role="img" '
        f'aria-label="flame graph">'
    ]
    for b in sorted(boxes, key=lambda b: (b.depth, b.x)):
        node = b.node
        px_x, px_w = b.x * WIDTH, b.w * WIDTH
        where = f"{node.file}:{node.line}" if node.file and node.line else node.file
        share = node.value * 100.0 / total
        tip = f"{node.name}\n{where}\n{share:.2f}% · {node.value:g} {graph.unit}".replace(
            "\n\n", "\n"
        )
        if note is not None:
            tip += "\n" + note(node)
        color = fill(node) if fill is not None else _color(node)
        fill_color = "#cbd5e1" if b.depth == 0 and fill is None else color
        label = _fit(node.name, px_w)
        cls = "fr root" if b.depth == 0 else "fr"
        parts.append(
            f'<g class="{cls}" data-x="{b.x:.6f}" data-w="{b.w:.6f}" data-d="{b.depth}">'
            f"<title>{escape(tip)}</title>"
            f'<rect x="{px_x:.1f}" y="{b.depth * ROW}" width="{max(px_w - 0.4, 0.1):.1f}" '
            f'height="{ROW - 1}" fill="{fill_color}"/>'
            f'<text x="{px_x + 3:.1f}" y="{b.depth * ROW + 12}">{escape(label)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
