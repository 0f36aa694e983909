"""git_clone over HTTP on loopback (`git http-backend` behind http.server): a private repository that needs a
token, and submodules. The token must never show in output, errors, outputs or the clone's .git directory."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploytool.errors import StepError
from deploytool.steps.base import StepContext
from deploytool.steps.git import git_clone
from deploytool.steps.run import run_steps
from tests.steps.conftest import Lines
from tests.steps.gitserver import GitHTTPServer, Upstream, commit_files, git, make_bare, make_upstream

TOKEN = "ghp_s3cretT0ken4242"


@pytest.fixture
def private(tmp_path: Path) -> Iterator[tuple[GitHTTPServer, Upstream]]:
    root = tmp_path / "private"
    root.mkdir()
    upstream = make_upstream(root)
    server = GitHTTPServer(root, token=TOKEN)
    yield server, upstream
    server.close()


def assert_no_token(*texts: str) -> None:
    encoded = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    for text in texts:
        assert TOKEN not in text
        assert encoded not in text


def git_dir_text(clone: Path) -> str:
    """Every file under .git, as text: where a token left behind would be."""
    return "\n".join(p.read_bytes().decode("latin-1") for p in (clone / ".git").rglob("*") if p.is_file())


def test_public_repository_over_http(ctx: StepContext, http_server: GitHTTPServer, upstream: Upstream) -> None:
    out = git_clone(ctx, repository=http_server.url("project.git"), commit_sha=upstream.first)
    assert git("rev-parse", "HEAD", cwd=Path(out["directory"])) == upstream.first


def test_private_repository_needs_the_token(
    ctx: StepContext, workdir: Path, lines: Lines, private: tuple[GitHTTPServer, Upstream]
) -> None:
    server, upstream = private
    with pytest.raises(StepError) as err:
        git_clone(ctx, repository=server.url("project.git"))
    assert "exited with code 128" in err.value.message
    assert "needs credentials" in (err.value.hint or "")
    assert not (workdir / "project").exists()

    out = git_clone(ctx, repository=server.url("project.git"), access_token=TOKEN)
    clone = Path(out["directory"])
    assert git("rev-parse", "HEAD", cwd=clone) == upstream.second
    assert any(header and header.startswith("Basic ") for header in server.authorizations)
    assert git("config", "--get", "remote.origin.url", cwd=clone) == server.url("project.git")

    third = upstream.push_commit({"flow.py": "VERSION = 3\n"}, "third")
    git_clone(ctx, repository=server.url("project.git"), access_token=TOKEN)  # refresh, with the token again
    assert git("rev-parse", "HEAD", cwd=clone) == third
    git_clone(ctx, repository=server.url("project.git"), access_token=TOKEN, commit_sha=upstream.first)
    assert git("rev-parse", "HEAD", cwd=clone) == upstream.first

    assert_no_token(lines.text(), str(out), git_dir_text(clone))


def test_credentials_mapping_and_token_in_url(ctx: StepContext, private: tuple[GitHTTPServer, Upstream]) -> None:
    server, upstream = private
    url = server.url("project.git")
    out = git_clone(ctx, repository=url, credentials={"username": "me", "password": TOKEN}, clone_directory_name="a")
    assert git("rev-parse", "HEAD", cwd=Path(out["directory"])) == upstream.second
    out = git_clone(ctx, repository=url, credentials={"token": TOKEN}, clone_directory_name="b")
    assert git("rev-parse", "HEAD", cwd=Path(out["directory"])) == upstream.second
    with_token = url.replace("http://", f"http://me:{TOKEN}@")
    out = git_clone(ctx, repository=with_token, clone_directory_name="c", commit_sha=upstream.first)
    clone = Path(out["directory"])
    assert git("rev-parse", "HEAD", cwd=clone) == upstream.first
    assert_no_token(git_dir_text(clone), str(out))


def test_wrong_token_error_does_not_show_it(
    ctx: StepContext, workdir: Path, lines: Lines, private: tuple[GitHTTPServer, Upstream]
) -> None:
    server, _ = private
    wrong = "wrong-" + TOKEN
    with pytest.raises(StepError) as err:
        git_clone(ctx, repository=server.url("project.git").replace("http://", f"http://u:{wrong}@"))
    assert wrong not in str(err.value) and wrong not in lines.text()
    with pytest.raises(StepError) as err:
        run_steps(
            [_Call("git_clone", {"repository": server.url("nope.git"), "access_token": TOKEN})],
            phase="pull",
            cwd=workdir,
            render=lambda inputs, outputs, path: inputs,
            on_output=lines,
        )
    assert "pull step 1 of 1 (git_clone, id 'clone') failed: git clone of" in err.value.message
    assert_no_token(str(err.value), lines.text())


class _Call:
    def __init__(self, name: str, inputs: dict[str, object]) -> None:
        self.name = self.written_name = name
        self.inputs = inputs
        self.id = "clone"
        self.path = ("pull", 0)


@pytest.mark.parametrize("private_server", [False, True])
def test_submodules(ctx: StepContext, tmp_path: Path, private_server: bool) -> None:
    root = tmp_path / "srv"
    root.mkdir()
    server = GitHTTPServer(root, token=TOKEN if private_server else None)
    try:
        lib_work = tmp_path / "lib-work"
        lib_work.mkdir()
        git("init", "-q", cwd=lib_work)
        commit_files(lib_work, {"lib.py": "LIB = True\n"}, "lib")
        make_bare(root, "lib.git", lib_work)
        app_work = tmp_path / "app-work"
        app_work.mkdir()
        git("init", "-q", cwd=app_work)
        commit_files(app_work, {"app.py": "import lib\n"}, "app")
        # The submodule is added from the local bare repository, then pointed at its HTTP URL.
        git("submodule", "add", "-q", (root / "lib.git").as_uri(), "vendor/lib", cwd=app_work)
        git("config", "-f", ".gitmodules", "submodule.vendor/lib.url", server.url("lib.git"), cwd=app_work)
        sha = commit_files(app_work, {}, "add lib")
        make_bare(root, "app.git", app_work)
        token = TOKEN if private_server else None
        plain = git_clone(ctx, repository=server.url("app.git"), access_token=token)
        assert (Path(plain["directory"]) / "vendor" / "lib" / "lib.py").exists() is False
        deep = git_clone(
            ctx, repository=server.url("app.git"), access_token=token, include_submodules=True, clone_directory_name="s"
        )
        assert (Path(deep["directory"]) / "vendor" / "lib" / "lib.py").read_text() == "LIB = True\n"
        pinned = git_clone(
            ctx,
            repository=server.url("app.git"),
            access_token=token,
            include_submodules=True,
            commit_sha=sha,
            clone_directory_name="p",
        )
        assert (Path(pinned["directory"]) / "vendor" / "lib" / "lib.py").exists()
        git_clone(  # refresh updates submodules too
            ctx, repository=server.url("app.git"), access_token=token, include_submodules=True, clone_directory_name="s"
        )
        assert_no_token(git_dir_text(Path(deep["directory"])), git_dir_text(Path(pinned["directory"])))
    finally:
        server.close()
