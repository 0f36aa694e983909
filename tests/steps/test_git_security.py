"""git_clone refuses option injection (Prefect GHSA-7pm4-56h2-5rxr) and misuse of credentials, before running git."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploytool.errors import StepError
from deploytool.steps.base import StepContext
from deploytool.steps.git import git_clone
from deploytool.steps.gitauth import check_branch, git_env, repo_name, resolve_auth, split_credentials
from tests.steps.gitserver import Upstream


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"branch": "--upload-pack=touch {marker}"}, "is not a valid branch"),
        ({"branch": "-b"}, "is not a valid branch"),
        ({"branch": "main; touch {marker}"}, "is not a valid branch"),
        ({"commit_sha": "--upload-pack=touch {marker}"}, "is not a commit hash"),
        ({"commit_sha": "abc"}, "is not a commit hash"),
        ({"commit_sha": "HEAD~1"}, "is not a commit hash"),
        ({"directories": ["--upload-pack=touch {marker}"]}, "is not a relative path"),
        ({"directories": ["../outside"]}, "is not a relative path"),
        ({"directories": ["/etc"]}, "is not a relative path"),
        ({"clone_directory_name": "../escape"}, "is not a directory name"),
        ({"clone_directory_name": "-x"}, "is not a directory name"),
        ({"repository": "--upload-pack=touch {marker}"}, "may not start with '-'"),
        ({"repository": "ext::sh -c touch% {marker}"}, "may not contain spaces"),
        ({"repository": "ext::sh"}, "may not name a git transport"),
    ],
)
def test_option_injection_is_refused(
    ctx: StepContext, upstream: Upstream, tmp_path: Path, inputs: dict[str, object], message: str
) -> None:
    marker = tmp_path / "pwned"
    given = {"repository": upstream.url, **inputs}
    rendered = {k: v.format(marker=marker) if isinstance(v, str) else v for k, v in given.items()}
    with pytest.raises(StepError, match=message):
        git_clone(ctx, **rendered)
    assert not marker.exists()
    assert list(ctx.cwd.iterdir()) == []


@pytest.mark.parametrize("name", ["main", "feature/x", "release-1.2", "v1.0.0", "user@fix", "a+b", "UPPER_case"])
def test_valid_branch_names(name: str) -> None:
    assert check_branch(name) == name


@pytest.mark.parametrize("name", ["a..b", "a//b", "a/", "a.lock", "x@{1}", "a/.hidden", ".dot", "a b", "a~1", "a^"])
def test_invalid_branch_names(name: str) -> None:
    with pytest.raises(StepError):
        check_branch(name)


def test_repo_name() -> None:
    assert repo_name("https://github.com/org/repo.git") == "repo"
    assert repo_name("https://github.com/org/repo/") == "repo"
    assert repo_name("git@github.com:org/repo.git") == "repo"
    assert repo_name("/srv/git/project.git") == "project"
    with pytest.raises(StepError, match="set clone_directory_name"):
        repo_name("https://host/.git")


def test_credentials_rules() -> None:
    url = "https://gitlab.example.com/org/repo.git"
    with pytest.raises(StepError, match="not both"):
        resolve_auth(url, "t", {"token": "t"}, None, None)
    with pytest.raises(StepError, match="must be a mapping"):
        resolve_auth(url, None, "a-string", None, None)
    with pytest.raises(StepError, match="hold no token"):
        resolve_auth(url, None, {"username": "me"}, None, None)
    with pytest.raises(StepError, match="plain http"):
        resolve_auth("http://example.com/r.git", "t", None, None, None)
    with pytest.raises(StepError, match="only be used with an https"):
        resolve_auth("git@github.com:org/r.git", "t", None, None, None)
    assert resolve_auth(url, None, None, None, None) is None
    auth = resolve_auth(url, "tok", None, None, None)
    assert auth is not None
    assert auth.config_key == "http.https://gitlab.example.com/.extraHeader"
    assert auth.header == "Authorization: Basic b2F1dGgyOnRvaw=="  # oauth2:tok, GitLab's user for a bare token
    assert "tok" in auth.secrets
    bitbucket = resolve_auth("https://bitbucket.org/o/r", None, {"access_token": "tok"}, None, None)
    assert bitbucket is not None and bitbucket.header.endswith("eC10b2tlbi1hdXRoOnRvaw==")  # x-token-auth:tok
    named = resolve_auth(url, None, {"username": "me", "password": "pw"}, None, None)
    assert named is not None and named.header.endswith("bWU6cHc=")  # me:pw


def test_split_credentials() -> None:
    assert split_credentials("https://me:tok@host:8443/r.git") == ("https://host:8443/r.git", "me", "tok")
    assert split_credentials("https://host/r.git") == ("https://host/r.git", None, None)
    assert split_credentials("git@host:r.git") == ("git@host:r.git", None, None)


def test_git_env_keeps_callers_config_entries_and_limits_protocols() -> None:
    base = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "core.x", "GIT_CONFIG_VALUE_0": "y"}
    env = git_env(base, "https://host/r.git", None)
    assert env["GIT_CONFIG_KEY_0"] == "core.x" and env["GIT_CONFIG_KEY_1"] == "advice.detachedHead"
    assert env["GIT_CONFIG_COUNT"] == "2"
    assert env["GIT_ALLOW_PROTOCOL"] == "http:https:ssh:git"
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert git_env({}, "/srv/git/r.git", None)["GIT_ALLOW_PROTOCOL"].endswith(":file")
