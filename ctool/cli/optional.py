"""Features imported only when an option asks for them (``--html``, ``--metrics-port``).

One place turns a missing or broken feature module into a one-line usage error, so every
command says the same thing, and nothing heavy (matplotlib, jinja2, prometheus_client) is
imported by ``ctool --help``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def optional(module: str, name: str, option: str) -> Any:
    """``module.name``, or a ``UsageError`` saying ``option`` is unavailable and why."""
    from ctool.model.errors import UsageError

    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise UsageError(f"{option} is unavailable here ({module}.{name}: {exc})") from None


def html_writer() -> Callable[..., None]:
    """``ctool.reports.html.write_html(report, path, *, related=())``."""
    writer: Callable[..., None] = optional("ctool.reports.html", "write_html", "--html")
    return writer
