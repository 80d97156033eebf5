"""How often ``--ctool-compare`` flags identical code between two pytest sessions: the case
for its drift floor.

K pytest sessions, one after another, each runs the same measured test (a CPU loop, 60
episodes) with ``--ctool-save`` into its own folder. Every pair of consecutive sessions is
then compared the way ``--ctool-compare`` compares (``compare_saved``), with compare's bare
5 % threshold and with the plugin's 20 % drift floor. The code never changes, so every
"regressed" is a false alarm caused by drift between sessions.

Usage: python benchmarks/pytest_compare_drift.py [K]   (default 10)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEST = """
import pytest, ctool

@pytest.mark.ctool(episodes=60, warmup=5)
def test_work():
    with ctool.span("crunch"):
        total = 0
        for i in range(20_000):
            total += i * i
"""


def main() -> None:
    from ctool.analysis.compare import require_profile
    from ctool.model.io import load_report
    from ctool.pytest_plugin.saved import compare_saved, report_path

    k = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        (base / "test_drift.py").write_text(TEST)
        folders = []
        for i in range(k):
            folder = base / f"s{i}"
            subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                 "-p", "ctool.pytest_plugin.plugin", f"--ctool-save={folder}", "test_drift.py"],
                cwd=base, env=env, check=True, capture_output=True,
            )  # fmt: skip
            folders.append(folder)
        nodeid = "test_drift.py::test_work"
        reports = [require_profile(load_report(report_path(f, nodeid)), str(f)) for f in folders]
        p50 = [r.latency_ms.p50 for r in reports]
        ratios = [b / a for a, b in zip(p50, p50[1:], strict=False)]
        flagged = {0.05: 0, 0.20: 0}
        for before, current in zip(folders, reports[1:], strict=False):
            for threshold in flagged:
                result = compare_saved(current, before, nodeid, threshold)
                flagged[threshold] += result.status == "regressed"
    pairs = k - 1
    print(f"sessions: {k}; python {sys.version.split()[0]}; {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"p50 per session (ms): {', '.join(f'{v:.3f}' for v in p50)}")
    print(
        f"p50 ratio between consecutive sessions: median {statistics.median(ratios):.3f}, "
        f"min {min(ratios):.3f}, max {max(ratios):.3f}"
    )
    for threshold, count in flagged.items():
        print(f"identical code flagged 'regressed' at {100 * threshold:.0f} %: {count} of {pairs}")


if __name__ == "__main__":
    main()
