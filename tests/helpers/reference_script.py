"""A program that runs the reference pipeline's episodes in its own asyncio.run."""

import asyncio
import sys

import ctool.pipeline


async def main(episodes: int) -> None:
    pipeline = ctool.pipeline.create(seed=1)
    for index in range(episodes):
        await pipeline.episode(index)


asyncio.run(main(int(sys.argv[1])))
