"""A third-party-library program: pydantic validation inside a coroutine on the loop."""

import asyncio

from pydantic import BaseModel


class Order(BaseModel):
    id: int
    cents: int
    tags: list[str]


def validate(batch: list[dict[str, object]]) -> int:
    return sum(Order.model_validate(row).cents for row in batch)


async def main() -> None:
    batch = [{"id": i, "cents": i, "tags": ["x", "y"]} for i in range(20_000)]
    for _ in range(4):
        validate(batch)  # holds the loop for tens of ms
        await asyncio.sleep(0.01)


asyncio.run(main())
