"""The SQLite store's file: created private and whole, refused when empty, made private again when it is not.

- A new store is made under a temporary name (mode 0600, in a directory made 0700) with its SQLite header
  written, then linked into place: whoever opens the path sees either no file or a real database, never an
  empty one, even while several processes create the same store at once.
- So an existing 0-byte file is not a store being made: it is a truncated or foreign file (a failed copy, a
  full disk, a `touch`). SQLite would silently treat it as a new, empty store and the user would see all their
  pools and deployments gone; deploytool refuses it instead.
- An existing store (or its -wal/-shm files) readable or writable by the group or others is made 0600 again,
  with a warning: it holds block secrets. To share a store between users or machines, use PostgreSQL.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

from deploytool.errors import DeploytoolError

PRIVATE = 0o600
_HOME_HINT = "check the permissions of the directory, or set DEPLOYTOOL_HOME to a writable one"


def prepare(file: Path) -> None:
    """Make sure `file` is a private, non-empty SQLite store file (creating a new one if it is missing)."""
    try:
        file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise DeploytoolError(
            f"cannot create the store's directory {file.parent}: {exc.strerror or exc}",
            hint="DEPLOYTOOL_HOME must name a directory (or where one can be created); set it to another path",
        ) from exc
    try:
        info = file.stat()
    except FileNotFoundError:
        _create(file)
        return
    except OSError as exc:
        raise DeploytoolError(f"cannot open the store {file}: {exc.strerror}", hint=_HOME_HINT) from exc
    if stat.S_ISREG(info.st_mode) and info.st_size == 0:
        raise DeploytoolError(
            f"the store {file} is an empty file (0 bytes): it is not a deploytool store, and opening it would"
            " start a new, empty one",
            hint="restore the file from a backup; if nothing was in it, delete it and deploytool creates a new store",
        )
    _make_private(file)


def _create(file: Path) -> None:
    temporary = file.with_name(f".{file.name}.new-{os.getpid()}-{os.urandom(4).hex()}")
    try:
        fd = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_RDWR, PRIVATE)
    except OSError as exc:
        raise DeploytoolError(f"cannot create the store {file}: {exc.strerror}", hint=_HOME_HINT) from exc
    os.close(fd)
    try:
        conn = sqlite3.connect(temporary, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")  # writes the header (and the journal mode) to the file
        finally:
            conn.close()
        try:
            os.link(temporary, file)
        except FileExistsError:
            pass  # another process created it first: use theirs
        except OSError:
            # A filesystem without hard links (rare; SQLite needs a local filesystem anyway): rename, unless a
            # concurrent creator's store is already there.
            if not file.exists():
                temporary.replace(file)
    except sqlite3.DatabaseError as exc:
        raise DeploytoolError(f"cannot create the store {file}: {exc}", hint=_HOME_HINT) from exc
    finally:
        temporary.unlink(missing_ok=True)


def _make_private(file: Path) -> None:
    for path in (file, Path(f"{file}-wal"), Path(f"{file}-shm")):
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue
        if mode & 0o077:
            try:
                path.chmod(mode & 0o700)
            except OSError as exc:
                _warn(
                    "the store file %s has mode %04o (other users can read block secrets) and could not be made"
                    " private: %s; run: chmod 600 %s",
                    path,
                    mode,
                    exc.strerror,
                    path,
                )
                continue
            _warn(
                "the store file %s had mode %04o (other users could read block secrets); it is now %04o",
                path,
                mode,
                mode & 0o700,
            )


def _warn(message: str, *args: object) -> None:
    import logging  # only when there is something to say: a command's start does not pay for logging

    logging.getLogger("deploytool.store").warning(message, *args)
