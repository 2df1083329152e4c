"""A lesson's teaching plan, read from its speaker notes: the sections in order, their minutes, and what to skip.

A speaker-notes cell (slide type "notes", tag `speaker-notes`) follows a section's heading and starts
`**Speaker notes · about N min**`, then bullets: **Say**, **Click/Run**, **Ask the room**, and where
useful **If short of time**. `sections(nb)` reads them; `markdown(...)` writes the one-page plan that
`python classroom/build.py plans` (and `site`) publishes as _site/plans/NN_name.html."""

from __future__ import annotations

import re
from typing import NamedTuple

CLASS_MINUTES = 50
HEADER = re.compile(r"\*\*Speaker notes\s*·\s*about\s+(\d+)\s*min", re.I)
HEADING = re.compile(r"^(#{1,2})\s+(.+?)\s*$", re.M)


class Section(NamedTuple):
    title: str       # the heading the notes follow
    minutes: int
    say: str         # the one point ("Say")
    skip: str        # "If short of time", or ""


def is_notes(cell) -> bool:
    """A speaker-notes cell: a markdown cell with slide type "notes" or the tag `speaker-notes`."""
    return cell.cell_type == "markdown" and (cell.metadata.get("slideshow", {}).get("slide_type") == "notes"
                                             or "speaker-notes" in cell.metadata.get("tags", []))


def bullet(text: str, label: str) -> str:
    """The text of the bullet that starts with **label** (a colon inside or after the bold, or none)."""
    m = re.search(rf"^\s*[-*]?\s*\*\*{re.escape(label)}:?\*\*:?\s*(.+)$", text, re.M | re.I)
    return m.group(1).strip() if m else ""


def sections(nb) -> list[Section]:
    """Each speaker-notes cell of `nb`, in order, with the heading it follows and its minutes.

    Example: sections(nbformat.read("notebooks/06_stable_diffusion.ipynb", 4))[0].minutes"""
    out, heading = [], None
    for i, cell in enumerate(nb.cells):
        if is_notes(cell):
            m = HEADER.search(cell.source)
            if not m:
                first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
                raise ValueError(f"cell {i} ({cell.get('id', '?')}) is a speaker-notes cell but does not start with "
                                 f"'**Speaker notes · about N min**' (got {first[:60]!r}); add its minutes")
            out.append(Section(heading or "Before the first heading", int(m.group(1)),
                               bullet(cell.source, "Say"), bullet(cell.source, "If short of time")))
        elif cell.cell_type == "markdown" and HEADING.search(cell.source):
            heading = HEADING.search(cell.source).group(2).rstrip("#").strip()
    return out


def cell_text(text: str) -> str:
    """Text safe inside a markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(title: str, parts: list[Section], name: str) -> str:
    """The plan as markdown: a table with each section's minutes and clock, the total, and what to skip."""
    head = f"# Teaching plan: {title}\n\n"
    source = (f"For the [lesson](../lessons/{name}.html), from the speaker notes of `notebooks/{name}.ipynb` "
              f"(the same notes are in the [deck](../slides/{name}.slides.html)'s speaker view: press **S**).\n\n")
    if not parts:
        return head + source + "This lesson has no speaker notes yet, so there is no plan.\n"
    rows, clock = [], 0
    for k, part in enumerate(parts, 1):
        rows.append(f"| {k} | {cell_text(part.title)} | {part.minutes} | {clock}–{clock + part.minutes} | "
                    f"{cell_text(part.say)} |")
        clock += part.minutes
    table = "| # | section | min | clock | the point |\n|---|---|---|---|---|\n" + "\n".join(rows)
    over = clock - CLASS_MINUTES
    verdict = (f"fits a {CLASS_MINUTES}-minute class with {-over} min to spare" if over < 0 else
               f"fills a {CLASS_MINUTES}-minute class exactly" if over == 0 else
               f"is {over} min longer than a {CLASS_MINUTES}-minute class: skip what the list below names")
    skips = [f"- **{p.title}** ({p.minutes} min): {p.skip}" for p in parts if p.skip]
    skip_text = ("\n\n## If short of time\n\n" + "\n".join(skips)) if skips else ""
    return head + source + table + f"\n\n**Total: {clock} min.** The lesson {verdict}.{skip_text}\n"
