"""A service-like process for --pid tests: a hot function and a 50 ms blocking call on its
event loop, forever (the test kills it). Prints "ready" once the loop runs."""

import asyncio
import sys
import time


def hot_function(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


async def serve() -> None:
    print("ready", flush=True)
    while True:
        hot_function(200_000)
        await asyncio.sleep(0.03)
        time.sleep(0.05)  # the 50 ms blocking call
        await asyncio.sleep(0.1)


if __name__ == "__main__":
    asyncio.run(serve())
    sys.exit(0)
