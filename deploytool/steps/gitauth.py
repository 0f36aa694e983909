"""What `git_clone` checks before running git, and how it authenticates without leaving a token behind.

Every value from the file that reaches git's command line is validated here first (Prefect's GHSA-7pm4-56h2-5rxr:
an unchecked `commit_sha` became `--upload-pack=...`, i.e. remote code execution on the worker), and is also
placed after `--` or in an `--option=value` form by the caller.

A token is never put in a URL, on a command line or in `.git/config`. It travels as an `Authorization: Basic`
header in `http.<scheme>://<host>/.extraHeader`, set through git's GIT_CONFIG_COUNT/KEY/VALUE environment
variables, and scoped to the repository's host, so a submodule on another host never receives it.

Stdlib only: this runs inside the flow-run job as a pull step.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import SplitResult, urlsplit, urlunsplit

from deploytool.errors import StepError
from deploytool.records import field, record

TYPE_CHECKING = False  # not typing's: `validate` and `run` import this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any

_BRANCH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/+@-]{0,254}$")
_SHA = re.compile(r"^(?:[0-9a-fA-F]{7,40}|[0-9a-fA-F]{64})$")
_PATH_PART = re.compile(r"^[A-Za-z0-9_.@+ -]+$")
_TRANSPORT = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")  # git's `<transport>::<address>` form, e.g. ext::
_LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


@record
class Auth:
    """How to authenticate one clone: an http.extraHeader config entry, and the values to redact everywhere."""

    config_key: str
    header: str
    secrets: tuple[str, ...] = field(repr=False)


def check_repository(url: str) -> str:
    if url.startswith("-"):
        raise StepError(f"repository {url!r} may not start with '-'", "give a URL or a path")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise StepError("repository may not contain spaces or control characters")
    if _TRANSPORT.match(url):
        raise StepError(
            "repository may not name a git transport (`<transport>::`)",
            "use an https://, ssh://, git:// or file:// URL, or user@host:path",
        )
    return url


def check_branch(branch: str | None) -> str | None:
    if branch is None:
        return None
    bad = (
        not _BRANCH.match(branch)
        or ".." in branch
        or "//" in branch
        or "@{" in branch
        or branch.endswith(("/", ".", ".lock"))
        or "/." in branch
    )
    if bad:
        raise StepError(
            f"branch {branch!r} is not a valid branch or tag name",
            "letters, digits and . _ / + @ -, not starting with '-' (option-like values are refused)",
        )
    return branch


def check_commit_sha(sha: str | None) -> str | None:
    if sha is None:
        return None
    if not _SHA.match(sha):
        raise StepError(f"commit_sha {sha!r} is not a commit hash", "7 to 40 hexadecimal digits (or 64 for SHA-256)")
    return sha.lower()


def check_relative_path(name: str, value: str, *, single: bool = False) -> str:
    """A path inside the clone (or one directory name when `single`): relative, no `..`, nothing option-like."""
    parts = value.strip("/").split("/") if not single else [value]
    if (
        not value
        or value.startswith(("-", "/"))
        or any(p in ("", ".", "..") or not _PATH_PART.match(p) or p.startswith("-") for p in parts)
    ):
        kind = "a directory name" if single else "a relative path inside the repository"
        raise StepError(f"{name} {value!r} is not {kind}", "no '..', no leading '/' or '-', no special characters")
    return value.strip("/")


def repo_name(url: str) -> str:
    """The directory a clone of `url` is named after: the last path part without `.git` (`a/b/repo.git` -> repo)."""
    tail = re.split(r"[/:\\]", url.rstrip("/"))[-1]
    name = tail[:-4] if tail.endswith(".git") else tail
    if not name or name in (".", "..") or not _PATH_PART.match(name) or name.startswith("-"):
        raise StepError(f"cannot name a directory after repository {url!r}", "set clone_directory_name")
    return name


def is_local(url: str) -> bool:
    return url.startswith("file://") or ("://" not in url and not re.match(r"^[^/]+@[^/:]+:", url))


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """`url` without a user:password part, and that user and password (a token written into the URL)."""
    if "://" not in url:
        return url, None, None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or "@" not in parts.netloc:
        return url, None, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    clean = urlunsplit(SplitResult(parts.scheme, host, parts.path, parts.query, parts.fragment))
    return clean, user or None, password or None


def resolve_auth(
    url: str, access_token: Any, credentials: Any, url_user: str | None, url_password: str | None
) -> Auth | None:
    """The authentication for cloning `url` (already stripped of user:password), or None when it needs none.

    `credentials` is a mapping (usually a block) with `token` or `access_token`, or `username` and `password`.
    Giving both it and `access_token` is an error, as in Prefect.
    """
    if access_token is not None and credentials is not None:
        raise StepError("give access_token or credentials, not both")
    username: str | None = url_user
    secret: str | None = url_password
    if access_token is not None:
        if not isinstance(access_token, str):
            raise StepError("access_token must be a string")
        secret = access_token
    elif credentials is not None:
        if not isinstance(credentials, dict):
            raise StepError(
                "credentials must be a mapping with token, or username and password",
                "reference a block: credentials: '{{ prefect.blocks.github-credentials.NAME }}'",
            )
        token = credentials.get("token") or credentials.get("access_token") or credentials.get("password")
        if token is not None and not isinstance(token, str):
            raise StepError("credentials: the token or password must be a string")
        secret = token or secret
        username = credentials.get("username") or username
        if username is not None and not isinstance(username, str):
            raise StepError("credentials: username must be a string")
    if not secret:
        if access_token is not None or credentials is not None:
            raise StepError("the credentials for git_clone hold no token or password")
        return None
    parts = urlsplit(url) if "://" in url else None
    if parts is None or parts.scheme not in ("http", "https"):
        raise StepError("a token or password can only be used with an https:// repository URL")
    host = parts.hostname or ""
    if parts.scheme == "http" and host not in _LOOPBACK:
        raise StepError("refusing to send a token over plain http", "use the https:// URL of the repository")
    user = username or _default_user(host)
    encoded = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return Auth(
        config_key=f"http.{parts.scheme}://{parts.netloc}/.extraHeader",
        header=f"Authorization: Basic {encoded}",
        secrets=(secret, encoded),
    )


def _default_user(host: str) -> str:
    # The user name each forge expects with a bare token (Prefect's table; GitHub accepts any name).
    if "gitlab" in host:
        return "oauth2"
    if "bitbucket" in host:
        return "x-token-auth"
    return "x-access-token"


def git_env(base: dict[str, str], url: str, auth: Auth | None) -> dict[str, str]:
    """The environment of every git command: never prompt, only known protocols, and the auth header if any."""
    env = dict(base)
    env["GIT_TERMINAL_PROMPT"] = "0"  # fail at once on missing credentials instead of waiting on stdin
    env["GCM_INTERACTIVE"] = "never"
    # `file` is allowed only when the repository itself is local: a remote repository's submodules must not
    # read the worker's own disk (git's CVE-2022-39253 default, kept even though we set an allow-list).
    env["GIT_ALLOW_PROTOCOL"] = "http:https:ssh:git" + (":file" if is_local(url) else "")
    entries = [("advice.detachedHead", "false")]
    if auth is not None:
        entries.append((auth.config_key, auth.header))
    count = int(env.get("GIT_CONFIG_COUNT", "0") or 0)  # keep entries the caller's environment already sets
    for offset, (key, value) in enumerate(entries):
        env[f"GIT_CONFIG_KEY_{count + offset}"] = key
        env[f"GIT_CONFIG_VALUE_{count + offset}"] = value
    env["GIT_CONFIG_COUNT"] = str(count + len(entries))
    return env
