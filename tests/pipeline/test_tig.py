"""TIG fabric: construction, the structural metrics docs/pipeline.md states, broadcast counts."""

from __future__ import annotations

import random
from collections import deque

import numpy as np
import pytest

from ctool.pipeline.tig import (
    MESSAGE_HEADER,
    TIGFabric,
    articulation_points,
    barabasi_albert_closure,
)


def fabric(seed: int = 0, *, nodes: int = 32, pooling: bool = True) -> TIGFabric:
    return TIGFabric(
        seed,
        nodes=nodes,
        m=3,
        closure_probability=0.5,
        weight_min=0.5,
        weight_max=1.0,
        vocabulary=64,
        inputs_per_target=4,
        propagation_gain=0.9,
        propagation_hops=4,
        broadcast_hops=4,
        pooling=pooling,
    )


@pytest.mark.parametrize("seed", range(6))
def test_metrics_at_32_nodes_are_in_the_design_ranges(seed: int) -> None:
    m = fabric(seed).metrics
    assert m.nodes == 32
    assert 0.25 <= m.density <= 0.40  # DESIGN: ≈ 0.3
    assert 0.45 <= m.clustering <= 0.65  # ≈ 0.5
    assert 1.60 <= m.path_length <= 1.80  # ≈ 1.7
    assert m.efficiency > 0.6
    assert m.articulation_points == ()  # none
    assert m.fiedler > 1.0  # connected, and well so
    assert m.fiedler_weighted > 0.0


def test_graph_is_seeded_symmetric_and_weighted_in_range() -> None:
    a, b, c = fabric(1), fabric(1), fabric(2)
    assert np.array_equal(a.weights, b.weights)
    assert not np.array_equal(a.weights, c.weights)
    assert np.array_equal(a.weights, a.weights.T)
    edge_weights = a.weights[a.weights > 0]
    assert edge_weights.min() >= 0.5 and edge_weights.max() <= 1.0
    assert np.all(np.diag(a.weights) == 0)
    assert len(a.inputs) == 64 and all(len(set(nodes)) == 4 for nodes in a.inputs)


def test_barabasi_albert_degrees() -> None:
    adjacency = barabasi_albert_closure(200, 3, 0.0, random.Random(0))
    degrees = sorted(len(nbrs) for nbrs in adjacency)
    assert degrees[0] >= 3  # every node brought m = 3 edges (or is in the seed clique)
    assert sum(degrees) // 2 == 6 + 3 * (200 - 4)  # clique on 4 nodes + m per new node
    assert degrees[-1] > 20  # preferential attachment makes hubs


def _connected_without(adjacency: list[list[int]], removed: int) -> bool:
    nodes = [n for n in range(len(adjacency)) if n != removed]
    seen = {nodes[0]}
    queue = deque([nodes[0]])
    while queue:
        u = queue.popleft()
        for v in adjacency[u]:
            if v != removed and v not in seen:
                seen.add(v)
                queue.append(v)
    return len(seen) == len(nodes)


def test_articulation_points_match_brute_force() -> None:
    rng = random.Random(4)
    for _ in range(30):
        n = rng.randint(3, 14)
        # A random tree (connected) plus a few extra edges.
        edges = {(rng.randrange(i), i) for i in range(1, n)}
        for _ in range(rng.randint(0, n)):
            a, b = rng.sample(range(n), 2)
            edges.add((min(a, b), max(a, b)))
        adjacency: list[list[int]] = [[] for _ in range(n)]
        for a, b in sorted(edges):
            adjacency[a].append(b)
            adjacency[b].append(a)
        expected = tuple(v for v in range(n) if not _connected_without(adjacency, v))
        assert articulation_points(adjacency) == expected


def test_propagation_activates_inputs_most() -> None:
    tig = fabric(0)
    activation = tig.propagate(5, 0.8)
    assert activation.shape == (32,)
    assert np.all((activation >= 0) & (activation < 1))
    top = set(np.argsort(-activation)[:4].tolist())
    assert top == set(tig.inputs[5])
    assert np.array_equal(activation, tig.propagate(5, 0.8))


@pytest.mark.parametrize("pooling", [True, False])
def test_broadcast_counts_messages_and_bytes(pooling: bool) -> None:
    tig = fabric(3, pooling=pooling)
    payload = b"x" * 37
    sources = [0, 1, 2]
    messages, sent = tig.broadcast(sources, payload)
    assert sent == messages * (MESSAGE_HEADER.size + len(payload))
    # Every node outside the sources is reached (the graph is connected, diameter <= 4),
    # at least one message each; a hop can deliver to one node from several senders.
    assert messages >= 32 - len(sources)
    assert (messages, sent) == fabric(3, pooling=not pooling).broadcast(sources, payload)
