"""Run leakcheck on one pipeline for several seeds, in this process, one JSON line each.

``python tests/helpers/leak_table.py REF SEED [SEED ...] [--preset P] [--set k=v ...] [--engine E]``
prints, per seed: the verdict, the growth, the plateau, the rounds and the episodes the
sequential check needed, its duration, and the top site and evidence. The issue's table
(tests/leak/test_leak_sequential.py) runs each pipeline in a fresh process with this, and
benchmarks/leakcheck.py reports the episodes each case needed from the same lines.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv: list[str] | None = None) -> int:
    from ctool.leak.runner import LeakcheckOptions, run_leakcheck
    from ctool.workload.loader import parse_settings

    parser = argparse.ArgumentParser()
    parser.add_argument("ref")
    parser.add_argument("seeds", nargs="+", type=int)
    parser.add_argument("--preset")
    parser.add_argument("--set", dest="settings", action="append", default=[])
    parser.add_argument("--engine", default="tracemalloc")
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--every", type=int, default=20)
    args = parser.parse_args(argv)
    for seed in args.seeds:
        report = run_leakcheck(
            LeakcheckOptions(
                pipeline=args.ref,
                preset=args.preset,
                settings=parse_settings(args.settings),
                seed=seed,
                engine=args.engine,
                episodes=args.episodes,
                every=args.every,
            )
        )
        site = report.sites[0] if report.sites else None
        line = {
            "seed": seed,
            "verdict": report.verdict,
            "growth": report.growth,
            "reason": report.reason,
            "episodes": report.episodes,
            "rounds": report.budget.rounds if report.budget else [],
            "slope": report.traced.slope,
            "plateau": None if report.plateau is None else report.plateau.model_dump(),
            "detection_limit": report.detection_limit_bytes_per_episode,
            "rss_beyond_traced": report.rss_beyond_traced_bytes_per_episode,
            "duration_s": report.duration_s,
            "top_site": None if site is None else f"{site.file}:{site.line}",
            "top_site_code": None if site is None else site.code,
            "top_site_stage": None if site is None else site.stage,
            "evidence": report.evidence,
        }
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
