"""A pipeline built only from the standard library's C-backed modules: json, sqlite3 and
hashlib, each in its own stage. Importable as ``libpipe`` (tests/helpers is on sys.path).

Costs by construction: ``digest`` is ``hashlib.sha256`` over a large buffer (a C function
whose name, ``_hashlib.openssl_sha256``, is not the name the source calls it by), ``store``
is sqlite3, ``load`` is json; ``summarise`` hashes half as much in a task of its own
context (as a server's handler runs), where no recorder sees its span.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import json
import sqlite3
from typing import Any

import ctool


class LibPipeline:
    def __init__(self, rows: int, rounds: int, size: int) -> None:
        self.rows = rows
        self.rounds = rounds
        self.payload = bytes(range(256)) * (size // 256)
        self.db = sqlite3.connect(":memory:")
        self.db.execute("CREATE TABLE items (id INTEGER, name TEXT, value INTEGER)")

    async def episode(self, index: int) -> str:
        with ctool.span("load"):
            records = [
                {"id": i, "name": f"item-{index}-{i}", "value": i * index % 97}
                for i in range(self.rows)
            ]
            text = json.dumps(records)
            parsed = json.loads(text)
        await asyncio.sleep(0)
        with ctool.span("store"):
            self.db.execute("DELETE FROM items")
            self.db.executemany(
                "INSERT INTO items VALUES (?, ?, ?)",
                [(r["id"], r["name"], r["value"]) for r in parsed],
            )
            total = self.db.execute("SELECT SUM(value) FROM items").fetchone()[0]
        await asyncio.sleep(0)
        # As a server's handler runs (aiohttp): in a task of its own context, where the
        # episode's recorder is not active, so the run never sees the span's block.
        loop = asyncio.get_running_loop()
        await loop.create_task(self._summarise(), context=contextvars.Context())
        with ctool.span("digest"):
            digest = b""
            for _ in range(self.rounds):
                digest = hashlib.sha256(self.payload + digest).digest()
        return f"{total}:{digest.hex()[:16]}"

    async def _summarise(self) -> bytes:
        with ctool.span("summarise"):
            return self._digest()

    def _digest(self) -> bytes:
        digest = b""
        for _ in range(self.rounds // 2):
            digest = hashlib.sha256(self.payload + digest).digest()
        return digest

    def outputs(self, result: str) -> dict[str, Any]:
        return {"result": result}

    def close(self) -> None:
        self.db.close()


def create(rows: int = 300, rounds: int = 40, size: int = 64 * 1024) -> LibPipeline:
    return LibPipeline(rows, rounds, size)
