"""A program with its own asyncio.run(main()) whose coroutine blocks the loop (tests)."""

import asyncio
import sys
import time

import ctool


async def handler(n: int) -> None:
    with ctool.span("handle"):
        time.sleep(0.02)  # the blocking call
    await asyncio.sleep(0.002)


async def main() -> None:
    for n in range(15):
        await handler(n)
    print("served", len(sys.argv[1:]), "args:", *sys.argv[1:])


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 0)
