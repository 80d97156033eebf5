"""The renderer registry: (report kind, format) -> the function that renders it.

A renderer is a function of one report. For ``table`` it returns a Rich renderable (the CLI
owns the Console and prints it); for ``markdown`` and ``json`` it returns text. Renderers
register themselves with :func:`renderer`; :data:`MODULES` names the module that holds each
one, so a lookup imports only the module it needs (``ctool --help`` imports none of them).

To add a renderer: decorate it with ``@renderer(kind, fmt)`` in a module of
``ctool.reports`` and add that module to :data:`MODULES`. ``json`` needs no renderer: every
report serialises itself the same way.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ctool.model.schema import Report

FORMATS = ("table", "markdown", "json")
"""What ``--format`` accepts, for every command and every kind of report."""

Renderer = Callable[[Any], Any]
F = TypeVar("F", bound=Renderer)

MODULES: dict[tuple[str, str], str] = {
    ("profile", "table"): "ctool.reports.terminal",
    ("profile", "markdown"): "ctool.reports.markdown",
    ("compare", "table"): "ctool.reports.compare_terminal",
    ("compare", "markdown"): "ctool.reports.compare_markdown",
    ("leakcheck", "table"): "ctool.reports.leak_view",
    ("leakcheck", "markdown"): "ctool.reports.leak_markdown",
    ("suite", "table"): "ctool.reports.suite_terminal",
    ("suite", "markdown"): "ctool.reports.suite_terminal",
    ("chaos", "table"): "ctool.reports.chaos_terminal",
    ("chaos", "markdown"): "ctool.reports.chaos_terminal",
}
"""Where each registered renderer lives (imported on first use)."""

_REGISTERED: dict[tuple[str, str], Renderer] = {}


def renderer(kind: str, fmt: str) -> Callable[[F], F]:
    """Register the decorated function as the ``fmt`` renderer of ``kind`` reports."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")

    def register(function: F) -> F:
        _REGISTERED[(kind, fmt)] = function
        return function

    return register


def render_json(report: Report) -> str:
    """Every kind's JSON: the report model itself, indented, as ``-o`` writes it."""
    from ctool.model.text import to_json

    return to_json(report) + "\n"


def renderer_for(kind: str, fmt: str) -> Renderer | None:
    """The renderer of ``kind`` reports in ``fmt``, or ``None`` when there is none.

    Table and markdown renderers see the report through :func:`ctool.model.text.sanitize_tree`:
    every string in it (a pipeline's warning, a hostname, a stage name) with the characters a
    terminal acts on shown escaped. JSON keeps the strings as they are (JSON escapes them).
    """
    if fmt == "json":
        return render_json
    found = _REGISTERED.get((kind, fmt))
    if found is None and (kind, fmt) in MODULES:
        importlib.import_module(MODULES[(kind, fmt)])
        found = _REGISTERED.get((kind, fmt))
    if found is None:
        return None
    return _sanitised(found, markdown=fmt == "markdown")


def _sanitised(function: Renderer, *, markdown: bool = False) -> Renderer:
    """Markdown renderers also get every string made inert in markdown (HTML, links,
    @mentions: :mod:`ctool.reports.markdown_safe`), so their output is safe to post."""
    from ctool.model.text import map_model, safe_text, sanitize_tree

    def markdown_text(text: str) -> str:
        from ctool.reports.markdown_safe import neutralise

        return neutralise(safe_text(text))

    def render_safe(report: Any, *args: Any, **kwargs: Any) -> Any:
        safe = map_model(report, markdown_text) if markdown else sanitize_tree(report)
        return function(safe, *args, **kwargs)

    render_safe.__wrapped__ = function  # type: ignore[attr-defined]
    return render_safe


def render(report: Report, fmt: str) -> Any:
    """``report`` rendered in ``fmt``: a Rich renderable (table) or text (markdown, json)."""
    function = renderer_for(report.kind, fmt)
    if function is None:
        raise LookupError(f"no {fmt} renderer for {report.kind} reports")
    return function(report)
