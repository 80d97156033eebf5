"""A flame graph (icicle: callers on top) drawn as inline SVG from a call tree it is given.

The trees come from ``ctool.analysis.flametree`` (built from stacks that
``ctool.model.stacks`` reads: speedscope, folded). This module prunes frames too narrow to
see and lays the tree out as SVG rectangles with a ``<title>`` tooltip each; the page
script (``templates/report.js``) adds click-to-zoom using the ``data-*`` attributes.

Every name and path in the output is escaped here: the SVG is placed in the page verbatim.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from ctool.analysis.flametree import FlameGraph, FlameNode, share_changes

WIDTH = 1036
ROW = 17
MAX_FRAMES = 3000
"""Upper bound on drawn rectangles; the minimum visible width rises until it fits."""
MIN_FRACTION = 0.0008
MAX_DEPTH = 120
CHAR_PX = 6.6


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
    changes = share_changes(before, after)
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
