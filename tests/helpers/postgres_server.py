"""A real PostgreSQL server for the history tests.

``CTOOL_TEST_POSTGRES_DSN`` (set by ``.ci/run``, which starts Debian's server) names an
existing server. Otherwise :func:`start_server` starts one in a temporary directory with
Debian's ``initdb`` and ``pg_ctl`` (as the ``postgres`` user when run as root: PostgreSQL
refuses to run as root) on a free localhost port. Each test gets a fresh database.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

DSN_ENV = "CTOOL_TEST_POSTGRES_DSN"


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for version in sorted(Path("/usr/lib/postgresql").glob("*"), reverse=True):
        candidate = version / "bin" / name
        if candidate.exists():
            return str(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def start_server() -> Iterator[str | None]:
    """A DSN of a server running for the block, or ``None`` (with no way to start one)."""
    if os.environ.get(DSN_ENV):
        yield os.environ[DSN_ENV]
        return
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if not initdb or not pg_ctl:
        yield None
        return
    root = Path(tempfile.mkdtemp(prefix="ctool-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        prefix = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
    data, port = root / "data", _free_port()
    try:
        subprocess.run([*prefix, initdb, "-D", str(data), "-A", "trust", "-U", "ctool"],
                       check=True, capture_output=True)  # fmt: skip
        options = f"-p {port} -k {root} -h 127.0.0.1 -c fsync=off"
        start = [*prefix, pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log")]
        subprocess.run([*start, "-w", "start"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        shutil.rmtree(root, ignore_errors=True)
        yield None
        return
    try:
        yield f"postgresql://ctool@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                       check=False, capture_output=True)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def fresh_database(server_dsn: str) -> Iterator[str]:
    """A new, empty database on the server for the block; dropped after it."""
    import psycopg

    name = f"ctool_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    base, _, _ = server_dsn.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(server_dsn, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
