"""Call trees for flame graphs, built from stacks read by ``ctool.model.stacks``.

Every profile (thread) of a speedscope file is merged into one tree, with one top-level node
per thread when there are several; folded stacks make one tree rooted at ``root_name``
(the episode, for ctool's own folded files). :func:`share_changes` is the differential
graph's arithmetic. The renderers (``reports.flamegraph``) only draw the trees given them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctool.model.stacks import Stacks, load_folded, load_speedscope, read_folded, read_speedscope


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


def _add(node: FlameNode, stacks: Stacks, index: int) -> None:
    frames = stacks.frames
    profile = stacks.profiles[index]
    for stack, weight in zip(profile.stacks, profile.weights, strict=True):
        node.add_stack(((i, frames[i].name, frames[i].file, frames[i].line) for i in stack), weight)


def tree_of(stacks: Stacks) -> FlameGraph:
    """Every profile of ``stacks`` in one tree (a child per thread when there are several)."""
    root = FlameNode("all")
    unit = "samples"
    several = len(stacks.profiles) > 1
    for n, profile in enumerate(stacks.profiles):
        if profile.unit != "none":
            unit = profile.unit
        target = FlameNode(profile.name) if several else root
        _add(target, stacks, n)
        if several and target.value > 0:
            root.children[("thread", n)] = target
            root.value += target.value
    return FlameGraph(root, unit, len(stacks.profiles))


def folded_tree(stacks: Stacks, root_name: str = "episode") -> FlameGraph:
    """Folded stacks as one tree rooted at ``root_name``."""
    root = FlameNode(root_name)
    for n in range(len(stacks.profiles)):
        _add(root, stacks, n)
    if root.value <= 0:
        raise ValueError("folded stacks hold no samples")
    return FlameGraph(root, "samples", 1)


def parse_speedscope(doc: Any) -> FlameGraph:
    """A decoded speedscope document's tree."""
    return tree_of(read_speedscope(doc))


def parse_folded(text: str, root_name: str = "episode") -> FlameGraph:
    return folded_tree(read_folded(text), root_name)


def speedscope_tree(path: str | Path) -> FlameGraph:
    return tree_of(load_speedscope(path))


def folded_file_tree(path: str | Path) -> FlameGraph:
    return folded_tree(load_folded(path))


def share_changes(before: FlameGraph, after: FlameGraph) -> dict[int, float]:
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
