"""The page model to HTML: the Jinja environment, the inline assets and the CSP.

The templates and assets live in ``ctool/reports/templates`` (package data, found through
``jinja2.PackageLoader``). jinja2 and markupsafe are imported inside functions, never at
import of this module.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from typing import TYPE_CHECKING, Any

from ctool.reports.html.view import Page

if TYPE_CHECKING:
    import jinja2

TEMPLATES = ("ctool.reports", "templates")
"""(package, folder) the templates are loaded from."""


def _breakable_path(text: str) -> Any:
    """Escape a path and allow line breaks after its slashes (``<wbr>``), nowhere else."""
    from markupsafe import Markup, escape

    return Markup("/<wbr>").join(escape(part) for part in text.split("/"))


@cache
def _environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader(*TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
    )
    env.filters["breakable_path"] = _breakable_path
    return env


@cache
def _asset(name: str) -> str:
    loader = _environment().loader
    assert loader is not None
    source, _, _ = loader.get_source(_environment(), name)
    return source


def content_security_policy(script: str) -> str:
    """Nothing may load; the one inline script runs by its hash, styles inline only."""
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    return (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )


def render_page(page: Page) -> str:
    """The page laid out by ``report.html.j2``, with its CSS and script inline."""
    from markupsafe import Markup

    script = _asset("report.js")
    if "</script" in script.lower():  # the script is placed verbatim in the page
        raise AssertionError("report.js may not contain a closing script tag")
    template = _environment().get_template("report.html.j2")
    return template.render(
        page=page,
        css=Markup(_asset("report.css")),
        script=Markup(script),
        csp=content_security_policy(script),
        Markup=Markup,
    )
