"""Blocks: typed, named configuration documents, with the names of their secret fields, secrets encrypted.

`get` and `list` return a block's public view (its secret fields masked) and need no key; `reveal` and
`reveal_all` decrypt (the worker, at launch). See store/sealing.py for the columns.
"""

from __future__ import annotations

import builtins
import json

from deploytool.blockfields import public_view
from deploytool.errors import NotFoundError
from deploytool.models import Block, utcnow
from deploytool.secretbox import KeySource, SecretKey, SecretKeyError, sealed_key_id, unseal
from deploytool.store.rows import dt, dump, load, ts
from deploytool.store.sealing import context, seal_data
from deploytool.store.sql import Connection, Database, Row


def _block_from_row(row: Row) -> Block:
    return Block(
        type=row["type"],
        name=row["name"],
        data=load(row["data"]),
        secret_fields=load(row["secret_fields"]),
        updated=dt(row["updated"]),
    )


def _named(exc: SecretKeyError, doing: str, btype: str, name: str) -> SecretKeyError:
    return SecretKeyError(f"cannot {doing} the secrets of block {btype}/{name}: {exc.message}", hint=exc.hint)


class BlockRepo:
    """(type, name) -> data, secret fields encrypted with the key `keys` finds (never stored in the store)."""

    def __init__(self, db: Database, keys: KeySource) -> None:
        self._db = db
        self._keys = keys

    def set(self, block: Block) -> Block:
        """Create or replace a block; returns its public view. SecretKeyError (naming the block) when it has
        secrets and this host has no usable key, or the store's other secrets use another key."""
        view, fields = public_view(block.type, block.data, block.secret_fields)
        sealed = key_id = None
        if fields:
            try:
                key = self._keys.key(create=True)
            except SecretKeyError as exc:
                raise _named(exc, "store", block.type, block.name) from None
            sealed, key_id = seal_data(key, block.type, block.name, block.data), key.key_id
        stored = Block(type=block.type, name=block.name, data=view, secret_fields=fields, updated=utcnow())
        with self._db.transaction() as conn:
            if self._db.dialect.lock_table:
                conn.execute(self._db.dialect.lock_table.format(table="blocks"))
            if key_id is not None:
                self._refuse_other_key(conn, key_id, block)
            conn.execute(
                "INSERT INTO blocks (type, name, data, secret_fields, sealed, key_id, updated)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (type, name) DO UPDATE SET data = excluded.data,"
                " secret_fields = excluded.secret_fields, sealed = excluded.sealed, key_id = excluded.key_id,"
                " updated = excluded.updated",
                (stored.type, stored.name, dump(view), dump(fields), sealed, key_id, ts(stored.updated)),
            )
        return stored

    def _refuse_other_key(self, conn: Connection, key_id: str, block: Block) -> None:
        other = conn.execute(
            "SELECT type, name, key_id FROM blocks WHERE key_id IS NOT NULL AND key_id <> ?"
            " AND NOT (type = ? AND name = ?) LIMIT 1",
            (key_id, block.type, block.name),
        ).fetchone()
        if other is not None:
            raise SecretKeyError(
                f"cannot store the secrets of block {block.type}/{block.name}: the store's other secrets (block"
                f" {other['type']}/{other['name']}) are encrypted with the key of id {other['key_id']}, but"
                f" {self._keys.described} has id {key_id}",
                hint="give this host the store's key (every host needs the same one); to change the key of all"
                " secrets, run deploytool store rotate-key",
            )

    def get(self, type: str, name: str) -> Block:
        """The block's public view (secret fields masked); NotFoundError if none."""
        return _block_from_row(self._row(type, name))

    def _row(self, type: str, name: str) -> Row:
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM blocks WHERE type = ? AND name = ?", (type, name)).fetchone()
        if row is None:
            raise NotFoundError(
                f"block {type}/{name} not found", hint=f"list blocks of this type: deploytool block ls {type}"
            )
        return row

    def list(self, type: str | None = None) -> list[Block]:
        """All blocks (or those of one type), by type then name: public views."""
        return [_block_from_row(r) for r in self._rows(type)]

    def _rows(self, type: str | None) -> builtins.list[Row]:
        with self._db.read() as conn:
            if type is None:
                return list(conn.execute("SELECT * FROM blocks ORDER BY type, name").fetchall())
            return list(conn.execute("SELECT * FROM blocks WHERE type = ? ORDER BY name", (type,)).fetchall())

    def reveal(self, type: str, name: str) -> Block:
        """The block with its secrets decrypted; NotFoundError if none, SecretKeyError (naming it) if this
        host's key cannot open it."""
        return self._revealed(self._row(type, name))

    def reveal_all(self, type: str | None = None, *, readable_only: bool = False) -> builtins.list[Block]:
        """Every block (or those of one type), decrypted. With `readable_only`, a block this host cannot
        decrypt (no key, another key) comes as its public view instead of raising, and no key file is read
        unless a block needs one."""
        blocks = []
        for row in self._rows(type):
            try:
                blocks.append(self._revealed(row))
            except SecretKeyError:
                if not readable_only:
                    raise
                blocks.append(_block_from_row(row))
        return blocks

    def _revealed(self, row: Row) -> Block:
        block = _block_from_row(row)
        if row["sealed"] is None:
            return block
        try:
            data = json.loads(unseal(self._key_for(row["sealed"]), row["sealed"], context(block.type, block.name)))
        except SecretKeyError as exc:
            raise _named(exc, "read", block.type, block.name) from None
        return Block(
            type=block.type, name=block.name, data=data, secret_fields=block.secret_fields, updated=block.updated
        )

    def _key_for(self, sealed: str) -> SecretKey:
        key = self._keys.key()
        if key.key_id != sealed_key_id(sealed):
            key = self._keys.reload()  # the key file may have been replaced since (store rotate-key)
        return key

    def rotate_key(self, new: SecretKey) -> int:
        """Encrypt every block's secrets again with `new`, in one transaction (all or none); how many.
        SecretKeyError (naming the block) if the current key cannot open one of them."""
        with self._db.transaction() as conn:
            if self._db.dialect.lock_table:
                conn.execute(self._db.dialect.lock_table.format(table="blocks"))
            rows = conn.execute("SELECT * FROM blocks WHERE sealed IS NOT NULL ORDER BY type, name").fetchall()
            for row in rows:
                block = self._revealed(row)
                conn.execute(
                    "UPDATE blocks SET sealed = ?, key_id = ? WHERE type = ? AND name = ?",
                    (seal_data(new, block.type, block.name, block.data), new.key_id, block.type, block.name),
                )
        return len(rows)

    def key_ids(self) -> dict[str, int]:
        """How many blocks are encrypted with each key id."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT key_id, count(*) FROM blocks WHERE key_id IS NOT NULL GROUP BY key_id ORDER BY key_id"
            ).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}

    def delete(self, type: str, name: str) -> None:
        """Remove a block; NotFoundError if none."""
        with self._db.transaction() as conn:
            if not conn.execute("DELETE FROM blocks WHERE type = ? AND name = ?", (type, name)).rowcount:
                raise NotFoundError(f"block {type}/{name} not found", hint="list blocks: deploytool block ls")
