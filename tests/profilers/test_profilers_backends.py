"""What each built-in backend finds on the toy pipeline, and the pure functions behind it."""

from __future__ import annotations

import inspect
import json
import pstats
import sys
import sysconfig
import time
import tracemalloc
from pathlib import Path
from types import SimpleNamespace

import pytest
import toy_pipeline
from profiling_helpers import profile_toy

import ctool
from ctool.model.errors import ProfilerUnavailable, UsageError
from ctool.profilers import pyspy
from ctool.profilers.base import ProfilerOptions
from ctool.profilers.cprofile import CProfileBackend, function_stats, machinery_owned
from ctool.profilers.line import LineProfilerBackend
from ctool.profilers.memory import MemoryProfilerBackend, downsample
from ctool.profilers.tracemalloc import TracemallocBackend

TOY = inspect.getsourcefile(toy_pipeline)
CTOOL_DIR = Path(ctool.__file__).parent
CTOOL_MACHINERY = tuple(
    f"ctool/{p.name}/"
    for p in (Path(ctool.__file__).parent).iterdir()
    if p.is_dir() and p.name != "pipeline"
)


def line_of(text: str) -> int:
    """The toy pipeline's line holding ``text`` (so tests survive edits of the toy)."""
    lines, _ = inspect.getsourcelines(toy_pipeline)
    return next(number for number, line in enumerate(lines, start=1) if text in line)


def options(tmp_path: Path, **kwargs: object) -> ProfilerOptions:
    return ProfilerOptions(output_dir=tmp_path, **kwargs)  # type: ignore[arg-type]


# cProfile -------------------------------------------------------------------------------


def test_cprofile_ranks_self_time_and_folds_c_calls(tmp_path: Path) -> None:
    fragment, episodes = profile_toy(CProfileBackend(), options(tmp_path), episodes=20)
    top = fragment.hotspots[0]
    assert (top.function, top.file, top.stage) == ("spin", TOY, "TIG")
    assert top.calls == episodes == 20
    assert top.extra["kind"] == "user"  # spin's own lines
    # C calls are library calls: a boundary row at spin's call, never a bare math.sin row.
    sin = [row for row in fragment.hotspots if row.function == "spin -> math.sin"]
    assert sin and sin[0].stage == "TIG" and sin[0].extra["kind"] == "boundary"
    assert not [row for row in fragment.hotspots if row.function.startswith("math.")]
    hoarding = [row for row in fragment.hotspots if row.function.startswith("hoard")]
    assert hoarding and {row.stage for row in hoarding} == {"ESGT"}
    assert not [row for row in fragment.hotspots if row.file.endswith(CTOOL_MACHINERY)]
    episode = [row for row in fragment.hotspots if row.function == "ToyPipeline.episode"]
    assert all(row.stage is None for row in episode)  # it runs both stages: neither's
    stats = pstats.Stats(fragment.artifacts["cprofile"])
    names = {name for _, _, name in stats.stats}  # type: ignore[attr-defined]
    assert "spin" in names and "<built-in method math.sin>" in names
    cumulative = [entry["function"] for entry in fragment.metadata["by_cumulative"]]
    assert "ToyPipeline.episode" in cumulative[:2]  # under the test's driver loop


def _entry(code: object, inline: float, total: float, calls: list[object] = ()) -> object:  # type: ignore[assignment]
    return SimpleNamespace(
        code=code, callcount=1, reccallcount=0, inlinetime=inline, totaltime=total, calls=calls
    )


def test_function_stats_fold_c_time_into_each_caller() -> None:
    def a() -> None: ...

    def b() -> None: ...

    sin = "<built-in method math.sin>"
    entries = [
        _entry(a.__code__, 1.0, 4.0, [SimpleNamespace(code=sin, inlinetime=3.0, totaltime=3.0)]),
        _entry(b.__code__, 2.0, 3.0, [SimpleNamespace(code=sin, inlinetime=1.0, totaltime=1.0)]),
        _entry(sin, 4.5, 4.5),  # 0.5 s called from no profiled Python function
    ]
    stats = {stat.key[2]: stat for stat in function_stats(entries)}
    assert stats["a"].self_s == pytest.approx(4.0) and stats["a"].builtin_s == pytest.approx(3.0)
    assert stats["b"].self_s == pytest.approx(3.0)
    assert stats[sin].self_s == pytest.approx(0.5)
    assert sum(stat.self_s for stat in stats.values()) == pytest.approx(7.5)  # nothing lost


def test_library_time_goes_to_the_nearest_user_caller() -> None:
    import ast

    from ctool import spans
    from ctool.profilers.cprofile import fold_library

    machinery = spans._with_blocks.__wrapped__.__code__  # type: ignore[attr-defined]
    spin = toy_pipeline.spin.__code__
    hoard = toy_pipeline.hoard.__code__
    dumps, parse = json.dumps.__code__, ast.parse.__code__  # library; dumps calls parse here

    def call(code: object, total: float) -> SimpleNamespace:
        return SimpleNamespace(code=code, inlinetime=0.0, totaltime=total)

    entries = [
        _entry(spin, 1.0, 10.0, [call(dumps, 6.0), call(hoard, 1.0)]),
        _entry(machinery, 0.5, 2.5, [call(dumps, 2.0)]),
        _entry(hoard, 1.0, 1.0),
        _entry(dumps, 4.0, 8.0, [call(parse, 4.0)]),
        _entry(parse, 4.0, 4.0),
    ]
    stats = function_stats(entries)
    fold_library(stats)
    own = {stat.key[2]: stat for stat in stats}
    assert own["spin"].self_s == pytest.approx(1.0 + 8.0 * 6 / 8)  # 3/4 of dumps and parse
    assert own["spin"].library_s == pytest.approx(6.0)
    assert own["_with_blocks"].self_s == pytest.approx(0.5 + 2.0)
    assert own["hoard"].self_s == pytest.approx(1.0)  # user code is never folded
    assert own["dumps"].self_s == own["parse"].self_s == 0.0
    assert sum(stat.self_s for stat in stats) == pytest.approx(10.5)


def test_library_called_only_by_ctool_is_ctools() -> None:
    import ast

    from ctool import spans

    machinery = spans._with_blocks.__wrapped__.__code__  # type: ignore[attr-defined]
    library = ast.parse.__code__
    shared = json.dumps.__code__
    spin = toy_pipeline.spin.__code__
    entries = [
        _entry(machinery, 1, 3, [SimpleNamespace(code=library, inlinetime=1, totaltime=1)]),
        _entry(spin, 1, 2, [SimpleNamespace(code=shared, inlinetime=1, totaltime=1)]),
        _entry(library, 1, 1),
        _entry(shared, 1, 1),
    ]
    entries[0].calls.append(SimpleNamespace(code=shared, inlinetime=0, totaltime=0))  # type: ignore[attr-defined]
    owned = {key[2] for key in machinery_owned(function_stats(entries))}
    assert owned == {"_with_blocks", "parse"}


# tracemalloc ----------------------------------------------------------------------------


def test_tracemalloc_reports_what_each_episode_keeps(tmp_path: Path) -> None:
    opts = options(tmp_path, extra={"episodes": 30})
    fragment, episodes = profile_toy(TracemallocBackend(), opts, episodes=30, work=300)
    assert not tracemalloc.is_tracing()
    meta = fragment.metadata
    keep_line = line_of("kept.append")
    kept = [s for s in meta["retained_sites"] if (s["file"], s["line"]) == (TOY, keep_line)]
    assert kept and kept[0]["count"] >= episodes  # one bytes(64) per episode, plus list growth
    assert kept[0]["function"] == "hoard" and kept[0]["stage"] == "ESGT"
    assert meta["retained_allocations_per_episode"] >= 1
    assert meta["retained_bytes_per_episode"] >= 64
    everything = fragment.hotspots + [SimpleNamespace(**s) for s in meta["retained_sites"]]
    assert not [row for row in everything if row.file.endswith(CTOOL_MACHINERY)]
    snapshot = tracemalloc.Snapshot.load(fragment.artifacts["tracemalloc"])
    assert snapshot.traces


def test_tracemalloc_shares_tracing_it_did_not_start(tmp_path: Path) -> None:
    tracemalloc.start(4)
    try:
        fragment, _ = profile_toy(TracemallocBackend(), options(tmp_path), episodes=10, work=300)
        assert tracemalloc.is_tracing()
    finally:
        tracemalloc.stop()
    assert fragment.metadata["retained_allocations"] >= 10


# py-spy ---------------------------------------------------------------------------------


def test_parse_speedscope_self_cumulative_and_own_threads() -> None:
    frames = [
        {"name": "main", "file": "/w/app.py", "line": 3},
        {"name": "fib", "file": "/w/app.py", "line": 9},
        {"name": "fib", "file": "/w/app.py", "line": 10},
        {"name": "_run", "file": str(CTOOL_DIR / "harness" / "sampler.py"), "line": 5},
        {"name": "inv", "file": sysconfig.get_paths()["purelib"] + "/numpy/linalg.py", "line": 7},
    ]
    document = {
        "shared": {"frames": frames},
        "profiles": [
            {
                "type": "sampled",
                "name": 'Thread 1 "MainThread"',
                "unit": "seconds",
                "samples": [[0, 1, 2], [0, 1], [0], [0, 1, 4]],
                "weights": [0.01, 0.01, 0.01, 0.01],
            },
            {
                "type": "sampled",
                "name": 'Thread 2 "ctool-sampler"',
                "unit": "seconds",
                "samples": [[3], [3]],
                "weights": [0.01, 0.01],
            },
            {
                "type": "sampled",
                "name": 'Thread 3 "health"',  # the workload's own thread counts
                "unit": "seconds",
                "samples": [[0]],
                "weights": [0.01],
            },
        ],
    }
    profile = pyspy.parse_speedscope(document, episode_thread=1)
    assert profile.samples == 5 and profile.threads == 2
    fib = profile.functions[("/w/app.py", "fib")]
    assert fib.self_s == pytest.approx(0.03)  # its own two samples and the numpy call's
    assert fib.raw_self_s == pytest.approx(0.02)
    assert fib.cumulative_s == pytest.approx(0.03)  # recursion counted once per sample
    assert fib.lines == {10: pytest.approx(0.01), 9: pytest.approx(0.02)}
    rows = pyspy.hotspot_rows(profile, top=10, profiler="pyspy")
    # fib's own lines, main's, and the library call fib makes, charged to its call line.
    assert [row.function for row in rows] == ["fib", "main", "fib -> numpy.inv"]
    assert rows[0].share == pytest.approx(2 / 5) and rows[2].share == pytest.approx(1 / 5)
    assert rows[2].line == 9 and rows[2].extra["kind"] == "boundary"
    assert [row["function"] for row in pyspy.raw_top(profile, top=10)] == ["fib", "main", "inv"]


def test_ptrace_refusal_is_one_line_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "py-spy"
    fake.write_text(
        '#!/bin/sh\necho "Permission Denied: Try running again with elevated permissions '
        'by going \'sudo env \\"PATH=\\$PATH\\" !!\'" >&2\nexit 1\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv(pyspy.ENV_BINARY, str(fake))
    availability = pyspy.PySpyBackend().availability()
    assert not availability.ok
    assert "\n" not in availability.reason
    assert availability.reason.startswith("ptrace is not permitted")
    assert "SYS_PTRACE" in availability.reason and "ptrace_scope" in availability.reason
    with pytest.raises(ProfilerUnavailable, match="ptrace is not permitted") as raised:
        pyspy.PySpyBackend().start(options(tmp_path))
    assert "\n" not in raised.value.message


def test_pyspy_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = pyspy.PySpyBackend()
    opts_ = options(tmp_path, pyspy_rate=250, pid=4242)
    argv = backend.command("py-spy", opts_, tmp_path / "out.json")
    assert argv[:6] == ["py-spy", "record", "--pid", "4242", "--rate", "250"]
    assert "--nonblocking" not in argv and argv[argv.index("--format") + 1] == "speedscope"
    monkeypatch.setenv(pyspy.ENV_BLOCKING, "0")
    assert "--nonblocking" in backend.command("py-spy", opts_, tmp_path / "out.json")


def test_missing_pyspy_binary_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pyspy.ENV_BINARY, str(tmp_path / "nowhere"))
    availability = pyspy.PySpyBackend().availability()
    assert not availability.ok and "is missing" in availability.reason


def test_pyspy_samples_this_process(tmp_path: Path) -> None:
    backend = pyspy.PySpyBackend()
    availability = backend.availability()
    if not availability.ok:
        pytest.skip(f"py-spy cannot run here: {availability.reason}")
    # How many samples py-spy takes in a region depends on the CPU it gets, not only on the
    # region's length, and it counts them only when stopped. So profile sessions (each a fresh
    # py-spy, each checked), the region twice as long each time, until one has enough samples
    # for its ranking to mean something; give up after 60 s.
    deadline = time.monotonic() + 60
    seconds = 0.6
    taken: list[tuple[float, int]] = []
    while True:
        out = tmp_path / f"session-{len(taken)}"
        out.mkdir()
        fragment, _ = profile_toy(backend, options(out, pyspy_rate=200), seconds=seconds)
        assert Path(fragment.artifacts["pyspy"]).is_file()
        assert not [row for row in fragment.hotspots if row.file.endswith(CTOOL_MACHINERY)]
        taken.append((seconds, fragment.metadata["samples"]))
        if fragment.metadata["samples"] > 10 or time.monotonic() > deadline:
            break
        seconds = min(2 * seconds, max(deadline - time.monotonic(), 0.6))
    assert fragment.metadata["samples"] > 10, f"(region s, samples) per session: {taken}"
    top = fragment.hotspots[0]
    assert (top.function, top.file, top.stage) == ("spin", TOY, "TIG")
    document = json.loads(Path(fragment.artifacts["pyspy"]).read_text())
    assert document["profiles"]


# line_profiler --------------------------------------------------------------------------


def test_line_times_named_functions_line_by_line(tmp_path: Path) -> None:
    opts = options(tmp_path, line_targets=["toy_pipeline:spin"])
    fragment, episodes = profile_toy(LineProfilerBackend(), opts, episodes=10, work=500)
    assert {row.function for row in fragment.hotspots} == {"spin"}
    body = line_of("total += math.sin")
    hits = {row.line: row.calls for row in fragment.hotspots}
    assert hits[body] == episodes * 500  # a deterministic count
    assert fragment.hotspots[0].stage == "TIG"
    (table,) = fragment.metadata["functions"]
    assert table["function"] == "spin" and any(r["line"] == body for r in table["lines"])
    text = Path(fragment.artifacts["line_profile_text"]).read_text()
    assert "total += math.sin(i) * math.cos(i)" in text
    assert Path(fragment.artifacts["line_profile"]).stat().st_size > 0


def test_line_chooses_hot_functions_with_a_cprofile_pass(tmp_path: Path) -> None:
    opts = options(tmp_path, extra={"line_pass_s": 0.05})
    backend = LineProfilerBackend()
    fragment, _ = profile_toy(backend, opts, seconds=0.4)
    meta = fragment.metadata
    assert "toy_pipeline:spin" in meta["targets"] and len(meta["targets"]) <= 3
    assert meta["chosen_by"].startswith("cProfile pass") and meta["switched_after_s"] >= 0.05
    assert "spin" in {row.function for row in fragment.hotspots}
    # A restart (the overhead calibration) times the same functions without a new pass.
    assert backend.claims(opts) == frozenset({"sys.settrace"})


def test_line_run_shorter_than_its_pass_says_so(tmp_path: Path) -> None:
    opts = options(tmp_path, extra={"line_pass_s": 60})
    fragment, _ = profile_toy(LineProfilerBackend(), opts, episodes=5, work=300)
    assert not fragment.hotspots
    assert "toy_pipeline:spin" in fragment.metadata["targets"]
    assert "--line-target" in fragment.metadata["note"]
    assert sys.gettrace() is None and sys.getprofile() is None


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("toy_pipeline", "expects 'package.module:function'"),
        ("no_such_module_x:f", "cannot import"),
        ("toy_pipeline:nope", "has no 'nope'"),
        ("toy_pipeline:ToyPipeline", "not a Python function"),
    ],
)
def test_bad_line_target_is_one_usage_line(tmp_path: Path, target: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as raised:
        LineProfilerBackend().start(options(tmp_path, line_targets=[target]))
    assert "\n" not in raised.value.message and raised.value.exit_code == 2


# memory_profiler ------------------------------------------------------------------------


def test_memory_per_line_of_named_function_and_rss(tmp_path: Path) -> None:
    opts = options(tmp_path, memory_targets=["toy_pipeline:hoard"])
    fragment, episodes = profile_toy(MemoryProfilerBackend(), opts, episodes=5, work=300)
    (table,) = fragment.metadata["functions"]
    assert table["target"] == "toy_pipeline:hoard"
    runs = {row["line"]: row["occurrences"] for row in table["lines"]}
    assert runs[line_of("kept.append")] == episodes
    assert {row.function for row in fragment.hotspots} == {"hoard"}
    assert {row.stage for row in fragment.hotspots} == {"ESGT"}
    dat = Path(fragment.artifacts["memory_rss"]).read_text().splitlines()
    assert dat[0].startswith("CMDLINE ") and sum(line.startswith("MEM ") for line in dat) >= 2
    assert "Increment" in Path(fragment.artifacts["memory_profile"]).read_text()
    assert fragment.metadata["rss_mb_peak"] >= fragment.metadata["rss_mb_start"] > 0


def test_memory_without_targets_records_rss_only(tmp_path: Path) -> None:
    fragment, _ = profile_toy(MemoryProfilerBackend(), options(tmp_path), episodes=5)
    assert not fragment.hotspots and "--memory-target" in fragment.metadata["note"]
    assert fragment.metadata["rss_samples"] >= 2


def test_downsample_keeps_ends_and_peak() -> None:
    points = [(float(i), float(i % 7)) for i in range(1000)]
    points[500] = (500.0, 99.0)
    kept = downsample(points, 50)
    assert len(kept) <= 50 and kept[0] == points[0] and kept[-1] == points[-1]
    assert (500.0, 99.0) in kept
