"""The history store on SQLite and on a real PostgreSQL server: records, series, migrations,
and two processes writing at once."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from history_records import make_record
from paths import subprocess_env
from postgres_server import fresh_database, start_server

from ctool.history.migrations import LATEST
from ctool.history.store import SeriesKey, open_store
from ctool.model.errors import UsageError


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[str | None]:
    with start_server() as dsn:
        yield dsn


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "history.db")
        return
    server = request.getfixturevalue("postgres_server")
    if server is None:
        pytest.skip("no PostgreSQL server here (initdb/pg_ctl missing, none given)")
    with fresh_database(server) as dsn:
        yield dsn


def test_records_come_back_as_series_in_commit_order(target: str) -> None:
    records = [make_record(i, 10.0 + i) for i in (3, 1, 2)]
    records.append(make_record(2, 99.0, machine="m2"))
    with open_store(target) as store:
        assert store.add(records) == 4
        keys = {key for key, _, _, _ in store.series_keys()}
        assert keys == {
            SeriesKey("toy:create", "s" * 16, "m1", "latency.p50"),
            SeriesKey("toy:create", "s" * 16, "m2", "latency.p50"),
        }
        points = store.points(SeriesKey("toy:create", "s" * 16, "m1", "latency.p50"))
        assert [p.value for p in points] == [11.0, 12.0, 13.0]  # by commit time
        assert [p.subject for p in points] == ["commit 1", "commit 2", "commit 3"]
        other = store.points(SeriesKey("toy:create", "s" * 16, "m2", "latency.p50"))
        assert [p.value for p in other] == [99.0]  # never mixed into m1's series
        assert store.lower_is_better("latency.p50") is True


def test_migrations_apply_once_and_a_newer_store_is_refused(target: str) -> None:
    with open_store(target) as store:
        assert store.query("SELECT version FROM ctool_migrations ORDER BY version") == [
            (v,) for v in range(1, LATEST + 1)
        ]
    with open_store(target) as store:  # reopened: nothing applied twice
        assert store.count() == 0
        assert len(store.query("SELECT version FROM ctool_migrations")) == LATEST
        with store.transaction() as cursor:
            cursor.execute(store.sql("INSERT INTO ctool_migrations VALUES (?, ?)"), (99, "x"))
    with pytest.raises(UsageError, match="newer than this ctool"):
        open_store(target)


WRITER = textwrap.dedent(
    """
    import sys
    from history_records import make_record
    from ctool.history.store import open_store
    target, writer, go = sys.argv[1], sys.argv[2], sys.argv[3]
    with open_store(target) as store:
        open(go + writer, "w").close()
        while not all(__import__("os").path.exists(go + w) for w in "ab"):
            pass
        for batch in range(20):
            store.add([make_record(batch * 10 + i, 1.0, writer=writer) for i in range(10)])
    """
)


def test_two_processes_writing_at_once_lose_nothing(target: str, tmp_path: Path) -> None:
    go = str(tmp_path / "ready-")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, target, w, go],
            env=subprocess_env(),
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for w in "ab"
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with open_store(target) as store:
        assert store.count() == 400
        commits = store.query("SELECT COUNT(DISTINCT commit_sha) FROM runs")
        assert commits == [(400,)]
        assert store.query("SELECT COUNT(*) FROM metrics") == [(400,)]


def test_a_bad_target_is_one_usage_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="cannot open"):
        open_store(str(tmp_path / "file" / "history.db"))
    with pytest.raises(UsageError, match="cannot connect"):
        open_store("postgresql://nobody:secret@127.0.0.1:1/none")
