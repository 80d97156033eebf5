from __future__ import annotations

import asyncio

import ctool
from ctool.spans import LOCATOR, EpisodeRecorder, activate, deactivate


def test_span_records_nothing_without_recorder() -> None:
    import contextvars

    rec = EpisodeRecorder()
    token = activate(rec)
    try:

        def unrecorded() -> None:
            with ctool.span("X") as marked:
                assert marked.name == "X"

        # A context without the recorder (another task's, say) must not record into it.
        contextvars.Context().run(unrecorded)
    finally:
        deactivate(token)
    assert rec.spans == [] and rec.log == []


def test_span_records_nested_depths() -> None:
    rec = EpisodeRecorder()
    token = activate(rec)
    try:
        with ctool.span("MCEA"), ctool.span("MCEA.phi"):
            pass
    finally:
        deactivate(token)
    names = [(name, depth) for name, _, _, depth in rec.spans]
    assert names == [("MCEA.phi", 1), ("MCEA", 0)]
    outer = rec.spans[1]
    inner = rec.spans[0]
    assert outer[1] <= inner[1] <= inner[2] <= outer[2]


def test_stage_decorator_sync_and_async() -> None:
    @ctool.stage("A")
    def sync_fn(x: int) -> int:
        return x + 1

    @ctool.stage("B")
    async def async_fn(x: int) -> int:
        await asyncio.sleep(0)
        return x * 2

    rec = EpisodeRecorder()
    token = activate(rec)
    try:
        assert sync_fn(1) == 2
        assert asyncio.run(async_fn(3)) == 6
    finally:
        deactivate(token)
    assert [s[0] for s in rec.spans] == ["A", "B"]


def test_concurrent_tasks_record_separately() -> None:
    async def episode(i: int) -> EpisodeRecorder:
        rec = EpisodeRecorder()
        token = activate(rec)
        try:
            with ctool.span(f"S{i}"):
                await asyncio.sleep(0.001)
        finally:
            deactivate(token)
        return rec

    async def main() -> list[EpisodeRecorder]:
        return await asyncio.gather(*(episode(i) for i in range(5)))

    recs = asyncio.run(main())
    assert [[s[0] for s in r.spans] for r in recs] == [[f"S{i}"] for i in range(5)]


def test_locate_mode_maps_lines_to_stage() -> None:
    rec = EpisodeRecorder(locate=True)
    token = activate(rec)
    try:
        with ctool.span("LOCATED"):
            here = __import__("sys")._getframe().f_lineno
    finally:
        deactivate(token)
    assert LOCATOR.stage_at(__file__, here) == "LOCATED"
    assert LOCATOR.stage_of_stack([("/nowhere.py", 1), (__file__, here)]) == "LOCATED"


def test_two_blocks_of_one_stage_stay_apart() -> None:
    rec = EpisodeRecorder(locate=True)
    token = activate(rec)
    try:
        with ctool.span("SPLIT"):
            first = __import__("sys")._getframe().f_lineno
        between = __import__("sys")._getframe().f_lineno
        with ctool.span("SPLIT"):
            second = __import__("sys")._getframe().f_lineno
    finally:
        deactivate(token)
    assert LOCATOR.stage_at(__file__, first) == "SPLIT"
    assert LOCATOR.stage_at(__file__, second) == "SPLIT"
    assert LOCATOR.stage_at(__file__, between) is None
