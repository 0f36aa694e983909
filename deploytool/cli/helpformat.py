"""typer's help, drawn by cli/helpbox.py instead of rich: the formatter every command's `--help` uses."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from typer._click import Context, HelpFormatter

from deploytool.cli.helpbox import Block, draw, help_width

NO_TRUNCATION = 10_000  # click shortens a command's line to fit `width`; the panels wrap it instead


class BoxHelpFormatter(HelpFormatter):
    """Records what click writes (usage, text, sections of name/description rows) and draws it in panels.

    The recorded blocks do not depend on the screen's width: cli/help_screens.py stores them for every command,
    so that `deploytool COMMAND --help` is drawn without typer (cli/commands.py).
    """

    last_blocks: tuple[Block, ...] = ()  # the blocks of the latest screen drawn (read by cli/helpgen.py)

    def __init__(self, indent_increment: int = 2, width: int | None = None, max_width: int | None = None) -> None:
        super().__init__(indent_increment, width, max_width)
        self.screen_width = help_width()
        self.width = NO_TRUNCATION
        self._blocks: list[Block] = []
        self._rows: list[tuple[str, str]] | None = None

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        self._blocks.append(("usage", prog, args))

    def write_paragraph(self) -> None:
        """Spacing is the screen's business (helpbox.assemble)."""

    def write_text(self, text: str) -> None:
        self._blocks.append(("text", text))

    @contextmanager
    def section(self, name: str) -> Iterator[None]:
        self._rows = []
        try:
            yield
            self._blocks.append(("panel", name, tuple(self._rows)))
        finally:
            self._rows = None

    def write_dl(self, rows: Sequence[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        if self._rows is not None:
            self._rows.extend(rows)
        else:
            self._blocks.append(("panel", "", tuple(rows)))

    def getvalue(self) -> str:
        BoxHelpFormatter.last_blocks = tuple(self._blocks)
        return draw(self._blocks, self.screen_width)


def use_box_help() -> None:
    """Every command's help (and usage line of an error) is drawn by BoxHelpFormatter from now on."""
    Context.formatter_class = BoxHelpFormatter
