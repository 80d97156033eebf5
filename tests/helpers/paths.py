"""Where things are, for tests in any folder under tests/ (and their subprocesses).

``HELPERS`` holds the importable test pipelines and helpers (tests/conftest.py puts it on
``sys.path``); a subprocess that imports them gets :func:`subprocess_env`.
"""

from __future__ import annotations

import os
from pathlib import Path

HELPERS = Path(__file__).resolve().parent
TESTS = HELPERS.parent
REPO = TESTS.parent
GOLDEN = TESTS / "golden"


def subprocess_env(*extra: str | Path, **overrides: str) -> dict[str, str]:
    """The environment with the repository and the helpers first on ``PYTHONPATH``."""
    paths = [str(REPO), str(HELPERS), *map(str, extra), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p), **overrides}
