"""Block secrets at rest: the key kept outside the store, and AES-GCM sealing of what the store keeps.

- **The key** is 32 random bytes written as 43-44 characters of URL-safe base64 (`deploytool store new-key`). It
  comes from DEPLOYTOOL_SECRET_KEY (the key itself), else from the file DEPLOYTOOL_SECRET_KEY_FILE names, else
  (SQLite stores only) from `$DEPLOYTOOL_HOME/secret.key`, which is created 0600 the first time a secret is
  stored, so one machine needs no setup. A PostgreSQL store's hosts must each be given the same key explicitly.
- **A sealed value** is `v1:<key id>:<base64 of nonce + ciphertext + tag>`: AES-256-GCM with a random 96-bit
  nonce, and the block's identity as associated data, so a value copied onto another block does not decrypt.
  The key id (a hash of the key, not the key) says which key a value needs, so a wrong key is named as such.

`cryptography` is imported only when something is sealed or opened: `import deploytool` stays light.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from deploytool.errors import DeploytoolError
from deploytool.records import field, record
from deploytool.settings import SECRET_KEY_ENV, SECRET_KEY_FILE_ENV

KEY_BYTES = 32
_NONCE_BYTES = 12
_VERSION = "v1"
NEW_KEY_HINT = "make a key with `deploytool store new-key --file PATH` (docs/stores.md, 'Secrets at rest')"


class SecretKeyError(DeploytoolError):
    """No key, a malformed key, or not the key a secret was sealed with. Never holds a secret or the key."""


@record
class SecretKey:
    material: bytes = field(repr=False)
    source: str  # where it came from, for messages: "DEPLOYTOOL_SECRET_KEY", "the key file /x (...)"

    @property
    def text(self) -> str:
        """The key as written in a key file (for installing it in another file)."""
        return base64.urlsafe_b64encode(self.material).decode("ascii")

    @property
    def key_id(self) -> str:
        """A short public name of the key (a hash: it reveals nothing of the key)."""
        return hashlib.sha256(b"deploytool secret key id\0" + self.material).hexdigest()[:12]


def new_key_text() -> str:
    """A new random key, as text to keep in DEPLOYTOOL_SECRET_KEY or a key file."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def parse_key(text: str, source: str) -> SecretKey:
    """The key written in `text`; SecretKeyError naming `source` (never the text) when it is not a key."""
    stripped = text.strip()
    try:
        material = base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError):
        material = b""
    if len(material) != KEY_BYTES:
        raise SecretKeyError(
            f"{source} does not hold a deploytool secret key (expected {KEY_BYTES} bytes in URL-safe base64,"
            f" 44 characters; not shown)",
            hint=NEW_KEY_HINT,
        )
    return SecretKey(material, source)


def read_key_file(path: Path, source: str) -> SecretKey:
    """The key in the file at `path`; SecretKeyError saying what is wrong with the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SecretKeyError(f"{source} does not exist", hint=NEW_KEY_HINT) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretKeyError(
            f"{source} cannot be read: {getattr(exc, 'strerror', None) or type(exc).__name__}",
            hint="the key file must be readable by the user deploytool runs as (and by nobody else: mode 0600)",
        ) from None
    return parse_key(text, source)


def write_key_file(path: Path, text: str) -> None:
    """Write a key file with mode 0600 (its folder 0700 if made); FileExistsError if the file exists."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text.strip() + "\n")
        out.flush()
        os.fsync(out.fileno())


class KeySource:
    """Where this process finds its secret key, read once when first needed (see the module's doc).

    `default_file` is the SQLite store's key file (None for a PostgreSQL store: its key must be given).
    """

    def __init__(self, environ: Mapping[str, str], default_file: Path | None, store_label: str) -> None:
        self._text = environ.get(SECRET_KEY_ENV, "").strip() or None
        named = environ.get(SECRET_KEY_FILE_ENV, "").strip()
        self._file = Path(named).expanduser() if named else None
        self._default = default_file
        self._store = store_label
        self._key: SecretKey | None = None

    @property
    def described(self) -> str:
        """Where the key is taken from, for messages."""
        if self._text is not None:
            return SECRET_KEY_ENV
        if self._file is not None:
            return f"the key file {self._file} ({SECRET_KEY_FILE_ENV})"
        if self._default is not None:
            return f"the key file {self._default}"
        return "nowhere (no key is set)"

    def key(self, *, create: bool = False) -> SecretKey:
        """The key; with `create`, the SQLite store's default key file is made when missing (first secret)."""
        if self._key is None:
            self._key = self._load(create=create)
        return self._key

    def key_if_any(self) -> SecretKey | None:
        """The key when this host has one, else None (never creates one)."""
        try:
            return self.key()
        except SecretKeyError:
            return None

    def reload(self) -> SecretKey:
        """Read the key again (the key file may have been replaced by `store rotate-key`)."""
        self._key = None
        return self.key()

    @property
    def default_file_in_use(self) -> Path | None:
        """The SQLite store's default key file, when the key comes from it (no key or key file is set)."""
        return self._default if self._text is None and self._file is None else None

    def _load(self, *, create: bool) -> SecretKey:
        if self._text is not None:
            return parse_key(self._text, SECRET_KEY_ENV)
        if self._file is not None:
            return read_key_file(self._file, f"the key file {self._file} ({SECRET_KEY_FILE_ENV})")
        if self._default is None:
            raise SecretKeyError(
                f"this host has no secret key: {self._store} keeps block secrets encrypted, and every host that"
                " reads or writes them must be given the same key",
                hint=f"set {SECRET_KEY_FILE_ENV}=PATH (a file holding the key, mode 0600) or {SECRET_KEY_ENV};"
                f" {NEW_KEY_HINT}",
            )
        if create and not self._default.exists():
            with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
                write_key_file(self._default, new_key_text())
        try:
            return read_key_file(self._default, f"the key file {self._default}")
        except SecretKeyError as exc:
            if self._default.exists():
                raise
            raise SecretKeyError(
                exc.message,
                hint=f"restore it from your copy of the key (or give the key in {SECRET_KEY_FILE_ENV} or"
                f" {SECRET_KEY_ENV}); without it the secrets stored with it cannot be read: set those blocks again",
            ) from None


def seal(key: SecretKey, plaintext: bytes, context: str) -> str:
    """`plaintext` encrypted with `key`, bound to `context` (e.g. the block's name)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(key.material).encrypt(nonce, plaintext, context.encode("utf-8"))
    return f"{_VERSION}:{key.key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"


def sealed_key_id(token: str) -> str:
    """The id of the key a sealed value needs."""
    parts = token.split(":", 2)
    return parts[1] if len(parts) == 3 and parts[0] == _VERSION else "?"


def unseal(key: SecretKey, token: str, context: str) -> bytes:
    """The plaintext of a sealed value; SecretKeyError when `key` is not its key or the value was altered."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    needed = sealed_key_id(token)
    if needed != key.key_id:
        raise SecretKeyError(
            f"it was encrypted with the key of id {needed}, but {key.source} has id {key.key_id}",
            hint="give this host the key the store's secrets were written with (the same on every host; after"
            " `deploytool store rotate-key`, the new key)",
        )
    try:
        raw = base64.urlsafe_b64decode(token.split(":", 2)[2])
        return AESGCM(key.material).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode("utf-8"))
    except (InvalidTag, binascii.Error, ValueError):
        raise SecretKeyError(
            f"its encrypted value does not decrypt with the key of id {key.key_id} (it was altered in the store,"
            " or copied from another block)",
            hint="set the block again: deploytool block set ...",
        ) from None
