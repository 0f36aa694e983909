"""Commands about the project file: validate, schema, init."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
