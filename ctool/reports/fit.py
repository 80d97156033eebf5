"""Tables that fit the width they are drawn at, without breaking a word in the middle.

Readable in an 80-column CI log: a :class:`FittedTable` is a Rich renderable that decides
its columns' widths when the console draws it. Numbers are never shortened. Name columns
(functions, paths, stages) shrink, widest first, down to a floor; a line that is too long
is shortened in the middle (a path keeps its file name and line, a dotted name its last
part: ``…/pipeline/kuramoto.py:116``, ``psutil.…memory_info``), and ``caller -> call`` puts
the call on its own line under the caller. When even the floors do not fit, droppable
columns go, last first, and a note says which. Cells are never folded by Rich.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rich.console import Console, ConsoleOptions, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

ELLIPSIS = "…"
NAME_FLOOR = 14
"""The narrowest a name column gets before columns are dropped."""
LAST_FLOOR = 6
"""The narrowest a name column gets when nothing is left to drop (numbers stay whole)."""

Kind = Literal["number", "name", "text"]
"""number: never shortened; name: shortened in the middle, one line per line of text;
text: prose or source, wrapped at spaces."""


@dataclass(frozen=True)
class FitColumn:
    header: str
    kind: Kind = "name"
    right: bool = False
    drop_order: int | None = None
    """None: always kept; otherwise dropped (lowest first) when nothing else fits."""
    style: str | None = None


def shorten(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, shortened in the middle where it must be.

    A path keeps its tail from a ``/`` (the file name and line); a dotted name its last
    part; anything else its head and tail."""
    if len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    body = text.lstrip(" ")
    if body.startswith("-> "):
        body = body[3:]
    indent = text[: len(text) - len(body)]
    room = width - len(indent)
    if room <= 1:
        return (indent + body)[: width - 1] + ELLIPSIS
    if "/" in body and " " not in body:
        for cut in range(len(body)):
            if body[cut] == "/" and len(body) - cut + 1 <= room:
                return indent + ELLIPSIS + body[cut:]
    if "." in body and " " not in body:
        tail = body[body.rfind(".") :]
        if len(tail) + 2 <= room:
            return indent + body[: room - 1 - len(tail)] + ELLIPSIS + tail
    head = (room - 1 + 1) // 2
    tail_len = room - 1 - head
    return indent + body[:head] + ELLIPSIS + (body[-tail_len:] if tail_len else "")


def split_call(line: str) -> list[str]:
    """``caller -> call`` as two lines, the call indented under its caller."""
    if " -> " not in line.strip():
        return [line]
    caller, call = line.split(" -> ", 1)
    indent = line[: len(line) - len(line.lstrip(" "))]
    return [caller, f"{indent}  -> {call.strip()}"]


def fit_cell(text: str, width: int) -> str:
    lines: list[str] = []
    for line in text.split("\n"):
        parts = split_call(line) if len(line) > width else [line]
        lines.extend(shorten(part, width) for part in parts)
    return "\n".join(lines)


def _natural(text: str) -> int:
    return max((len(line) for line in text.split("\n")), default=0)


def _longest_word(text: str) -> int:
    return max((len(word) for word in text.split()), default=0)


def _header(text: str, width: int) -> str:
    """A header wrapped at spaces to ``width`` (a header is prose, so it may wrap)."""
    import textwrap

    return "\n".join(textwrap.wrap(text, width) or [""]) if len(text) > width else text


@dataclass
class FittedTable:
    """A table whose cells are text; laid out for the width it is drawn at."""

    columns: list[FitColumn]
    rows: list[list[str]] = field(default_factory=list)
    row_styles: list[str | None] = field(default_factory=list)
    extra_cells: list[list[RenderableType]] = field(default_factory=list)
    """Per row, renderables drawn in extra fixed-width columns (e.g. share bars)."""
    extra_columns: list[tuple[str, int]] = field(default_factory=list)
    """(header, width) of the extra columns; dropped first when space is short."""
    table_options: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments for :class:`rich.table.Table` (title, box, caption, ...)."""

    @property
    def title(self) -> str | None:
        title = self.table_options.get("title")
        return str(title) if title is not None else None

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def add_row(self, cells: Sequence[str], style: str | None = None) -> None:
        self.rows.append(list(cells))
        self.row_styles.append(style)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Table]:
        yield self.layout(console, options)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.layout(console, options))

    def layout(self, console: Console, options: ConsoleOptions) -> Table:
        """The Rich table for ``options.max_width``."""
        keep = list(range(len(self.columns)))
        extras = bool(self.extra_columns)
        dropped: list[str] = []
        while True:
            widths = self._widths(keep)
            table = self._table(keep, widths, extras, dropped)
            wide = options.update_width(1_000_000)
            overhead = Measurement.get(console, wide, table).maximum - sum(widths)
            if extras:
                overhead -= sum(width for _, width in self.extra_columns)
            fitted = self._shrink(keep, widths, options.max_width - overhead)
            if fitted is not None:
                return self._table(keep, fitted, extras, dropped)
            if extras:
                extras = False
                dropped.extend(header or "bars" for header, _ in self.extra_columns)
                continue
            droppable = [i for i in keep if self.columns[i].drop_order is not None]
            if not droppable:
                room = options.max_width - overhead
                last_resort = self._shrink(keep, widths, room, LAST_FLOOR)
                floors = self._floors(keep, widths, LAST_FLOOR)
                return self._table(keep, last_resort or floors, extras, dropped)
            last = max(droppable, key=lambda i: self.columns[i].drop_order or 0)
            keep.remove(last)
            dropped.append(self.columns[last].header)

    def _widths(self, keep: Iterable[int]) -> list[int]:
        return [
            max([_natural(self.columns[i].header), *(_natural(row[i]) for row in self.rows)])
            for i in keep
        ]

    def _floors(self, keep: list[int], widths: list[int], floor: int = NAME_FLOOR) -> list[int]:
        return [
            width
            if self.columns[i].kind == "number"
            else min(
                width,
                max(floor, _longest_word(self.columns[i].header) if floor == NAME_FLOOR else 0),
            )
            for i, width in zip(keep, widths, strict=True)
        ]

    def _shrink(
        self, keep: list[int], widths: list[int], room: int, floor: int = NAME_FLOOR
    ) -> list[int] | None:
        """Narrow the name columns, widest first, until they fit ``room``; None if the
        floors do not fit."""
        floors = self._floors(keep, widths, floor)
        if sum(floors) > room:
            return None
        widths = list(widths)
        while sum(widths) > room:
            spare = [(w - f, k) for k, (w, f) in enumerate(zip(widths, floors, strict=True))]
            _, widest = max(spare)
            widths[widest] -= 1
        return widths

    def _table(self, keep: list[int], widths: list[int], extras: bool, dropped: list[str]) -> Table:
        options = dict(self.table_options)
        if dropped:
            note = f"(left out to fit the width: {', '.join(dropped)})"
            caption = options.get("caption")
            options["caption"] = f"{caption}\n{note}" if caption else note
        table = Table(**options)
        for i, width in zip(keep, widths, strict=True):
            column = self.columns[i]
            table.add_column(
                _header(column.header, width),
                justify="right" if column.right else "left",
                no_wrap=column.kind != "text",
                overflow="fold",
                min_width=width,
                max_width=width,
                style=column.style,
            )
        if extras:
            for header, width in self.extra_columns:
                table.add_column(header, no_wrap=True, min_width=width)
        for r, (row, style) in enumerate(zip(self.rows, self.row_styles, strict=True)):
            cells: list[RenderableType] = [
                # Cell text is data, not Rich markup ("theta[i]" stays as written).
                Text(fit_cell(row[i], width) if self.columns[i].kind == "name" else row[i])
                for i, width in zip(keep, widths, strict=True)
            ]
            if extras:
                cells.extend(self.extra_cells[r] if r < len(self.extra_cells) else [])
            table.add_row(*cells, style=style)
        return table
