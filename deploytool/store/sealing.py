"""Block secrets at rest, in the store: which key a store uses, and the migration that encrypts the secrets an
older deploytool stored in clear.

A block with secret fields is stored as two columns: `data`, its public view (secret fields masked, what
`block ls`/`inspect` and deploy-time checks read without any key), and `sealed`, the whole document encrypted
(`deploytool.secretbox`), with the id of its key in `key_id`. Only the worker, at launch, opens `sealed`.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from deploytool.blockfields import public_view
from deploytool.secretbox import KeySource, SecretKey, SecretKeyError, seal
from deploytool.settings import SECRET_KEY_ENV, SECRET_KEY_FILE_ENV, Settings
from deploytool.store.rows import dump, load
from deploytool.store.sql import Connection

TYPE_CHECKING = False  # not typing's: every store command imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any

SEALED_SCHEMA_VERSION = 7  # the migration that added `sealed` and `key_id` (store/migrations/0007_*.sql)


def key_source(backend: str, url: str) -> KeySource:
    """The key source of a store: an SQLite store falls back on (and makes) `$DEPLOYTOOL_HOME/secret.key`; a
    PostgreSQL store's key must be given to each host (SECRET_KEY_ENV or SECRET_KEY_FILE_ENV)."""
    settings = Settings.from_env()
    default = settings.default_key_file if backend == "sqlite" else None
    return KeySource(os.environ, default, f"the PostgreSQL store at {url}")


def context(btype: str, name: str) -> str:
    """What a block's sealed value is bound to: it opens only as this block's."""
    return f"deploytool block {btype}/{name}"


def seal_data(key: SecretKey, btype: str, name: str, data: Any) -> str:
    return seal(key, dump(data).encode("utf-8"), context(btype, name))


def seal_plaintext(conn: Connection, keys: KeySource) -> int:
    """Encrypt the secrets that blocks hold in clear (stored by a deploytool before schema version 7): each such
    block gets its public view in `data` and its document in `sealed`. The number of blocks sealed.

    Runs inside the migration's transaction: if the key is missing, nothing is changed and the error says so.
    """
    rows = conn.execute(
        "SELECT type, name, data, secret_fields FROM blocks WHERE sealed IS NULL ORDER BY type, name"
    ).fetchall()
    todo = []
    for row in rows:
        data = load(row["data"])
        view, fields = public_view(row["type"], data, load(row["secret_fields"]))
        if fields:
            todo.append((row["type"], row["name"], data, view, fields))
    if not todo:
        return 0
    try:
        key = keys.key(create=True)
    except SecretKeyError as exc:
        names = ", ".join(f"{t}/{n}" for t, n, *_ in todo[:5]) + (", ..." if len(todo) > 5 else "")
        raise SecretKeyError(
            f"{len(todo)} block(s) hold secrets in clear, stored by an older deploytool ({names}); this version"
            f" stores them encrypted, and migrating encrypts them, with a key this host does not have: {exc.message}",
            hint=f"set {SECRET_KEY_FILE_ENV} (or {SECRET_KEY_ENV}) to the key every host will use, then migrate"
            " again (nothing was changed); a new key: deploytool store new-key --file PATH",
        ) from None
    for btype, name, data, view, fields in todo:
        conn.execute(
            "UPDATE blocks SET data = ?, secret_fields = ?, sealed = ?, key_id = ? WHERE type = ? AND name = ?",
            (dump(view), dump(fields), seal_data(key, btype, name, data), key.key_id, btype, name),
        )
    return len(todo)


# Python steps of migrations, run right after the SQL script of their version, in the same transaction.
MigrationStep = Callable[[Connection, KeySource], int]
PYTHON_STEPS: dict[int, MigrationStep] = {SEALED_SCHEMA_VERSION: seal_plaintext}
