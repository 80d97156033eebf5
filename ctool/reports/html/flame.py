"""The HTML flame graphs: the profile's (rooted at the episode, the whole process behind a
toggle) and compare's differential graph (the after profile's shape, coloured by the
change of each frame's share)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ctool.model.format import significant
from ctool.model.schema import CompareReport, ProfileReport
from ctool.reports.html.view import Section


def resolve(path: str, base_dirs: Sequence[Path]) -> Path | None:
    """An artifact's path as the report names it, found from here or a report's folder."""
    candidate = Path(path)
    if candidate.is_absolute():
        return candidate if candidate.is_file() else None
    for base in (Path.cwd(), *base_dirs):
        if (base / candidate).is_file():
            return base / candidate
    return None


def flame_section(report: ProfileReport, base_dirs: Sequence[Path]) -> Section | None:
    path = report.artifacts.get("pyspy")
    if path is None:
        return None
    from ctool.analysis.flametree import folded_file_tree, speedscope_tree
    from ctool.reports.flamegraph import flame_svg

    sec = Section("flamegraph", "Flame graph (py-spy)")
    resolved = resolve(path, base_dirs)
    if resolved is None:
        sec.notes.append(f"The py-spy profile {path} is no longer there; no flame graph.")
        return sec
    try:
        graph = speedscope_tree(resolved)
    except ValueError as exc:
        sec.notes.append(f"The py-spy profile could not be read: {exc}")
        return sec
    if graph.total <= 0:
        sec.notes.append("The py-spy profile holds no samples.")
        return sec
    folded = report.artifacts.get("pyspy_folded")
    rooted_path = resolve(folded, base_dirs) if folded else None
    try:
        rooted = folded_file_tree(rooted_path) if rooted_path is not None else None
    except ValueError:
        rooted = None
    how = (
        "width is time. Hover for details, click a frame to zoom, click the top bar to reset. "
        f"The full profile opens in speedscope: {resolved}"
    )
    whole = flame_svg(graph)
    if rooted is None:  # a report from before the folded export: the whole process only
        sec.intro = (
            f"{significant(graph.total)} {graph.unit} from {graph.threads} thread(s); "
            f"callers on top, {how}"
        )
        if graph.threads > 1:
            threads = sorted(graph.root.children.values(), key=lambda n: -n.value)
            listed = ", ".join(f"{t.name} {t.value / graph.total:.0%}" for t in threads)
            sec.notes.append(
                f"Threads: {listed}. py-spy samples waiting threads too, so helper threads "
                "(samplers, watchdogs) take width while they sleep: click a thread's bar to "
                "see it alone."
            )
        sec.flame = whole
        return sec
    sec.intro = (
        f"{significant(rooted.total)} samples of your code, rooted at the episode: ctool's "
        "harness, the event loop and ctool's helper threads are hidden. Callers on top, "
        f"{how}; the same stacks as folded text (flamegraph.pl, inferno): {rooted_path}"
    )
    sec.flame = flame_svg(rooted)
    sec.flame_more = whole
    sec.flame_more_label = (
        f"The whole process: {significant(graph.total)} {graph.unit} from {graph.threads} "
        "thread(s), ctool's included"
    )
    return sec


def diff_flame_section(report: CompareReport, base_dirs: Sequence[Path]) -> Section | None:
    """The differential flame graph, when both sides carry py-spy's folded stacks."""
    if report.flame_before is None or report.flame_after is None:
        return None
    from ctool.analysis.flametree import folded_file_tree
    from ctool.reports.flamegraph import diff_flame_svg

    sec = Section("flamediff", "Where time moved (differential flame graph, py-spy)")
    before = resolve(report.flame_before, base_dirs)
    after = resolve(report.flame_after, base_dirs)
    if before is None or after is None:
        sec.notes.append("A side's py-spy stacks are no longer there; no differential graph.")
        return sec
    try:
        sec.flame = diff_flame_svg(folded_file_tree(before), folded_file_tree(after))
    except ValueError as exc:
        sec.notes.append(f"The py-spy stacks could not be read: {exc}")
        return sec
    sec.intro = (
        "The after run's profile, rooted at the episode; each frame is red where its share "
        "of the samples grew against the before run, blue where it shrank, and white where "
        "it held (Brendan Gregg's difffolded scheme, normalised). Hover for the change."
    )
    return sec
