"""Command-line values and the plan's ``[run]`` table merged into :class:`ChaosOptions`
(a value given on the command line wins)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ctool.chaos.plan import load_plan
from ctool.chaos.runner import ChaosOptions
from ctool.model.errors import UsageError

DEFAULT_DURATION_S = 10.0


def parse_proxy(text: str) -> tuple[str, tuple[str, int]]:
    """``NAME=HOST:PORT``."""
    name, eq, address = text.partition("=")
    host, colon, port = address.rpartition(":")
    if not eq or not name.strip() or not colon or not host or not port.isdigit():
        raise UsageError(f"--proxy expects NAME=HOST:PORT, got {text!r}")
    if not 0 < int(port) < 65536:
        raise UsageError(f"--proxy {text!r}: port out of range")
    return name.strip(), (host, int(port))


def chaos_options(
    *,
    plan_path: str | Path | None,
    faults: list[str] | None,
    pipeline: str | None,
    preset: str | None,
    settings: dict[str, Any],
    seed: int,
    duration_s: float | None,
    episodes: int | None,
    concurrency: int | None,
    episode_timeout_s: float | None,
    window_s: float | None,
    abort_burn: float | None,
    proxies: list[str] | None,
    live_dir: str | Path | None = None,
) -> ChaosOptions:
    plan = load_plan(plan_path, faults)
    if not plan.faults and live_dir is None:
        raise UsageError("no faults: give --plan FILE, --fault KIND:TARGET:... or --live DIR")
    if live_dir is not None and not Path(live_dir).is_dir():
        raise UsageError(f"--live {live_dir}: not a directory")
    run = plan.run

    def pick(given: Any, key: str, default: Any) -> Any:
        return given if given is not None else run.get(key, default)

    if duration_s is None and episodes is None and "episodes" in run:
        episodes = int(run["episodes"])
    elif duration_s is None and episodes is None:
        duration_s = float(run.get("duration_s", DEFAULT_DURATION_S))
    options = ChaosOptions(
        pipeline=pipeline,
        preset=preset,
        seed=seed if seed else int(run.get("seed", 0)),
        settings=settings,
        plan=plan,
        duration_s=duration_s,
        episodes=episodes,
        concurrency=int(pick(concurrency, "concurrency", 1)),
        episode_timeout_s=float(pick(episode_timeout_s, "episode_timeout_s", 5.0)),
        window_s=float(pick(window_s, "window_s", 1.0)),
        abort_burn=pick(abort_burn, "abort_burn", None),
        proxies=dict(parse_proxy(p) for p in proxies or []),
        command="chaos",
        live_dir=None if live_dir is None else str(live_dir),
    )
    return options
