"""Text that came from outside ctool, made safe to print: the one sanitising function.

Strings in a report (a pipeline's warnings and error messages, stage names, hostnames, file
paths) and strings a pipeline hands over at run time reach a terminal or a markdown file. A
terminal obeys control sequences (``ESC[2J`` clears the screen, ``ESC]0;`` sets the window
title, ``ESC]8;;`` makes a hyperlink, BEL rings), so every such string goes through
:func:`safe_text` before it is printed: control characters, the Unicode bidirectional
overrides and lone surrogates are shown escaped (``\\x1b``, ``\\u202e``, ``\\ud800``), and
everything else is kept as written. Rich markup and emoji codes are never interpreted in
these strings: the CLI's consoles run with markup and emoji off, and renderers hand user
text to Rich as ``Text``.

:func:`sanitize_tree` applies :func:`safe_text` to every string of a report (a pydantic
model) before the table and markdown renderers see it; :func:`escape_surrogates` is what
loading does to strings that are not valid UTF-8.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff]"
)
"""C0 controls but tab and newline, DEL and C1, bidi marks and overrides, lone surrogates."""

_UNSAFE_ONE_LINE = re.compile(_UNSAFE.pattern[:-1] + "\t\n]")

_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(text: str, *, one_line: bool = False) -> str:
    """``text`` with every character a terminal would act on shown escaped (``\\x1b``).

    Tabs and newlines are kept unless ``one_line`` (a table cell, an error message).
    """
    pattern = _UNSAFE_ONE_LINE if one_line else _UNSAFE
    if pattern.search(text) is None:
        return text
    return pattern.sub(_escape, text)


def escape_surrogates(text: str) -> str:
    """Lone surrogates (not valid UTF-8, cannot be written) as ``\\ud800`` text."""
    if _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub(_escape, text)


def map_strings(value: Any, function: Callable[[str], str]) -> Any:
    """``value`` (decoded JSON: dicts, lists, scalars) with ``function`` applied to each string,
    keys included. Containers without a changed string are returned as they are."""
    if isinstance(value, str):
        return function(value)
    if isinstance(value, list):
        items = [map_strings(item, function) for item in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    if isinstance(value, dict):
        pairs = [(map_strings(k, function), map_strings(v, function)) for k, v in value.items()]
        return value if _same(pairs, value) else dict(pairs)
    return value


def sanitize_tree(model: Any) -> Any:
    """A copy of a pydantic model (or plain data) with :func:`safe_text` applied to every
    string in it, however deep; the object itself when no string needed it."""
    return map_model(model, safe_text)


def to_json(model: Any, *, indent: int | None = 1) -> str:
    """A pydantic model as JSON; strings that cannot be encoded (lone surrogates) escaped."""
    try:
        text: str = model.model_dump_json(indent=indent)
    except ValueError:  # pydantic's serialisation error: a lone surrogate somewhere
        text = map_model(model, escape_surrogates).model_dump_json(indent=indent)
    return text


def map_model(model: Any, function: Callable[[str], str]) -> Any:
    """A copy of a pydantic model (or plain data) with ``function`` applied to every string
    in it, however deep (raw samples excepted); the object itself when nothing changed."""
    from pydantic import BaseModel

    from ctool.model.base import Samples

    if isinstance(model, Samples):  # base64 of numbers: nothing to print, much to scan
        return model
    if isinstance(model, BaseModel):
        changes: dict[str, Any] = {}
        for name in type(model).model_fields:
            value = getattr(model, name)
            cleaned = map_model(value, function)
            if cleaned is not value:
                changes[name] = cleaned
        return model.model_copy(update=changes) if changes else model
    if isinstance(model, str):
        return function(model)
    if isinstance(model, list | tuple):
        items = [map_model(item, function) for item in model]
        if all(a is b for a, b in zip(items, model, strict=True)):
            return model
        return tuple(items) if isinstance(model, tuple) else items
    if isinstance(model, dict):
        pairs = [(map_model(k, function), map_model(v, function)) for k, v in model.items()]
        return model if _same(pairs, model) else dict(pairs)
    return model


def _same(pairs: list[tuple[Any, Any]], mapping: dict[Any, Any]) -> bool:
    return all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(pairs, mapping.items(), strict=True))
