"""Markdown (GitHub-flavoured) rendering of reports, e.g. for a pull-request comment."""

from __future__ import annotations

from ctool.model.schema import ProfileReport
from ctool.reports.registry import renderer
from ctool.reports.sections import RIGHT, Section, footer, headline, profile_sections


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def section_markdown(section: Section) -> str:
    lines = [f"### {section.title}", ""]
    lines.append("| " + " | ".join(_cell(h) for h, _ in section.columns) + " |")
    lines.append("|" + "|".join("---:" if a == RIGHT else ":---" for _, a in section.columns) + "|")
    for row, style in zip(section.rows, section.styles, strict=True):
        cells = [_cell(c) for c in row]
        if style in ("bold", "red") and cells:
            cells[0] = f"**{cells[0].strip()}**"
        lines.append("| " + " | ".join(cells) + " |")
    if section.notes:
        lines.append("")
        lines.extend(f"_{_cell(note)}_  " for note in section.notes)
    return "\n".join(lines)


@renderer("profile", "markdown")
def profile_markdown(report: ProfileReport) -> str:
    title, _, rest = headline(report).partition("\n")
    out = [f"## ctool profile: `{title}`", ""]
    out += [line + "  " for line in rest.splitlines()]
    for section in profile_sections(report):
        out += ["", section_markdown(section)]
    notes = footer(report)
    if notes:
        out.append("")
        out += [f"- {line}" for line in notes]
    return "\n".join(out) + "\n"
