"""Help screens drawn in panels, in plain text: the look of typer's rich help without importing rich.

rich (with markdown_it and pygments, which typer's help formatter pulls in) cost ~0.4 s of CPU on every
`--help`; these few functions draw the same usage line, text and boxed sections. Standard library only, so the
top-level help (cli/commands.py) is printed before typer is imported at all.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence

MAX_WIDTH = 80
TERM_MAX = 30  # a wider option or command name puts its description on the next line


def terminal_columns() -> int:
    """$COLUMNS, else the terminal's width, else 80 (shutil.get_terminal_size's rule, without importing shutil)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(1).columns
        except (OSError, ValueError):
            columns = 0
    return columns or MAX_WIDTH


def help_width() -> int:
    """The width of a help screen: the terminal's, at most 80 and at least 52 (as click computes it)."""
    return max(min(terminal_columns(), MAX_WIDTH), 52)


def usage_lines(prog: str, args: str, width: int) -> list[str]:
    """` Usage: PROG ARGS`, wrapped under itself."""
    prefix = f" Usage: {prog} "
    if not args:
        return [prefix.rstrip()]
    indent = " " * len(prefix) if len(prefix) < width // 2 else "   "
    return textwrap.wrap(args, width - 1, initial_indent=prefix, subsequent_indent=indent) or [prefix.rstrip()]


def text_lines(text: str, width: int) -> list[str]:
    """Paragraphs (separated by blank lines) rewrapped to the screen, indented by one space."""
    lines: list[str] = []
    for paragraph in textwrap.dedent(text).strip().split("\n\n"):
        if lines:
            lines.append("")
        body = paragraph.strip("\n")
        if body.startswith("\b"):  # click's "do not rewrap" marker
            lines.extend(f" {line}" for line in body[1:].strip("\n").splitlines())
            continue
        lines.extend(textwrap.wrap(" ".join(body.split()), width - 2, initial_indent=" ", subsequent_indent=" "))
    return lines


def panel(title: str, rows: Sequence[tuple[str, str]], width: int) -> list[str]:
    """A box titled `title` holding two columns: names and their descriptions, wrapped."""
    inner = width - 4  # "│ " + content + " │"
    term_width = min(max((len(term) for term, _ in rows), default=0), TERM_MAX)
    text_width = max(inner - term_width - 2, 20)
    body: list[str] = []
    for term, description in rows:
        wrapped = textwrap.wrap(" ".join(description.split()), text_width) or [""]
        if len(term) > term_width:
            body.append(term[:inner])
            first = wrapped
        else:
            body.append(f"{term.ljust(term_width)}  {wrapped[0]}".rstrip())
            first = wrapped[1:]
        body.extend(f"{'':{term_width}}  {line}" for line in first)
    heading = f"╭─ {title} "
    top = heading + "─" * max(width - len(heading) - 1, 0) + "╮"
    bottom = "╰" + "─" * (width - 2) + "╯"
    return [top, *(f"│ {line.ljust(inner)} │" for line in body), bottom]


# A help screen before it is drawn, as cli/helpformat.py records it and cli/help_screens.py stores it:
# ("usage", PROG, ARGS) | ("text", TEXT) | ("panel", TITLE, ((NAME, DESCRIPTION), ...)).
Block = tuple[object, ...]


def draw(blocks: Sequence[Block], width: int) -> str:
    """A whole help screen, `width` columns wide, from its recorded blocks."""
    drawn: list[tuple[str, list[str]]] = []
    for block in blocks:
        kind = str(block[0])
        if kind == "usage":
            drawn.append((kind, usage_lines(str(block[1]), str(block[2]), width)))
        elif kind == "text":
            drawn.append((kind, text_lines(str(block[1]), width)))
        else:
            rows = block[2]
            assert isinstance(rows, (list, tuple))
            drawn.append((kind, panel(str(block[1]), [(str(term), str(text)) for term, text in rows], width)))
    return assemble(drawn)


def assemble(blocks: Sequence[tuple[str, list[str]]]) -> str:
    """A whole help screen from its blocks in order: ("usage" | "text" | "panel", lines).

    A blank line opens the screen and comes before each text and before a run of panels; panels follow each
    other directly, as rich draws them.
    """
    lines = [""]
    previous = ""
    for kind, block in blocks:
        if kind == "text" or (kind == "panel" and previous != "panel"):
            lines.append("")
        lines += block
        previous = kind
    return "\n".join(lines) + "\n"
