"""How ctool spells quantities: the one formatting module for every renderer.

Durations, bytes, percents, paths and interval labels are written here and nowhere else, so
a terminal table, a markdown file and an HTML page say the same thing the same way. Two
densities exist where the medium needs them: *table* text (fixed decimals, thousands
separators, lines up in columns) and *compact* text (three significant digits, for chart
labels and HTML cells). Analysis uses the same functions for the reasons it writes into
reports. Pure functions of their arguments, except :func:`short_path`, which reads the
working directory.
"""

from __future__ import annotations

import math
import os

DASH = "-"
"""What a table shows for a value that is missing or not finite."""

_BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


# --- durations ---------------------------------------------------------------------------


def ms(value: float | None) -> str:
    """A duration in ms for a table column: ``0.123``, ``4.56``, ``78.9``, ``1,234``."""
    if value is None or not math.isfinite(value):
        return DASH
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def ms_fixed(value: float | None) -> str:
    """A duration in ms with two decimals (one from 100 ms): profiler rows' own and total time."""
    if value is None:
        return DASH
    return f"{value:,.1f}" if value >= 100 else f"{value:,.2f}"


def ms_unit(value: float, missing: str = "–") -> str:
    """A duration with its unit, three significant digits: 0.0123 ms, 4.56 ms, 789 ms, 1.23 s."""
    if not math.isfinite(value):
        return missing
    if value >= 1000:
        return f"{value / 1000:.3g} s"
    if value >= 100:
        return f"{value:.0f} ms"
    return f"{value:.3g} ms"


# --- numbers and percents ----------------------------------------------------------------


def num(value: float | None, digits: int = 1) -> str:
    """A number with thousands separators and ``digits`` decimals."""
    if value is None or not math.isfinite(value):
        return DASH
    return f"{value:,.{digits}f}"


def count(value: float | None) -> str:
    return DASH if value is None else f"{value:,.0f}"


def pct(value: float | None, digits: int = 1, missing: str = DASH) -> str:
    """A fraction as a percent: ``0.123`` -> ``12.3%``."""
    if value is None or not math.isfinite(value):
        return missing
    return f"{100 * value:.{digits}f}%"


def significant(value: float | None, digits: int = 4, missing: str = "–") -> str:
    """A number for an HTML cell: integers in full, floats to ``digits`` significant digits."""
    if value is None:
        return missing
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    if abs(value) >= 10**digits:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


# --- bytes -------------------------------------------------------------------------------


def size(value: float, *, signed: bool = False) -> str:
    """Bytes for a table: ``512 B``, ``1.5 KiB``, ``12.0 MiB`` (one decimal above bytes)."""
    sign = "+" if signed and value > 0 else ""
    for unit in _BYTE_UNITS[:-1]:
        if abs(value) < 1024 or unit == "GiB":
            return sign + (f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}")
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover - the loop always returns


def size_or_dash(value: object) -> str:
    """:func:`size` of a number, or a dash for anything else (a missing extra field)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return DASH
    return size(float(value))


def size_compact(value: float | None, missing: str = "–") -> str:
    """Bytes with three significant digits (charts, HTML): ``999 B``, ``1.21 KiB``."""
    if value is None:
        return missing
    sign = "-" if value < 0 else ""
    v = abs(float(value))
    for unit in _BYTE_UNITS:
        if v < 1024 or unit == "TiB":
            return f"{sign}{v:.0f} B" if unit == "B" else f"{sign}{v:.3g} {unit}"
        v /= 1024
    raise AssertionError("unreachable")  # pragma: no cover - the loop always returns


def exact_bytes(value: float) -> str:
    """Signed whole bytes: ``+1,234 B`` (slopes per episode, where KiB would hide detail)."""
    return f"{value:+,.0f} B"


# --- intervals ---------------------------------------------------------------------------


def confidence(alpha: float) -> str:
    """The confidence of an interval tested at ``alpha``, as a label: 0.05 -> ``95%``."""
    return f"{100 * (1 - alpha):.4g}%"


# --- paths -------------------------------------------------------------------------------

PATH_PARTS = 3
_PACKAGE_ROOTS = ("site-packages" + os.sep, "dist-packages" + os.sep)


def short_path(path: str) -> str:
    """A path as short as still says where.

    Inside an installed package: from the package root (``networkx/algorithms/x.py``).
    Under the working directory: relative to it. Otherwise the last three parts after
    ``…/``. Pseudo-files (``<string>``, ``~`` for C functions) stay as they are.
    """
    if path.startswith(("<", "~")):
        return path
    for root in _PACKAGE_ROOTS:
        if root in path:
            return path.rsplit(root, 1)[1]
    cwd = os.getcwd() + os.sep
    if path.startswith(cwd):
        return path[len(cwd) :]
    parts = path.split(os.sep)
    if len(parts) > PATH_PARTS + 1:
        return "…" + os.sep + os.sep.join(parts[-PATH_PARTS:])
    return path


def overhead(ratio: float | None, interval: tuple[float, float] | list[float] | None) -> str:
    """A profiler's calibrated overhead: ``x1.42 [1.30, 1.55]``, or ``below noise [0.91,
    1.08]`` when the interval holds 1. A profiler never makes code faster: a ratio below 1
    is noise and is never printed as a figure (nor clamped to 1.00)."""
    if not _finite(ratio):
        return DASH
    assert ratio is not None
    bounds = f" [{interval[0]:.2f}, {interval[1]:.2f}]" if interval and len(interval) == 2 else ""
    if ratio < 1 or (interval and len(interval) == 2 and interval[0] <= 1.0):
        return f"below noise{bounds}"
    return f"x{ratio:.2f}{bounds}"
