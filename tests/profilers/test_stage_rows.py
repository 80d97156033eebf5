"""Every row in its stage, one row per call site, whichever profiler made it.

On tests/helpers/libpipe.py (json, sqlite3, hashlib): the sha256 call lies inside the
``digest`` span, and cProfile knows it only as ``_hashlib.openssl_sha256`` (a name the
source never spells); py-spy sees no C frames, so its row is the caller's line. Both must
say ``digest`` and the call's line.
"""

from __future__ import annotations

import inspect
from collections import Counter
from pathlib import Path

import libpipe
import networkx as nx
import pytest
from networkx.algorithms.centrality import betweenness

from ctool.model.schema import Hotspot, ProfileReport
from ctool.profilers.cprofile import FunctionStat
from ctool.profilers.cprofile_boundary import folded_rows
from ctool.profilers.registry import discover
from ctool.profilers.span_blocks import source_blocks
from ctool.profilers.stages import StageVotes
from ctool.run.config import RunConfig
from ctool.run.runner import run_profile


def _line_of(text: str) -> int:
    lines, first = inspect.getsourcelines(libpipe.LibPipeline.episode)
    (found,) = [first + i for i, line in enumerate(lines) if text in line]
    return found


def _run(profiler: str, tmp_path: Path, episodes: int) -> ProfileReport:
    return run_profile(
        RunConfig(
            pipeline="libpipe:create",
            episodes=episodes,
            warmup=2,
            profilers=(profiler,),
            pyspy_rate=200,
            top=20,
            block_threshold_ms=0,
            artifacts_dir=tmp_path,
        )
    )


def _one_row_per_call_site(rows: list[Hotspot]) -> None:
    sites = Counter((row.function, row.line, row.stage) for row in rows if row.line > 0)
    assert all(count == 1 for count in sites.values()), sites


def _every_row_in_its_block(rows: list[Hotspot]) -> None:
    """A row whose line lies inside a span block has that block's stage (the innermost)."""
    blocks = source_blocks(libpipe.__file__)
    for row in rows:
        if row.file != libpipe.__file__ or row.line <= 0:
            continue
        holding = [
            (last - first, name) for name, first, last in blocks if first <= row.line <= last
        ]
        if holding:
            assert row.stage == min(holding)[1], row


def test_span_blocks_are_read_from_the_source() -> None:
    blocks = source_blocks(libpipe.__file__)
    names = sorted(name for name, _, _ in blocks)
    assert names == ["digest", "load", "store", "summarise"]
    (digest,) = [(first, last) for name, first, last in blocks if name == "digest"]
    sha = _line_of("hashlib.sha256(")
    assert digest[0] < sha <= digest[1]
    assert digest[0] == _line_of('ctool.span("digest")')


def test_cprofile_sha256_row_is_in_digest_at_its_line(tmp_path: Path) -> None:
    report = _run("cprofile", tmp_path, episodes=30)
    rows = [row for row in report.hotspots if row.profiler == "cprofile"]
    sha_rows = [row for row in rows if row.extra.get("callee") == "hashlib.openssl_sha256"]
    (sha,) = [row for row in sha_rows if row.function.startswith("LibPipeline.episode ->")]
    # The helper that hashes inside the summarise span, in a task ctool does not record.
    (helper,) = [row for row in sha_rows if row.function.startswith("LibPipeline._digest ->")]
    assert helper.stage == "summarise"
    assert (sha.stage, sha.line) == ("digest", _line_of("hashlib.sha256("))
    # The comprehensions written inside the load and store blocks are theirs.
    comps = {row.line: row.stage for row in rows if row.function.endswith("<listcomp>")}
    assert comps and all(stage in ("load", "store") for stage in comps.values()), comps
    _one_row_per_call_site(rows)
    _every_row_in_its_block(rows)


def test_pyspy_sha256_line_is_in_digest(tmp_path: Path) -> None:
    availability = discover()["pyspy"].create().availability()
    if not availability.ok:
        pytest.skip(f"py-spy cannot run here: {availability.reason}")
    for episodes in (40, 160):  # a bound on attempts: enough samples on a loaded machine
        report = _run("pyspy", tmp_path, episodes=episodes)
        if report.profilers[0].metadata.get("samples", 0) >= 100:
            break
    rows = [row for row in report.hotspots if row.profiler == "pyspy"]
    sha = _line_of("hashlib.sha256(")
    at_sha = [row for row in rows if row.line == sha]
    assert at_sha and all(row.stage == "digest" for row in at_sha), rows
    assert rows[0].line == sha  # the digest stage is the costliest, by construction
    _one_row_per_call_site(rows)
    _every_row_in_its_block(rows)


def _route(graph: nx.Graph) -> dict[object, float]:
    return nx.betweenness_centrality(graph)  # type: ignore[no-any-return]


def test_cprofile_edges_to_a_wrapper_and_what_it_wraps_are_one_row() -> None:
    """networkx's dispatch wrapper (``argmap_betweenness_centrality_NN``) and the function it
    wraps are two callees of one call: cProfile may record an edge to each. One row."""
    code = _route.__code__
    caller_key = (code.co_filename, code.co_firstlineno, code.co_name)
    wrapper_key = (betweenness.__file__, 1, "argmap_betweenness_centrality_33")
    inner = betweenness.betweenness_centrality
    inner_code = getattr(inner, "__wrapped__", inner).__code__
    inner_key = (betweenness.__file__, inner_code.co_firstlineno, "betweenness_centrality")
    caller = FunctionStat(caller_key, "_route", code, 10, 10, 0.01, 1.05)
    wrapper = FunctionStat(wrapper_key, "argmap_betweenness_centrality_33", None, 10, 10, 0.0, 1.0)
    wrapper.code = compile("pass", betweenness.__file__, "exec")  # a library Python function
    wrapper.callers = {caller_key: 1.0}
    target = FunctionStat(inner_key, "betweenness_centrality", inner_code, 10, 10, 1.0, 1.04)
    target.callers = {wrapper_key: 1.0, caller_key: 0.04}
    rows = folded_rows([caller, wrapper, target], StageVotes(), "boundary", set())
    named = [row for row in rows if row.kind == "boundary"]
    assert [row.function for row in named] == ["_route -> networkx.betweenness_centrality"]
    assert named[0].seconds == pytest.approx(1.04)
    assert named[0].line == code.co_firstlineno + 1
