"""The view model of an HTML page: sections of cards, charts and tables of plain strings.

Page builders (``profile``, ``leakcheck``, ``suite``, ``compare``) fill it from a report;
``templates/report.html.j2`` only lays it out. Nothing here formats or escapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Cell:
    text: str
    cls: str = ""
    title: str | None = None
    sort: float | None = None
    bar: float | None = None
    """0..1: a share drawn as a small bar behind the text."""
    details: str | None = None
    """Long text (JSON) shown collapsed under the cell."""
    path: bool = False
    """A file path: the page may break the line after a slash, and nowhere else."""


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Cell]]
    caption: str | None = None
    numeric: list[bool] = field(default_factory=list)
    note: str | None = None
    kv: bool = False
    """A two-column name/value table: compact, several side by side, no header row."""


@dataclass
class Card:
    label: str
    value: str
    note: str = ""
    tone: str = ""
    """"good", "bad", "warn" or "" (neutral)."""
    small: bool = False
    """A long value (a digest, a word): smaller type."""


@dataclass
class Chart:
    svg: str
    """An inline SVG element (already escaped by its producer)."""
    wide: bool = False


@dataclass
class Section:
    id: str
    title: str
    intro: str = ""
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    code: str | None = None
    flame: str | None = None
    flame_more: str | None = None
    """A second flame graph behind a toggle (the whole process)."""
    flame_more_label: str = ""


@dataclass
class Page:
    title: str
    subtitle: str
    kind: str
    created_at: str
    ctool_version: str
    complete: bool
    cards: list[Card]
    sections: list[Section]
    warnings: list[str] = field(default_factory=list)
