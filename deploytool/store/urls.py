"""Store URLs: which backend a URL names, redacting its password, and opening it.

    sqlite:///relative/path.db      sqlite:////absolute/path.db      (SQLAlchemy's rule: the path follows `///`)
    /a/plain/path.db                a path is an SQLite file
    postgresql://user@host:5432/dbname?sslmode=require       (postgres:// too)

A password may be in the URL, in PGPASSWORD or in ~/.pgpass (libpq's rules); it is never shown: `redact_url`
replaces it with `***` wherever a URL is printed, logged or put in an error.
"""

from __future__ import annotations

import re
from pathlib import Path

from deploytool.errors import DeploytoolError

MEMORY = ":memory:"
SQLITE_PREFIX = "sqlite:///"
POSTGRES_SCHEMES = ("postgresql", "postgres")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_URL_HINT = (
    "use sqlite:///relative/path.db, sqlite:////absolute/path.db or postgresql://user@host:5432/dbname"
    " (set DEPLOYTOOL_STORE_URL or pass --store)"
)


def redact_url(url: str) -> str:
    """The URL with its password (if any) replaced by `***`: `postgresql://u:***@h/db`.

    Written for malformed URLs too (a password with an unescaped `@`, `/` or `?`): everything between the
    user's `:` and the last `@` is hidden, and so is any `password=` parameter. It may hide more than the
    password of an odd URL, never less.
    """
    head, sep, rest = url.partition("://")
    if sep:
        at = rest.rfind("@")
        user, colon, _ = rest[: max(at, 0)].partition(":")
        if at != -1 and colon:
            rest = f"{user}:***{rest[at:]}"
    else:
        head = ""
        rest = url
    return head + sep + re.sub(r"(?i)(password\s*=\s*)('[^']*'|[^&\s]*)", r"\1***", rest)


_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"]+")


def redact_urls(text: str) -> str:
    """`text` with the password of every URL in it hidden (for crash logs and messages that quote input)."""
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)


def backend_of(target: Path | str) -> str:
    """`sqlite` or `postgresql`; DeploytoolError for another scheme."""
    if isinstance(target, Path):
        return "sqlite"
    match = _SCHEME.match(target)
    if match is None or len(match.group(1)) == 1:  # no scheme, or a Windows drive letter
        return "sqlite"
    scheme = match.group(1).lower()
    if scheme == "sqlite":
        return "sqlite"
    if scheme in POSTGRES_SCHEMES:
        return "postgresql"
    raise DeploytoolError(f"unsupported store URL scheme {scheme!r} in {redact_url(target)}", hint=_URL_HINT)


def sqlite_path(target: Path | str) -> str:
    """The file (or `:memory:`) that an SQLite target names."""
    if isinstance(target, Path):
        return str(target)
    if target.lower().startswith("sqlite:"):
        if not target.lower().startswith(SQLITE_PREFIX) or len(target) == len(SQLITE_PREFIX):
            raise DeploytoolError(f"an SQLite store URL needs a path after 'sqlite:///': {target}", hint=_URL_HINT)
        rest = target[len(SQLITE_PREFIX) :]
        return rest.split("?", 1)[0]
    return target
