"""The reference pipeline before and after its fault points and resilience settings, side
by side: same outputs, same speed?

Run: .venv/bin/python benchmarks/fault_points.py [--against main] [--rounds 8]
     [--episodes 1000]

``--against REF`` is the git revision without the fault points (its ``ctool/`` is exported
to a temporary folder with ``git archive``). Each round starts one fresh process per arm,
in alternating order (ABC, CBA, ...):

* ``before``  -- REF's pipeline, preset optimized;
* ``after``   -- this tree's pipeline, preset optimized, ``sustain_coupling_gain=1.0`` (the
  model REF had; the gain changes no cost, only coherence), fault points in place and no
  chaos plan installed;
* ``resilient`` -- this tree, preset resilient, ``sustain_coupling_gain=1.0``.

Each process runs ``--warmup`` episodes, then ``--episodes`` timed ones in sequence, and
reports the main thread's CPU time and wall time per episode and the behaviour digest of
the timed episodes. The ratios are per round (after/before, resilient/before), summarised
by their median and range; the digests of all three arms must be equal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


async def _measure(preset: str, warmup: int, episodes: int, settings: dict[str, Any]) -> None:
    from ctool.pipeline import create
    from ctool.workload.digest import output_digest

    pipeline = create(0, preset, **settings)
    try:
        for index in range(warmup):
            await pipeline.episode(index)
        cpu, wall = time.thread_time(), time.perf_counter()
        outputs = [
            pipeline.outputs(await pipeline.episode(index))
            for index in range(warmup, warmup + episodes)
        ]
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
    finally:
        pipeline.close()
    result = {"cpu_us": cpu / episodes * 1e6, "wall_us": wall / episodes * 1e6}
    print(json.dumps({**result, "digest": output_digest(outputs)}))


def _export(ref: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", ref, "ctool"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def _arm(path: Path, preset: str, args: argparse.Namespace, settings: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(path)}
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--worker",
            preset,
            "--settings",
            settings,
            "--warmup",
            str(args.warmup),
            "--episodes",
            str(args.episodes),
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=path,
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def _summary(name: str, rows: list[dict[str, Any]], base: list[dict[str, Any]]) -> str:
    cpu = statistics.median(r["cpu_us"] for r in rows)
    wall = statistics.median(r["wall_us"] for r in rows)
    text = f"  {name:<10} CPU {cpu:8.1f} us/episode   wall {wall:8.1f} us/episode"
    if rows is not base:
        ratios = [r["cpu_us"] / b["cpu_us"] for r, b in zip(rows, base, strict=True)]
        text += (
            f"   CPU ratio to before: median {statistics.median(ratios):.3f} "
            f"(min {min(ratios):.3f}, max {max(ratios):.3f})"
        )
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--against", default="main")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--settings", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(_measure(args.worker, args.warmup, args.episodes, json.loads(args.settings)))
        return
    print(f"fault points and resilience, before/after -- {time.strftime('%Y-%m-%dT%H:%M:%S')}")
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs; load {os.getloadavg()}")
    print(f"command: python benchmarks/fault_points.py {' '.join(sys.argv[1:])}")
    old_model = json.dumps({"sustain_coupling_gain": 1.0})
    arms = {
        "before": ("optimized", "{}"),
        "after": ("optimized", old_model),
        "resilient": ("resilient", old_model),
    }
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in arms}
    with tempfile.TemporaryDirectory() as tmp:
        before = _export(args.against, Path(tmp))
        for round_ in range(args.rounds):
            order = list(arms) if round_ % 2 == 0 else list(reversed(arms))
            for name in order:
                preset, settings = arms[name]
                path = before if name == "before" else ROOT
                results[name].append(_arm(path, preset, args, settings))
    print(f"{args.rounds} rounds x {args.episodes} episodes (seed 0, after {args.warmup} warm-up)")
    for name, rows in results.items():
        print(_summary(name, rows, results["before"]))
    digests = {name: {r["digest"] for r in rows} for name, rows in results.items()}
    same = len(set().union(*digests.values())) == 1
    print(f"  digests: {'all equal' if same else 'DIFFER'} ({next(iter(digests['before']))[:16]})")
    print(f"load at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
