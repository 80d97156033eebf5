"""The history store: one SQLite file (default ``.ctool/history.db`` at the git root) or a
PostgreSQL database (``--history postgresql://...``), the same schema on both
(:mod:`ctool.history.migrations`).

Driver: the standard library's ``sqlite3`` and **psycopg 3** (the ``history-postgres``
extra), both DB-API, with SQL written once (``?`` placeholders, rewritten to ``%s`` for
psycopg). The store is two tables and four statements; SQLAlchemy Core would add a large
dependency and its import time for a portability layer those statements do not need, and
psycopg 3 batches ``executemany`` in pipeline mode, which is what adding many records needs.

Concurrent writers lose nothing: each :meth:`HistoryStore.add` is one transaction; SQLite
runs in WAL mode and takes its write lock up front (``BEGIN IMMEDIATE``) with a 60 s busy
timeout, so a second writer waits instead of failing; PostgreSQL serialises nothing (runs
get identity ids, each keyed by a fresh UUID).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from ctool.history.gitinfo import git_root
from ctool.history.migrations import (
    CREATE_LEDGER,
    LATEST,
    MIGRATIONS,
    POSTGRES,
    SQLITE,
    Dialect,
)
from ctool.history.record import HistoryRecord
from ctool.model.errors import UsageError

DEFAULT_FILE = Path(".ctool") / "history.db"
POSTGRES_INSTALL = 'pip install "ctool[history-postgres]"'
LOCK_KEY = 0x6374_6F6F_6C68  # "ctoolh": the advisory lock of migrations on PostgreSQL
BUSY_TIMEOUT_S = 60.0

RUN_COLUMNS = (
    "run_key", "commit_sha", "parent_sha", "branch", "commit_time", "commit_epoch", "dirty",
    "machine", "machine_info", "env_hash", "ctool_version", "pipeline", "settings_hash",
    "settings", "kind", "source", "created_at", "samples", "report_ref", "subject",
)  # fmt: skip


@dataclass(frozen=True)
class SeriesKey:
    pipeline: str
    settings_hash: str
    machine: str
    metric: str


class Point(NamedTuple):
    run_id: int
    commit: str
    commit_time: str
    branch: str
    dirty: bool
    value: float
    low: float | None
    high: float | None
    source: str
    subject: str


def is_postgres(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


def default_path(cwd: Path) -> Path:
    """``.ctool/history.db`` at the git root holding ``cwd`` (``cwd`` itself outside git)."""
    return (git_root(cwd) or cwd) / DEFAULT_FILE


def epoch(iso: str) -> int:
    try:
        return int(datetime.fromisoformat(iso).timestamp()) if iso else 0
    except ValueError:
        return 0


class HistoryStore:
    """A connection with its dialect; use :func:`open_store`."""

    def __init__(self, connection: Any, dialect: Dialect, where: str) -> None:
        self.connection = connection
        self.dialect = dialect
        self.where = where

    def sql(self, text: str) -> str:
        return text if self.dialect is SQLITE else text.replace("?", "%s")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        """One write transaction holding the store's write lock."""
        if self.dialect is SQLITE:
            cursor = self.connection.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield cursor
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
            return
        with self.connection.transaction(), self.connection.cursor() as cursor:
            yield cursor

    def migrate(self) -> int:
        """Apply the missing migrations; the schema version the store is at."""
        with self.transaction() as cursor:
            if self.dialect is POSTGRES:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            cursor.execute(CREATE_LEDGER)
            cursor.execute("SELECT version FROM ctool_migrations")
            done = {int(row[0]) for row in cursor.fetchall()}
            if done and max(done) > LATEST:
                raise UsageError(
                    f"{self.where}: history schema {max(done)} is newer than this ctool's "
                    f"({LATEST}); upgrade ctool"
                )
            for version, statements in MIGRATIONS:
                if version in done:
                    continue
                for statement in statements(self.dialect):
                    cursor.execute(statement)
                cursor.execute(
                    self.sql("INSERT INTO ctool_migrations (version, applied_at) VALUES (?, ?)"),
                    (version, datetime.now().astimezone().isoformat(timespec="seconds")),
                )
        return LATEST

    def add(self, records: Sequence[HistoryRecord]) -> int:
        """Add records in one transaction; how many were added."""
        runs: list[tuple[Any, ...]] = []
        metrics: list[tuple[Any, ...]] = []
        batch = uuid.uuid4().hex  # one random key per call, numbered: unique across writers
        texts: dict[tuple[str, str], str] = {}  # a fingerprint's or settings' JSON, by hash

        def text(kind: str, key: str, value: Any) -> str:
            if (kind, key) not in texts:
                texts[kind, key] = json.dumps(value, sort_keys=True, default=str)
            return texts[kind, key]

        for number, record in enumerate(records):
            key = f"{batch}-{number}"
            c = record.commit
            runs.append((
                key, c.commit, c.parent, c.branch, c.commit_time, epoch(c.commit_time),
                int(c.dirty), record.machine, text("m", record.machine, record.machine_info),
                record.env_hash, record.ctool_version, record.pipeline, record.settings_hash,
                text("s", record.settings_hash, record.settings), record.kind,
                record.source, record.created_at, record.samples, record.report_ref, c.subject,
            ))  # fmt: skip
            metrics.extend(
                (key, m.name, m.value, m.low, m.high, m.unit,
                 None if m.lower_is_better is None else int(m.lower_is_better))
                for m in record.metrics
            )  # fmt: skip
        columns = ", ".join(RUN_COLUMNS)
        marks = ", ".join("?" * len(RUN_COLUMNS))
        with self.transaction() as cursor:
            cursor.executemany(self.sql(f"INSERT INTO runs ({columns}) VALUES ({marks})"), runs)
            cursor.executemany(
                self.sql(
                    "INSERT INTO metrics (run_key, name, value, low, high, unit, "
                    "lower_is_better) VALUES (?, ?, ?, ?, ?, ?, ?)"
                ),
                metrics,
            )
        return len(runs)

    def query(self, text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(self.sql(text), tuple(params))
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def series_keys(self) -> list[tuple[SeriesKey, dict[str, Any], dict[str, Any], int]]:
        """Every series: its key, machine fingerprint, settings and number of points."""
        rows = self.query(
            "SELECT r.pipeline, r.settings_hash, r.machine, m.name, MAX(r.machine_info), "
            "MAX(r.settings), COUNT(*) FROM metrics m JOIN runs r ON r.run_key = m.run_key "
            "GROUP BY r.pipeline, r.settings_hash, r.machine, m.name "
            "ORDER BY r.pipeline, r.settings_hash, r.machine, m.name"
        )
        return [
            (SeriesKey(p, s, mach, name), json.loads(info), json.loads(settings), int(n))
            for p, s, mach, name, info, settings, n in rows
        ]

    def points(self, key: SeriesKey, include_dirty: bool = False) -> list[Point]:
        """One series in commit order (commit time, then the order records were added)."""
        dirty = "" if include_dirty else "AND r.dirty = 0 "
        rows = self.query(
            "SELECT r.id, r.commit_sha, r.commit_time, r.branch, r.dirty, m.value, m.low, "
            "m.high, r.source, r.subject FROM runs r JOIN metrics m ON m.run_key = r.run_key "
            "WHERE r.pipeline = ? AND r.settings_hash = ? AND r.machine = ? AND m.name = ? "
            f"{dirty}ORDER BY r.commit_epoch, r.id",
            (key.pipeline, key.settings_hash, key.machine, key.metric),
        )
        return [Point._make(row) for row in rows]

    def lower_is_better(self, metric: str) -> bool | None:
        rows = self.query(
            "SELECT lower_is_better FROM metrics WHERE name = ? AND lower_is_better IS NOT NULL "
            "LIMIT 1",
            (metric,),
        )
        return None if not rows else bool(rows[0][0])

    def count(self) -> int:
        return int(self.query("SELECT COUNT(*) FROM runs")[0][0])

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _connect_sqlite(path: Path) -> HistoryStore:
    import sqlite3

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
    except (OSError, sqlite3.Error) as exc:
        raise UsageError(f"--history {path}: cannot open: {exc}") from None
    return HistoryStore(connection, SQLITE, str(path))


def _connect_postgres(dsn: str) -> HistoryStore:
    try:
        import psycopg
    except ImportError:
        raise UsageError(f"--history {_redact(dsn)} needs psycopg: {POSTGRES_INSTALL}") from None
    try:
        connection = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or ["failed"])[0]
        raise UsageError(f"--history {_redact(dsn)}: cannot connect: {first}") from None
    return HistoryStore(connection, POSTGRES, _redact(dsn))


def _redact(dsn: str) -> str:
    """A DSN without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def open_store(target: str | None = None, cwd: Path | None = None) -> HistoryStore:
    """The store at ``target`` (a path or a ``postgresql://`` DSN), migrated to the latest
    schema; by default ``.ctool/history.db`` at the git root of ``cwd``."""
    if target and is_postgres(target):
        store = _connect_postgres(target)
    else:
        store = _connect_sqlite(Path(target) if target else default_path(cwd or Path.cwd()))
    try:
        store.migrate()
    except BaseException:
        store.close()
        raise
    return store
