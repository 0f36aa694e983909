"""Validate one project file: YAML, then the schema, then the semantic checks; every issue at once."""

from __future__ import annotations

from pathlib import Path

from deploytool.config.forms import normalise_forms
from deploytool.config.project import LoadResult, display_name
from deploytool.config.schema_check import check_schema
from deploytool.config.semantic import check_project
from deploytool.config.yamlload import load_yaml
from deploytool.errors import ConfigIssue
from deploytool.inputs import InputError, read_text_limited

TYPE_CHECKING = False  # not typing's: `validate` and `run` import this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any

PREFECT_FILENAME = "prefect.yaml"


def validate_file(path: Path, *, strict: bool = False, default_pool: str | None = None) -> LoadResult:
    shown = display_name(path)
    try:
        text = read_text_limited(path, label="the file")
    except InputError as exc:
        return LoadResult(path, None, [ConfigIssue(shown, 1, 1, "", exc.message, exc.hint)])
    return validate_text(text, path, shown, strict=strict, default_pool=default_pool)


def validate_text(
    text: str, path: Path, shown: str, *, strict: bool = False, default_pool: str | None = None
) -> LoadResult:
    loaded = load_yaml(text, shown)
    issues = list(loaded.issues)
    data: Any = loaded.data
    if issues and data is None:
        return LoadResult(path, None, _finish(issues, strict))
    if data is None or data == {}:
        issues.append(
            ConfigIssue(
                shown,
                1,
                1,
                "",
                "no deployments: the file is empty",
                "add a `deployments:` list; `deploytool init` writes a starter file",
            )
        )
        return LoadResult(path, None, _finish(issues, strict))
    if not isinstance(data, dict):
        issues.append(ConfigIssue(shown, 1, 1, "", "the file must be a mapping of keys (deployments:, build:, ...)"))
        return LoadResult(path, None, _finish(issues, strict))

    prefect_compat = path.name == PREFECT_FILENAME
    issues += normalise_forms(data, loaded.positions, shown, prefect_compat=prefect_compat)
    issues += check_schema(data, loaded.positions, shown, prefect_compat=prefect_compat)
    project, semantic = check_project(
        data, loaded.positions, path, shown, default_pool=default_pool, prefect_compat=prefect_compat
    )
    issues += semantic
    if not data.get("deployments"):
        line, col = loaded.positions.locate(("deployments",), key=True)
        hint = "add at least one item under `deployments:` with a name, an entrypoint and a work_pool"
        if "entrypoint" in data:
            hint = "a deployment's keys (entrypoint, ...) stand at the top level: move them into an item of a list "
            hint += "under `deployments:` (`- name: ...`)"
        issues.append(
            ConfigIssue(shown, line, col, "deployments" if "deployments" in data else "", "no deployments", hint)
        )
    return LoadResult(path, project, _finish(issues, strict))


def _finish(issues: list[ConfigIssue], strict: bool) -> list[ConfigIssue]:
    if strict:
        issues = [ConfigIssue(i.file, i.line, i.column, i.path, i.message, i.hint, "error") for i in issues]
    unique = {(i.line, i.column, i.path, i.message): i for i in issues}
    # a warning where an error already stands (e.g. an ignored, misspelled key that costs a required one) adds
    # nothing: the error says it
    errors_at = {(i.line, i.column, i.path) for i in unique.values() if i.severity == "error"}
    kept = [i for i in unique.values() if i.severity == "error" or (i.line, i.column, i.path) not in errors_at]
    return sorted(kept)
