"""What a pipeline offers a chaos plan: its top-level stages and its fault points, seen by
running one episode (for ``ctool suite``'s Day 9 scenarios, which know no pipeline)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from ctool import faults, spans
from ctool.workload.loader import build_pipeline


def discover(
    pipeline: str | None, *, seed: int, preset: str | None, settings: Mapping[str, Any]
) -> tuple[list[str], list[str]]:
    """(top-level stage names in the order they ran, fault-point names) of one episode."""
    points: list[str] = []

    def note(name: str, value: Any) -> Any:
        if name not in points:
            points.append(name)
        return value

    async def one() -> list[str]:
        adapter = build_pipeline(pipeline, seed=seed, preset=preset, settings=dict(settings))
        recorder = spans.EpisodeRecorder()
        token = spans.activate(recorder)
        previous = faults.install(note)
        try:
            await adapter.episode(0)
        except Exception:  # noqa: S110 - what ran before the error is what it offers
            pass
        finally:
            faults.install(previous)
            spans.deactivate(token)
            await adapter.aclose()
        names: list[str] = []
        for name, _, _, depth in sorted(recorder.spans, key=lambda s: s[1]):
            if depth == 0 and name not in names:
                names.append(name)
        return names

    return asyncio.run(one()), points
