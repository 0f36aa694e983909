"""`git_clone`: clone a repository into a deterministic directory, or refresh the clone already there.

Destination: `<cwd>/<clone_directory_name>` when given, else `<cwd>/<repo name>`, or `<cwd>/<repo name>-<branch>`
(`/` in the branch becoming `-`) when a branch is given, as in Prefect. When the destination already holds a clone
of the same repository it is refreshed (fetch, then `reset --keep` to what was fetched) instead of failing on
"destination path already exists" (Prefect #10420); a different repository or other files there are an error.

Commands (arguments always as a list, user values after `--` or validated, see gitauth):
- plain:        git clone --depth 1 [--branch B] [--recurse-submodules --shallow-submodules] [--sparse] -- URL DEST
- commit_sha:   git clone --filter=blob:none --no-checkout [--branch B] [--sparse] -- URL DEST, then
                git checkout --detach SHA (and `git submodule update --init --recursive` with submodules)
- directories:  git sparse-checkout set -- DIR... before the checkout
A lock file beside the destination serialises concurrent runs on one machine.

Output `directory`: the absolute path of the clone (Prefect's is relative to the cwd).

Stdlib only: this runs inside the flow-run job as a pull step.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from deploytool.errors import StepError
from deploytool.steps.base import ProcessResult, StepContext, as_bool, as_str, as_str_list, command_failed, run_process
from deploytool.steps.gitauth import (
    Auth,
    check_branch,
    check_commit_sha,
    check_relative_path,
    check_repository,
    git_env,
    repo_name,
    resolve_auth,
    split_credentials,
)

TYPE_CHECKING = False  # not typing's: `validate` and `run` import this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any

_AUTH_SIGNS = ("Authentication failed", "could not read Username", "401", "403", "terminal prompts disabled")


def git_clone(
    ctx: StepContext,
    /,
    *,
    repository: Any,
    branch: Any = None,
    commit_sha: Any = None,
    include_submodules: Any = False,
    access_token: Any = None,
    credentials: Any = None,
    directories: Any = None,
    clone_directory_name: Any = None,
) -> dict[str, Any]:
    """Clone (or refresh) `repository`; output `directory`, absolute."""
    raw_url = check_repository(as_str("repository", repository, required=True) or "")
    url, url_user, url_password = split_credentials(raw_url)
    ctx.add_secret(url_password)
    auth = resolve_auth(url, access_token, credentials, url_user, url_password)
    for secret in auth.secrets if auth else ():
        ctx.add_secret(secret)
    clone = _Clone(
        ctx=ctx,
        url=url,
        branch=check_branch(as_str("branch", branch)),
        sha=check_commit_sha(as_str("commit_sha", commit_sha)),
        submodules=as_bool("include_submodules", include_submodules, False),
        directories=[check_relative_path("directories", d) for d in as_str_list("directories", directories)],
        auth=auth,
    )
    name = as_str("clone_directory_name", clone_directory_name)
    if name is not None:
        dest = ctx.cwd / check_relative_path("clone_directory_name", name, single=True)
    else:
        base = repo_name(url)
        dest = ctx.cwd / (f"{base}-{clone.branch.replace('/', '-')}" if clone.branch else base)
    with _locked(dest):
        if (dest / ".git").exists():
            clone.refresh(dest)
        elif dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
            raise StepError(
                f"{dest} already exists and is not a git clone",
                "remove it, or set clone_directory_name to clone elsewhere",
            )
        else:
            clone.fresh(dest)
    return {"directory": str(dest.resolve())}


class _Clone:
    """One clone or refresh: the validated inputs and the git commands that act on them."""

    def __init__(
        self,
        *,
        ctx: StepContext,
        url: str,
        branch: str | None,
        sha: str | None,
        submodules: bool,
        directories: list[str],
        auth: Auth | None,
    ) -> None:
        self.ctx, self.url, self.branch, self.sha = ctx, url, branch, sha
        self.submodules, self.directories = submodules, directories
        self.env = git_env(ctx.base_env(), url, auth)

    def git(self, *args: str, cwd: Path | None = None, check: bool = True, show: bool = True) -> ProcessResult:
        result = run_process(["git", *args], self.ctx, cwd=cwd or self.ctx.cwd, env=self.env, show=show)
        if check and result.returncode != 0:
            raise command_failed(f"git {args[0]} of {self.url}", result, self.ctx, self._hint(result))
        return result

    def fresh(self, dest: Path) -> None:
        args = ["clone"]
        if self.sha:
            # Without blobs but with the whole history, so that any commit (even abbreviated) can be checked out.
            args += ["--filter=blob:none", "--no-checkout"]
        else:
            args += ["--depth", "1"]
            if self.submodules:
                args += ["--recurse-submodules", "--shallow-submodules"]
        if self.branch:
            args.append(f"--branch={self.branch}")
        if self.directories:
            args.append("--sparse")
        self.git(*args, "--", self.url, str(dest))
        if self.directories:
            self.git("sparse-checkout", "set", "--", *self.directories, cwd=dest)
        if self.sha:
            self.checkout_sha(dest)

    def refresh(self, dest: Path) -> None:
        current = self.git("config", "--get", "remote.origin.url", cwd=dest, check=False, show=False).stdout.strip()
        if split_credentials(current)[0] != self.url:
            raise StepError(
                f"{dest} holds a clone of {self.ctx.redact(current) or 'an unknown remote'}, not {self.url}",
                "remove it, or set clone_directory_name to clone elsewhere",
            )
        if self.sha:
            fetch = ["fetch", "--filter=blob:none"]
            if self.git("rev-parse", "--is-shallow-repository", cwd=dest, show=False).stdout.strip() == "true":
                fetch.append("--unshallow")
            self.git(
                *fetch, "--", self.url, "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*", cwd=dest
            )
        else:
            self.git("fetch", "--depth", "1", "--", self.url, self.branch or "HEAD", cwd=dest)
        sparse = self.git("config", "--bool", "core.sparseCheckout", cwd=dest, check=False, show=False)
        if self.directories:
            self.git("sparse-checkout", "set", "--", *self.directories, cwd=dest)
        elif sparse.stdout.strip() == "true":
            self.git("sparse-checkout", "disable", cwd=dest)
        if self.sha:
            self.checkout_sha(dest)
            return
        result = self.git("reset", "--keep", "FETCH_HEAD", cwd=dest, check=False)
        if result.returncode != 0:
            raise command_failed(
                f"git reset of the clone at {dest}",
                result,
                self.ctx,
                "the clone has local changes that conflict with the update; remove the directory",
            )
        if self.submodules:
            self.git("submodule", "update", "--init", "--recursive", "--depth", "1", cwd=dest)

    def checkout_sha(self, dest: Path) -> None:
        assert self.sha is not None
        found = self.git("cat-file", "-e", f"{self.sha}^{{commit}}", cwd=dest, check=False, show=False)
        if found.returncode != 0:
            where = f" (branch {self.branch})" if self.branch else ""
            raise StepError(f"commit {self.sha} was not found in {self.url}{where}")
        # The sha is validated hex, so it cannot be read as an option; `--detach` so no branch is moved.
        self.git("checkout", "--detach", self.sha, cwd=dest)
        if self.submodules:
            self.git("submodule", "update", "--init", "--recursive", cwd=dest)

    def _hint(self, result: ProcessResult) -> str | None:
        if any(sign in result.stderr for sign in _AUTH_SIGNS):
            return "the repository needs credentials, or refused them: check access_token or credentials"
        if "not found in upstream" in result.stderr or "Remote branch" in result.stderr:
            return f"is {self.branch!r} a branch or tag of {self.url}?"
        return None


@contextlib.contextmanager
def _locked(dest: Path) -> Iterator[None]:
    """Hold an exclusive lock on `<dest>.lock` (beside the destination) where the platform has flock."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; concurrent clones into one directory are then not serialised
        yield
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    lock_path = dest.parent / f".{dest.name}.lock"
    with lock_path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def static_problems(inputs: dict[str, Any]) -> list[tuple[str | None, str, str | None]]:
    """What `git_clone` would refuse at run time, found now from the inputs written in the file (values that
    hold a placeholder are only known at run time and are skipped). Each problem is (input name or None,
    message, hint); `deploytool validate` reports them at their lines."""

    def literal(name: str) -> str | None:
        value = inputs.get(name)
        return value if isinstance(value, str) and "{{" not in value else None

    problems: list[tuple[str | None, str, str | None]] = []

    def check(name: str | None, action: Any, *args: Any, **kwargs: Any) -> None:
        try:
            action(*args, **kwargs)
        except StepError as exc:
            problems.append((name, exc.message, exc.hint))

    url = literal("repository")
    if url is not None:
        check("repository", check_repository, url)
        clean, user, password = split_credentials(url)
        token = inputs.get("access_token")
        credentials = inputs.get("credentials")
        if not problems and all(v is None or (isinstance(v, str) and "{{" not in v) for v in (token, credentials)):
            check("repository", resolve_auth, clean, token, credentials, user, password)
        if "clone_directory_name" not in inputs and not problems:
            check("repository", repo_name, clean)
    for name, checker in (("branch", check_branch), ("commit_sha", check_commit_sha)):
        if (value := literal(name)) is not None:
            check(name, checker, value)
    if (directory_name := literal("clone_directory_name")) is not None:
        check("clone_directory_name", check_relative_path, "clone_directory_name", directory_name, single=True)
    directories = inputs.get("directories")
    for directory in directories if isinstance(directories, list) else []:
        if isinstance(directory, str) and "{{" not in directory:
            check("directories", check_relative_path, "directories", directory)
    return problems
