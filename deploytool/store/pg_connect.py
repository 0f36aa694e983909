"""Connecting to PostgreSQL: deploytool's connection defaults, where a URL points, and errors that name the
server without ever showing the password."""

from __future__ import annotations

import os
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from deploytool.errors import DeploytoolError
from deploytool.store.urls import redact_url

CONNECT_TIMEOUT = 10  # seconds for one connection attempt
# Applied to every connection unless the URL sets them (libpq parameters).
_CONNECT_DEFAULTS = {
    "connect_timeout": str(CONNECT_TIMEOUT),
    "keepalives": "1",
    "keepalives_idle": "10",
    "keepalives_interval": "5",
    "keepalives_count": "3",
    "tcp_user_timeout": "30000",
    "application_name": "deploytool",
}


def _params(url: str) -> dict[str, Any]:
    try:
        return conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise DeploytoolError(
            f"the store URL {redact_url(url)} is not valid: {_scrub(str(exc), url)}",
            hint="write it as postgresql://user@host:5432/dbname (docs/stores.md)",
        ) from exc


def missing_defaults(url: str) -> dict[str, str]:
    """deploytool's connection defaults (keepalives, timeouts) that the URL does not set itself."""
    given = _params(url)
    return {k: v for k, v in _CONNECT_DEFAULTS.items() if k not in given}


def where(url: str) -> str:
    """host:port of the server, as a user would look for it (libpq's defaults applied)."""
    params = _params(url)
    host = str(params.get("host") or os.environ.get("PGHOST") or "localhost (the local socket)")
    port = str(params.get("port") or os.environ.get("PGPORT") or "5432")
    return f"{host.split(',')[0]}:{port.split(',')[0]}"


def _scrub(text: str, url: str) -> str:
    password = _params_quiet(url).get("password")
    return text.replace(str(password), "***") if password else text


def _params_quiet(url: str) -> dict[str, Any]:
    try:
        return conninfo_to_dict(url)
    except psycopg.Error:
        return {}


def reason(exc: psycopg.Error, url: str) -> str:
    """The server's or libpq's message, on one line, without the password."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return _scrub(text, url)


def connect_error(exc: psycopg.Error, url: str, at: str) -> DeploytoolError:
    text = reason(exc, url)
    lowered = text.lower()
    if "password" in lowered or "authentication" in lowered:
        hint = (
            "check the user and its password: in PGPASSWORD, in ~/.pgpass (mode 0600), or in the URL"
            " (docs/stores.md#passwords)"
        )
    elif "does not exist" in lowered and "database" in lowered:
        hint = f"create the database (createdb -h {at.rsplit(':', 1)[0]} -p {at.rsplit(':', 1)[1]} NAME), then run"
        hint += " deploytool store migrate"
    else:
        hint = (
            "check that the PostgreSQL server runs and that the host and port in DEPLOYTOOL_STORE_URL"
            " (or --store) are right"
        )
    return DeploytoolError(f"cannot connect to the PostgreSQL store at {at} ({redact_url(url)}): {text}", hint=hint)


def statement_error(exc: psycopg.Error, url: str) -> DeploytoolError:
    return DeploytoolError(
        f"the PostgreSQL store {redact_url(url)} refused a statement: {reason(exc, url)}",
        hint="nothing of the change was stored; if this repeats, check `deploytool store info`",
    )
