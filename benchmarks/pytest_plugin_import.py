"""Import cost of ctool's pytest plugin for a test suite that never uses it.

Two figures, side by side in one run:

1. ``python -X importtime``: the cumulative import time of ``ctool.pytest_plugin.plugin``
   after pytest is imported (what the ``pytest11`` entry point adds to every session),
   median of N fresh processes;
2. a whole ``pytest`` session on a one-test suite, with the plugin loaded (``-p``) and
   without, alternating N times: the median of each and their difference.

Usage: python benchmarks/pytest_plugin_import.py [N]   (default 15)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def import_us() -> int:
    code = "import pytest\nimport ctool.pytest_plugin.plugin\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True, text=True, env=env, check=True,
    ).stderr  # fmt: skip
    for line in err.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == "ctool.pytest_plugin.plugin":
            return int(parts[1])
    raise RuntimeError("ctool.pytest_plugin.plugin not in the import-time table")


def session_s(suite: Path, plugin: bool) -> float:
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(suite)]
    if plugin:
        args[3:3] = ["-p", "ctool.pytest_plugin.plugin"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    subprocess.run(args, capture_output=True, env=env, check=True, cwd=suite.parent)
    return time.perf_counter() - start


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    imports = sorted(import_us() for _ in range(n))
    with tempfile.TemporaryDirectory() as tmp:
        suite = Path(tmp) / "test_unrelated.py"
        suite.write_text("def test_one():\n    assert 1 + 1 == 2\n")
        with_plugin, without = [], []
        for _ in range(n):
            without.append(session_s(suite, plugin=False))
            with_plugin.append(session_s(suite, plugin=True))
    a, b = statistics.median(without), statistics.median(with_plugin)
    print(f"runs: {n}; python {sys.version.split()[0]}; {os.cpu_count()} cores")
    print(
        f"import of ctool.pytest_plugin.plugin (cumulative, after pytest): median "
        f"{statistics.median(imports) / 1000:.1f} ms (min {imports[0] / 1000:.1f}, "
        f"max {imports[-1] / 1000:.1f})"
    )
    print(
        f"pytest session, one unrelated test: without the plugin {1000 * a:.0f} ms, with it "
        f"{1000 * b:.0f} ms (medians): {1000 * (b - a):+.0f} ms, x{b / a:.3f}"
    )


if __name__ == "__main__":
    main()
