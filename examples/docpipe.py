"""A library-heavy example pipeline whose costs are known by construction (docs/bottlenecks.md).

Four stages over a generated document, built from third-party libraries (PyYAML, networkx,
Jinja2; ``pip install "ctool[test]"`` installs them)::

    ctool profile --pipeline examples.docpipe:create --profiler cprofile --episodes 200
    ctool profile --pipeline examples.docpipe:create_sync --profiler pyspy --episodes 200
    ctool profile --pipeline examples.docpipe:create --set route_sources=52   # route 1.3x

* ``parse`` (about 60 % of an episode): ``yaml.load`` with PyYAML's pure-Python
  ``SafeLoader`` -- a deep call tree (scanner, parser, composer, constructor), not one C
  call.
* ``route`` (about 30 %): ``networkx.betweenness_centrality`` over a generated graph from
  ``route_sources`` sources; its work grows linearly with them, so ``route_sources=26``
  against the default 20 makes this stage's library work 1.3x (a real change to the work,
  not a sleep).
* ``validate`` (small): the user's own Python over the parsed records.
* ``render`` (small): a Jinja2 template whose ``money`` filter is the user's
  :func:`money` -- a library calling back into user code -- and ``yaml.safe_dump`` of the
  summary: PyYAML used in a second stage.

:func:`create` gives the async form (stages separated by ``await asyncio.sleep(0)``),
:func:`create_sync` the sync form; both run identical work.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import jinja2
import networkx as nx
import yaml

import ctool

TEMPLATE = "{% for r in rows %}{{ r.name }}: {{ r.amount | money }}\n{% endfor %}"


def money(cents: int) -> str:
    """The Jinja filter: user code that Jinja calls back."""
    return f"{cents / 100:,.2f}"


def make_document(seed: int, records: int) -> str:
    rng = random.Random(seed)
    docs = [
        {
            "name": f"item-{i}",
            "amount": rng.randint(0, 100_000),
            "tags": [rng.choice("abcdefgh") for _ in range(4)],
            "links": {"to": rng.randrange(records), "weight": rng.random()},
        }
        for i in range(records)
    ]
    return yaml.safe_dump(docs)


class DocPipeline:
    """Parse a YAML document, validate its records, route over a graph, render a report."""

    def __init__(self, seed: int, records: int, nodes: int, route_sources: int) -> None:
        self.seed = seed
        self.text = make_document(seed, records)
        self.graph = nx.connected_watts_strogatz_graph(nodes, 6, 0.2, seed=seed)
        self.route_sources = route_sources
        env = jinja2.Environment(autoescape=False)
        env.filters["money"] = money
        self.template = env.from_string(TEMPLATE)

    def _validate(self, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [d for d in docs if d["amount"] >= 0 and len(d["tags"]) == 4]

    def _render(self, rows: list[dict[str, Any]], central: dict[Any, float]) -> str:
        hub = max(central, key=central.__getitem__)
        text = self.template.render(rows=rows[:40])
        return text + yaml.safe_dump({"hub": int(hub), "rows": len(rows)})

    def episode(self, index: int) -> dict[str, Any]:
        with ctool.span("parse"):
            docs = yaml.load(self.text, Loader=yaml.SafeLoader)
        with ctool.span("validate"):
            rows = self._validate(docs)
        with ctool.span("route"):
            central = nx.betweenness_centrality(self.graph, self.route_sources, seed=index)
        with ctool.span("render"):
            text = self._render(rows, central)
        return {"rows": len(rows), "chars": len(text)}

    def outputs(self, result: dict[str, Any]) -> dict[str, Any]:
        return result


class AsyncDocPipeline(DocPipeline):
    async def episode(self, index: int) -> dict[str, Any]:  # type: ignore[override]
        with ctool.span("parse"):
            docs = yaml.load(self.text, Loader=yaml.SafeLoader)
        await asyncio.sleep(0)
        with ctool.span("validate"):
            rows = self._validate(docs)
        await asyncio.sleep(0)
        with ctool.span("route"):
            central = nx.betweenness_centrality(self.graph, self.route_sources, seed=index)
        await asyncio.sleep(0)
        with ctool.span("render"):
            text = self._render(rows, central)
        return {"rows": len(rows), "chars": len(text)}


def _check(records: int, nodes: int, route_sources: int) -> None:
    if records < 1 or nodes < 8 or not 1 <= route_sources <= nodes:
        from ctool.model.errors import UsageError

        raise UsageError(
            f"need records >= 1, nodes >= 8 and 1 <= route_sources <= nodes; got {records}, "
            f"{nodes}, {route_sources}"
        )


def create(
    seed: int = 0, records: int = 36, nodes: int = 120, route_sources: int = 40
) -> AsyncDocPipeline:
    """The async form: ``--pipeline examples.docpipe:create``."""
    _check(records, nodes, route_sources)
    return AsyncDocPipeline(seed, records, nodes, route_sources)


def create_sync(
    seed: int = 0, records: int = 36, nodes: int = 120, route_sources: int = 40
) -> DocPipeline:
    """The sync form: ``--pipeline examples.docpipe:create_sync``."""
    _check(records, nodes, route_sources)
    return DocPipeline(seed, records, nodes, route_sources)
