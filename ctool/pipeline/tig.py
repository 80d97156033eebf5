"""TIG, the fabric: a weighted small-world graph that stimuli propagate through.

Construction (seeded): a Barabási–Albert graph (``m`` edges per new node, starting from a
clique of ``m + 1`` nodes, targets drawn proportional to degree), then triadic closure --
for each node, as many tries as its degree: pick two of its neighbours at random and link
them with probability ``closure_probability``. Edge weights are symmetric, uniform in
``[weight_min, weight_max]``. Each stimulus target maps to a fixed set of input nodes.

Per episode, :meth:`TIGFabric.propagate` injects the stimulus at its input nodes and runs
``a <- tanh(gain * W_rownorm @ a + input)`` for a few hops from ``a = 0``. After an
ignition, :meth:`TIGFabric.broadcast` floods the conscious content from the coalition,
hop by hop, counting every message sent and its serialized size.

Structural metrics (:func:`structural_metrics`) are computed once: density, average
clustering, characteristic path length, global efficiency, algebraic connectivity (the
Fiedler value of the unweighted and of the weighted Laplacian) and articulation points.
"""

from __future__ import annotations

import random
import struct
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ctool.pipeline.pool import ObjectPool

if TYPE_CHECKING:
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

MESSAGE_HEADER = struct.Struct("<HHHH")
"""Wire header of one broadcast message: sender, receiver, hop, payload length."""
MESSAGE_CAPACITY = 256


class Message:
    """One broadcast message with its own send buffer (what pooling saves allocating)."""

    __slots__ = ("buffer", "length")

    def __init__(self) -> None:
        self.buffer = bytearray(MESSAGE_CAPACITY)
        self.length = 0

    def encode(self, sender: int, receiver: int, hop: int, payload: bytes) -> int:
        end = MESSAGE_HEADER.size + len(payload)
        if end > len(self.buffer):
            self.buffer = bytearray(end)
        MESSAGE_HEADER.pack_into(self.buffer, 0, sender, receiver, hop, len(payload))
        self.buffer[MESSAGE_HEADER.size : end] = payload
        self.length = end
        return end


@dataclass(frozen=True, slots=True)
class TIGMetrics:
    nodes: int
    edges: int
    density: float
    clustering: float
    path_length: float
    efficiency: float
    fiedler: float
    fiedler_weighted: float
    articulation_points: tuple[int, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "nodes": self.nodes,
            "edges": self.edges,
            "density": self.density,
            "clustering": self.clustering,
            "path_length": self.path_length,
            "efficiency": self.efficiency,
            "fiedler": self.fiedler,
            "fiedler_weighted": self.fiedler_weighted,
            "articulation_points": list(self.articulation_points),
        }


def barabasi_albert_closure(
    nodes: int, m: int, closure_probability: float, rng: random.Random
) -> list[set[int]]:
    """Adjacency sets of a BA graph (m edges per new node) followed by triadic closure."""
    adjacency: list[set[int]] = [set() for _ in range(nodes)]
    by_degree: list[int] = []  # each node repeated once per incident edge

    def link(a: int, b: int) -> None:
        adjacency[a].add(b)
        adjacency[b].add(a)
        by_degree.extend((a, b))

    for a in range(m + 1):
        for b in range(a + 1, m + 1):
            link(a, b)
    for new in range(m + 1, nodes):
        chosen: set[int] = set()
        while len(chosen) < m:
            chosen.add(rng.choice(by_degree))
        for target in sorted(chosen):
            link(new, target)
    for node in range(nodes):
        neighbours = sorted(adjacency[node])
        for _ in range(len(neighbours)):
            a, b = rng.sample(neighbours, 2)
            if rng.random() < closure_probability:
                adjacency[a].add(b)
                adjacency[b].add(a)
    return adjacency


def _bfs_distances(adjacency: Sequence[Sequence[int]], source: int) -> list[int]:
    dist = [-1] * len(adjacency)
    dist[source] = 0
    queue = deque([source])
    while queue:
        u = queue.popleft()
        for v in adjacency[u]:
            if dist[v] < 0:
                dist[v] = dist[u] + 1
                queue.append(v)
    return dist


def articulation_points(adjacency: Sequence[Sequence[int]]) -> tuple[int, ...]:
    """Cut vertices of an undirected graph (iterative Tarjan, so deep graphs do not recurse)."""
    n = len(adjacency)
    disc = [-1] * n
    low = [0] * n
    cut: set[int] = set()
    clock = 0
    for root in range(n):
        if disc[root] >= 0:
            continue
        disc[root] = low[root] = clock
        clock += 1
        root_children = 0
        stack: list[tuple[int, int, int]] = [(root, -1, 0)]  # node, parent, next neighbour
        while stack:
            u, parent, i = stack[-1]
            if i < len(adjacency[u]):
                stack[-1] = (u, parent, i + 1)
                v = adjacency[u][i]
                if disc[v] < 0:
                    disc[v] = low[v] = clock
                    clock += 1
                    if u == root:
                        root_children += 1
                    stack.append((v, u, 0))
                elif v != parent:
                    low[u] = min(low[u], disc[v])
            else:
                stack.pop()
                if parent >= 0:
                    low[parent] = min(low[parent], low[u])
                    if parent != root and low[u] >= disc[parent]:
                        cut.add(parent)
        if root_children > 1:
            cut.add(root)
    return tuple(sorted(cut))


def structural_metrics(adjacency: Sequence[Sequence[int]], weights: FloatArray) -> TIGMetrics:
    n = len(adjacency)
    edges = sum(len(nbrs) for nbrs in adjacency) // 2
    density = 2.0 * edges / (n * (n - 1)) if n > 1 else 0.0
    clustering_sum = 0.0
    neighbour_sets = [set(nbrs) for nbrs in adjacency]
    for u in range(n):
        nbrs = adjacency[u]
        k = len(nbrs)
        if k < 2:
            continue
        links = sum(len(neighbour_sets[v] & neighbour_sets[u]) for v in nbrs) // 2
        clustering_sum += 2.0 * links / (k * (k - 1))
    hops_total = 0
    reachable_pairs = 0
    efficiency_sum = 0.0
    for source in range(n):
        for target, d in enumerate(_bfs_distances(adjacency, source)):
            if target != source and d > 0:
                hops_total += d
                reachable_pairs += 1
                efficiency_sum += 1.0 / d
    pairs = n * (n - 1)
    adjacency_matrix = (weights > 0).astype(np.float64)
    laplacian = np.diag(adjacency_matrix.sum(axis=1)) - adjacency_matrix
    weighted_laplacian = np.diag(weights.sum(axis=1)) - weights
    return TIGMetrics(
        nodes=n,
        edges=edges,
        density=density,
        clustering=clustering_sum / n,
        path_length=hops_total / reachable_pairs if reachable_pairs else float("inf"),
        efficiency=efficiency_sum / pairs if pairs else 0.0,
        fiedler=float(np.linalg.eigvalsh(laplacian)[1]) if n > 1 else 0.0,
        fiedler_weighted=float(np.linalg.eigvalsh(weighted_laplacian)[1]) if n > 1 else 0.0,
        articulation_points=articulation_points(adjacency),
    )


class TIGFabric:
    """The graph, its weights, the target -> input-node map, propagation and broadcast."""

    def __init__(
        self,
        seed: int,
        *,
        nodes: int,
        m: int,
        closure_probability: float,
        weight_min: float,
        weight_max: float,
        vocabulary: int,
        inputs_per_target: int,
        propagation_gain: float,
        propagation_hops: int,
        broadcast_hops: int,
        pooling: bool,
    ) -> None:
        rng = random.Random(f"ctool-tig:{seed}")
        adjacency = barabasi_albert_closure(nodes, m, closure_probability, rng)
        self.nodes = nodes
        self.neighbours: tuple[tuple[int, ...], ...] = tuple(
            tuple(sorted(nbrs)) for nbrs in adjacency
        )
        weights = np.zeros((nodes, nodes))
        for a in range(nodes):
            for b in self.neighbours[a]:
                if a < b:
                    weights[a, b] = weights[b, a] = rng.uniform(weight_min, weight_max)
        self.weights: FloatArray = weights
        row_sums = weights.sum(axis=1, keepdims=True)
        self._rownorm: FloatArray = np.divide(
            weights, row_sums, out=np.zeros_like(weights), where=row_sums > 0
        )
        self.inputs: tuple[tuple[int, ...], ...] = tuple(
            tuple(sorted(rng.sample(range(nodes), inputs_per_target))) for _ in range(vocabulary)
        )
        self._gain = propagation_gain
        self._hops = propagation_hops
        self._broadcast_hops = broadcast_hops
        self.message_pool: ObjectPool[Message] = ObjectPool(Message, enabled=pooling)
        self._metrics: TIGMetrics | None = None

    @property
    def metrics(self) -> TIGMetrics:
        if self._metrics is None:
            self._metrics = structural_metrics(self.neighbours, self.weights)
        return self._metrics

    def propagate(self, target: int, intensity: float) -> FloatArray:
        """Activation of every node after injecting ``intensity`` at the target's inputs."""
        drive = np.zeros(self.nodes)
        drive[list(self.inputs[target])] = intensity
        activation = np.tanh(drive)
        for _ in range(self._hops - 1):
            activation = np.tanh(self._gain * (self._rownorm @ activation) + drive)
        return activation

    def broadcast(self, sources: Sequence[int], payload: bytes) -> tuple[int, int]:
        """Flood ``payload`` from ``sources``; returns (messages sent, bytes sent).

        Each hop, every node reached in the previous hop sends to each neighbour that had
        not been reached when the hop began (so two senders may reach the same node in one
        hop: both messages count). The receiver decodes the header, as a real peer would.
        """
        reached = [False] * self.nodes
        for node in sources:
            reached[node] = True
        frontier = sorted(sources)
        messages = 0
        sent_bytes = 0
        pool = self.message_pool
        header = MESSAGE_HEADER
        for hop in range(1, self._broadcast_hops + 1):
            fresh: list[int] = []
            for sender in frontier:
                for receiver in self.neighbours[sender]:
                    if reached[receiver]:
                        continue
                    message = pool.acquire()
                    sent_bytes += message.encode(sender, receiver, hop, payload)
                    messages += 1
                    if header.unpack_from(message.buffer)[1] != receiver:
                        raise RuntimeError("broadcast message corrupted")
                    pool.release(message)
                    if receiver not in fresh:
                        fresh.append(receiver)
            if not fresh:
                break
            for node in fresh:
                reached[node] = True
            frontier = fresh
        return messages, sent_bytes
