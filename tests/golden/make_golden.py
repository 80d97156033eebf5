"""Golden reports: real runs of every report kind, and what each renders to.

    python tests/golden/make_golden.py --inputs   # run ctool again for new inputs (slow)
    python tests/golden/make_golden.py            # re-render the committed inputs

The inputs (``reports/*.json``) were written by real ``ctool`` runs and are frozen: the
renderings (``rendered/``) are what the code renders from them: the table at a fixed
width without colour, markdown, JSON, and the visible text of the HTML page.
``tests/reports/test_golden.py`` renders the same inputs and compares.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPORTS = HERE / "reports"
RENDERED = HERE / "rendered"
WIDTH = "100"

# kind name -> the ctool command line that writes it (run in REPORTS).
RUNS: dict[str, list[str]] = {
    "profile": [
        "profile",
        "--episodes",
        "60",
        "--warmup",
        "5",
        "--concurrency",
        "1,4",
        "--profiler",
        "cprofile",
        "--profiler",
        "pyspy",
        "-o",
        "profile.json",
    ],
    "profile_baseline": [
        "profile",
        "--preset",
        "baseline",
        "--episodes",
        "60",
        "--warmup",
        "5",
        "-o",
        "profile_baseline.json",
    ],
    "profile_rounds": [
        "profile",
        "--episodes",
        "40",
        "--warmup",
        "5",
        "--rounds",
        "3",
        "-o",
        "profile_rounds.json",
    ],
    "compare": ["compare", "profile_baseline.json", "profile.json", "-o", "compare.json"],
    "ab": [
        "ab",
        "--a",
        "preset=baseline",
        "--b",
        "preset=optimized",
        "--rounds",
        "6",
        "--episodes",
        "30",
        "--warmup",
        "5",
        "-q",
        "-o",
        "ab.json",
    ],
    "leakcheck": [
        "leakcheck",
        "--episodes",
        "200",
        "--warmup",
        "20",
        "--every",
        "20",
        "--quiet",
        "-o",
        "leakcheck.json",
    ],
    "suite": ["suite", "--quick", "--only", "1,2,5,6", "-q", "-o", "suite.json"],
}

FORMATS = ("table", "markdown", "json")


class _Text(HTMLParser):
    """The text a reader sees: everything outside <script>, <style> and <template>."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "template"}:
            self.hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "template"}:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden and data.strip():
            self.parts.append(" ".join(data.split()))


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "\n".join(parser.parts) + "\n"


def env() -> dict[str, str]:
    e = dict(os.environ)
    e.update({"COLUMNS": WIDTH, "NO_COLOR": "1", "TERM": "dumb", "PYTHONHASHSEED": "0"})
    e.pop("FORCE_COLOR", None)
    return e


def ctool(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ctool", *args],
        cwd=cwd,
        env=env(),
        text=True,
        capture_output=True,
        check=False,
    )


def _portable(text: str) -> str:
    """The checkout's own location, where a renderer resolved a path, as a placeholder."""
    return text.replace(str(REPORTS), "<golden-reports>")


def render(name: str, fmt: str, tmp: Path) -> str:
    """One rendering of ``reports/NAME.json`` (see :func:`_render`), location-free."""
    return _portable(_render(name, fmt, tmp))


def _render(name: str, fmt: str, tmp: Path) -> str:
    """One rendering of ``reports/NAME.json``: a format on stdout, or the HTML's text."""
    src = REPORTS / f"{name}.json"
    if fmt == "html":
        out = tmp / f"{name}.html"
        done = ctool(["report", str(src), "--html", str(out)], REPORTS)
        if done.returncode != 0:
            return f"exit {done.returncode}\n{done.stderr}"
        return visible_text(out.read_text(encoding="utf-8"))
    done = ctool(["report", str(src), "--format", fmt], REPORTS)
    if done.returncode != 0:
        return f"exit {done.returncode}\n{done.stderr}"
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--inputs", action="store_true", help="rerun ctool for new inputs")
    args = parser.parse_args()
    if args.inputs:
        for name, cmd in RUNS.items():
            done = ctool(cmd, REPORTS)
            print(name, done.returncode, done.stderr[-300:], file=sys.stderr)
    RENDERED.mkdir(exist_ok=True)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for name in RUNS:
            for fmt in (*FORMATS, "html"):
                text = render(name, fmt, Path(tmp))
                suffix = {"table": "txt", "markdown": "md", "json": "json", "html": "html.txt"}
                (RENDERED / f"{name}.{suffix[fmt]}").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
