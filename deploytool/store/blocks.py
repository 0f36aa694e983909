"""Blocks: typed, named configuration documents, with the names of their secret fields."""

from __future__ import annotations

from dataclasses import replace

from deploytool.errors import NotFoundError
from deploytool.models import Block, utcnow
from deploytool.store.rows import dt, dump, load, ts
from deploytool.store.sql import Database, Row


def _block_from_row(row: Row) -> Block:
    return Block(
        type=row["type"],
        name=row["name"],
        data=load(row["data"]),
        secret_fields=load(row["secret_fields"]),
        updated=dt(row["updated"]),
    )


class BlockRepo:
    """(type, name) -> data. Secret values are stored as given (the store file is 0600); callers decide
    what to mask using `secret_fields`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def set(self, block: Block) -> Block:
        """Create or replace a block."""
        stored = replace(block, updated=utcnow())
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO blocks (type, name, data, secret_fields, updated) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (type, name) DO UPDATE SET data = excluded.data,"
                " secret_fields = excluded.secret_fields, updated = excluded.updated",
                (stored.type, stored.name, dump(stored.data), dump(stored.secret_fields), ts(stored.updated)),
            )
        return stored

    def get(self, type: str, name: str) -> Block:
        """The block; NotFoundError if none."""
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM blocks WHERE type = ? AND name = ?", (type, name)).fetchone()
        if row is None:
            raise NotFoundError(
                f"block {type}/{name} not found", hint=f"list blocks of this type: deploytool block ls {type}"
            )
        return _block_from_row(row)

    def list(self, type: str | None = None) -> list[Block]:
        """All blocks (or those of one type), by type then name."""
        with self._db.read() as conn:
            if type is None:
                rows = conn.execute("SELECT * FROM blocks ORDER BY type, name").fetchall()
            else:
                rows = conn.execute("SELECT * FROM blocks WHERE type = ? ORDER BY name", (type,)).fetchall()
        return [_block_from_row(r) for r in rows]

    def delete(self, type: str, name: str) -> None:
        """Remove a block; NotFoundError if none."""
        with self._db.transaction() as conn:
            if not conn.execute("DELETE FROM blocks WHERE type = ? AND name = ?", (type, name)).rowcount:
                raise NotFoundError(f"block {type}/{name} not found", hint="list blocks: deploytool block ls")
