"""The pytest plugin's marker: each target passes and fails with a message a person can act
on, sync and async bodies, the exact episode count, ``-v`` figures, ``--ctool-disable``.

Bodies do real work (a CPU loop, an allocation); the targets sit 10x or more away from what
the body takes, so that a loaded machine cannot flip a verdict.
"""

from __future__ import annotations

import re

import pytest
from pytest_plugin_helpers import run

pytest_plugins = ["pytester"]

BUSY = """
def busy(n):
    total = 0
    for i in range(n):
        total += i * i
    return total
"""


def one_passes_one_fails(pytester: pytest.Pytester, pattern: str) -> str:
    result = run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert re.search(pattern, out), out
    return out


def test_latency_targets_pass_and_fail_with_the_bottleneck(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        BUSY
        + """
import pytest, ctool

@pytest.mark.ctool(episodes=20, p50_ms=2000, p95_ms=2000, p99_ms=2000)
def test_fast_enough():
    with ctool.span("crunch"):
        busy(20_000)

@pytest.mark.ctool(episodes=20, p50_ms=0.001)
def test_p50_missed():
    with ctool.span("parse"):
        busy(1_000)
    with ctool.span("crunch"):
        busy(40_000)

@pytest.mark.ctool(episodes=20, p95_ms=0.001)
def test_p95_missed():
    busy(20_000)

@pytest.mark.ctool(episodes=20, p99_ms=0.001)
def test_p99_missed():
    busy(20_000)
"""
    )
    result = run(pytester, "-v")
    result.assert_outcomes(passed=1, failed=3)
    out = result.stdout.str()
    assert re.search(r"test_fast_enough PASSED \(p50 [\d.]+ ms, p95 [\d.]+ ms\)", out)
    assert re.search(r"latency p50 [\d.]+ ms >= target 0.001 ms \(20 episodes\)", out)
    assert "bottleneck: stage crunch" in out
    assert re.search(r"latency p95 [\d.]+ ms >= target 0.001 ms", out)
    assert re.search(r"latency p99 [\d.]+ ms >= target 0.001 ms", out)
    assert "bottleneck: no stages marked" in out


def test_throughput_target_at_concurrency(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        BUSY
        + """
import asyncio, pytest

@pytest.mark.ctool(episodes=40, concurrency=4, min_eps=1)
async def test_enough():
    busy(2_000)
    await asyncio.sleep(0)

@pytest.mark.ctool(episodes=40, concurrency=4, min_eps=1e9)
async def test_too_slow():
    busy(2_000)
    await asyncio.sleep(0)
"""
    )
    one_passes_one_fails(
        pytester,
        r"throughput [\d,.]+ episodes/s <= target 1,000,000,000.0 episodes/s at concurrency 4",
    )


def test_no_blocking_names_the_sleep_line_and_stage(pytester: pytest.Pytester) -> None:
    path = pytester.makepyfile(
        test_block="""
import asyncio, time, pytest, ctool

@pytest.mark.ctool(episodes=10, warmup=1, no_blocking=True)
async def test_blocks():
    with ctool.span("audit"):
        time.sleep(0.03)

@pytest.mark.ctool(episodes=10, warmup=1, no_blocking=True)
async def test_yields():
    with ctool.span("audit"):
        await asyncio.sleep(0.001)
"""
    )
    out = one_passes_one_fails(pytester, "blocked the event loop beyond 5 ms")
    line = path.read_text().splitlines().index("        time.sleep(0.03)") + 1
    assert re.search(rf"test_block\.py:{line} in test_blocks\(\).* in stage audit", out), out


def test_memory_in_flight_target(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import pytest

@pytest.mark.ctool(episodes=5, memory_episodes=5, max_memory_kb=1024)
def test_big():
    block = bytearray(4 * 1024 * 1024)
    assert len(block)

@pytest.mark.ctool(episodes=5, memory_episodes=5, max_memory_kb=1024)
def test_small():
    block = bytearray(16 * 1024)
    assert len(block)
"""
    )
    one_passes_one_fails(
        pytester,
        r"memory in flight per episode 4,\d{3}\.\d kB \(mean of 5 episodes at concurrency 1",
    )


def test_errors_in_the_body_fail_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import pytest

@pytest.mark.ctool(episodes=5, warmup=0)
def test_raises():
    raise LookupError("no such row")
"""
    )
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*5 of 5 episodes raised: first LookupError: no such row*"])


def test_body_runs_warmup_plus_episodes_and_fixtures_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import pytest

CALLS = {"fixture": 0, "sync": 0, "async": 0}

@pytest.fixture
def resource():
    CALLS["fixture"] += 1
    return object()

@pytest.mark.ctool(episodes=17, warmup=3)
def test_sync(resource):
    CALLS["sync"] += 1

@pytest.mark.ctool(episodes=11, warmup=2)
async def test_async(resource):
    CALLS["async"] += 1

def test_counts():
    assert CALLS == {"fixture": 2, "sync": 20, "async": 13}
"""
    )
    run(pytester).assert_outcomes(passed=3)


def test_disable_runs_each_body_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import pytest

CALLS = []

@pytest.mark.ctool(episodes=50, p50_ms=0.000001)
def test_sync():
    CALLS.append("sync")

@pytest.mark.ctool(episodes=50, p50_ms=0.000001)
async def test_async():
    CALLS.append("async")

def test_once_each():
    assert CALLS == ["sync", "async"]
"""
    )
    run(pytester, "--ctool-disable").assert_outcomes(passed=3)


def test_bad_marker_option_is_one_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import pytest

@pytest.mark.ctool(p59_ms=10)
def test_typo():
    pass

@pytest.mark.ctool(episodes=0)
def test_zero():
    pass

@pytest.mark.ctool(episodes=3, no_leak=True, leak_episodes=20, leak_every=10)
def test_too_few_leak_samples():
    pass
"""
    )
    result = run(pytester)
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        [
            "*@pytest.mark.ctool: unknown option 'p59_ms' (known: *",
            "*@pytest.mark.ctool: episodes must be an integer >= 1, got 0*",
            "*ctool: no_leak: leak_episodes=20, leak_every=10, leak_warmup=100: *3 samples*",
        ]
    )


def test_fixture_from_sync_and_async_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        BUSY
        + """
import ctool

class Pipeline:
    async def episode(self, index):
        with ctool.span("work"):
            return busy(1_000 + index)

async def test_async(ctool_profile):
    report = await ctool_profile(Pipeline(), episodes=30, concurrency=[1, 2])
    assert report.latency_ms.count == 30
    assert [row.concurrency for row in report.load] == [1, 2]
    assert "work" in report.stages

def test_sync(ctool_profile):
    report = ctool_profile(lambda i: busy(500 + i), episodes=12, warmup=0)
    assert report.latency_ms.count == 12
    assert report.errors.count == 0
"""
    )
    result = run(pytester, "-v")
    result.assert_outcomes(passed=2)
    assert re.search(r"test_sync PASSED \(p50 [\d.]+ ms, p95 [\d.]+ ms\)", result.stdout.str())
