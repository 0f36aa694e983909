"""Parsing a command's arguments without typer, from the table cli/helpgen.py records (cli/command_table.py)."""

from __future__ import annotations

import os


def use_store(url: str) -> None:
    """The global `--store URL`: every store this process and the processes it starts open is that one."""
    from deploytool.settings import STORE_URL_ENV

    os.environ[STORE_URL_ENV] = url  # read by Settings.from_env()
