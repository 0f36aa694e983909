"""Every `deploytool ...` command that README.md and docs/*.md name exists, with the options they give it.

Inline code (`deploytool worker prune --older-than 24h`) and command lines in fenced blocks (`$ deploytool ...`
or a line starting with `deploytool `) are read; `a / b / c` lists of subcommands share their parent. Full
runs of documented commands are in tests/test_tutorial.py and tests/test_demo.py; this catches a renamed or
removed command or option anywhere in the docs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer

from deploytool.cli.app import build_app

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_WORD = re.compile(r"[a-z][a-z-]*")
_OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z-]*)")


def mentions(text: str) -> list[tuple[str, bool]]:
    """(command text, from inline code) for every mention of a deploytool command in a markdown text."""
    found = [(m, True) for m in re.findall(r"`(deploytool [^`]+)`", text)]
    in_block = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_block = not in_block
            continue
        if in_block:
            match = re.match(r"^\s*(?:\$\s+)?(deploytool .+)$", line)
            if match:
                found.append((match[1].split("  #", 1)[0], False))
    return found


def problems(root: Any, text: str, strict: bool) -> list[str]:
    """What in one mention does not exist: an unknown command, or an option its command does not have."""
    first, *alternatives = text.split(" / ")
    out: list[str] = []
    parent: list[str] = []
    for index, part in enumerate([first, *alternatives]):
        tokens = part.split() if index == 0 else [*parent, *part.split()]
        if index == 0:
            tokens = tokens[1:]  # "deploytool"
        node, path = root, []
        for token in tokens:
            commands = getattr(node, "commands", None)
            if not commands or not _WORD.fullmatch(token):
                break
            if token not in commands:
                if strict or path:
                    out.append(f"no command `deploytool {' '.join([*path, token])}`")
                break
            node, path = commands[token], [*path, token]
        if not path:
            return out
        parent = path[:-1]
        if getattr(node, "commands", None):
            continue  # a group named as a whole
        options = {o for p in node.params for o in (*p.opts, *p.secondary_opts)} | {"--help", "-h"}
        out += [f"`deploytool {' '.join(path)}` has no option {o}" for o in _OPTION.findall(part) if o not in options]
    return out


def test_every_documented_command_and_option_exists() -> None:
    root: Any = typer.main.get_command(build_app())
    wrong = []
    for doc in DOCS:
        for text, inline in mentions(doc.read_text()):
            wrong += [f"{doc.relative_to(ROOT)}: {p} (in `{text}`)" for p in problems(root, text, strict=inline)]
    assert wrong == []


def test_the_check_finds_a_wrong_command_and_option() -> None:
    root: Any = typer.main.get_command(build_app())
    assert problems(root, "deploytool worker purge", strict=True) == ["no command `deploytool worker purge`"]
    assert problems(root, "deploytool worker prune --older 1h", strict=True) == [
        "`deploytool worker prune` has no option --older"
    ]
    assert problems(root, "deploytool flow-run ls / inspect / logs [--follow]", strict=True) == []
