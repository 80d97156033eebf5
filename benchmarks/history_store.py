"""The history store's speed: add 100,000 records, then read a series of them (issue 23).

Not a test: a measurement (wall time, and this process's CPU time, which a loaded machine
inflates far less). Each record is one run with one metric (one series: one
pipeline, settings and machine), added in batches of ``--batch`` records (one transaction
each); then the whole series is read back in commit order. SQLite in a temporary file; a
PostgreSQL DSN (``--postgres``, or ``CTOOL_TEST_POSTGRES_DSN``) measures that store too.

Run::

    .venv/bin/python benchmarks/history_store.py --records 100000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "helpers"))

from history_records import make_record  # noqa: E402  # the tests' record maker

from ctool.history.store import SeriesKey, open_store  # noqa: E402


def measure(target: str, records: int, batch: int) -> None:
    made = [make_record(i, 10.0 + (i % 7) * 0.01) for i in range(records)]
    with open_store(target) as store:
        started, cpu = time.perf_counter(), time.process_time()
        for first in range(0, records, batch):
            store.add(made[first : first + batch])
        added, added_cpu = time.perf_counter() - started, time.process_time() - cpu
        started, cpu = time.perf_counter(), time.process_time()
        points = store.points(SeriesKey("toy:create", "s" * 16, "m1", "latency.p50"))
        queried, queried_cpu = time.perf_counter() - started, time.process_time() - cpu
    assert len(points) == records
    print(f"{target.split('@')[-1]}: {records:,} records in batches of {batch:,}")
    print(f"  add:   {added:.2f} s wall, {added_cpu:.2f} s CPU of this process")
    print(f"  query: {queried:.2f} s wall, {queried_cpu:.2f} s CPU of this process")
    print(f"  total: {added + queried:.2f} s wall, {added_cpu + queried_cpu:.2f} s CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--postgres", default=os.environ.get("CTOOL_TEST_POSTGRES_DSN"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        measure(str(Path(folder) / "history.db"), args.records, args.batch)
    if args.postgres:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "helpers"))
        from postgres_server import fresh_database

        with fresh_database(args.postgres) as dsn:
            measure(dsn, args.records, args.batch)


if __name__ == "__main__":
    main()
