"""HTML rendering of every report kind: one self-contained file that opens offline.

Contract: ``write_html(report, path, *, related=())`` writes ``path`` atomically. For a
compare report ``related`` is ``[before, after]`` (the two profile reports compared); their
raw latencies, stages and load curves are overlaid. The page:

* fetches nothing: charts are inline SVG (matplotlib, see ``charts``), the flame graph is
  inline SVG (``flamegraph``), CSS and the small script are inline, and a Content Security
  Policy (``default-src 'none'``, the script allowed by its hash only) makes the browser
  refuse anything else, including any script a hostile report might try to smuggle in;
* escapes every string that came from a report: the Jinja environment autoescapes, the
  chart SVG is escaped by matplotlib, the flame graph by ``flamegraph``;
* stays small for long runs: histograms and quantile grids, never one element per episode
  (a 100,000-episode report renders to well under 5 MB; ``benchmarks/html_report.py``).

The package builds a *view model* (``view``: sections of cards, charts and tables made of
plain strings and numbers) from the report, one module per report kind (``profile``,
``leakcheck``, ``suite``, ``compare``) on pieces they share (``cells``, ``shared``);
``render`` lays it out with ``templates/report.html.j2``. jinja2, matplotlib and numpy are
imported inside functions (never at import of ctool.cli).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ctool.model.chaos_schema import ChaosReport
from ctool.model.io import atomic_write_text
from ctool.model.schema import (
    CompareReport,
    LeakcheckReport,
    ProfileReport,
    Report,
    SuiteReport,
)
from ctool.reports.html.chaos import chaos_page
from ctool.reports.html.compare import compare_page
from ctool.reports.html.leakcheck import leak_page
from ctool.reports.html.profile import profile_page
from ctool.reports.html.render import render_page
from ctool.reports.html.suite import suite_page
from ctool.reports.html.view import Page

__all__ = ["build_page", "render_html", "write_html"]


def build_page(
    report: Report, related: Sequence[Report] = (), base_dirs: Sequence[Path] = ()
) -> Page:
    if isinstance(report, ProfileReport):
        return profile_page(report, base_dirs)
    if isinstance(report, LeakcheckReport):
        return leak_page(report)
    if isinstance(report, SuiteReport):
        return suite_page(report)
    if isinstance(report, CompareReport):
        return compare_page(report, related, base_dirs)
    if isinstance(report, ChaosReport):
        return chaos_page(report)
    raise TypeError(f"no HTML renderer for report kind {report.kind!r}")


def render_html(
    report: Report, *, related: Sequence[Report] = (), base_dirs: Sequence[Path] = ()
) -> str:
    """The page as a string (see the package docstring for what it promises).

    Every string of the reports goes through :func:`ctool.model.text.sanitize_tree` first:
    HTML escaping leaves control characters in place, and the page may be shown by ``cat``.
    """
    from ctool.model.text import sanitize_tree

    clean = [sanitize_tree(r) for r in related]
    return render_page(build_page(sanitize_tree(report), clean, base_dirs))


def write_html(
    report: Report,
    path: str | os.PathLike[str],
    *,
    related: Sequence[Report] = (),
    base_dir: str | os.PathLike[str] | None = None,
) -> None:
    """Render ``report`` to one self-contained HTML file at ``path``, atomically.

    ``base_dir`` (the directory of the report file, when rendering a saved report) is where
    relative artifact paths such as the py-spy profile are looked up, after the current
    directory and before the HTML file's directory.
    """
    target = Path(path)
    dirs = ([Path(base_dir)] if base_dir is not None else []) + [target.parent]
    atomic_write_text(target, render_html(report, related=related, base_dirs=dirs))
