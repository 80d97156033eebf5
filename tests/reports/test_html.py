"""The HTML report: every kind renders, strings are escaped, the page is self-contained."""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import json
import re
import subprocess
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import report_fixtures as F

from ctool.analysis.flametree import parse_speedscope
from ctool.analysis.flametree import speedscope_tree as load_speedscope
from ctool.model.schema import Report
from ctool.reports import charts
from ctool.reports.flamegraph import MAX_FRAMES, flame_svg
from ctool.reports.html import render_html, write_html

KINDS = ["profile", "leakcheck", "suite", "compare"]


def _report(kind: str, tmp: Path, *, hostile: bool = False) -> tuple[Report, list[Report]]:
    if kind == "profile":
        return F.profile_report(400, tmp=tmp, hostile=hostile), []
    if kind == "leakcheck":
        return F.leakcheck_report(400, hostile=hostile), []
    if kind == "suite":
        return F.suite_report(hostile=hostile), []
    before = F.profile_report(300, seed=1, scale=1.3, preset="baseline", hostile=hostile)
    after = F.profile_report(300, seed=2, hostile=hostile)
    return F.compare_report(hostile=hostile), [before, after]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, bool], Path]:
    """Each (kind, hostile) page written once per module: rendering is the slow part."""
    root = tmp_path_factory.mktemp("pages")

    @functools.cache
    def page(kind: str, hostile: bool = False) -> Path:
        where = root / f"{kind}-{'hostile' if hostile else 'plain'}"
        where.mkdir()
        report, related = _report(kind, where, hostile=hostile)
        out = where / f"{kind}.html"
        write_html(report, out, related=related)
        return out

    return page


class _Page(HTMLParser):
    """Collects text nodes, tags and attributes of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []
        self.script_bodies: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend((k, v or "") for k, v in attrs)
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.script_bodies.append(data)
        else:
            self.text.append(data)


def _parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    return parser


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_a_self_contained_page(
    kind: str, rendered: Callable[[str, bool], Path]
) -> None:
    out = rendered(kind, False)
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    parsed = _parse(page)
    assert parsed.tags.count("script") == 1, "only our own inline script"
    assert parsed.tags.count("svg") >= 1, "at least one chart"
    # Nothing is fetched: no src/href to anything but in-page anchors and data: URIs.
    for name, value in parsed.attrs:
        if name in ("src", "href", "xlink:href", "action"):
            assert value.startswith(("#", "data:")), (name, value)
    assert "@import" not in page and "url(http" not in page
    assert "ctool profile --preset optimized" in page, "the command that produced it"
    # No temporary file left next to the output.
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("kind", KINDS)
def test_report_strings_appear_only_as_text(
    kind: str, rendered: Callable[[str, bool], Path]
) -> None:
    page = rendered(kind, True).read_text(encoding="utf-8")
    assert F.XSS not in page
    assert "<script>alert" not in page.lower()
    parsed = _parse(page)
    assert parsed.tags.count("script") == 1
    assert not any("alert(1)" in body for body in parsed.script_bodies)
    assert any(F.XSS in chunk for chunk in parsed.text), "the payload is shown, as text"
    assert not any(name.lower().startswith("on") for name, _ in parsed.attrs)


def test_the_only_script_is_allowed_by_its_hash(rendered: Callable[[str, bool], Path]) -> None:
    page = rendered("suite", False).read_text(encoding="utf-8")
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp is not None
    policy = html.unescape(csp.group(1))
    assert "default-src 'none'" in policy and "unsafe-inline' " not in policy.split("script-src")[1]
    body = _parse(page).script_bodies[0]
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy


def test_profile_page_has_every_part(rendered: Callable[[str, bool], Path]) -> None:
    page = rendered("profile", False).read_text(encoding="utf-8")
    for section in (
        'id="latency"', 'id="stages"', 'id="load"', 'id="run"', 'id="resources"',
        'id="metrics"', 'id="hotspots"', 'id="flamegraph"', 'id="errors"', 'id="scaling"',
        'id="environment"',
    ):  # fmt: skip
        assert section in page
    for title in (
        "Latency distribution",
        "Cumulative distribution",
        "Per-stage breakdown",
        "Latency under load",
        "Throughput under load",
        "Percentile spectrum",
    ):
        assert title in page
    assert page.count('class="fr') > 5, "the flame graph has frames"
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "ids are unique across all inline SVGs"


def test_suite_page_charts_targets_and_scenario_curves(
    rendered: Callable[[str, bool], Path],
) -> None:
    page = rendered("suite", False).read_text(encoding="utf-8")
    assert "Scenarios against their targets" in page
    assert "Scenario load curves" in page and "3. Latency at 1/5/10/20/50" in page
    assert "no cliff, no errors" in page and " ms ms" not in page


def test_compare_overlays_before_and_after(rendered: Callable[[str, bool], Path]) -> None:
    page = rendered("compare", False).read_text(encoding="utf-8")
    assert "Latency, before and after" in page
    hist = page[page.index('id="latency"') :]
    assert ">before<" in hist and ">after<" in hist, "both series are in the legend"
    assert "Load curve, before and after" in page
    assert "What each test compared" in page, "the per-round values"
    alone = render_html(F.compare_report())
    assert "were not available" in alone


def test_compare_intervals_are_labelled_at_the_reports_alpha() -> None:
    report = F.compare_report().model_copy(update={"alpha": 0.1})
    nodes = _parse(render_html(report)).text
    text = " ".join(" ".join(nodes).split())
    assert "90% CI ×0.710–×0.770" in text, "the verdict's intervals"
    assert "Change per metric, with 90% intervals" in text, "the forest chart's title"
    assert "90% CI" in nodes, "the metric table's header"
    assert "95%" not in text


def test_missing_samples_and_missing_flame_profile_are_explained(tmp_path: Path) -> None:
    report = F.profile_report(300, with_samples=False)
    report.load, report.batches, report.rounds = [], [], []
    report.resources.timeline = []
    report.artifacts["pyspy"] = str(tmp_path / "gone.json")
    page = render_html(report)
    assert "no raw samples" in page
    assert "is no longer there" in page


def test_relative_artifacts_resolve_against_the_report_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = F.profile_report(300, tmp=tmp_path)
    report.artifacts["pyspy"] = Path(report.artifacts["pyspy"]).name
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    out = elsewhere / "r.html"
    write_html(report, out, base_dir=tmp_path)
    assert 'class="flame"' in out.read_text(encoding="utf-8")


def test_a_failed_render_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "r.html"
    out.write_text("old", encoding="utf-8")

    def boom(*_args: object) -> str:
        raise RuntimeError("chart failed")

    monkeypatch.setattr(charts, "latency_histogram", boom)
    with pytest.raises(RuntimeError):
        write_html(F.profile_report(200), out)
    assert out.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


@pytest.mark.slow
def test_a_long_run_renders_small(tmp_path: Path) -> None:
    """100,000 episodes: histograms and quantile grids, not one element per episode."""
    out = tmp_path / "big.html"
    write_html(F.profile_report(100_000, tmp=tmp_path), out)
    size = out.stat().st_size
    assert size < 5_000_000
    small = tmp_path / "small.html"
    write_html(F.profile_report(1_000, tmp=tmp_path), small)
    # The page does not grow with the episode count.
    assert size < small.stat().st_size * 1.5


def test_decimate_keeps_spikes() -> None:
    x = np.arange(100_000, dtype=float)
    y = np.zeros(100_000)
    y[12_345] = 50.0
    y[77_777] = -3.0
    dx, dy = charts.decimate(x, y, 1000)
    assert len(dx) <= 1000
    assert 50.0 in dy and -3.0 in dy
    assert list(dx) == sorted(dx)


def test_charts_do_not_interpret_dollar_signs_or_markup() -> None:
    group = charts.StageGroup("run", [charts.StageBar("$x$ <b>&", 0, 1.0, 1.5, 2.0, 1.0)])
    svg = charts.stage_bars([group])
    assert "$x$ &lt;b&gt;&amp;" in svg
    assert not svg.startswith("<?xml") and "<metadata>" not in svg


def test_flame_graph_from_speedscope(tmp_path: Path) -> None:
    graph = load_speedscope(F.speedscope(tmp_path / "p.json"))
    assert graph.total == 860 and graph.threads == 2
    main = graph.root.children[("thread", 0)]
    assert main.name == "MainThread" and main.value == 800
    svg = flame_svg(graph)
    assert svg.count("<g class=") == svg.count("</g>")
    assert 'data-d="0"' in svg and "kuramoto_step" in svg


def test_flame_graph_prunes_to_a_bounded_size() -> None:
    frames = [{"name": f"f{i}", "file": f"/m{i % 50}.py", "line": i} for i in range(2000)]
    rng = np.random.default_rng(0)
    samples = [[0] + rng.integers(1, 2000, size=12).tolist() for _ in range(5000)]
    doc = {
        "shared": {"frames": frames},
        "profiles": [{"type": "sampled", "samples": samples, "weights": [1] * 5000}],
    }
    svg = flame_svg(parse_speedscope(doc))
    assert svg.count("<rect") <= MAX_FRAMES


def test_flame_graph_evented_profiles() -> None:
    doc = {
        "shared": {"frames": [{"name": "a"}, {"name": "b"}]},
        "profiles": [{"type": "evented", "unit": "milliseconds", "events": [
            {"type": "O", "frame": 0, "at": 0}, {"type": "O", "frame": 1, "at": 2},
            {"type": "C", "frame": 1, "at": 5}, {"type": "C", "frame": 0, "at": 6}]}],
    }  # fmt: skip
    graph = parse_speedscope(doc)
    a = graph.root.children[0]
    assert graph.total == 6 and a.value == 6 and a.children[1].value == 3
    assert graph.unit == "milliseconds"


@pytest.mark.parametrize(
    "doc",
    [[], {"shared": {}}, {"shared": {"frames": []}, "profiles": []},
     {"shared": {"frames": [{"name": "a"}]}, "profiles": [{"samples": [[3]]}]}],
)  # fmt: skip
def test_flame_graph_rejects_bad_files(doc: object, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        parse_speedscope(doc)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc) + "{", encoding="utf-8")
    with pytest.raises(ValueError):
        load_speedscope(bad)


def test_rendering_module_imports_nothing_heavy() -> None:
    code = (
        "import sys, json\nimport ctool.reports.html, ctool.exporters.prometheus\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    heavy = {"matplotlib", "jinja2", "prometheus_client"}
    assert not {m for m in loaded if m.split(".")[0] in heavy}


def _minimal(kind: str) -> Report:
    from ctool.model.io import parse_report

    base = {
        "schema_version": 1,
        "kind": kind,
        "created_at": "2025-01-01T00:00:00+00:00",
        "environment": F.environment().model_dump(),
        "config": {"pipeline": "m:f"},
    }
    zero = dict.fromkeys(("mean", "stdev", "min", "p50", "p90", "p95", "p99", "p999", "max"), 0.0)
    fit = {"slope": 0.0, "ci_low": 0.0, "ci_high": 0.0, "intercept": 0.0, "growth_pct": 0.0}
    extra: dict[str, object] = {
        "profile": {"latency_ms": {"count": 0, **zero}, "throughput_eps": 0.0},
        "leakcheck": {
            "episodes": 0,
            "warmup": 0,
            "every": 1,
            "threshold_bytes_per_episode": 1,
            "growth_floor_pct": 1,
            "verdict": "inconclusive",
            "reason": "",
            "traced": fit,
            "rss": fit,
        },
        "suite": {},
        "compare": {
            "before": "b.json",
            "after": "a.json",
            "mode": "batches",
            "blind_to_drift": True,
            "threshold": 0.05,
            "behaviour": "not comparable",
        },
    }[kind]  # type: ignore[assignment]
    return parse_report({**base, **extra})  # type: ignore[dict-item]


@pytest.mark.parametrize("kind", KINDS)
def test_reports_with_only_required_fields_render(kind: str) -> None:
    page = render_html(_minimal(kind))
    assert page.startswith("<!DOCTYPE html>") and "Environment and command" in page


def test_single_episode_and_zero_latencies_render() -> None:
    one = F.profile_report(50)
    one.latency_ms = F.summary_of(np.array([2_500_000], dtype=np.int64))
    assert 'id="latency"' in render_html(one)
    flat = F.profile_report(50)
    flat.latency_ms = F.summary_of(np.full(50, 1_000_000, dtype=np.int64))
    assert "Cumulative distribution" in render_html(flat)
