"""Cost of the behaviour digest per episode: outputs made canonical once (now) or twice (before).

Run: .venv/bin/python benchmarks/digest.py [--pipeline REF] [--episodes 2000] [--pairs 15]

The outputs of ``--episodes`` real episodes are collected first; then both ways digest the
same outputs in interleaved pairs, and the script checks that they give the same digest.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from ctool.workload.digest import OutputDigest, canonical  # noqa: E402
from ctool.workload.loader import build_pipeline  # noqa: E402


def collect(ref: str | None, episodes: int) -> list[Any]:
    adapter = build_pipeline(ref)
    outs: list[Any] = []

    async def run() -> None:
        outs.extend([adapter.outputs(await adapter.episode(i)) for i in range(episodes)])
        await adapter.aclose()

    asyncio.run(run())
    return [o for o in outs if o is not None]


def twice(outs: list[Any]) -> tuple[float, str]:
    digest, start = OutputDigest(), time.perf_counter()
    for o in outs:
        digest.update(canonical(o))
    return (time.perf_counter() - start) / len(outs) * 1e6, digest.hexdigest()


def once(outs: list[Any]) -> tuple[float, str]:
    digest, start = OutputDigest(), time.perf_counter()
    for o in outs:
        digest.add(digest.encode(o))
    return (time.perf_counter() - start) / len(outs) * 1e6, digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pipeline", default=None)
    parser.add_argument("--episodes", type=int, default=2000)
    parser.add_argument("--pairs", type=int, default=15)
    args = parser.parse_args()
    outs = collect(args.pipeline, args.episodes)
    before, after = [], []
    for _ in range(args.pairs):
        t2, h2 = twice(outs)
        t1, h1 = once(outs)
        assert h1 == h2, "the two ways disagree"
        before.append(t2)
        after.append(t1)
    ratio = statistics.median(b / a for a, b in zip(before, after, strict=True))
    print(
        f"{args.pipeline or 'reference pipeline'}: {len(outs)} outputs, {args.pairs} pairs; "
        f"canonical twice {statistics.median(before):.1f} us, once "
        f"{statistics.median(after):.1f} us per episode; once/twice {ratio:.2f}; same digest"
    )


if __name__ == "__main__":
    main()
