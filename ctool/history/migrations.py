"""The history store's schema as numbered migrations, the same on SQLite and PostgreSQL.

A store records each migration it has applied in ``ctool_migrations`` (version, time).
Opening a store applies the missing ones in order, inside one transaction that holds the
store's write lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped advisory
lock), so two CI jobs opening a new store at once migrate it once. A store newer than this
ctool (a version it does not know) is refused rather than written.

History:
  1: ``runs`` (one report: commit, machine, environment, pipeline and settings; its
     ``run_key`` is unique by construction, a random key per add and a number) and
     ``metrics`` (its named values with their intervals), indexed by run and name.
  2: ``runs.commit_epoch`` (commit time as seconds, the series' order) and ``runs.subject``
     (the commit's subject line), with the index that reads a series in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    name: str
    identity: str
    real: str


SQLITE = Dialect("sqlite", "INTEGER PRIMARY KEY AUTOINCREMENT", "REAL")
POSTGRES = Dialect(
    "postgresql", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "DOUBLE PRECISION"
)


def _v1(d: Dialect) -> list[str]:
    return [
        f"""CREATE TABLE runs (
            id {d.identity},
            run_key TEXT NOT NULL,
            commit_sha TEXT NOT NULL,
            parent_sha TEXT NOT NULL,
            branch TEXT NOT NULL,
            commit_time TEXT NOT NULL,
            dirty INTEGER NOT NULL,
            machine TEXT NOT NULL,
            machine_info TEXT NOT NULL,
            env_hash TEXT NOT NULL,
            ctool_version TEXT NOT NULL,
            pipeline TEXT NOT NULL,
            settings_hash TEXT NOT NULL,
            settings TEXT NOT NULL,
            kind TEXT NOT NULL,
            source TEXT NOT NULL,
            created_at TEXT NOT NULL,
            samples TEXT,
            report_ref TEXT
        )""",
        f"""CREATE TABLE metrics (
            run_key TEXT NOT NULL,
            name TEXT NOT NULL,
            value {d.real} NOT NULL,
            low {d.real},
            high {d.real},
            unit TEXT NOT NULL,
            lower_is_better INTEGER
        )""",
        "CREATE INDEX metrics_by_run ON metrics (run_key, name)",
    ]


def _v2(d: Dialect) -> list[str]:
    return [
        "ALTER TABLE runs ADD COLUMN commit_epoch BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE runs ADD COLUMN subject TEXT NOT NULL DEFAULT ''",
        "CREATE INDEX runs_in_order ON runs "
        "(pipeline, settings_hash, machine, dirty, commit_epoch, id)",
    ]


MIGRATIONS: list[tuple[int, Callable[[Dialect], list[str]]]] = [(1, _v1), (2, _v2)]
LATEST = MIGRATIONS[-1][0]

CREATE_LEDGER = (
    "CREATE TABLE IF NOT EXISTS ctool_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)"
)
