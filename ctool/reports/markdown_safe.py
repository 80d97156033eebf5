"""Strings from a report made inert in markdown, so the output is safe to post as a comment.

The markdown renderers put report strings (stage names, errors, warnings, settings, paths,
hostnames: text a pipeline or a file chose) into GitHub-flavoured markdown that CI posts as
a pull-request comment. :func:`neutralise` runs on every such string, once, before any
markdown renderer sees the report (:mod:`ctool.reports.registry`):

- HTML (``<script>``, ``<img onerror=...>``, ``<details>``) is shown as text: ``<``, ``>``
  and ``&`` become entities;
- links and images (``[x](url)``, ``![x](url)``) lose their brackets' meaning (``\\[``), and
  bare URLs (``https://``, ``www.``) are not turned into links (a zero-width space is put
  after ``://`` and ``www``);
- ``@mentions`` (``@user``, ``@org/team``) notify nobody (a zero-width space after ``@``);
- a backtick cannot close the code span a renderer put the string in (shown as ``ˋ``).

The markdown ctool itself writes (tables, bold verdicts, ``<details>`` folds) is added by
the renderers after this, and is untouched.
"""

from __future__ import annotations

import re

ZWSP = "\u200b"
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_SPECIAL = re.compile(r"[&<>\[\]`]|@(?=[\w-])|://|\bwww\.", re.IGNORECASE)


def _replace(match: re.Match[str]) -> str:
    text = match.group(0)
    if text in _HTML:
        return _HTML[text]
    if text in "[]":
        return "\\" + text
    if text == "`":
        return "\u02cb"
    if text == "@":
        return "@" + ZWSP
    if text == "://":
        return ":" + ZWSP + "//"
    return text[:3] + ZWSP + text[3:]  # www.


def neutralise(text: str) -> str:
    """``text`` with HTML, links, bare URLs, @mentions and backticks made inert."""
    if _SPECIAL.search(text) is None:
        return text
    return _SPECIAL.sub(_replace, text)
