"""A partition through the TCP fault proxy, against the truth a local server records."""

from __future__ import annotations

import bisect
import dataclasses

import pytest
from chaos_tcp import LineServer

from ctool.chaos.options import chaos_options
from ctool.chaos.runner import run_chaos
from ctool.model.chaos_schema import ChaosReport


def partition(server: LineServer, fault: str, duration: float) -> ChaosReport:
    host, port = server.address
    options = chaos_options(
        plan_path=None,
        faults=[fault],
        pipeline="chaos_tcp:create",
        preset=None,
        settings={},
        seed=0,
        duration_s=duration,
        episodes=None,
        concurrency=None,
        episode_timeout_s=1.0,
        window_s=0.25,
        abort_burn=None,
        proxies=[f"echo={host}:{port}"],
    )
    # Recovery is judged on errors alone: on a shared machine a stray slow episode is not
    # the partition's doing.
    options.plan = dataclasses.replace(options.plan, hypothesis={"error_rate": 0.01})
    return run_chaos(options)


@pytest.mark.serial
def test_recovery_after_a_blackhole_matches_what_the_server_saw() -> None:
    with LineServer() as server:
        report = partition(
            server, "partition:echo:action=blackhole,start_s=0.5,duration_s=0.5", 1.6
        )
    a = report.accounting
    assert a.accounted and a.started == a.ok + a.failed_total
    assert a.failed.get("TimeoutError", 0) > 0  # the blackhole was felt
    window = report.fault_windows[0]
    assert report.clock_origin_s is not None and window.end_s is not None
    healed = report.clock_origin_s + window.end_s
    first_after = server.arrivals[bisect.bisect_left(server.arrivals, healed)]
    truth = first_after - healed
    measured = report.recovery.time_to_recover_s
    assert measured is not None
    assert abs(measured - truth) <= 0.100
    # Nothing reached the server while the partition lasted.
    started = report.clock_origin_s + window.start_s
    assert not [t for t in server.arrivals if started + 0.06 < t < healed]
    assert report.proxies["echo"]["bytes_dropped"] > 0


def test_a_reset_partition_fails_episodes_and_the_proxy_reopens() -> None:
    with LineServer() as server:
        report = partition(server, "partition:echo:action=reset,start_s=0.2,duration_s=0.3", 1.5)
    a = report.accounting
    assert a.accounted
    assert a.failed_total > 0
    assert report.proxies["echo"]["resets"] > 0
    # The proxy reopened: after the first window after the fault (an episode caught by the
    # reset just as it ended may still fail there), episodes run and none fails.
    after = [w for w in report.timeline if w.phase == "after"][1:]
    assert after and sum(w.episodes for w in after) > 0
    assert all(w.errors == 0 for w in after)


def test_a_proxy_fault_needs_its_proxy() -> None:
    from ctool.model.errors import UsageError

    with LineServer() as server, pytest.raises(UsageError, match="no --proxy named 'db'"):
        partition(server, "partition:db:action=blackhole", 0.5)
