"""git_clone against real repositories made by the tests, served over file:// (see test_git_http for HTTP)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploytool.errors import StepError
from deploytool.steps.base import StepContext
from deploytool.steps.git import git_clone
from tests.steps.gitserver import Upstream, git


def head(repo: Path) -> str:
    return git("rev-parse", "HEAD", cwd=repo)


def test_clone_default_branch_shallow(ctx: StepContext, workdir: Path, upstream: Upstream) -> None:
    out = git_clone(ctx, repository=upstream.url)
    dest = workdir / "project"
    assert out == {"directory": str(dest)}
    assert head(dest) == upstream.second
    assert (dest / "flow.py").read_text() == "VERSION = 2\n"
    assert git("rev-parse", "--is-shallow-repository", cwd=dest) == "true"


def test_clone_branch_goes_to_repo_dash_branch(ctx: StepContext, workdir: Path, upstream: Upstream) -> None:
    out = git_clone(ctx, repository=upstream.url, branch="feature/x")
    dest = workdir / "project-feature-x"
    assert out == {"directory": str(dest)}
    assert head(dest) == upstream.feature
    assert (dest / "feature.txt").exists()


def test_clone_tag_as_branch(ctx: StepContext, upstream: Upstream) -> None:
    out = git_clone(ctx, repository=upstream.url, branch="v1", clone_directory_name="tagged")
    assert head(Path(out["directory"])) == upstream.first


def test_clone_commit_sha_full_and_abbreviated(ctx: StepContext, workdir: Path, upstream: Upstream) -> None:
    out = git_clone(ctx, repository=upstream.url, commit_sha=upstream.first)
    assert head(Path(out["directory"])) == upstream.first
    assert (workdir / "project" / "flow.py").read_text() == "VERSION = 1\n"
    out = git_clone(ctx, repository=upstream.url, commit_sha=upstream.second[:8], clone_directory_name="short")
    assert head(Path(out["directory"])) == upstream.second


def test_commit_on_a_branch(ctx: StepContext, upstream: Upstream) -> None:
    out = git_clone(ctx, repository=upstream.url, branch="feature/x", commit_sha=upstream.feature.upper())
    assert head(Path(out["directory"])) == upstream.feature


def test_unknown_commit(ctx: StepContext, upstream: Upstream) -> None:
    with pytest.raises(StepError, match="commit 0123456789abcdef was not found"):
        git_clone(ctx, repository=upstream.url, commit_sha="0123456789abcdef")


def test_unknown_branch_says_which(ctx: StepContext, workdir: Path, upstream: Upstream) -> None:
    with pytest.raises(StepError) as err:
        git_clone(ctx, repository=upstream.url, branch="nope")
    assert "git clone of" in err.value.message and "exited with code 128" in err.value.message
    assert "nope" in err.value.message
    assert not (workdir / "project-nope").exists()


def test_refresh_an_existing_clone(ctx: StepContext, workdir: Path, upstream: Upstream) -> None:
    git_clone(ctx, repository=upstream.url)
    dest = workdir / "project"
    (dest / "untracked.txt").write_text("kept")
    third = upstream.push_commit({"flow.py": "VERSION = 3\n"}, "third")
    assert git_clone(ctx, repository=upstream.url) == {"directory": str(dest)}
    assert head(dest) == third
    assert (dest / "flow.py").read_text() == "VERSION = 3\n"
    assert (dest / "untracked.txt").read_text() == "kept"


def test_refresh_a_branch_clone_and_switch_commits(ctx: StepContext, upstream: Upstream) -> None:
    git_clone(ctx, repository=upstream.url, branch="feature/x")
    out = git_clone(ctx, repository=upstream.url, branch="feature/x")
    assert head(Path(out["directory"])) == upstream.feature
    git_clone(ctx, repository=upstream.url, clone_directory_name="pinned")
    out = git_clone(ctx, repository=upstream.url, commit_sha=upstream.first, clone_directory_name="pinned")
    assert head(Path(out["directory"])) == upstream.first  # a shallow clone is deepened to reach the commit
    out = git_clone(ctx, repository=upstream.url, commit_sha=upstream.second, clone_directory_name="pinned")
    assert head(Path(out["directory"])) == upstream.second


def test_refresh_with_conflicting_local_changes_fails_clearly(
    ctx: StepContext, workdir: Path, upstream: Upstream
) -> None:
    git_clone(ctx, repository=upstream.url)
    (workdir / "project" / "flow.py").write_text("local edit\n")
    upstream.push_commit({"flow.py": "VERSION = 3\n"}, "third")
    with pytest.raises(StepError) as err:
        git_clone(ctx, repository=upstream.url)
    assert "git reset of the clone" in err.value.message
    assert "local changes" in (err.value.hint or "")


def test_destination_holding_something_else(ctx: StepContext, workdir: Path, upstream: Upstream) -> None:
    (workdir / "project").mkdir()
    (workdir / "project" / "file").write_text("")
    with pytest.raises(StepError, match="already exists and is not a git clone"):
        git_clone(ctx, repository=upstream.url)
    other = workdir / "other"
    other.mkdir()
    git("init", "-q", cwd=other)
    git("remote", "add", "origin", "https://example.invalid/other.git", cwd=other)
    with pytest.raises(StepError, match=r"holds a clone of https://example\.invalid/other\.git"):
        git_clone(ctx, repository=upstream.url, clone_directory_name="other")


def test_empty_destination_is_used(ctx: StepContext, workdir: Path, upstream: Upstream) -> None:
    (workdir / "project").mkdir()
    assert git_clone(ctx, repository=upstream.url) == {"directory": str(workdir / "project")}


def test_sparse_directories(ctx: StepContext, upstream: Upstream) -> None:
    out = git_clone(ctx, repository=upstream.url, directories=["flows/a"])
    dest = Path(out["directory"])
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file() and ".git" not in p.parts)
    assert files == ["flow.py", "flows/a/a.py", "requirements.txt"]
    out = git_clone(ctx, repository=upstream.url)  # refreshing without directories leaves sparse mode
    assert (dest / "flows" / "b" / "b.py").exists()


def test_sparse_with_commit(ctx: StepContext, upstream: Upstream) -> None:
    out = git_clone(ctx, repository=upstream.url, directories=["flows/b"], commit_sha=upstream.second)
    dest = Path(out["directory"])
    assert (dest / "flows" / "b" / "b.py").exists()
    assert not (dest / "flows" / "a").exists()


def test_output_streams_to_the_sink(ctx: StepContext, upstream: Upstream, lines: object) -> None:
    git_clone(ctx, repository=upstream.url)
    assert any("Cloning into" in line for _, line in lines.lines)  # type: ignore[attr-defined]
