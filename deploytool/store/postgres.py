"""The PostgreSQL backend (not yet available)."""

from __future__ import annotations

from deploytool.errors import DeploytoolError
from deploytool.store.api import Store
from deploytool.store.urls import redact_url


def open_postgres(url: str) -> Store:
    raise DeploytoolError(
        f"cannot open {redact_url(url)}: this deploytool has no PostgreSQL store yet",
        hint="use an SQLite store (unset DEPLOYTOOL_STORE_URL)",
    )
