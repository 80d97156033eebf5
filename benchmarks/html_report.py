"""HTML report of a long run: file size, render time, and time to first paint in Chromium.

Target (issue 8): a 100,000-episode report renders to an HTML file under 5 MB that the
browser shows in under 2 s.

    .venv/bin/python benchmarks/html_report.py                    # synthetic 100,000-episode runs
    .venv/bin/python benchmarks/html_report.py --report run.json  # a real saved report instead

The synthetic reports carry every field (raw latencies of all episodes, a concurrency sweep,
batches, a sampler timeline, hotspots, a py-spy profile; for leakcheck one memory sample
every 10 episodes) so the page is as large as a real one can get. Browser time is measured
from navigation start to the second animation frame after the load event (layout and paint
done), median of --loads fresh navigations, in headless Chromium at 1280x1000.
Exit status 1 when a target is missed.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import argparse  # noqa: E402 - after the sys.path fix above
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

MAX_BYTES = 5_000_000
MAX_PAINT_S = 2.0

PAINTED = """
const done = arguments[arguments.length - 1];
const finish = () => requestAnimationFrame(() => requestAnimationFrame(() => {
  const nav = performance.getEntriesByType('navigation')[0];
  done({paint_ms: performance.now(), load_ms: nav.loadEventEnd,
        nodes: document.getElementsByTagName('*').length});
}));
if (document.readyState === 'complete') { finish(); } else { addEventListener('load', finish); }
"""


def browser_times(page: Path, loads: int) -> list[dict[str, float]]:
    from browser import find_browser, severe_console_messages, start_chromium

    *_, why = find_browser()
    if why:
        print(f"browser timing skipped: {why}")
        return []
    results = []
    with tempfile.TemporaryDirectory() as profile:
        driver = start_chromium(Path(profile))
        try:
            driver.set_script_timeout(30)
            for _ in range(loads):
                driver.get("about:blank")
                driver.get(page.as_uri())
                results.append(driver.execute_async_script(PAINTED))
                errors = severe_console_messages(driver)
                if errors:
                    print("console errors:", errors)
        finally:
            driver.quit()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=100_000)
    parser.add_argument("--report", type=Path, help="render this saved report instead")
    parser.add_argument("--loads", type=int, default=5, help="browser navigations per page")
    parser.add_argument("--out", type=Path, default=None, help="keep the pages here")
    args = parser.parse_args()

    import report_fixtures as fixtures

    from ctool.model.related import load_with_related
    from ctool.reports.html import write_html

    out = args.out or Path(tempfile.mkdtemp(prefix="ctool-html-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    if args.report:
        loaded = load_with_related(args.report)
        cases = [(args.report.stem, loaded.report, loaded.related)]
    else:
        cases = [
            ("profile", fixtures.profile_report(args.episodes, tmp=out), []),
            ("leakcheck", fixtures.leakcheck_report(args.episodes, every=10), []),
        ]
    ok = True
    print(
        f"{'page':<12}{'episodes':>10}{'size':>12}{'render':>10}{'load':>10}{'paint':>10}"
        f"{'nodes':>9}"
    )
    for name, report, related in cases:
        page = out / f"{name}.html"
        started = time.perf_counter()
        write_html(report, page, related=related)
        render_s = time.perf_counter() - started
        size = page.stat().st_size
        times = browser_times(page, args.loads)
        paint = statistics.median(t["paint_ms"] for t in times) / 1000 if times else float("nan")
        load = statistics.median(t["load_ms"] for t in times) / 1000 if times else float("nan")
        nodes = int(times[0]["nodes"]) if times else 0
        episodes = getattr(report, "episodes", None) or report.config.episodes or 0
        print(
            f"{name:<12}{episodes:>10,}{size / 1e6:>10.2f}MB{render_s:>9.2f}s"
            f"{load:>9.3f}s{paint:>9.3f}s{nodes:>9,}"
        )
        ok &= size < MAX_BYTES and (not times or paint < MAX_PAINT_S)
    print(f"pages in {out}")
    print(
        f"targets: size < {MAX_BYTES / 1e6:g} MB, first paint < {MAX_PAINT_S:g} s: "
        + ("met" if ok else "MISSED")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
