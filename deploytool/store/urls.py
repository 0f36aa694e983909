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
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from deploytool.errors import DeploytoolError

if TYPE_CHECKING:
    from deploytool.store.api import Store

MEMORY = ":memory:"
SQLITE_PREFIX = "sqlite:///"
POSTGRES_SCHEMES = ("postgresql", "postgres")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_URL_HINT = (
    "use sqlite:///relative/path.db, sqlite:////absolute/path.db or postgresql://user@host:5432/dbname"
    " (set DEPLOYTOOL_STORE_URL or pass --store)"
)


def redact_url(url: str) -> str:
    """The URL with its password (if any) replaced by `***`: `postgresql://u:***@h/db`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"(//[^/:@]*):[^@/]*@", r"\1:***@", url)
    if parts.password is None and "password=" not in parts.query:
        return url
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostinfo = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{hostinfo}"
    query = re.sub(r"(^|&)password=[^&]*", r"\1password=***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


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


def open_store(target: Path | str) -> Store:
    """Open the store that `target` names (see the module's doc)."""
    if backend_of(target) == "postgresql":
        from deploytool.store.postgres import open_postgres

        return open_postgres(str(target))
    from deploytool.store.db import open_sqlite

    return open_sqlite(sqlite_path(target))
