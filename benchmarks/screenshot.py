"""Make the README's screenshot of the HTML report (docs/img/report.png) from a real run.

    .venv/bin/python benchmarks/screenshot.py                    # run ctool profile, then shoot
    .venv/bin/python benchmarks/screenshot.py --report run.json  # shoot an existing report

By default it runs the reference pipeline for real, in a subprocess:

    python -m ctool profile --episodes 2000 --concurrency 1,4,8,16 --profiler pyspy \
        --quiet -o run.json --html run.html

(py-spy is dropped when it cannot attach here, so the run still succeeds), renders the page
in headless Chromium at 1280 px wide and saves the top of it (the summary cards, the
latency charts and the stage breakdown) as a PNG. --full saves the whole page instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT / "tests"))

import argparse  # noqa: E402 - after the sys.path fix above
import shlex  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402

PROFILE_ARGS = ["--episodes", "2000", "--concurrency", "1,4,8,16"]


def real_run(workdir: Path, profilers: list[str]) -> Path:
    """Run ``ctool profile`` for real and return the HTML page it wrote."""
    report, page = workdir / "run.json", workdir / "run.html"
    base = [sys.executable, "-m", "ctool", "profile", *PROFILE_ARGS]
    base += ["--quiet", "-o", str(report), "--html", str(page)]
    for extra in ([a for p in profilers for a in ("--profiler", p)], []):
        cmd = base + extra
        print("$", shlex.join(cmd[2:]).replace(str(workdir) + "/", ""))
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir)
        if proc.returncode == 0:
            return page
        print(f"  exit {proc.returncode}: {proc.stderr.strip()[:300]}")
    raise SystemExit("ctool profile failed; see above")


def _pyspy() -> list[str]:
    """py-spy when its backend is installed here (it also needs ptrace permission)."""
    import importlib.util

    return ["pyspy"] if importlib.util.find_spec("ctool.profilers.pyspy") else []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", type=Path, help="a saved report to shoot instead")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "report.png")
    parser.add_argument("--height", type=int, default=1500, help="pixels from the top")
    parser.add_argument("--full", action="store_true", help="the whole page")
    parser.add_argument("--profiler", action="append", default=None)
    args = parser.parse_args()

    from browser import screenshot, severe_console_messages, start_chromium

    with tempfile.TemporaryDirectory(prefix="ctool-shot-") as tmp:
        workdir = Path(tmp)
        if args.report:
            from ctool.model.related import load_with_related
            from ctool.reports.html import write_html

            loaded = load_with_related(args.report)
            page = workdir / "report.html"
            write_html(loaded.report, page, related=loaded.related, base_dir=loaded.directory)
        else:
            page = real_run(workdir, args.profiler if args.profiler is not None else _pyspy())
        driver = start_chromium(workdir / "chromium", width=1280, height=1000)
        try:
            driver.get(page.as_uri())
            errors = severe_console_messages(driver)
            if errors:
                raise SystemExit(f"console errors: {errors}")
            args.out.parent.mkdir(parents=True, exist_ok=True)
            screenshot(
                driver, args.out, full_page=args.full, height=None if args.full else args.height
            )
        finally:
            driver.quit()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
