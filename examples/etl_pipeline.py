"""An example pipeline to profile with ctool: a small async extract-transform-load job.

Run it (from the repository root)::

    ctool profile --pipeline examples.etl_pipeline:create --episodes 500
    ctool profile --pipeline examples.etl_pipeline:create --set batch=400 --concurrency 1,4,16
    ctool profile --pipeline examples.etl_pipeline:create --set sync_audit=true   # a blocking call

What ctool needs from a pipeline, all shown here:

* a factory ``create(seed=..., **settings)`` that returns an object (``--pipeline
  module:factory``; ``--seed`` and each ``--set key=value`` arrive as keyword arguments, and a
  setting the factory does not take is refused);
* an ``episode(index)`` method, async or not: one unit of work, timed end to end;
* stages marked with ``ctool.span("name")`` (or ``@ctool.stage("name")``); spans nest, and a
  nested stage is named ``"parent.child"`` by convention;
* optional hooks: ``outputs(result)`` (a dict describing what the episode decided: ctool
  digests it so two runs can be checked for identical behaviour), ``metrics()`` (your own
  counters, copied into the report), ``metric_specs()`` (which of them ctool should judge,
  and how: compare gives them rows and verdicts, the exporter series; docs/metrics.md) and
  ``close()``.

Every episode is deterministic for a given seed, so the output digest is reproducible.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import time
from dataclasses import dataclass

import ctool

REGIONS = ("north", "south", "east", "west")


@dataclass
class BatchSummary:
    rows: int
    rejected: int
    total_cents: int
    top_region: str


class ETLPipeline:
    """Extract JSON order lines, validate and aggregate them, load them into SQLite."""

    def __init__(self, seed: int, batch: int, sync_audit: bool) -> None:
        self.seed = seed
        self.batch = batch
        self.sync_audit = sync_audit
        self.db = sqlite3.connect(":memory:")
        self.db.execute("CREATE TABLE orders (episode INT, region TEXT, cents INT)")
        self.loaded_rows = 0
        self.loaded_bytes = 0
        self.seen_rows = 0

    def _extract(self, index: int) -> list[str]:
        rng = random.Random(self.seed * 1_000_003 + index)
        return [
            json.dumps(
                {
                    "id": index * self.batch + i,
                    "region": rng.choice(REGIONS),
                    "cents": rng.randint(-50, 20_000),
                    "sku": f"SKU-{rng.randint(1, 500):04d}",
                }
            )
            for i in range(self.batch)
        ]

    async def episode(self, index: int) -> BatchSummary:
        with ctool.span("extract"):
            lines = self._extract(index)
            self.loaded_bytes += sum(len(line) for line in lines)
        await asyncio.sleep(0)  # a hand-off between stages, as a real async job would have
        with ctool.span("transform"):
            records = [json.loads(line) for line in lines]
            with ctool.span("transform.validate"):
                valid = [r for r in records if r["cents"] >= 0 and r["sku"].startswith("SKU-")]
            totals: dict[str, int] = {}
            for r in valid:
                totals[r["region"]] = totals.get(r["region"], 0) + r["cents"]
        with ctool.span("load"):
            self.db.executemany(
                "INSERT INTO orders VALUES (?, ?, ?)",
                [(index, r["region"], r["cents"]) for r in valid],
            )
            self.loaded_rows += len(valid)
            self.seen_rows += len(records)
            if self.sync_audit:
                self._audit()
        return BatchSummary(
            rows=len(valid),
            rejected=len(records) - len(valid),
            total_cents=sum(totals.values()),
            top_region=max(totals, key=lambda k: totals[k]) if totals else "",
        )

    def _audit(self) -> None:
        # The mistake the loop watchdog is there to catch: a synchronous wait on the event
        # loop (think of a blocking HTTP call to an audit service that takes 15 ms).
        time.sleep(0.015)

    def outputs(self, result: BatchSummary) -> dict[str, object]:
        return {
            "rows": result.rows,
            "rejected": result.rejected,
            "total_cents": result.total_cents,
            "top_region": result.top_region,
        }

    def metrics(self) -> dict[str, object]:
        return {
            "rows": {
                "count": self.loaded_rows,
                "bytes": self.loaded_bytes,
                "seen": self.seen_rows,
                "accepted": self.loaded_rows / self.seen_rows if self.seen_rows else 0.0,
            }
        }

    def metric_specs(self) -> list[dict[str, object]]:
        """The figures of metrics() that ctool judges, each declared once."""
        return [
            {
                "name": "rows.count",
                "kind": "counter",
                "unit": "rows",
                "label": "rows loaded",
                "higher_is_better": True,
            },
            {
                "name": "rows.accepted",
                "kind": "ratio",
                "higher_is_better": True,
                "numerator": "rows.count",
                "denominator": "rows.seen",
                "label": "rows accepted",
            },
        ]

    def close(self) -> None:
        self.db.close()


def create(seed: int = 0, batch: int = 200, sync_audit: bool = False) -> ETLPipeline:
    """The factory ``ctool profile --pipeline examples.etl_pipeline:create`` calls."""
    if batch < 1:
        from ctool.model.errors import UsageError

        raise UsageError(f"batch must be >= 1, got {batch}")
    return ETLPipeline(seed, batch, sync_audit)
