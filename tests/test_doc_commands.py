"""Every `deploytool ...` command that README.md and docs/*.md name exists, with the options they give it.

Inline code (`deploytool worker prune --older-than 24h`) and command lines in fenced blocks (`$ deploytool ...`
or a line starting with `deploytool `) are read; `a / b / c` lists of subcommands share their parent. Full
runs of documented commands are in tests/test_tutorial.py and tests/test_demo.py; this catches a renamed or
removed command or option anywhere in the docs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
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


# --- more claims the docs make that the code decides ---------------------------------------------------------

_REPO_PATH = re.compile(r"(?<![\w/.~$-])((?:deploytool|tests|scripts|benchmarks|examples|schemas)/[\w./-]*[\w/])")


def _heading_anchors(text: str) -> set[str]:
    """GitHub's anchors of a markdown text's headings: lower case, punctuation dropped, spaces to hyphens."""
    anchors = set()
    for line in text.splitlines():
        heading = re.match(r"^#{1,6}\s+(.*)$", line)
        if heading:
            anchors.add(re.sub(r"[^\w\- ]", "", heading[1].strip().lower()).replace(" ", "-"))
    return anchors


def test_every_link_between_the_docs_and_its_anchor_exist() -> None:
    wrong = []
    for doc in DOCS:
        for link in re.findall(r"\]\(([^)\s]+)\)", doc.read_text()):
            if re.match(r"^[a-z]+:", link):
                continue  # http(s):, mailto:
            path, _, anchor = link.partition("#")
            target = (doc.parent / path) if path else doc
            if not target.exists():
                wrong.append(f"{doc.relative_to(ROOT)}: no file {link}")
            elif anchor and target.suffix == ".md" and anchor not in _heading_anchors(target.read_text()):
                wrong.append(f"{doc.relative_to(ROOT)}: no heading for #{anchor} in {path or doc.name}")
    assert wrong == []


def test_every_file_of_this_repository_the_docs_name_exists() -> None:
    """`deploytool/worker/prune.py`, `tests/test_tutorial.py`, `examples/prefect-flows/`: a path the docs give a
    reader to look at is there (paths inside an image or a home directory, `/opt/deploytool/...`, are not)."""
    wrong = []
    for doc in DOCS:
        for path in set(_REPO_PATH.findall(doc.read_text())):
            if not (ROOT / path).exists() and not (ROOT / path.rstrip(".")).exists():
                wrong.append(f"{doc.relative_to(ROOT)}: {path}")
    assert wrong == []


def _field_table(doc: str, heading: str) -> dict[str, str]:
    """The `| \\`field\\` | default | ... |` rows of the table under `heading` in docs/`doc`."""
    text = (ROOT / "docs" / doc).read_text()
    section = text.split(heading, 1)[1].split("\n#", 1)[0]
    rows = re.finditer(r"^\| ((?:`\w+`(?:, )?)+) \| ([^|]*) \|", section, flags=re.M)
    return {name: row[2] for row in rows for name in re.findall(r"`(\w+)`", row[1])}


@pytest.mark.parametrize(
    ("pool_type", "doc", "heading"),
    [("docker", "docker.md", "## Job configuration"), ("process", "job-variables.md", "## The variables of each")],
)
def test_the_job_variables_table_of_each_pool_type_names_every_variable_and_its_default(
    pool_type: str, doc: str, heading: str
) -> None:
    from deploytool.jobvars import default_base_job_template

    properties = default_base_job_template(pool_type)["variables"]["properties"]
    table = _field_table(doc, heading)
    assert sorted(table) == sorted(properties)
    for name, spec in properties.items():
        if "default" in spec and spec["default"] is not None:
            shown = json.dumps(spec["default"]) if not isinstance(spec["default"], str) else spec["default"]
            assert f"`{shown}`" in table[name], f"docs/{doc}: {name} defaults to {shown}"


def test_the_readme_lists_every_doc() -> None:
    readme = (ROOT / "README.md").read_text()
    assert [d.name for d in DOCS[1:] if f"docs/{d.name}" not in readme] == []


def test_every_input_of_each_step_is_in_its_section_of_steps_md_with_its_default() -> None:
    import inspect

    from deploytool.steps.builtins import IMPLEMENTATIONS

    text = (ROOT / "docs" / "steps.md").read_text()
    wrong = []
    for name, implementation in IMPLEMENTATIONS.items():
        section = re.search(rf"^#{{2,3}} `{name}`\n(.*?)(?=^#{{2,3}} )", text, flags=re.M | re.S)
        assert section is not None, f"docs/steps.md has no section for {name}"
        rows = {
            word: row[2].strip()
            for row in re.finditer(r"^\| ([^|]+) \| ([^|]*) \|", section[1], flags=re.M)
            for word in re.findall(r"`(\w+)`", row[1])
        }
        for parameter in list(inspect.signature(implementation).parameters.values())[1:]:
            if f"`{parameter.name}`" not in section[1]:
                wrong.append(f"{name}: input {parameter.name} is not described")
                continue
            default = parameter.default
            if default is None or default is inspect.Parameter.empty or not rows.get(parameter.name):
                continue
            shown = default if isinstance(default, str) else json.dumps(default)
            if f"`{shown}`" not in rows[parameter.name]:
                wrong.append(f"{name}: {parameter.name} defaults to {shown}, the table says {rows[parameter.name]}")
    assert wrong == []
