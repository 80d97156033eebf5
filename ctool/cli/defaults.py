"""Defaults for commands from ``[tool.ctool]`` in ./pyproject.toml or from ./ctool.toml.

Keys are option names with ``-`` or ``_`` (``episodes``, ``block-threshold-ms``). A command's
own table (``[tool.ctool.profile]``, or ``[profile]`` in ctool.toml) overrides the shared
keys; ctool.toml overrides pyproject.toml; the command line overrides both. ``--set``
values go in a ``set`` (or ``settings``) table and merge key by key. Example::

    [tool.ctool]
    pipeline = "myapp.pipeline:create"
    seed = 7

    [tool.ctool.profile]
    episodes = 1000
    warmup = 20
    set = { batch = 400 }

Unknown keys are ignored (other commands read their own); a key of the wrong type is a
one-line usage error naming the file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from ctool.model.errors import UsageError

T = TypeVar("T")

PYPROJECT = "pyproject.toml"
CTOOL_TOML = "ctool.toml"
COMMANDS = ("profile", "compare", "ab", "leakcheck", "profilers", "suite", "report")


class Defaults:
    """Merged defaults for one command, with their source for error messages."""

    def __init__(self, values: Mapping[str, Any] | None = None, sources: Mapping[str, str] = {}):
        self._values = dict(values or {})
        self._sources = dict(sources)

    def __contains__(self, key: str) -> bool:
        return _norm(key) in self._values

    def raw(self, key: str) -> Any:
        return self._values.get(_norm(key))

    def _bad(self, key: str, expected: str) -> UsageError:
        where = self._sources.get(_norm(key), "config")
        return UsageError(f"{where}: '{key}' must be {expected}, got {self.raw(key)!r}")

    def _typed(self, key: str, ok: Callable[[Any], bool], expected: str) -> Any:
        value = self.raw(key)
        if value is not None and not ok(value):
            raise self._bad(key, expected)
        return value

    def get_int(self, key: str) -> int | None:
        value = self._typed(key, _is_int, "an integer")
        return None if value is None else int(value)

    def get_float(self, key: str) -> float | None:
        value = self._typed(key, lambda v: _is_int(v) or isinstance(v, float), "a number")
        return None if value is None else float(value)

    def get_str(self, key: str) -> str | None:
        value = self._typed(key, lambda v: isinstance(v, str), "a string")
        return None if value is None else str(value)

    def get_bool(self, key: str) -> bool | None:
        value = self._typed(key, lambda v: isinstance(v, bool), "true or false")
        return None if value is None else bool(value)

    def get_str_list(self, key: str) -> list[str] | None:
        """A list of strings, or one string (``profilers = "cprofile"``)."""
        value = self.raw(key)
        if value is None:
            return None
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._bad(key, "a string or a list of strings")
        return list(value)

    def get_levels(self, key: str) -> str | None:
        """Concurrency levels: ``"1,5,10"`` or ``[1, 5, 10]``, returned as the CLI's text form."""
        value = self.raw(key)
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if _is_int(value):
            return str(value)
        if isinstance(value, list) and all(_is_int(v) for v in value):
            return ",".join(str(v) for v in value)
        raise self._bad(key, "a list of integers or a string like '1,5,10'")

    def get_settings(self) -> dict[str, Any]:
        """The ``set`` / ``settings`` table: pipeline settings, as ``--set`` would give them."""
        value = self.raw("set")
        if value is None:
            value = self.raw("settings")
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self._bad("set", "a table of key = value")
        return dict(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _norm(key: str) -> str:
    return key.replace("-", "_")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}") from exc


def _layer(table: Any, command: str, source: str) -> tuple[dict[str, Any], dict[str, str]]:
    if not isinstance(table, dict):
        raise UsageError(f"{source}: the ctool configuration must be a table")
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in COMMANDS:
            values[_norm(key)] = value
    own = table.get(command)
    if own is not None:
        if not isinstance(own, dict):
            raise UsageError(f"{source}: [{command}] must be a table")
        values.update({_norm(k): v for k, v in own.items()})
    return values, dict.fromkeys(values, source)


def load_defaults(command: str, directory: Path | None = None) -> Defaults:
    """Defaults for ``command`` from the current directory's pyproject.toml and ctool.toml."""
    here = directory or Path.cwd()
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    pyproject = here / PYPROJECT
    if pyproject.is_file():
        tool = _read_toml(pyproject).get("tool", {})
        table = tool.get("ctool") if isinstance(tool, dict) else None
        if table is not None:
            layer, where = _layer(table, command, f"{PYPROJECT} [tool.ctool]")
            values.update(layer)
            sources.update(where)
    ctool_toml = here / CTOOL_TOML
    if ctool_toml.is_file():
        layer, where = _layer(_read_toml(ctool_toml), command, CTOOL_TOML)
        values.update(layer)
        sources.update(where)
    return Defaults(values, sources)


def pick(cli: T | None, default: T | None, fallback: T) -> T:
    """The command line wins, then the config file, then the built-in default."""
    if cli is not None:
        return cli
    if default is not None:
        return default
    return fallback
