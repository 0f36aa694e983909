"""The secret key of a store's block secrets: making a key, showing which one is in use, rotating it.

The key is never in the store (docs/stores.md, "Secrets at rest"); what the store keeps is the id of the key
each block's secrets were encrypted with.
"""

from __future__ import annotations

import os
from pathlib import Path

from deploytool.errors import DeploytoolError
from deploytool.records import record
from deploytool.secretbox import (
    SecretKey,
    SecretKeyError,
    new_key_text,
    parse_key,
    read_key_file,
    write_key_file,
)
from deploytool.settings import SECRET_KEY_ENV, SECRET_KEY_FILE_ENV
from deploytool.store import Store, key_source


def new_key(path: Path | None) -> tuple[str | None, str]:
    """Make a new key: written to `path` (mode 0600; an existing file is refused) or returned as text.
    (the key's text, or None when it went to a file; its id)."""
    text = new_key_text()
    key_id = parse_key(text, "the new key").key_id
    if path is None:
        return text, key_id
    try:
        write_key_file(path, text)
    except FileExistsError:
        raise DeploytoolError(
            f"{path} exists already", hint="a key file is never overwritten: choose another path"
        ) from None
    except OSError as exc:
        raise DeploytoolError(f"cannot write the key file {path}: {exc.strerror}") from None
    return None, key_id


@record
class KeyInfo:
    source: str  # where this host takes the key from
    key_id: str | None  # None: no usable key here
    problem: str | None  # why not
    in_store: dict[str, int]  # key id -> blocks encrypted with it

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: the `secret_key` of `store info -o json` (what `dataclasses.asdict` gives, without it)."""
        return {"source": self.source, "key_id": self.key_id, "problem": self.problem, "in_store": dict(self.in_store)}


def key_info(store: Store) -> KeyInfo:
    """Which key this host would use for the store, and which keys the store's secrets need (no decryption)."""
    keys = key_source(store.backend, store.url)
    try:
        key: SecretKey | None = keys.key()
        problem = None
    except SecretKeyError as exc:
        key, problem = None, exc.message
    return KeyInfo(keys.described, key.key_id if key else None, problem, store.blocks.key_ids())


@record
class Rotation:
    blocks: int
    old_id: str | None
    new_id: str
    key_file: Path | None  # the default key file that now holds the new key
    old_key_file: Path | None  # where the old key was kept


def rotate_key(store: Store, new_key_file: Path | None) -> Rotation:
    """Encrypt every block's secrets again with a new key, in one transaction (all or none).

    The old key is the one this host uses now (DEPLOYTOOL_SECRET_KEY, DEPLOYTOOL_SECRET_KEY_FILE or the SQLite
    store's default key file). The new one is read from `new_key_file`; without it, when the key is the default
    key file, a new key is made. When the key in use is the SQLite store's default key file, the new key replaces
    it once the store is committed (the old key is kept as `secret.key.old`)."""
    keys = key_source(store.backend, store.url)
    default = keys.default_file_in_use
    if new_key_file is not None:
        text = read_key_file(new_key_file, f"the new key file {new_key_file}").text
    elif default is not None:
        text = new_key_text()
    else:
        raise DeploytoolError(
            f"the key in use comes from {keys.described}: give the new key with --new-key-file PATH",
            hint=f"make one: deploytool store new-key --file PATH; then rotate, and give every host the new key"
            f" ({SECRET_KEY_FILE_ENV} or {SECRET_KEY_ENV})",
        )
    new = parse_key(text, "the new key")
    staged: Path | None = None
    if default is not None:  # the SQLite store's own key file gets the new key once the store is committed
        staged = default.with_name(default.name + ".new")
        staged.unlink(missing_ok=True)
        write_key_file(staged, text)
    old = keys.key_if_any()
    if old is not None and old.key_id == new.key_id:
        raise DeploytoolError(
            f"the new key (id {new.key_id}) is the key in use",
            hint="make a new one: deploytool store new-key --file PATH",
        )
    try:
        count = store.blocks.rotate_key(new)
    except BaseException:
        if staged is not None:
            staged.unlink(missing_ok=True)
        raise
    kept = None
    if staged is not None and default is not None:
        if default.exists():
            kept = default.with_name(default.name + ".old")
            kept.unlink(missing_ok=True)
            os.link(default, kept)
        staged.replace(default)
    return Rotation(count, old.key_id if old else None, new.key_id, default if staged else None, kept)
