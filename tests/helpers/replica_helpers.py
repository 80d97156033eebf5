"""Shared by the executor, interrupt and real-Prometheus tests. Not a test module."""

from __future__ import annotations

import json
import os
import socket
import urllib.request
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent


def subprocess_env() -> dict[str, str]:
    """The environment for a ``python -m ctool`` subprocess: tests/ and the repo importable."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(TESTS.parents[1])])}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def get_json(url: str) -> Any:
    return json.loads(get_text(url))
