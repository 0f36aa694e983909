"""`validate` reports what `deploy` or the run would refuse: sandbox escapes in placeholders, git_clone inputs the
step refuses at run time, and (as a warning) an entrypoint outside the project's directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploytool.config.validate import validate_file
from deploytool.errors import ConfigIssue

FLOW = "from deploytool import flow\n\n\n@flow\ndef main():\n    pass\n"


def _validate(tmp_path: Path, text: str, *, strict: bool = False) -> list[ConfigIssue]:
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    (project / "flow.py").write_text(FLOW)
    (tmp_path / "outside.py").write_text(FLOW)
    path = project / "deploy.yaml"
    path.write_text(text)
    return validate_file(path, strict=strict).issues


def _one(text: str) -> str:
    return f"deployments:\n  - name: d\n    entrypoint: flow.py:main\n    work_pool: {{name: p}}\n{text}"


@pytest.mark.parametrize(
    "placeholder",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ $HOME | attr('__class__') }}",
        "{{ variables.cfg['__class__'] }}",
        "{{ _ref.__call__ }}",
        "{{ variables.cfg.update({'a': 1}) }}",
    ],
)
def test_a_sandbox_escape_is_an_error_at_validate(tmp_path: Path, placeholder: str) -> None:
    issues = _validate(tmp_path, _one(f'    tags: ["{placeholder}"]\n'))
    assert [(i.line, i.path, i.severity) for i in issues] == [(5, "deployments[d].tags[0]", "error")]
    assert issues[0].message == f"unsafe expression refused in {placeholder}"


def test_ordinary_placeholders_with_underscores_are_not_refused(tmp_path: Path) -> None:
    text = _one("    tags: [\"{{ $MY_TAG | default('__none__') }}\", \"{{ flow_run.name | replace('_', '-') }}\"]\n")
    assert [i for i in _validate(tmp_path, text) if i.severity == "error"] == []


@pytest.mark.parametrize(
    ("inputs", "key", "message"),
    [
        ("repository: '-uhttps://evil'", "repository", "repository '-uhttps://evil' may not start with '-'"),
        ("repository: 'ext::sh'", "repository", "repository may not name a git transport"),
        ("repository: 'https://x/r.git', branch: '--upload-pack=x'", "branch", "is not a valid branch or tag name"),
        ("repository: 'https://x/r.git', commit_sha: 'main'", "commit_sha", "commit_sha 'main' is not a commit hash"),
        ("repository: 'http://x.org/r.git', access_token: t", "repository", "refusing to send a token over plain"),
        ("repository: 'https://x/r.git', directories: ['../up']", "directories", "is not a relative path inside"),
        ("repository: 'https://x/r.git', clone_directory_name: 'a/b'", "clone_directory_name", "not a directory name"),
        ("repository: 'https://x/..'", "repository", "cannot name a directory after repository"),
    ],
)
def test_git_clone_inputs_the_step_refuses_are_errors_at_validate(
    tmp_path: Path, inputs: str, key: str, message: str
) -> None:
    issues = _validate(tmp_path, f"pull:\n  - git_clone: {{{inputs}}}\n" + _one(""))
    errors = [i for i in issues if i.severity == "error"]
    assert len(errors) == 1, issues
    assert errors[0].path == f"pull[0].git_clone.{key}" and errors[0].line == 2
    assert errors[0].message.startswith("git_clone would refuse this: ") and message in errors[0].message


def test_git_clone_inputs_with_placeholders_are_left_to_run_time(tmp_path: Path) -> None:
    text = "pull:\n  - git_clone: {repository: '{{ $REPO }}', branch: '{{ $BRANCH }}', access_token: '{{ $T }}'}\n"
    assert _validate(tmp_path, text + _one("")) == []


@pytest.mark.parametrize(
    ("entrypoint", "message"),
    [
        ("../outside.py:main", "the entrypoint ../outside.py is outside the project's directory"),
        ("{project}/flow.py:main", "the entrypoint is an absolute path ({project}/flow.py)"),
    ],
)
def test_an_entrypoint_outside_the_project_is_a_warning(tmp_path: Path, entrypoint: str, message: str) -> None:
    project = tmp_path / "project"
    where = entrypoint.format(project=project)
    text = f"deployments:\n  - name: d\n    entrypoint: {where}\n    work_pool: {{name: p}}\n"
    issues = _validate(tmp_path, text)
    assert [(i.line, i.path, i.severity) for i in issues] == [(3, "deployments[d].entrypoint", "warning")]
    assert issues[0].message == message.format(project=project)
    assert "write the path relative to the project file" in (issues[0].hint or "")
    assert [i.severity for i in _validate(tmp_path, text, strict=True)] == ["error"]


def test_an_entrypoint_inside_the_project_gets_no_warning(tmp_path: Path) -> None:
    (tmp_path / "project" / "pkg").mkdir(parents=True)
    (tmp_path / "project" / "pkg" / "f.py").write_text(FLOW)
    text = "deployments:\n  - {name: d, entrypoint: ./pkg/../pkg/f.py:main, work_pool: {name: p}}\n"
    assert _validate(tmp_path, text) == []
